//! `orgpack verify ARCHIVE --rehearse [--snapshot ID]`: restore a snapshot into a throw-away
//! sandbox organization started inside this process, read it back with the restore check, and
//! say whether it is restorable or which items would fail and why. No real portal is touched:
//! the sandbox listens on 127.0.0.1 only, keeps its data in a temporary directory, and is gone
//! when the command ends.
//!
//! The organization is of the snapshot's kind (ArcGIS Online or Enterprise). When the snapshot
//! holds its organization's people, the restore makes them (`--people create`); otherwise the
//! owners it names are made first, with their roles, so every item keeps its owner.

use std::time::Instant;

use anyhow::{Context as _, Result};
use orgpack_archive::manifest::{FailureSubject, PortalKind};
use orgpack_archive::{Archive, Snapshot};
use orgpack_portal::{Client, ClientOptions, Credentials, PortalUrl};
use orgpack_restore::{InitialPassword, PeopleMode, RestoreOptions, Status, Target};
use orgpack_sandbox::{Sandbox, SandboxOptions};
use serde::Serialize;

const ORG: &str = "rehearsal";
/// The restoring administrator (with `_2` when the snapshot has a user of this name).
const ADMIN: &str = "orgpack_rehearsal";

/// What a rehearsal found.
#[derive(Debug, Serialize)]
pub struct Rehearsal {
    /// The snapshot restored.
    pub snapshot: String,
    /// Everything was restored and read back as the snapshot has it, and the backup missed
    /// nothing.
    pub restorable: bool,
    /// Items in the snapshot.
    pub items: usize,
    /// Items restored (created) in the throw-away organization.
    pub restored: usize,
    /// Items that failed, or were held back by one that failed.
    pub failed: Vec<FailedItem>,
    /// What the backup could not capture (the snapshot's `failures`).
    #[serde(rename = "notCaptured")]
    pub not_captured: Vec<NotCaptured>,
    /// What the read-back check found, and a restore error that stopped the whole target.
    pub problems: Vec<String>,
    /// Seconds the rehearsal took.
    pub seconds: f64,
}

/// An item that would not come back.
#[derive(Debug, Serialize)]
pub struct FailedItem {
    /// Its id in the snapshot.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its type.
    #[serde(rename = "type")]
    pub item_type: String,
    /// Why.
    pub reason: String,
}

/// A part of the snapshot the backup could not capture.
#[derive(Debug, Serialize)]
pub struct NotCaptured {
    /// The item or group id, or the username.
    pub id: String,
    /// What it is (`item`, `group`, `user`) and, for an item, its title.
    pub what: String,
    /// The part (`export`, `data`, …); absent when nothing of it was captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// Why, as the backup recorded it.
    pub message: String,
    /// For an item: the items of the snapshot that depend on it, directly or through others
    /// (a map showing a service whose data did not come back whole, say).
    pub dependents: Vec<Named>,
}

/// An item, by id and title.
#[derive(Debug, Serialize)]
pub struct Named {
    /// Its id in the snapshot.
    pub id: String,
    /// Its title.
    pub title: String,
}

/// The items that depend on `id`, directly or through others, in snapshot order.
fn dependents(snapshot: &Snapshot, id: &str) -> Vec<Named> {
    crate::page::backup::dependents(snapshot, id)
        .into_iter()
        .map(|(id, title)| Named { id, title })
        .collect()
}

/// Rehearse the restore of `snapshot_ref` of `archive` (already verified by the caller).
pub fn rehearse(archive: &Archive, snapshot_ref: &str) -> Result<Rehearsal> {
    let id = archive.resolve_skipping(snapshot_ref, Some("pre-restore"))?;
    let snapshot = archive.snapshot(&id)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut out = runtime.block_on(run(archive, &snapshot))?;
    out.snapshot = id.to_string();
    Ok(out)
}

