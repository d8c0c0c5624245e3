//! `run`: capture every planned item concurrently, then the groups and users they need, and commit
//! one snapshot. Failures of single items or parts are recorded in the snapshot; only a failure
//! to write the archive stops the run.

use std::collections::BTreeMap;
use std::time::Duration;

use orgpack_archive::digest::Digest;
use orgpack_archive::manifest::{Failure, Item, Obtained, Payload, Snapshot, Tool};
use orgpack_archive::{SnapshotWriter, WriteOptions, WriteStats};
use orgpack_portal::Client;
use serde_json::Value;

use crate::capture::{self, EXPORT_TITLE_PREFIX, Env};
use crate::error::Result;
use crate::plan::Plan;
use crate::progress::Progress;

/// Temporary export items older than this are left over from an interrupted backup: no export job
/// runs that long, so deleting them cannot break a backup running beside this one.
const STALE_EXPORT: Duration = Duration::from_hours(6);

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The committed snapshot.
    pub snapshot: Digest,
    /// Items in the snapshot.
    pub items: usize,
    /// Items whose content was reused from the parent.
    pub reused: usize,
    /// Hosted services exported.
    pub exports: usize,
    /// Groups in the snapshot.
    pub groups: usize,
    /// Everything that could not be captured.
    pub failures: Vec<Failure>,
    /// Temporary export items of earlier, interrupted backups deleted from the source.
    pub stale_exports_deleted: usize,
    /// What the archive writer did.
    pub stats: WriteStats,
}

/// Capture every planned item, `plan.concurrency` at once, handing each capture to `done` as it
/// ends. Each capture runs on a thread of its own that drives it on the runtime: storing a part
/// blocks (a put to a bucket waits a round trip, a file an fsync), and the other captures go on
/// meanwhile. Polled together in one task they waited on each other's puts: 3,418 requests to a
/// bucket 20 ms away took 89 s, one at a time.
fn capture_all(env: &Env<'_>, mut done: impl FnMut(capture::Captured)) {
    let items = &env.plan.items;
    let workers = env.plan.concurrency.max(1).min(items.len());
    if workers == 0 {
        return;
    }
    let handle = tokio::runtime::Handle::current();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel();
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let (tx, handle, next) = (tx.clone(), &handle, &next);
                scope.spawn(move || {
                    handle.block_on(async {
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(planned) = items.get(i) else { break };
                            let c = capture::capture(env, planned).await;
                            env.progress.item_done(&planned.id, planned.title());
                            if tx.send(c).is_err() {
                                break;
                            }
                        }
                    });
                });
            }
            drop(tx);
            for c in rx {
                done(c);
            }
        });
    });
}

