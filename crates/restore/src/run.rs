//! `run`: validate the snapshot, then restore it into every target at once, each with its own
//! journal, id map and report. Within a target, items are restored concurrently, each as soon as
//! what it needs has finished ([`crate::schedule`]); cycles are patched after the last item;
//! relationships are added when both ends exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use orgpack_archive::Archive;
use orgpack_archive::manifest::{Direction, Snapshot};
use orgpack_graph::{IdMap, Part, rewrite_text};
use orgpack_portal::{Client, Content};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::item::{self, COMPLETE, Ctx, Restored};
use crate::journal::{Journal, Kind};
use crate::plan::{GroupAction, RestoreOptions, TargetPlan, plan_target};
use crate::report::{Action, Entry, Status, TargetReport};
use crate::schedule::{Next, Schedule};

/// One organization to restore into.
pub struct Target {
    /// Its name, for reports (`--to NAME`).
    pub name: String,
    /// A client signed in to it.
    pub client: Client,
    /// Its journal file.
    pub journal: PathBuf,
}

/// Reads in flight while a snapshot is validated.
const VALIDATE_THREADS: usize = 8;

/// Check the snapshot and every byte it references before anything is sent anywhere.
///
/// # Errors
/// [`Error::Invalid`] naming the first problem and how many there are.
pub fn validate(archive: &Archive, snapshot: &Snapshot) -> Result<()> {
    let mut problems = snapshot.problems();
    let mut seen = BTreeSet::new();
    // The whole descriptor, not only the digest: a part naming stored content with a size (or
    // chunk list) of its own must be read and checked too.
    let parts: Vec<_> = snapshot
        .parts()
        .into_iter()
        .filter(|p| seen.insert((p.descriptor.digest, p.descriptor.size, p.descriptor.chunks)))
        .collect();
    // Many reads in flight: on object storage each is a request (and its latency).
    let next = std::sync::atomic::AtomicUsize::new(0);
    let found = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..VALIDATE_THREADS.min(parts.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(part) = parts.get(i) else { break };
                    let checked = archive.open_part(part.descriptor).and_then(|mut r| {
                        std::io::copy(&mut r, &mut std::io::sink())
                            .map(|_| ())
                            .map_err(orgpack_archive::archive::unwrap_io)
                    });
                    if let Err(e) = checked {
                        found
                            .lock()
                            .expect("lock poisoned")
                            .push((i, format!("{part}: {e}")));
                    }
                }
            });
        }
    });
    let mut found = found.into_inner().expect("lock poisoned");
    found.sort();
    problems.extend(found.into_iter().map(|(_, p)| p));
    match problems.as_slice() {
        [] => Ok(()),
        [one] => Err(Error::Invalid(one.clone())),
        [first, rest @ ..] => Err(Error::Invalid(format!(
            "{first} (and {} more problems)",
            rest.len()
        ))),
    }
}

/// Restore `snapshot` (validated first) into every target at once; with `dry_run`, plan only.
/// One target failing does not stop the others: its report carries the error.
///
/// # Errors
/// [`Error::Invalid`] when the archive does not validate (nothing is sent anywhere).
pub async fn restore(
    archive: &Archive,
    snapshot: &Snapshot,
    targets: &[Target],
    options: &RestoreOptions,
    dry_run: bool,
) -> Result<Vec<TargetReport>> {
    tokio::task::block_in_place(|| validate(archive, snapshot))?;
    let stager = crate::staging::Stager::new(&options.staging_dir).map_err(|e| {
        Error::Options(format!(
            "creating a staging directory in {}: {e}",
            options.staging_dir.display()
        ))
    })?;
    // Every target registered before any stages, so a file is kept for those still to ask.
    let staging: Vec<_> = targets.iter().map(|_| stager.target()).collect();
    let runs = targets
        .iter()
        .zip(staging)
        .map(|(t, staging)| restore_target(archive, snapshot, t, options, dry_run, staging));
    Ok(futures_util::future::join_all(runs).await)
}

