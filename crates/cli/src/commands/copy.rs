//! `orgpack export REPO --snapshot ID -o FILE.orgpack`, `orgpack import ARCHIVE --repo REPO` and
//! `orgpack copy SOURCE DESTINATION`

use anyhow::{Result, bail};
use orgpack_archive::{Archive, Digest, Form, Repository, SingleFileWriter, copy_snapshots_with};

use crate::cli::{CopyArgs, ExportArgs, ImportArgs};
use crate::exit;
use crate::render;

/// The snapshots `specs` name (`latest`, ids, prefixes, dates), or all of them when none is
/// given.
fn snapshots_of(archive: &Archive, specs: &[String]) -> Result<Vec<Digest>> {
    if specs.is_empty() {
        return Ok(archive.index().snapshots.iter().map(|e| e.id).collect());
    }
    Ok(specs
        .iter()
        .map(|s| archive.resolve(s))
        .collect::<Result<Vec<_>, _>>()?)
}

pub fn export(args: &ExportArgs, json: bool) -> Result<u8> {
    let archive = crate::secrets::archive(&args.repo)?;
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
    let mut writer = SingleFileWriter::create_like(&args.output, &archive)?;
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
    let archive = crate::secrets::archive(&args.archive)?;
    let ids = snapshots_of(&archive, &args.snapshot)?;
    crate::commands::init::break_stale_locks(&args.repo, args.lock)?;
    let mut repo = crate::secrets::repository(&args.repo)?;
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

pub fn copy(args: &CopyArgs, json: bool) -> Result<u8> {
    let source = crate::secrets::archive(&args.source)?;
    let wanted = snapshots_of(&source, &args.snapshot)?;
    crate::commands::init::break_stale_locks(&args.destination, args.lock)?;
    let own = crate::secrets::read(
        crate::secrets::DESTINATION_PASSPHRASE_VAR,
        args.to_passphrase_file.as_ref(),
        args.to_key_file.as_ref(),
    )?;
    let unlock = match &own {
        Some(u) => Some(u),
        None => crate::secrets::unlock()?,
    };
    let (mut repo, made) = match Repository::open_at(&args.destination, unlock) {
        Ok(repo) => (repo, false),
        Err(orgpack_archive::Error::ArchiveNotFound { .. }) => {
            (Repository::init_like(&args.destination, &source)?, true)
        }
        Err(e) => return Err(e.into()),
    };
    let present: std::collections::HashSet<_> = repo
        .archive()?
        .index()
        .snapshots
        .iter()
        .map(|e| e.id)
        .collect();
    let ids: Vec<_> = wanted
        .iter()
        .copied()
        .filter(|id| !present.contains(id))
        .collect();
    let stats = copy_snapshots_with(
        &source,
        &ids,
        &mut repo,
        true,
        crate::progress::for_run(json).as_ref(),
    )?;
    if json {
        render::json(&serde_json::json!({
            "message_type": "copy",
            "source": args.source.to_string(),
            "destination": args.destination.to_string(),
            "created": made,
            "snapshots": ids,
            "snapshotsPresent": wanted.len() - ids.len(),
            "blobs": stats.blobs_copied,
            "blobsPresent": stats.blobs_present,
            "bytes": stats.bytes_copied,
        }))?;
    } else {
        render::note(&format!(
            "copied {} snapshots ({} already there) from {} to {}{} ({} blobs copied, {} already \
             there, {})",
            ids.len(),
            wanted.len() - ids.len(),
            args.source,
            args.destination,
            if made { ", made like the source" } else { "" },
            stats.blobs_copied,
            stats.blobs_present,
            render::size(stats.bytes_copied)
        ));
    }
    Ok(exit::OK)
}
