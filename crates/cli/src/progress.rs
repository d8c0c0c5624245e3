//! Rendering library progress: a bar on stderr when it is a terminal, nothing otherwise (and
//! nothing with `--json`, whose consumers read stdout).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use orgpack_archive::progress::{NoProgress, Progress, Unit};

/// The progress sink for this run.
pub fn for_run(json: bool) -> Box<dyn Progress> {
    if json || !std::io::stderr().is_terminal() || std::env::var_os("ORGPACK_NO_PROGRESS").is_some()
    {
        Box::new(NoProgress)
    } else {
        Box::new(Bar::default())
    }
}

/// An indicatif bar per phase.
#[derive(Default)]
struct Bar {
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for Bar {
    fn start(&self, phase: &str, total: Option<u64>, unit: Unit) {
        let bar = total.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
        let template = match unit {
            Unit::Bytes => {
                "{msg:20} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}"
            }
            Unit::Objects => "{msg:20} [{bar:30}] {pos}/{len} eta {eta}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(phase.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Some(old) = self.bar.lock().expect("poisoned").replace(bar) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.bar.lock().expect("poisoned").as_ref() {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("poisoned").take() {
            bar.finish_and_clear();
        }
    }
}

/// Progress of a backup: planning, then items captured, bytes downloaded and exports waiting.
pub trait BackupBar: orgpack_backup::Progress {
    /// Clear the bar.
    fn finish(&self);
}

/// The bar for `orgpack backup`: nothing with `--json` or when stderr is not a terminal.
pub fn for_backup(json: bool) -> Box<dyn BackupBar> {
    if json || !std::io::stderr().is_terminal() || std::env::var_os("ORGPACK_NO_PROGRESS").is_some()
    {
        return Box::new(Quiet);
    }
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(200));
    bar.set_message("planning");
    Box::new(Backup {
        bar,
        bytes: std::sync::atomic::AtomicU64::new(0),
        exports: std::sync::atomic::AtomicI64::new(0),
    })
}

struct Quiet;

impl orgpack_backup::Progress for Quiet {}

impl BackupBar for Quiet {
    fn finish(&self) {}
}

struct Backup {
    bar: ProgressBar,
    bytes: std::sync::atomic::AtomicU64,
    exports: std::sync::atomic::AtomicI64,
}

impl Backup {
    fn refresh(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let waiting = self.exports.load(Relaxed);
        let downloaded = crate::render::size(self.bytes.load(Relaxed));
        let message = if waiting > 0 {
            format!("{downloaded} downloaded, {waiting} exports running")
        } else {
            format!("{downloaded} downloaded")
        };
        self.bar.set_message(message);
    }
}

impl orgpack_backup::Progress for Backup {
    fn planning(&self, found: usize) {
        self.bar
            .set_message(format!("planning: {found} items read"));
    }

    fn planned(&self, items: usize, _reused: usize, _estimated_bytes: u64) {
        self.bar.set_length(items as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{prefix:10} [{bar:30}] {pos}/{len} items, {msg}")
        {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_prefix("backup");
        self.refresh();
    }

    fn item_done(&self, _id: &str, _title: &str) {
        self.bar.inc(1);
    }

    fn bytes(&self, n: u64) {
        self.bytes
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        self.refresh();
    }

    fn exports_waiting(&self, delta: i64) {
        self.exports
            .fetch_add(delta, std::sync::atomic::Ordering::Relaxed);
        self.refresh();
    }
}

impl BackupBar for Backup {
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
