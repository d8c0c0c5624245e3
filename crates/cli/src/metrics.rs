//! `--metrics FILE`: a run's figures in the Prometheus text format (version 0.0.4), for
//! node_exporter's textfile collector, written atomically (a scrape never sees half a file).
//!
//! Every metric is a gauge named `orgpack_<command>_…` with the run's labels (`portal`, and for a
//! restore `target` where a figure is per target). `…_last_success_timestamp_seconds` carries
//! over from the file being replaced when this run did not succeed, so "no successful backup in
//! 26 hours" is one alert rule: `time() - orgpack_backup_last_success_timestamp_seconds > 93600`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;

/// A metric's name, help, labels besides the run's, and value.
type Sample = (String, &'static str, Vec<(&'static str, String)>, f64);

/// A portal as a label (`portal`, `target`, `targets`): the config name, or a URL without
/// anything before its host.
pub fn portal_label(name: &str) -> String {
    match name.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => name.to_owned(),
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Everything done (exit 0).
    Complete,
    /// Done, some parts or items missing (exit 3): a backup's snapshot was saved.
    Partial,
    /// Stopped by an error: nothing (more) saved.
    Failed,
}

impl Verdict {
    const ALL: [(Self, &'static str); 3] = [
        (Self::Complete, "complete"),
        (Self::Partial, "partial"),
        (Self::Failed, "failed"),
    ];
}

/// One run's metrics, gathered as it goes.
#[derive(Debug)]
pub struct Metrics {
    command: &'static str,
    labels: Vec<(&'static str, String)>,
    started: SystemTime,
    values: Vec<Sample>,
    info: Vec<(&'static str, String)>,
}

impl Metrics {
    /// The metrics of a `command` run, every sample labelled with `labels`.
    pub fn new(command: &'static str, labels: Vec<(&'static str, String)>) -> Self {
        Self {
            command,
            labels,
            started: SystemTime::now(),
            values: Vec::new(),
            info: Vec::new(),
        }
    }

    /// Record `orgpack_<command>_<name>` (`help` says what it is).
    pub fn set(&mut self, name: &str, help: &'static str, value: f64) {
        self.set_with(name, help, Vec::new(), value);
    }

    /// Record `orgpack_<command>_<name>{extra labels}`.
    pub fn set_with(
        &mut self,
        name: &str,
        help: &'static str,
        extra: Vec<(&'static str, String)>,
        value: f64,
    ) {
        self.values.push((
            format!("orgpack_{}_{name}", self.command),
            help,
            extra,
            value,
        ));
    }

    /// Note a fact of the run that is not a number (the snapshot's id): for notifications, not
    /// metrics.
    pub fn info(&mut self, key: &'static str, value: String) {
        self.info.push((key, value));
    }

    /// The command, the run's labels, its figures (named without the `orgpack_<command>_`
    /// prefix, any further labels' values after the name) and its facts.
    #[allow(clippy::type_complexity)]
    pub fn parts(
        &self,
    ) -> (
        &'static str,
        &[(&'static str, String)],
        Vec<(String, f64)>,
        &[(&'static str, String)],
    ) {
        let prefix = format!("orgpack_{}_", self.command);
        let values = self
            .values
            .iter()
            .map(|(name, _, extra, v)| {
                let mut key = name.strip_prefix(&prefix).unwrap_or(name).to_owned();
                for (_, l) in extra {
                    key.push(' ');
                    key.push_str(l);
                }
                (key, *v)
            })
            .collect();
        (self.command, &self.labels, values, &self.info)
    }

    /// Write the metrics of a run that ended with `verdict` to `path`, atomically.
    pub fn write(&self, path: &Path, verdict: Verdict) -> Result<()> {
        let now = SystemTime::now();
        let seconds = |t: SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        };
        let prefix = format!("orgpack_{}", self.command);
        let last_success = if verdict == Verdict::Failed {
            previous(path, &format!("{prefix}_last_success_timestamp_seconds"))
        } else {
            Some(seconds(now))
        };
        let mut head = vec![
            (
                format!("{prefix}_last_run_timestamp_seconds"),
                "When the last run ended (Unix time).",
                Vec::new(),
                seconds(now),
            ),
            (
                format!("{prefix}_last_run_duration_seconds"),
                "How long the last run took.",
                Vec::new(),
                now.duration_since(self.started)
                    .map_or(0.0, |d| d.as_secs_f64()),
            ),
        ];
        if let Some(t) = last_success {
            head.push((
                format!("{prefix}_last_success_timestamp_seconds"),
                "When the last run that was not stopped by an error ended (Unix time); a backup's snapshot was saved then.",
                Vec::new(),
                t,
            ));
        }
        for (v, name) in Verdict::ALL {
            head.push((
                format!("{prefix}_last_run_verdict"),
                "1 for how the last run ended: complete, partial (some parts or items missing) or failed.",
                vec![("verdict", name.to_owned())],
                if v == verdict { 1.0 } else { 0.0 },
            ));
        }
        head.extend(self.values.iter().cloned());
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
        crate::files::write_atomic(path, render(&head, &self.labels).as_bytes())
    }
}

/// The text format: each metric's `# HELP` and `# TYPE` once, then its samples.
fn render(samples: &[Sample], labels: &[(&'static str, String)]) -> String {
    let mut out = String::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut names: Vec<&str> = Vec::new();
    for (name, ..) in samples {
        if seen.insert(name.as_str()) {
            names.push(name);
        }
    }
    for name in names {
        let mut first = true;
        for (n, help, extra, value) in samples.iter().filter(|s| s.0 == name) {
            if first {
                let _ = writeln!(out, "# HELP {n} {}", escape_help(help));
                let _ = writeln!(out, "# TYPE {n} gauge");
                first = false;
            }
            let all: Vec<String> = labels
                .iter()
                .chain(extra)
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            if all.is_empty() {
                let _ = writeln!(out, "{n} {}", number(*value));
            } else {
                let _ = writeln!(out, "{n}{{{}}} {}", all.join(","), number(*value));
            }
        }
    }
    out
}

fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The value of `name` in the metrics file at `path`, if it has one.
fn previous(path: &Path, name: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_keeps_the_last_success_and_says_it_failed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orgpack.prom");
        let mut m = Metrics::new("backup", vec![("portal", "prod \"main\"".to_owned())]);
        m.set("items", "Items.", 15.0);
        m.write(&path, Verdict::Complete).unwrap();
        let first = std::fs::read_to_string(&path).unwrap();
        let success = previous(&path, "orgpack_backup_last_success_timestamp_seconds").unwrap();
        assert!(success > 1.7e9, "{first}");
        assert!(
            first.contains("orgpack_backup_items{portal=\"prod \\\"main\\\"\"} 15\n"),
            "{first}"
        );
        assert!(
            first.contains("orgpack_backup_last_run_verdict{portal=\"prod \\\"main\\\"\",verdict=\"complete\"} 1\n"),
            "{first}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        Metrics::new("backup", vec![("portal", "prod".to_owned())])
            .write(&path, Verdict::Failed)
            .unwrap();
        let second = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            previous(&path, "orgpack_backup_last_success_timestamp_seconds"),
            Some(success),
            "{second}"
        );
        let run = previous(&path, "orgpack_backup_last_run_timestamp_seconds").unwrap();
        assert!(run > success, "{second}");
        assert!(second.contains("verdict=\"failed\"} 1\n"), "{second}");
        assert!(second.contains("verdict=\"complete\"} 0\n"), "{second}");
        assert_eq!(
            second
                .matches("# TYPE orgpack_backup_last_run_verdict gauge")
                .count(),
            1
        );
    }
}