/// Capture `plan` into `writer` and commit the snapshot.
///
/// A parent snapshot's content is reused only when its blobs are in `writer`'s archive.
///
/// # Errors
/// Archive errors committing the snapshot.
pub async fn run(
    client: &Client,
    plan: &Plan,
    writer: &mut dyn SnapshotWriter,
    progress: &dyn Progress,
) -> Result<Outcome> {
    progress.planned(plan.items.len(), plan.reused(), plan.estimated_bytes());
    std::fs::create_dir_all(&plan.spool_dir).map_err(|source| crate::Error::Io {
        what: format!("creating {}", plan.spool_dir.display()),
        source,
    })?;
    // Exports need a ledger, and first the exports of ended runs that their ledgers (beside the
    // spool directory) say were left in this portal are deleted.
    let ledger_dir = plan.spool_dir.parent().unwrap_or(&plan.spool_dir);
    let (portal, me) = (&plan.source.portal_url, &plan.source.user);
    let (stale_exports_deleted, ledger) = if plan.exports() > 0 {
        let recovered = crate::ledger::recover(client, ledger_dir, portal, me).await;
        let stale = delete_stale_exports(client, me).await;
        let ledger = crate::ledger::Ledger::create(ledger_dir, portal, me).map_err(|source| {
            crate::Error::Io {
                what: format!("creating an export ledger in {}", ledger_dir.display()),
                source,
            }
        })?;
        (recovered + stale, Some(ledger))
    } else {
        (0, None)
    };
    let (mut snapshot, stats, exports) = {
        let blobs = writer.blob_writer(WriteOptions::default());
        let env = Env {
            client,
            blobs: &blobs,
            plan,
            progress,
            ledger: ledger.as_ref(),
        };
        // Each capture's item is moved into the snapshot's list as it ends: collecting the
        // captures first held every item twice at the end (a tenth of a nightly's memory).
        let mut exports = 0;
        let mut failures = plan.failures.clone();
        let mut items = Vec::with_capacity(plan.items.len());
        capture_all(&env, |c| {
            exports += usize::from(c.exported);
            failures.extend(c.failures);
            items.extend(c.item);
        });
        items.sort_by(|a, b| a.id.cmp(&b.id));
        link_original_sources(&mut items);
        let groups = crate::people::capture_groups(client, &blobs, plan, &mut failures).await;
        crate::people::name_groups(&mut items, &groups);
        let (users, people) =
            crate::people::capture_people(client, &blobs, plan, &items, &groups, &mut failures)
                .await;
        // A part the repository could not take (a full disk) is not the item's failure: the run
        // stops, and nothing is committed.
        if let Some(e) = blobs.take_store_failure() {
            return Err(e.into());
        }
        failures.sort_by(|a, b| {
            (a.subject as u8, &a.id, &a.part).cmp(&(b.subject as u8, &b.id, &b.part))
        });
        let snapshot = Snapshot {
            format_version: orgpack_archive::layout::FORMAT_VERSION.to_owned(),
            created: plan.created.clone(),
            tool: Tool {
                name: "orgpack".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            source: plan.source.clone(),
            selection: plan.selection.clone(),
            parent: plan.parent.as_ref().map(|(id, _)| *id),
            tags: plan.tags.clone(),
            items,
            item_layers: Vec::new(),
            groups,
            users,
            people,
            failures,
            annotations: BTreeMap::new(),
        };
        (snapshot, blobs.stats(), exports)
    };
    let parent = plan.parent.as_ref().map(|(_, p)| p.as_ref());
    let id = tokio::task::block_in_place(|| writer.commit_on(&mut snapshot, parent))?;
    Ok(Outcome {
        snapshot: id,
        items: snapshot.items.len(),
        reused: plan.reused(),
        exports,
        groups: snapshot.groups.len(),
        failures: snapshot.failures,
        stale_exports_deleted,
        stats,
    })
}

/// A hosted service's original source file (its `Service2Data` destination, when captured) is
/// recorded beside the fresh export as `originalSource`: possibly older than the service, never
/// mistaken for its current data.
fn link_original_sources(items: &mut [Item]) {
    let data_of: BTreeMap<String, (Option<String>, orgpack_archive::Descriptor)> = items
        .iter()
        .filter_map(|i| {
            let d = i.data.as_ref()?;
            Some((i.id.clone(), (d.name.clone(), d.content)))
        })
        .collect();
    for item in items.iter_mut() {
        let sources: Vec<String> = item
            .relationships
            .iter()
            .filter(|r| r.relationship_type == "Service2Data")
            .map(|r| r.item_id.clone())
            .collect();
        for source in sources {
            let Some((name, content)) = data_of.get(&source) else {
                continue;
            };
            if item
                .payloads
                .iter()
                .any(|p| p.source_item.as_deref() == Some(&source))
            {
                continue;
            }
            let file_name = name.clone().unwrap_or_else(|| format!("{source}.data"));
            item.payloads.push(Payload {
                file_name,
                kind: orgpack_archive::manifest::PayloadKind::Other,
                obtained: Obtained::OriginalSource,
                source_item: Some(source),
                content: *content,
                layers: Vec::new(),
            });
        }
    }
    // The kind and layers of an original source are those read from its own item's data.
    let payload_of: BTreeMap<String, Payload> = items
        .iter()
        .filter_map(|i| {
            let p = i
                .payloads
                .iter()
                .find(|p| p.obtained == Obtained::Download)?;
            Some((i.id.clone(), p.clone()))
        })
        .collect();
    for item in items.iter_mut() {
        for p in &mut item.payloads {
            if let Some(known) = p.source_item.as_ref().and_then(|s| payload_of.get(s)) {
                p.kind = known.kind;
                p.layers.clone_from(&known.layers);
            }
        }
    }
}

/// Delete this user's temporary export items left by interrupted backups (older than
/// [`STALE_EXPORT`]). Returns how many. Found by a search for their titles, not a walk of the
/// signed-in user's root folder, which can hold most of a large organization (1,000 requests at
/// 100,000 items): hours-old items are in the portal's search index, which lags by a minute at
/// most. The exports of this machine's interrupted runs, which can be minutes old, are found
/// through their ledgers (`ledger::recover`).
async fn delete_stale_exports(client: &Client, me: &str) -> usize {
    let query = format!("owner:\"{me}\" AND title:\"{EXPORT_TITLE_PREFIX}\"");
    let Ok(found) = client.search_all(&query, 100).await else {
        return 0;
    };
    // The search matches words; the title must start with the prefix and the item be this
    // user's.
    let exports = found.iter().filter_map(|item| {
        let title = item.get("title").and_then(Value::as_str)?;
        let owner = item.get("owner").and_then(Value::as_str)?;
        if !title.starts_with(EXPORT_TITLE_PREFIX) || owner != me {
            return None;
        }
        let id = item.get("id").and_then(Value::as_str)?.to_owned();
        let created = item
            .get("created")
            .and_then(Value::as_i64)
            .unwrap_or(i64::MAX);
        Some((id, created))
    });
    let cutoff = jiff::Timestamp::now().as_millisecond()
        - i64::try_from(STALE_EXPORT.as_millis()).unwrap_or(i64::MAX);
    let mut deleted = 0;
    for (id, created) in exports {
        if created < cutoff && client.delete_item(me, &id).await.is_ok() {
            deleted += 1;
        }
    }
    deleted
}