async fn restore_target(
    archive: &Archive,
    snapshot: &Snapshot,
    target: &Target,
    options: &RestoreOptions,
    dry_run: bool,
    staging: crate::staging::TargetStaging<'_>,
) -> TargetReport {
    let started = Instant::now();
    let mut report = TargetReport {
        target: target.name.clone(),
        portal_url: target.client.url().root.clone(),
        items: Vec::new(),
        groups: BTreeMap::new(),
        notes: Vec::new(),
        repointed: Vec::new(),
        created_since: Vec::new(),
        error: None,
        journal: Some(target.journal.display().to_string()),
        seconds: 0.0,
    };
    if let Err(e) = run_target(
        archive,
        snapshot,
        target,
        options,
        dry_run,
        &staging,
        &mut report,
    )
    .await
    {
        report.error = Some(e.to_string());
    }
    // Done: the files kept for this target are released now, not when the others finish.
    drop(staging);
    report.seconds = started.elapsed().as_secs_f64();
    report
}

async fn run_target(
    archive: &Archive,
    snapshot: &Snapshot,
    target: &Target,
    options: &RestoreOptions,
    dry_run: bool,
    stager: &crate::staging::TargetStaging<'_>,
    report: &mut TargetReport,
) -> Result<()> {
    let client = &target.client;
    let facts = crate::plan::facts(client).await?;
    let journal = if dry_run && !target.journal.exists() {
        None
    } else {
        Some(Journal::open(
            &target.journal,
            &facts.portal_url,
            &facts.org_id,
        )?)
    };
    let mut plan = plan_target(archive, snapshot, client, journal.as_ref(), options).await?;
    report.notes.extend(plan.notes.iter().cloned());
    report.created_since = plan
        .created_since
        .iter()
        .map(|(id, title, item_type, owner)| crate::report::NewItem {
            id: id.clone(),
            title: title.clone(),
            item_type: item_type.clone(),
            owner: owner.clone(),
        })
        .collect();
    for cycle in &plan.cycles {
        report.notes.push(format!(
            "items {} refer to each other: created first, their references patched afterwards",
            cycle.join(", ")
        ));
    }
    let entry = |p: &crate::plan::PlannedItem, status: Status, r: Option<&Restored>| {
        let item = &snapshot.items[p.index];
        Entry {
            source_id: item.id.clone(),
            target_id: r
                .and_then(|r| r.target_id.clone())
                .or_else(|| p.existing.clone()),
            title: item.title.clone(),
            item_type: item.item_type.clone(),
            owner: p.owner.clone(),
            action: p.action,
            status,
            // In place, why an item is left or finished as it is, unless the run says more.
            reason: r
                .and_then(|r| r.reason.clone())
                .or_else(|| p.in_place.as_ref().and_then(|i| i.reason.clone())),
            rewritten: r.map_or(0, |r| r.rewritten),
            rewrites: Vec::new(),
            changes: p
                .in_place
                .as_ref()
                .map(|i| i.differences.lines.clone())
                .unwrap_or_default(),
            incomplete: p.incomplete.clone(),
        }
    };
    let Some(journal) = journal.filter(|_| !dry_run) else {
        for (id, g) in &plan.groups {
            report.groups.insert(
                id.clone(),
                match g {
                    GroupAction::Use(t) => t.clone(),
                    GroupAction::Create => "(created)".into(),
                },
            );
        }
        let mut rewrites =
            tokio::task::block_in_place(|| crate::preview::rewrites(archive, snapshot, &plan));
        report.items = plan
            .items
            .iter()
            .map(|p| {
                let mut e = entry(p, Status::Planned, None);
                e.rewrites = rewrites.remove(&p.id).unwrap_or_default();
                e
            })
            .collect();
        return Ok(());
    };
    report.journal = Some(journal.path().display().to_string());
    // In place, an item gone from the target is made anew: what the journal remembers of an
    // earlier copy (its id, its finished steps) no longer holds.
    if plan.in_place {
        for p in plan.items.iter().filter(|p| {
            p.existing.is_none() && matches!(p.action, Action::Create | Action::Republish)
        }) {
            if journal.id(Kind::Item, &p.id)?.is_some() {
                journal.forget(Kind::Item, &p.id)?;
            }
        }
    }

    let maker = crate::people::Make {
        archive,
        snapshot,
        client,
        journal: &journal,
        facts: &facts,
        options,
    };
    let mut people = std::mem::take(&mut plan.people);
    crate::people::make(&maker, &mut people, report).await?;
    // Members who could not be made own nothing: their items go to the restoring user.
    for p in &mut plan.items {
        p.owner = people.owner(&snapshot.items[p.index].owner, &facts.user);
    }
    let keep_me: BTreeSet<String> = plan
        .items
        .iter()
        .filter(|p| p.owner == facts.user)
        .flat_map(|p| snapshot.items[p.index].sharing.groups.iter())
        .map(|g| g.id.clone())
        .collect();
    let group_maker = crate::groups::Groups {
        base: &maker,
        people: &people,
        keep_me: &keep_me,
        in_place: plan.in_place,
    };
    // A failure making groups or folders ends the target; with --rollback, what this run made
    // there first (groups) is undone.
    let groups = match crate::groups::make_groups(&group_maker, &plan, report).await {
        Ok(g) => g,
        Err(e) => return Err(undo_on_error(client, &journal, options, report, e).await),
    };
    plan.people = people;
    let folders = match make_folders(client, &journal, &plan).await {
        Ok(f) => f,
        Err(e) => return Err(undo_on_error(client, &journal, options, report, e).await),
    };
    let mut map = IdMap::default();
    map.portal_urls
        .insert(snapshot.source.portal_url.clone(), facts.portal_url.clone());
    map.org_ids
        .insert(snapshot.source.org_id.clone(), facts.org_id.clone());
    map.apps_home = apps_home(snapshot, &facts);
    map.groups.extend(groups.clone());
    // The planned items' owners by id: looked up per item in folders (a scan of the plan per
    // item was quadratic).
    let owners: std::collections::HashMap<&str, &str> = plan
        .items
        .iter()
        .map(|p| (p.id.as_str(), p.owner.as_str()))
        .collect();
    for item in &snapshot.items {
        if let Some(f) = &item.folder
            && let Some(owner) = owners.get(item.id.as_str())
            && let Some(t) = folders.get(&((*owner).to_owned(), f.title.clone()))
        {
            map.folders.insert(f.id.clone(), t.clone());
        }
    }
    // The other base URLs the source's content reaches its portal by (its org URL when backed up
    // through www.arcgis.com, a custom domain): the target's portal too.
    for alias in &snapshot.source.portal_aliases {
        map.portal_urls
            .entry(alias.trim_end_matches('/').to_owned())
            .or_insert_with(|| facts.portal_url.clone());
    }
    let wave_map = std::sync::RwLock::new(std::sync::Arc::new(map.clone()));
    let map = Mutex::new(map);
    let views = tokio::sync::Mutex::new(());
    let update_groups: BTreeSet<String> = snapshot
        .groups
        .iter()
        .filter(|g| groups.contains_key(&g.id))
        .filter(|g| {
            item::read_json(archive, &g.group).is_ok_and(|j| {
                j["capabilities"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c == "updateitemcontrol"))
            })
        })
        .map(|g| g.id.clone())
        .collect();
    let keep_ids: BTreeSet<String> = plan
        .items
        .iter()
        .filter(|p| p.keep_id)
        .map(|p| p.id.clone())
        .collect();
    let ctx = Ctx {
        archive,
        snapshot,
        client,
        journal: &journal,
        options,
        facts: &facts,
        map: &map,
        wave_map: &wave_map,
        folders: &folders,
        groups: &groups,
        stager,
        views: &views,
        update_groups: &update_groups,
        keep_ids: &keep_ids,
    };

    let mut results = restore_items(&ctx, &plan, &wave_map).await;

    patch_cycles(&ctx, &plan, &mut results).await;
    relate(&ctx, &plan, &mut results).await;
    if plan.in_place {
        crate::inplace::apply::remember_loads(&ctx, &plan, &results).await;
        crate::inplace::apply::repoint(&ctx, &plan, &results, report).await;
        if options.delete_new {
            crate::inplace::apply::delete_new(&ctx, &plan, report).await;
        }
    }
    crate::people::finish(&maker, &plan.people, &groups, report).await?;

    report.groups = groups;
    let failed = results.values().any(|r| r.status == Status::Failed);
    if failed && options.rollback {
        roll_back(client, &journal, &mut results, report).await?;
    }
    journal.clear_priors()?;
    report.items = plan
        .items
        .iter()
        .map(|p| {
            let r = results.get(&p.id);
            entry(p, r.map_or(Status::Skipped, |r| r.status), r)
        })
        .collect();
    Ok(())
}

