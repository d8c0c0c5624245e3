//! `orgpack export REPO --snapshot ID -o FILE.orgpack` and `orgpack import ARCHIVE --repo REPO`

use anyhow::{Result, bail};
use orgpack_archive::{Archive, Form, Repository, SingleFileWriter, copy_snapshots_with};

use crate::cli::{ExportArgs, ImportArgs};
use crate::exit;
use crate::render;

pub fn export(args: &ExportArgs, json: bool) -> Result<u8> {
    let archive = Archive::open_at(&args.repo)?;
    if archive.form() != Form::Repository {
        bail!(
            "`{}` is a single-file archive already; export reads a repository directory",
            args.repo
        );
    }
    let ids = args
        .snapshot
        .iter()
        .map(|s| archive.resolve(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut writer = SingleFileWriter::create(&args.output, archive.layout().clone())?;
    let stats = copy_snapshots_with(
        &archive,
        &ids,
        &mut writer,
        true,
        crate::progress::for_run(json).as_ref(),
    )?;
    let path = writer.finish()?;
    if json {
        render::json(&serde_json::json!({
            "message_type": "export",
            "archive": path,
            "snapshots": ids,
            "blobs": stats.blobs_copied,
            "bytes": stats.bytes_copied,
        }))?;
    } else {
        render::note(&format!(
            "exported {} snapshots ({} blobs, {}) to {}",
            stats.snapshots,
            stats.blobs_copied,
            render::size(stats.bytes_copied),
            path.display()
        ));
    }
    Ok(exit::OK)
}

pub fn import(args: &ImportArgs, json: bool) -> Result<u8> {
    let archive = Archive::open_at(&args.archive)?;
    let ids = if args.snapshot.is_empty() {
        archive.index().snapshots.iter().map(|e| e.id).collect()
    } else {
        args.snapshot
            .iter()
            .map(|s| archive.resolve(s))
            .collect::<Result<Vec<_>, _>>()?
    };
    crate::commands::init::break_stale_locks(&args.repo, args.lock)?;
    let mut repo = Repository::open_or_init_at(&args.repo)?;
    let stats = copy_snapshots_with(
        &archive,
        &ids,
        &mut repo,
        true,
        crate::progress::for_run(json).as_ref(),
    )?;
    if json {
        render::json(&serde_json::json!({
            "message_type": "import",
            "repository": args.repo.to_string(),
            "snapshots": ids,
            "blobs": stats.blobs_copied,
            "blobsPresent": stats.blobs_present,
            "bytes": stats.bytes_copied,
        }))?;
    } else {
        render::note(&format!(
            "imported {} snapshots into {} ({} blobs copied, {} already there, {})",
            stats.snapshots,
            args.repo,
            stats.blobs_copied,
            stats.blobs_present,
            render::size(stats.bytes_copied)
        ));
    }
    Ok(exit::OK)
}