async fn run(archive: &Archive, snapshot: &Snapshot) -> Result<Rehearsal> {
    let started = Instant::now();
    let work = tempfile::Builder::new()
        .prefix("orgpack-rehearsal-")
        .tempdir()
        .context("creating the rehearsal's temporary directory")?;
    let sandbox = Sandbox::start(SandboxOptions {
        data_dir: Some(work.path().join("sandbox")),
        ..SandboxOptions::default()
    })
    .await
    .context("starting the throw-away sandbox")?;
    let password = crate::commands::sandbox::generated_password();
    match snapshot.source.portal_kind {
        PortalKind::Online => sandbox.add_org(ORG, "Restore rehearsal")?,
        PortalKind::Enterprise => sandbox.add_enterprise_org(ORG, "Restore rehearsal")?,
    }
    let admin = if snapshot.users.iter().any(|u| u.username == ADMIN) {
        format!("{ADMIN}_2")
    } else {
        ADMIN.to_owned()
    };
    sandbox.add_user(ORG, &admin, &password, "org_admin")?;
    let people = if snapshot.people.is_some() {
        PeopleMode::Create
    } else {
        // The owners the snapshot names, with their roles, so items keep their owners.
        for user in &snapshot.users {
            let role = user
                .role
                .as_deref()
                .filter(|r| matches!(*r, "org_admin" | "org_publisher" | "org_user"))
                .unwrap_or("org_publisher");
            sandbox
                .add_user(ORG, &user.username, &password, role)
                .with_context(|| format!("making the snapshot's user {}", user.username))?;
        }
        PeopleMode::Map
    };
    let client = Client::new(
        PortalUrl::parse(&sandbox.portal_url(ORG)).map_err(anyhow::Error::msg)?,
        Credentials::Password {
            username: admin,
            password: password.clone(),
        },
        ClientOptions {
            hub_url: Some(sandbox.hub_url()),
            ..ClientOptions::default()
        },
    )?;
    let targets = [Target {
        name: ORG.to_owned(),
        client,
        journal: work.path().join("journal.sqlite"),
    }];
    let staging = work.path().join("staging");
    std::fs::create_dir_all(&staging)?;
    let reports = orgpack_restore::restore(
        archive,
        snapshot,
        &targets,
        &RestoreOptions {
            staging_dir: staging,
            people,
            initial_password: Some(InitialPassword::new(password)),
            ..RestoreOptions::default()
        },
        false,
    )
    .await?;
    let report = reports.first().context("the restore reported no target")?;
    let mut problems: Vec<String> = report.error.iter().cloned().collect();
    let failed: Vec<FailedItem> = report
        .items
        .iter()
        .filter(|e| {
            matches!(e.status, Status::Failed | Status::RolledBack)
                || (e.status == Status::Skipped && e.action != orgpack_restore::Action::Skip)
        })
        .map(|e| FailedItem {
            id: e.source_id.clone(),
            title: e.title.clone(),
            item_type: e.item_type.clone(),
            reason: e.reason.clone().unwrap_or_else(|| "failed".to_owned()),
        })
        .collect();
    let checked = orgpack_restore::check_target(&targets[0].client, snapshot, report).await;
    problems.extend(checked.problems);
    let not_captured: Vec<NotCaptured> = snapshot
        .failures
        .iter()
        .map(|f| NotCaptured {
            id: f.id.clone(),
            what: match f.subject {
                FailureSubject::Item => snapshot
                    .item(&f.id)
                    .map_or_else(|| "item".to_owned(), |i| format!("item {}", i.title)),
                FailureSubject::Group => "group".to_owned(),
                FailureSubject::User => "user".to_owned(),
            },
            part: f.part.clone(),
            message: f.message.clone(),
            dependents: if f.subject == FailureSubject::Item {
                dependents(snapshot, &f.id)
            } else {
                Vec::new()
            },
        })
        .collect();
    drop(sandbox);
    Ok(Rehearsal {
        snapshot: String::new(),
        restorable: failed.is_empty() && problems.is_empty() && not_captured.is_empty(),
        items: snapshot.items.len(),
        restored: report.counts().created,
        failed,
        not_captured,
        problems,
        seconds: started.elapsed().as_secs_f64(),
    })
}