/// The folders items go into, found by title in their owner's content or created.
/// Where the target serves Experience Builder apps and stories when it is another kind of portal
/// than the source (links to the backup's own apps then move to its form), else `None`.
pub(crate) fn apps_home(
    snapshot: &Snapshot,
    facts: &crate::plan::Facts,
) -> Option<orgpack_graph::apps::AppsHome> {
    use orgpack_archive::manifest::PortalKind;
    use orgpack_graph::apps::AppsHome;
    let source_is_portal = snapshot.source.portal_kind == PortalKind::Enterprise;
    match (source_is_portal, facts.is_portal) {
        (false, true) => Some(AppsHome::Portal(
            facts.portal_url.trim_end_matches('/').to_owned(),
        )),
        (true, false) => Some(AppsHome::Online),
        _ => None,
    }
}

async fn make_folders(
    client: &Client,
    journal: &Journal,
    plan: &TargetPlan,
) -> Result<BTreeMap<(String, String), String>> {
    let wanted: BTreeSet<(String, String)> = plan
        .items
        .iter()
        .filter(|p| {
            matches!(
                p.action,
                Action::Create | Action::Republish | Action::PutBack | Action::Undelete
            )
        })
        .filter_map(|p| p.folder.clone().map(|f| (p.owner.clone(), f)))
        .collect();
    let mut out = BTreeMap::new();
    // One listing per owner, however many of their folders are wanted.
    let mut listed: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (owner, title) in wanted {
        if !listed.contains_key(&owner) {
            let folders = client
                .user_folders(&owner)
                .await?
                .into_iter()
                .filter_map(|f| {
                    Some((
                        f.get("title")?.as_str()?.to_owned(),
                        f.get("id")?.as_str()?.to_owned(),
                    ))
                })
                .collect();
            listed.insert(owner.clone(), folders);
        }
        let id = if let Some(id) = listed[&owner].get(&title) {
            id.clone()
        } else {
            let id = client.create_folder(&owner, &title).await?;
            journal.set_id(Kind::Folder, &format!("{owner}/{title}"), &id, true)?;
            id
        };
        out.insert((owner, title), id);
    }
    Ok(out)
}

