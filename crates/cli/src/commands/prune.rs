//! `orgpack prune REPO --keep-last N [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--dry-run]`

use anyhow::Result;
use orgpack_archive::Repository;
use orgpack_archive::prune::{self, Retention};

use crate::cli::PruneArgs;
use crate::exit;
use crate::render;

pub fn run(args: &PruneArgs, json: bool) -> Result<u8> {
    let retention = Retention {
        keep_last: args.keep_last,
        keep_daily: args.keep_daily,
        keep_weekly: args.keep_weekly,
        keep_monthly: args.keep_monthly,
    };
    crate::commands::init::break_stale_locks(&args.repo, args.lock)?;
    let repo = Repository::open_exclusive_at(&args.repo, "prune", crate::secrets::unlock()?)?;
    let plan = prune::plan(&repo, retention)?;
    if !args.dry_run {
        prune::run(&repo, &plan)?;
    }
    if json {
        render::json(&serde_json::json!({
            "message_type": "prune",
            "dryRun": args.dry_run,
            "keep": plan.keep.iter().map(|(e, why)| serde_json::json!({"id": e.id, "created": e.created, "rules": why})).collect::<Vec<_>>(),
            "forget": plan.forget.iter().map(|e| serde_json::json!({"id": e.id, "created": e.created})).collect::<Vec<_>>(),
            "blobsRemoved": plan.blobs.len(),
            "bytesFreed": plan.bytes_freed(),
            "uncommittedRemoved": plan.uncommitted.len(),
            "tempFilesRemoved": plan.temp_files.len(),
        }))?;
        return Ok(exit::OK);
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for e in &plan.forget {
        render::note(&format!("{verb} snapshot {} ({})", e.id.short(), e.created));
    }
    render::note(&format!(
        "kept {} snapshots; {verb} {} snapshots, {} blobs ({}), {} unfinished manifests, {} temp files",
        plan.keep.len(),
        plan.forget.len(),
        plan.blobs.len(),
        render::size(plan.bytes_freed()),
        plan.uncommitted.len(),
        plan.temp_files.len()
    ));
    Ok(exit::OK)
}
