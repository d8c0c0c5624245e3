//! The safety net of an in-place restore: before its first change to an organization, the items
//! about to change (put back, or with `--delete-new` deleted) are backed up into the same
//! repository as a snapshot tagged `pre-restore`, so that restoring that snapshot in place undoes
//! the run. A single-file archive gets a repository beside it (`<file>.pre-restore`). If that
//! backup misses anything, nothing is changed.

use std::path::PathBuf;

use anyhow::{Result, bail};
use orgpack_archive::digest::Digest;
use orgpack_archive::manifest::{ExportMode, Selection, Snapshot};
use orgpack_archive::{Archive, Location};
use orgpack_restore::{Action, RestoreOptions, Target};

use crate::render;

/// Where the pre-restore snapshot goes: the archive itself when it is a repository (on object
/// storage, always one), else a repository beside the single-file archive.
fn repository_for(archive: &Location) -> Location {
    match archive {
        Location::Local(path) if !path.join("orgpack-layout").is_file() => {
            let mut name = path.as_os_str().to_owned();
            name.push(".pre-restore");
            Location::Local(PathBuf::from(name))
        }
        other => other.clone(),
    }
}

/// Back up what an in-place restore into `target` is about to change; `None` when the target
/// is not the snapshot's organization (and `--in-place` was not given) or nothing will change.
///
/// # Errors
/// Planning errors, and a pre-restore backup that could not capture everything.
pub async fn take(
    archive_location: &Location,
    archive: &Archive,
    snapshot: &Snapshot,
    target: &Target,
    options: &RestoreOptions,
    json: bool,
) -> Result<Option<Digest>> {
    let me = target.client.portal_self().await?;
    let same_org =
        me.get("id").and_then(serde_json::Value::as_str) == Some(snapshot.source.org_id.as_str());
    if !options.in_place && !same_org {
        return Ok(None);
    }
    let reports = orgpack_restore::restore(
        archive,
        snapshot,
        std::slice::from_ref(target),
        options,
        true,
    )
    .await?;
    let Some(plan) = reports.first().filter(|r| r.error.is_none()) else {
        // The run reports why the target cannot be planned.
        return Ok(None);
    };
    let mut ids: Vec<String> = plan
        .items
        .iter()
        .filter(|e| e.action == Action::PutBack)
        .filter_map(|e| e.target_id.clone())
        .collect();
    if options.delete_new {
        ids.extend(plan.created_since.iter().map(|n| n.id.clone()));
    }
    if ids.is_empty() {
        return Ok(None);
    }
    let repo_location = repository_for(archive_location);
    let mut repo = crate::secrets::repository(&repo_location)?;
    // Downloads are spooled on the repository's disk, in its `tmp` when it has one.
    let spool_parent = match repo_location.as_path() {
        Some(path) if path.join("tmp").is_dir() => path.join("tmp"),
        _ => std::env::temp_dir(),
    };
    let spool = tempfile::Builder::new()
        .prefix("orgpack-pre-restore-")
        .tempdir_in(spool_parent)?;
    let backup = orgpack_backup::PlanOptions {
        selection: Selection {
            items: ids.clone(),
            include_dependencies: false,
            // With --revert-data the services' features are about to go: export them too.
            export: if options.revert_data {
                ExportMode::Fgdb
            } else {
                ExportMode::Reference
            },
            ..Selection::default()
        },
        parent: None,
        concurrency: options.concurrency,
        spool_dir: spool.path().to_owned(),
        tags: vec!["pre-restore".into()],
        recheck_relationships: false,
        people: false,
    };
    let planned =
        orgpack_backup::plan(&target.client, &backup, &orgpack_backup::NoProgress).await?;
    let outcome = orgpack_backup::run(
        &target.client,
        &planned,
        &mut repo,
        &orgpack_backup::NoProgress,
    )
    .await?;
    if let Some(f) = outcome.failures.first() {
        bail!(
            "the pre-restore backup of {} could not capture everything ({} {}: {}), so nothing was changed; snapshot {} holds what it could",
            target.name,
            f.id,
            f.part.as_deref().unwrap_or("whole"),
            f.message,
            outcome.snapshot.short()
        );
    }
    if !json {
        render::note(&format!(
            "{}: the {} items about to change are backed up as snapshot {} (tag pre-restore) in {}: `orgpack restore {} --snapshot {} --in-place --to {}` undoes this run",
            target.name,
            ids.len(),
            outcome.snapshot.short(),
            repo_location,
            repo_location,
            outcome.snapshot.short(),
            target.name
        ));
    }
    Ok(Some(outcome.snapshot))
}