/// Restore a target's items, each as soon as what it needs has finished ([`Schedule`]), at most
/// `concurrency` at once; an item whose dependency failed is skipped. Items rewrite from the
/// snapshot in `wave_map`, taken again when a ready item needs later finishes: at once when
/// nothing runs, else no more often than ten times what the last snapshot took, so cloning the
/// map stays a small share of the work however many items there are.
async fn restore_items(
    ctx: &Ctx<'_>,
    plan: &TargetPlan,
    wave_map: &std::sync::RwLock<std::sync::Arc<IdMap>>,
) -> BTreeMap<String, Restored> {
    let mut results: BTreeMap<String, Restored> = BTreeMap::new();
    let mut broken: BTreeMap<String, String> = BTreeMap::new();
    let mut schedule = Schedule::new(&plan.items);
    let mut running = futures_util::stream::FuturesUnordered::new();
    let (mut seen, mut snapshot_at, mut snapshot_cost) = (0, Instant::now(), Duration::ZERO);
    let at_once = ctx.options.concurrency.max(1);
    loop {
        while running.len() < at_once {
            match schedule.next(seen) {
                Next::Start(i) => {
                    let p = &plan.items[i];
                    if let Some(bad) = p.needs.iter().find(|n| broken.contains_key(*n)) {
                        let root = broken[bad].clone();
                        broken.insert(p.id.clone(), root.clone());
                        let reason = crate::report::held_back_reason(bad, &root);
                        results.insert(
                            p.id.clone(),
                            Restored {
                                target_id: None,
                                status: Status::Skipped,
                                reason: Some(reason),
                                rewritten: 0,
                            },
                        );
                        schedule.finish(i, true, false);
                        continue;
                    }
                    running.push(async move { (i, item::restore_item(ctx, p).await) });
                }
                Next::Stale
                    if running.is_empty() || snapshot_at.elapsed() >= snapshot_cost * 10 =>
                {
                    let started = Instant::now();
                    let fresh = std::sync::Arc::new(ctx.map.lock().expect("id map lock").clone());
                    *wave_map.write().expect("wave map lock") = fresh;
                    seen = schedule.changes();
                    (snapshot_at, snapshot_cost) = (Instant::now(), started.elapsed());
                }
                Next::Stale | Next::Wait | Next::Done => break,
            }
        }
        if running.is_empty() {
            break;
        }
        // A finish, or the moment a new snapshot is allowed for items waiting on one.
        let refresh = tokio::time::sleep_until((snapshot_at + snapshot_cost * 10).into());
        // (Only with room for another item: at capacity, only a finish lets anything start.)
        let waiting = running.len() < at_once && schedule.stale(seen);
        tokio::select! {
            Some((i, r)) = running.next() => {
                let p = &plan.items[i];
                let failed = r.status == Status::Failed;
                if failed {
                    broken.insert(p.id.clone(), p.id.clone());
                }
                results.insert(p.id.clone(), r);
                schedule.finish(i, true, !failed);
            }
            () = refresh, if waiting => {}
        }
    }
    results
}

