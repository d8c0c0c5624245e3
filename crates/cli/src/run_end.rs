//! When a backup or restore ends, however it ends: its metrics written (`--metrics`) and its
//! summary posted (`--notify`). Neither can change the run's exit code: what fails here is a
//! warning.

use anyhow::Result;

use crate::cli::{EndingArgs, NotifyOn};
use crate::exit;
use crate::metrics::{Metrics, Verdict};
use crate::notify::{Summary, send};
use crate::render;

/// Whether the run needs `metrics` gathered at all.
pub fn wanted(args: &EndingArgs, dry_run: bool) -> bool {
    !dry_run && (args.metrics.is_some() || !args.notify.is_empty())
}

/// Write the metrics and send the notifications of a run that ended with `result`.
pub fn finish(args: &EndingArgs, metrics: &Metrics, result: &Result<u8>) {
    let verdict = match result {
        Ok(exit::OK) => Verdict::Complete,
        Ok(exit::PARTIAL) => Verdict::Partial,
        _ => Verdict::Failed,
    };
    if let Some(path) = &args.metrics
        && let Err(e) = metrics.write(path, verdict)
    {
        render::note(&format!(
            "warning: the metrics could not be written to {}: {e:#}",
            path.display()
        ));
    }
    if args.notify.is_empty()
        || (args.notify_on == NotifyOn::Problems && verdict == Verdict::Complete)
    {
        return;
    }
    let summary = Summary::of(metrics, verdict, result);
    for warning in send(&args.notify, args.notify_format, &summary) {
        render::note(&format!("warning: {warning}"));
    }
}
