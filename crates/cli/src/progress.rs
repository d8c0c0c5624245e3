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