/// Item fields a second pass sets again: those that can name other items.
const PATCHED_FIELDS: &[&str] = &[
    "snippet",
    "description",
    "accessInformation",
    "licenseInfo",
    "properties",
];

/// The second pass: items whose references to later items were left unmapped get their data,
/// and the fields of their item JSON that name one, rewritten again with the whole id map.
async fn patch_cycles(ctx: &Ctx<'_>, plan: &TargetPlan, results: &mut BTreeMap<String, Restored>) {
    let map = ctx.map.lock().expect("id map lock").clone();
    for p in plan.items.iter().filter(|p| !p.patch_later.is_empty()) {
        let Some(r) = results.get_mut(&p.id) else {
            continue;
        };
        let (Some(target_id), Status::Created | Status::Updated) = (r.target_id.clone(), r.status)
        else {
            continue;
        };
        if ctx.journal.done(&p.id, COMPLETE).unwrap_or(false) {
            continue;
        }
        let item = &ctx.snapshot.items[p.index];
        let outcome: std::result::Result<(), String> = async {
            let json = item::read_json(ctx.archive, &item.item)?;
            let item_context = item::ItemContext::new(ctx.snapshot, item, &json);
            let gctx = item_context.context();
            // The item's own fields that name a later item (a Workforce project's maps in its
            // properties, a link in its description).
            let names_later = {
                let text = json.to_string();
                p.patch_later
                    .iter()
                    .any(|later| text.contains(later.as_str()))
            };
            if names_later {
                let out = orgpack_graph::rewrite(&gctx, Part::Item, &json, &map);
                let params: Vec<(&str, String)> = item::item_params(&out.doc, &item.id, false)
                    .into_iter()
                    .filter(|(k, _)| PATCHED_FIELDS.contains(k))
                    .collect();
                let refs: Vec<(&str, &str)> =
                    params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                r.rewritten += out.changed;
                ctx.client
                    .update_item(&p.owner, None, &target_id, &refs, Content::None)
                    .await
                    .map_err(|e| format!("patching references in its item: {e}"))?;
            }
            if let Some(data) = item.data.as_ref().filter(|d| d.name.is_none()) {
                let text = item::read_text(ctx.archive, &data.content)?;
                let out = rewrite_text(&gctx, Part::Data, &text, &map)
                    .ok_or("the archived data is not JSON")?;
                r.rewritten += out.changed;
                ctx.client
                    .update_item(&p.owner, None, &target_id, &[], Content::Text(&out.text))
                    .await
                    .map_err(|e| format!("patching references: {e}"))?;
            }
            ctx.journal.mark(&p.id, COMPLETE).map_err(|e| e.to_string())
        }
        .await;
        if let Err(e) = outcome {
            r.status = Status::Failed;
            r.reason = Some(e);
        }
    }
}

/// Forward relationships between restored items.
async fn relate(ctx: &Ctx<'_>, plan: &TargetPlan, results: &mut BTreeMap<String, Restored>) {
    let ids: BTreeMap<String, String> = results
        .iter()
        .filter_map(|(k, r)| r.target_id.clone().map(|t| (k.clone(), t)))
        .collect();
    for p in &plan.items {
        let Some(origin) = ids.get(&p.id) else {
            continue;
        };
        if ctx.journal.done(&p.id, "related").unwrap_or(false) {
            continue;
        }
        let item = &ctx.snapshot.items[p.index];
        let mut problem = None;
        for r in item
            .relationships
            .iter()
            .filter(|r| r.direction == Direction::Forward)
        {
            let Some(dest) = ids.get(&r.item_id) else {
                continue;
            };
            if let Err(e) = ctx
                .client
                .add_relationship(&p.owner, origin, dest, &r.relationship_type)
                .await
            {
                problem = Some(format!(
                    "relationship {} to {}: {e}",
                    r.relationship_type, r.item_id
                ));
            }
        }
        match problem {
            None => {
                let _ = ctx.journal.mark(&p.id, "related");
            }
            Some(e) => {
                if let Some(res) = results.get_mut(&p.id) {
                    res.status = Status::Failed;
                    res.reason = Some(e);
                }
            }
        }
    }
}

