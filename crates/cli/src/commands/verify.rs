//! `orgpack verify ARCHIVE [--read-data] [--rehearse [--snapshot ID]]`

use anyhow::Result;
use orgpack_archive::{VerifyOptions, verify_with};

use crate::cli::VerifyArgs;
use crate::commands::rehearse::{Rehearsal, rehearse};
use crate::exit;
use crate::render;

pub fn run(args: &VerifyArgs, json: bool) -> Result<u8> {
    let archive = crate::secrets::archive(&args.archive)?;
    let started = std::time::Instant::now();
    let progress = crate::progress::for_run(json);
    let options = if args.read_data {
        VerifyOptions::read_data()
    } else {
        VerifyOptions::default()
    };
    let report = verify_with(&archive, options, progress.as_ref())?;
    let seconds = started.elapsed().as_secs_f64();
    if !json {
        for w in &report.warnings {
            render::note(&format!("warning: {w}"));
        }
        for p in &report.problems {
            render::note(&format!("error: {p}"));
        }
        let what = if report.read_data {
            format!(", {} of content re-hashed", render::size(report.bytes_read))
        } else {
            String::new()
        };
        let summary = format!(
            "{} snapshots, {} items, {} blobs checked{what} in {seconds:.1}s",
            report.snapshots, report.items, report.blobs
        );
        if report.is_ok() {
            render::note(&format!("no problems found: {summary}"));
        } else {
            render::note(&format!(
                "{} problems found: {summary}",
                report.problems.len()
            ));
        }
    }
    // Nothing is restored from an archive that did not verify.
    let rehearsal = if args.rehearse && report.is_ok() {
        if !json {
            render::note(&format!(
                "rehearsing the restore of {} in a throw-away sandbox organization…",
                args.snapshot
            ));
        }
        let r = rehearse(&archive, &args.snapshot)?;
        if !json {
            show(&r);
        }
        Some(r)
    } else {
        if args.rehearse && !json {
            render::note("not rehearsed: the archive has problems");
        }
        None
    };
    let ok = report.is_ok() && rehearsal.as_ref().is_none_or(|r| r.restorable);
    if json {
        let mut doc = serde_json::json!({
            "message_type": "verify",
            "archive": archive.location(),
            "ok": ok,
            "seconds": seconds,
            "report": report,
        });
        if let Some(r) = &rehearsal {
            doc["rehearsal"] = serde_json::to_value(r)?;
        }
        render::json(&doc)?;
    }
    Ok(if ok { exit::OK } else { exit::FAILURE })
}

/// The rehearsal's verdict first, then each item that would fail, what the backup missed and
/// what the read-back found.
fn show(r: &Rehearsal) {
    let short = r.snapshot.strip_prefix("sha256:").unwrap_or(&r.snapshot);
    let short = &short[..short.len().min(12)];
    if r.restorable {
        render::note(&format!(
            "restorable: snapshot {short}, {} items restored into a throw-away organization and read back as the snapshot has them, in {:.1}s",
            r.restored, r.seconds
        ));
        return;
    }
    render::note(&format!(
        "not restorable: snapshot {short}, {} of {} items would fail, {} parts were not captured, {} problems read back, in {:.1}s",
        r.failed.len(),
        r.items,
        r.not_captured.len(),
        r.problems.len(),
        r.seconds
    ));
    for f in &r.failed {
        render::note(&format!(
            "  would fail: {} ({}, {}): {}",
            f.title, f.item_type, f.id, f.reason
        ));
    }
    for n in &r.not_captured {
        let part = n
            .part
            .as_deref()
            .map(|p| format!(" {p}"))
            .unwrap_or_default();
        render::note(&format!(
            "  not captured: {} {}{part}: {}",
            n.what, n.id, n.message
        ));
        if !n.dependents.is_empty() {
            let titles: Vec<&str> = n.dependents.iter().map(|d| d.title.as_str()).collect();
            render::note(&format!("    which these depend on: {}", titles.join(", ")));
        }
    }
    for p in &r.problems {
        render::note(&format!("  problem: {p}"));
    }
}
