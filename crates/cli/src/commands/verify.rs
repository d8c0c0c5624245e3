//! `orgpack verify ARCHIVE [--read-data]`

use anyhow::Result;
use orgpack_archive::{Archive, VerifyOptions, verify_with};

use crate::cli::VerifyArgs;
use crate::exit;
use crate::render;

pub fn run(args: &VerifyArgs, json: bool) -> Result<u8> {
    let archive = Archive::open(&args.archive)?;
    let started = std::time::Instant::now();
    let progress = crate::progress::for_run(json);
    let options = if args.read_data {
        VerifyOptions::read_data()
    } else {
        VerifyOptions::default()
    };
    let report = verify_with(&archive, options, progress.as_ref())?;
    let seconds = started.elapsed().as_secs_f64();
    if json {
        render::json(&serde_json::json!({
            "message_type": "verify",
            "archive": archive.location(),
            "ok": report.is_ok(),
            "seconds": seconds,
            "report": report,
        }))?;
    } else {
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
    Ok(if report.is_ok() {
        exit::OK
    } else {
        exit::FAILURE
    })
}