/// With `--rollback`, a target that fails before its items (making groups or folders) has what
/// this run made there deleted too; the error is returned either way.
async fn undo_on_error(
    client: &Client,
    journal: &Journal,
    options: &RestoreOptions,
    report: &mut TargetReport,
    error: Error,
) -> Error {
    if options.rollback
        && let Err(e) = roll_back(client, journal, &mut BTreeMap::new(), report).await
    {
        report.notes.push(format!("rollback failed: {e}"));
    }
    let _ = journal.clear_priors();
    error
}

/// Delete what this run created in the target, newest first.
async fn roll_back(
    client: &Client,
    journal: &Journal,
    results: &mut BTreeMap<String, Restored>,
    report: &mut TargetReport,
) -> Result<()> {
    let created = journal.created_in_this_run()?;
    for (kind, source, target) in &created {
        let (kind, source, target) = (*kind, source.clone(), target.clone());
        if kind != Kind::Item {
            continue;
        }
        let Ok(json) = client.item(&target).await else {
            continue;
        };
        let Some(owner) = json.get("owner").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        if json.get("protected").and_then(Value::as_bool) == Some(true) {
            let _ = client.protect_item(&owner, &target, false).await;
        }
        match client.delete_item(&owner, &target).await {
            Ok(()) => {
                journal.forget(Kind::Item, &source)?;
                if let Some(r) = results.get_mut(&source) {
                    if r.status != Status::Failed {
                        r.status = Status::RolledBack;
                    }
                    r.reason
                        .get_or_insert_with(|| "rolled back: another item failed".into());
                }
            }
            Err(e) => report
                .notes
                .push(format!("rollback could not delete {target}: {e}")),
        }
    }
    // Then the groups it created, once nothing it created is shared with them.
    for (kind, source, target) in &created {
        if *kind != Kind::Group {
            continue;
        }
        match client.delete_group(target).await {
            Ok(()) => {
                journal.forget(Kind::Group, source)?;
                report.groups.remove(source);
            }
            Err(e) if e.is_not_found() => journal.forget(Kind::Group, source)?,
            Err(e) => report
                .notes
                .push(format!("rollback could not delete group {target}: {e}")),
        }
    }
    // The folders it created, once empty (a folder is deleted with what it holds).
    for (kind, source, target) in &created {
        if *kind != Kind::Folder {
            continue;
        }
        let owner = source.split_once('/').map_or(source.as_str(), |(o, _)| o);
        match client.user_items(owner, Some(target)).await {
            Ok(items) if items.is_empty() => match client.delete_folder(owner, target).await {
                Ok(()) => journal.forget(Kind::Folder, source)?,
                Err(e) => report
                    .notes
                    .push(format!("rollback could not delete folder {source}: {e}")),
            },
            Ok(_) => report.notes.push(format!(
                "rollback kept folder {source}: it holds items it could not delete"
            )),
            Err(e) => report
                .notes
                .push(format!("rollback could not read folder {source}: {e}")),
        }
    }
    // Then the items it changed, as they were before it changed them.
    let (put_back, notes) = crate::prior::put_back_all(client, journal).await;
    report.notes.extend(notes);
    for r in results.values_mut().filter(|r| {
        r.status == Status::Updated && r.target_id.as_ref().is_some_and(|t| put_back.contains(t))
    }) {
        r.status = Status::RolledBack;
        r.reason
            .get_or_insert_with(|| "rolled back: put back as it was".into());
    }
    let people = created
        .iter()
        .filter(|(k, _, _)| matches!(k, Kind::User | Kind::Role))
        .count();
    let kept = if people > 0 {
        format!("; the {people} member(s) and role(s) it created are kept (they own nothing now)")
    } else {
        String::new()
    };
    report.notes.push(format!(
        "rolled back: the items, groups and folders this run created were deleted and the {} \
         item(s) it updated put back as they were{kept}",
        put_back.len()
    ));
    Ok(())
}
