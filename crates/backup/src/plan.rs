//! `plan`: resolve the selection, read every item's JSON and sharing, find its dependencies in its
//! JSON, data, resources and relationships (orgpack-graph), and close over those within the
//! organization. Nothing is written anywhere; `--dry-run` prints the plan.
//!
//! Items whose `modified` equals the parent snapshot's are marked for reuse: their data, resources
//! and dependencies come from the parent, and nothing but their JSON and sharing is read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt as _;
use orgpack_archive::digest::Digest;
use orgpack_archive::manifest::{
    Access, Dependency, DependencyKind, Direction, ExportMode, Failure, FailureSubject, Folder,
    FoundIn, GroupRef, PortalKind, Relationship, Selection, Sharing, Snapshot, Source,
};
use orgpack_graph::{Context, Part as GraphPart, RefKind, Reference};
use orgpack_portal::Client;
use serde_json::Value;

use crate::service_state::ServiceState;

use crate::error::Result;
use crate::fetch::{self, Part};
use crate::progress::Progress;
use crate::relations;
use crate::select;

/// JSON data and resources larger than this are not read for references while planning.
const MAX_SCANNED: u64 = 32 << 20;
/// Planning keeps at most this much downloaded JSON for `run` to store without a second download.
const CACHE_BUDGET: u64 = 64 << 20;

/// How to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// What to back up.
    pub selection: Selection,
    /// The snapshot to back up incrementally against (shared with the plan, not copied).
    pub parent: Option<(Digest, std::sync::Arc<Snapshot>)>,
    /// Items read at once.
    pub concurrency: usize,
    /// Where downloads larger than memory allows are spooled.
    pub spool_dir: PathBuf,
    /// Labels for the snapshot.
    pub tags: Vec<String>,
    /// Read the relationships of unchanged items again instead of taking the parent's (a
    /// relationship edit may leave `modified` as it was); their content is still reused.
    pub recheck_relationships: bool,
    /// Capture the organization's people (members, custom roles, group settings; with `--all`
    /// every group); `false` is `--people none`: only the owners of captured content.
    pub people: bool,
}

impl PlanOptions {
    /// The whole organization with its dependencies, hosted services exported to File
    /// Geodatabases, 8 items at once, no parent (`orgpack backup --all`).
    pub fn whole_org(spool_dir: PathBuf) -> Self {
        Self {
            selection: Selection {
                all: true,
                include_dependencies: true,
                export: ExportMode::Fgdb,
                ..Selection::default()
            },
            parent: None,
            concurrency: 8,
            spool_dir,
            tags: Vec::new(),
            recheck_relationships: false,
            people: true,
        }
    }
}

/// Why an item is in the plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Why {
    /// The selection named it (`owner alice`, `group <id>`, …).
    Selected {
        /// Which part of the selection.
        by: String,
    },
    /// Another planned item depends on it.
    Dependency {
        /// The item that depends on it.
        of: String,
        /// Where the reference is (`data $.operationalLayers[0].itemId`, `Map2Service`, …).
        path: String,
    },
}

/// One item to capture.
#[derive(Debug, Clone)]
pub struct PlannedItem {
    /// The item id.
    pub id: String,
    /// The item JSON as `content/items/<id>` (or a listing) returned it.
    pub json: crate::item_json::ItemJson,
    /// Why it is in the plan.
    pub why: Why,
    /// Unchanged since the parent snapshot: its content is reused, not downloaded.
    pub reuse: bool,
    /// Sharing, from the owner's view (group titles filled in by `run`).
    pub sharing: Sharing,
    /// The owner's folder.
    pub folder: Option<Folder>,
    /// Everything it depends on.
    pub dependencies: Vec<Dependency>,
    /// Its forward relationships.
    pub relationships: Vec<Relationship>,
    /// A hosted feature service that `run` exports.
    pub export: bool,
    /// Resources, listed while planning (path, size).
    pub resources: Vec<(String, u64)>,
    /// Documents downloaded while planning (`data`, or a resource path), for `run` to store.
    pub cached: BTreeMap<String, Vec<u8>>,
    /// Parts planning asked for and the item does not have (`data` of a link): `run` does not
    /// ask again.
    pub absent: BTreeSet<String>,
    /// A view's `sources`, read while planning for its dependencies, kept for capture.
    pub view_sources: Option<Value>,
    /// A hosted feature service's layers' state (edit dates, definitions), recorded in the
    /// snapshot to tell the next backup whether it changed.
    pub service_state: Option<crate::service_state::ServiceState>,
    /// Why an item whose `modified` equals the parent's is captured again (its service's layers
    /// were edited or redefined).
    pub changed: Option<String>,
}

impl PlannedItem {
    /// A string field of the item JSON.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.json.get(key).and_then(Value::as_str)
    }

    /// The item type.
    pub fn item_type(&self) -> &str {
        self.field("type").unwrap_or_default()
    }

    /// The title.
    pub fn title(&self) -> &str {
        self.field("title").unwrap_or_default()
    }

    /// The owner.
    pub fn owner(&self) -> &str {
        self.field("owner").unwrap_or_default()
    }

    /// `modified`, ms since the epoch.
    pub fn modified(&self) -> i64 {
        self.json
            .get("modified")
            .and_then(Value::as_i64)
            .unwrap_or_default()
    }

    /// The item's size as the portal reports it.
    pub fn size(&self) -> u64 {
        self.json.get("size").and_then(Value::as_u64).unwrap_or(0)
    }
}

/// A reference to something that could not be captured and is not a failure of the backup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The item or URL referenced.
    pub target: String,
    /// The item that refers to it.
    pub referenced_by: String,
    /// Why it was not captured: another organization's, or not found in the source.
    pub reason: String,
}

/// What a backup will do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// When planning started (RFC 3339), the snapshot's `created`.
    pub created: String,
    /// The source organization.
    pub source: Source,
    /// The selection.
    pub selection: Selection,
    /// The parent snapshot, when incremental.
    pub parent: Option<(Digest, std::sync::Arc<Snapshot>)>,
    /// Every item to capture, by id.
    pub items: Vec<PlannedItem>,
    /// Groups to capture: selected, shared into, or referenced.
    pub groups: BTreeSet<String>,
    /// Items that could not be read at all.
    pub failures: Vec<Failure>,
    /// References left out: other organizations' content, or items that no longer exist.
    pub skipped: Vec<Skipped>,
    /// Where downloads are spooled.
    pub spool_dir: PathBuf,
    /// Items read at once.
    pub concurrency: usize,
    /// Labels for the snapshot.
    pub tags: Vec<String>,
    /// Capture the organization's people ([`PlanOptions::people`]).
    pub people: bool,
    /// The organization as `portals/self` described it when planning (its group settings and
    /// whether it has a category schema are captured from it).
    pub portal: Value,
}

impl Plan {
    /// Items reused from the parent.
    pub fn reused(&self) -> usize {
        self.items.iter().filter(|i| i.reuse).count()
    }

    /// Bytes the run is expected to download: the sizes the portal reports for items not reused.
    pub fn estimated_bytes(&self) -> u64 {
        self.items
            .iter()
            .filter(|i| !i.reuse)
            .map(PlannedItem::size)
            .sum()
    }

    /// Hosted services the run will export.
    pub fn exports(&self) -> usize {
        self.items.iter().filter(|i| i.export && !i.reuse).count()
    }
}

/// Read-only state shared by the item visits of one plan.
struct Ctx<'a> {
    client: &'a Client,
    org_id: String,
    portal_urls: Vec<String>,
    options: &'a PlanOptions,
    parent_items: HashMap<&'a str, &'a orgpack_archive::Item>,
    cache_left: AtomicU64,
    progress: &'a dyn Progress,
}

/// What reading one item found.
enum Visit {
    Item(Box<PlannedItem>),
    Skipped(String),
    Failed(Failure),
}

/// Plan a backup of `options.selection` from the portal behind `client`.
///
/// # Errors
/// When `portals/self` or listing the selection fails; failures of single items are recorded in
/// the plan instead.
pub async fn plan(client: &Client, options: &PlanOptions, progress: &dyn Progress) -> Result<Plan> {
    let created = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string());
    let me = client.portal_self().await?;
    let mut source = source_of(client, &me);
    let selected = select::resolve(client, &source.org_id, &options.selection).await?;
    let mut portal_urls = vec![client.url().root.clone()];
    if let Some(key) = me.get("urlKey").and_then(Value::as_str)
        && let Some(host) = me.get("customBaseUrl").and_then(Value::as_str)
    {
        let own = format!("https://{key}.{host}");
        if own.trim_end_matches('/') != client.url().root.trim_end_matches('/') {
            portal_urls.push(own);
        }
    }
    // Recorded so that a restore points links on any of them at the target.
    source.portal_aliases = portal_urls[1..].to_vec();
    let parent_items = options
        .parent
        .as_ref()
        .map(|(_, s)| {
            let failed: BTreeSet<&str> = s
                .failures
                .iter()
                .filter(|f| f.subject == FailureSubject::Item)
                .map(|f| f.id.as_str())
                .collect();
            s.items
                .iter()
                .filter(|i| !failed.contains(i.id.as_str()))
                .map(|i| (i.id.as_str(), i))
                .collect()
        })
        .unwrap_or_default();
    let ctx = Ctx {
        client,
        org_id: source.org_id.clone(),
        portal_urls,
        options,
        parent_items,
        cache_left: AtomicU64::new(CACHE_BUDGET),
        progress,
    };

    let mut seen: BTreeSet<String> = selected.items.keys().cloned().collect();
    let mut listed = selected.listed;
    // Listed items' groups from one listing per group: unchanged items then need no request of
    // their own, and, when no member belongs to another organization's group, no listed item
    // needs its owner's view (`sharing::members_stay_in_org_groups`).
    let index = if listed.is_empty() {
        None
    } else {
        crate::sharing::GroupIndex::build(client, &source.org_id)
            .await
            .ok()
    };
    let needs_view = listed
        .iter()
        .filter(|(id, j)| {
            j.get("access").and_then(Value::as_str) != Some("private")
                && ctx
                    .parent_items
                    .get(id.as_str())
                    .is_none_or(|p| j.get("modified").and_then(Value::as_i64) != Some(p.modified))
        })
        .count();
    let sharing_index = match &index {
        Some(index)
            if crate::sharing::members_stay_in_org_groups(
                client,
                index,
                needs_view,
                options.concurrency,
            )
            .await =>
        {
            Some(index)
        }
        _ => None,
    };
    let mut frontier: Vec<(String, Why)> = selected
        .items
        .into_iter()
        .map(|(id, by)| (id, Why::Selected { by }))
        .collect();
    let mut items: Vec<PlannedItem> = Vec::new();
    let mut failures = selected.failures;
    let mut skipped = Vec::new();
    let mut groups: BTreeSet<String> = selected.groups.into_iter().collect();
    let mut services: HashMap<String, Option<String>> = HashMap::new();

    while !frontier.is_empty() {
        // Each listed JSON is taken out of the listing, not copied: at 100,000 items a second
        // copy of every item JSON is most of a plan's memory.
        let mut quick = Vec::new();
        let mut rest = Vec::with_capacity(frontier.len());
        for (id, why) in frontier {
            let mut json = listed.remove(&id);
            match reuse_listed(&ctx, index.as_ref(), &mut json, &id, &why) {
                Some(item) => quick.push((id, why, Visit::Item(Box::new(item)))),
                None => rest.push((id, why, json)),
            }
        }
        let mut visits: Vec<(String, Why, Visit)> = futures_util::stream::iter(rest)
            .map(|(id, why, json)| {
                let ctx = &ctx;
                async move {
                    let visit = visit(ctx, &id, why.clone(), json, sharing_index).await;
                    (id, why, visit)
                }
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
        visits.append(&mut quick);
        check_services(&ctx, &mut visits).await;
        let first = items.len();
        for (id, why, visit) in visits {
            match visit {
                Visit::Item(item) => {
                    items.push(*item);
                    progress.planning(items.len());
                }
                Visit::Failed(f) => failures.push(f),
                Visit::Skipped(reason) => skipped.push(Skipped {
                    target: id,
                    referenced_by: match &why {
                        Why::Dependency { of, .. } => of.clone(),
                        Why::Selected { by } => by.clone(),
                    },
                    reason,
                }),
            }
        }
        for item in &items {
            if let Some(url) = item.field("url") {
                services.insert(service_key(url), Some(item.id.clone()));
            }
        }
        frontier = Vec::new();
        for item in &mut items[first..] {
            resolve_services(&ctx, item, &mut services).await;
            let item = &*item;
            for g in &item.sharing.groups {
                groups.insert(g.id.clone());
            }
            for dep in &item.dependencies {
                if dep.kind == DependencyKind::Group && !dep.external {
                    groups.insert(dep.target.clone());
                }
            }
            if !options.selection.include_dependencies {
                continue;
            }
            for dep in &item.dependencies {
                let Some(target) = dep.item_id.as_ref().filter(|_| !dep.external) else {
                    continue;
                };
                if target != &item.id && seen.insert(target.clone()) {
                    frontier.push((
                        target.clone(),
                        Why::Dependency {
                            of: item.id.clone(),
                            path: dep.path.clone().unwrap_or_default(),
                        },
                    ));
                }
            }
        }
    }
    items.sort_by(|a, b| a.id.cmp(&b.id));
    name_folders(client, &mut items, &mut failures).await;
    // The whole organization with its people: every group, shared into or not.
    if options.people && options.selection.all {
        match &index {
            Some(index) => groups.extend(index.groups.iter().cloned()),
            None => match client
                .search_groups(&format!("orgid:{}", source.org_id))
                .await
            {
                Ok(found) => groups.extend(
                    found
                        .iter()
                        .filter_map(|g| g.get("id").and_then(Value::as_str).map(str::to_owned)),
                ),
                Err(e) => failures.push(Failure {
                    subject: orgpack_archive::manifest::FailureSubject::Group,
                    id: "(organization groups)".into(),
                    part: None,
                    message: e.to_string(),
                }),
            },
        }
    }
    failures.sort_by(|a: &Failure, b| a.id.cmp(&b.id));
    skipped.sort_by(|a, b| a.target.cmp(&b.target));
    Ok(Plan {
        created,
        source,
        selection: options.selection.clone(),
        parent: options.parent.clone(),
        items,
        groups,
        failures,
        skipped,
        spool_dir: options.spool_dir.clone(),
        concurrency: options.concurrency.max(1),
        tags: options.tags.clone(),
        people: options.people,
        portal: me,
    })
}

/// Fill in folder titles, one listing per owner with items in folders.
async fn name_folders(client: &Client, items: &mut [PlannedItem], failures: &mut Vec<Failure>) {
    let owners: BTreeSet<String> = items
        .iter()
        .filter(|i| i.folder.is_some())
        .map(|i| i.owner().to_owned())
        .collect();
    for owner in owners {
        match client.user_folders(&owner).await {
            Ok(folders) => {
                let titles: HashMap<&str, &str> = folders
                    .iter()
                    .filter_map(|f| {
                        Some((
                            f.get("id").and_then(Value::as_str)?,
                            f.get("title").and_then(Value::as_str)?,
                        ))
                    })
                    .collect();
                for item in items.iter_mut().filter(|i| i.owner() == owner) {
                    if let Some(folder) = &mut item.folder
                        && let Some(t) = titles.get(folder.id.as_str())
                    {
                        (*t).clone_into(&mut folder.title);
                    }
                }
            }
            Err(e) => failures.push(Failure {
                subject: FailureSubject::User,
                id: owner.clone(),
                part: Some("folders".into()),
                message: e.to_string(),
            }),
        }
    }
}

fn source_of(client: &Client, me: &Value) -> Source {
    let text = |k: &str| me.get(k).and_then(Value::as_str).map(str::to_owned);
    Source {
        portal_url: client.url().root.clone(),
        portal_kind: if me.get("isPortal").and_then(Value::as_bool) == Some(true) {
            PortalKind::Enterprise
        } else {
            PortalKind::Online
        },
        org_id: text("id").unwrap_or_default(),
        org_name: text("name"),
        user: me
            .pointer("/user/username")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        current_version: text("currentVersion"),
        portal_aliases: Vec::new(),
    }
}

/// An unchanged item found in a listing, planned without a request: its JSON from the listing,
/// its groups from the group index, everything else from the parent. `None` when any of that is
/// not at hand. The listed JSON is moved into the planned item when it is reused (left in `listed`
/// otherwise): a copy per item was a third of a nightly's memory at 30,000 items.
fn reuse_listed(
    ctx: &Ctx<'_>,
    index: Option<&crate::sharing::GroupIndex>,
    listed: &mut Option<crate::item_json::ItemJson>,
    id: &str,
    why: &Why,
) -> Option<PlannedItem> {
    let (index, json) = (index?, listed.as_ref()?);
    if ctx.options.recheck_relationships {
        return None; // planned through `visit`, which reads the relationships
    }
    let parent = ctx.parent_items.get(id)?;
    if json.get("modified").and_then(Value::as_i64) != Some(parent.modified)
        || json.get("orgId").and_then(Value::as_str) != Some(ctx.org_id.as_str())
    {
        return None;
    }
    let before: Vec<String> = parent.sharing.groups.iter().map(|g| g.id.clone()).collect();
    let groups = index.groups_of(id, &before)?;
    let access = json
        .get("access")
        .and_then(Value::as_str)
        .unwrap_or("private");
    let sharing = sharing_from(access, groups);
    let folder = folder_of(json.get("ownerFolder").and_then(Value::as_str));
    let mut item = PlannedItem {
        id: id.to_owned(),
        why: why.clone(),
        reuse: true,
        sharing,
        folder,
        dependencies: parent.dependencies.clone(),
        relationships: parent.relationships.clone(),
        export: false,
        resources: Vec::new(),
        cached: BTreeMap::new(),
        absent: BTreeSet::new(),
        view_sources: None,
        service_state: None,
        changed: None,
        json: listed.take()?,
    };
    item.export = ctx.options.selection.export != ExportMode::Reference
        && is_hosted_feature_service(&item.json)
        && !is_view(&item.json);
    Some(item)
}

/// Read one item: its JSON, sharing, and (unless reused) its relationships, JSON data and JSON
/// resources for references. `listed`: its JSON as its owner's listing gave it.
async fn visit(
    ctx: &Ctx<'_>,
    id: &str,
    why: Why,
    listed: Option<crate::item_json::ItemJson>,
    sharing_index: Option<&crate::sharing::GroupIndex>,
) -> Visit {
    let client = ctx.client;
    let failed = |part: Option<&str>, e: &orgpack_portal::Error| {
        Visit::Failed(Failure {
            subject: FailureSubject::Item,
            id: id.to_owned(),
            part: part.map(str::to_owned),
            message: e.to_string(),
        })
    };
    // An item found in its owner's listing: a private one (`access` private: shared with no
    // group, nobody else sees it) is all there, at no request, and so is any other when the group
    // index holds every group it can be shared with; else the owner's view alone gives its JSON
    // and sharing (one request, which is what an unchanged item costs). Otherwise the item first.
    let listed_owner = listed
        .as_ref()
        .and_then(|j| j.get("owner"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let sharing_known = listed.as_ref().and_then(|j| {
        let access = j.get("access").and_then(Value::as_str)?;
        let groups = if access == "private" {
            Vec::new()
        } else {
            sharing_index?.by_item.get(id).cloned().unwrap_or_default()
        };
        Some(sharing_from(access, groups))
    });
    // (item JSON, sharing, the owner's view's folder when the JSON did not say)
    let from_listing = match (sharing_known, listed, listed_owner) {
        (Some(sharing), Some(json), _) => Some((json, sharing, None)),
        (None, _, Some(owner)) => match client.user_item(&owner, id).await {
            Ok(mut view) => {
                let json = view
                    .get_mut("item")
                    .filter(|j| j.is_object())
                    .map(|j| crate::item_json::ItemJson::new(&j.take()));
                json.map(|json| {
                    let sharing = sharing_of(&view, json.get("access"));
                    (json, sharing, None)
                })
            }
            Err(_) => None,
        },
        _ => None,
    };
    let (json, sharing, view_folder) = if let Some(found) = from_listing {
        found
    } else {
        let json = match client.item(id).await {
            Ok(j) => j,
            Err(e) if e.is_not_found() && matches!(why, Why::Dependency { .. }) => {
                return Visit::Skipped("not found in the source organization".into());
            }
            Err(e) => return failed(None, &e),
        };
        if let Some(org) = json.get("orgId").and_then(Value::as_str)
            && org != ctx.org_id
        {
            return Visit::Skipped(format!("belongs to another organization ({org})"));
        }
        let owner = json
            .get("owner")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let view = match client.user_item(&owner, id).await {
            Ok(v) => v,
            Err(e) => return failed(Some("sharing"), &e),
        };
        let sharing = sharing_of(&view, json.get("access"));
        let folder = view
            .pointer("/item/ownerFolder")
            .and_then(Value::as_str)
            .map(str::to_owned);
        (crate::item_json::ItemJson::new(&json), sharing, folder)
    };
    let folder = folder_of(
        json.get("ownerFolder")
            .and_then(Value::as_str)
            .or(view_folder.as_deref()),
    );
    let mut item = PlannedItem {
        id: id.to_owned(),
        why,
        reuse: false,
        sharing,
        folder,
        dependencies: Vec::new(),
        relationships: Vec::new(),
        export: false,
        resources: Vec::new(),
        cached: BTreeMap::new(),
        absent: BTreeSet::new(),
        view_sources: None,
        service_state: None,
        changed: None,
        json,
    };
    item.export = ctx.options.selection.export != ExportMode::Reference
        && is_hosted_feature_service(&item.json)
        && !is_view(&item.json);
    if let Some(parent) = ctx.parent_items.get(id)
        && parent.modified == item.modified()
    {
        item.reuse = true;
        item.dependencies.clone_from(&parent.dependencies);
        item.relationships.clone_from(&parent.relationships);
        if ctx.options.recheck_relationships {
            // The parent's relationship edges give way to what the portal says now.
            item.relationships.clear();
            item.dependencies
                .retain(|d| d.found_in != FoundIn::Relationship);
            if let Err((part, e)) = relationships(ctx, &mut item).await {
                return failed(Some(&part), &e);
            }
        }
        return Visit::Item(Box::new(item));
    }
    if let Err((part, e)) = explore(ctx, &mut item).await {
        return failed(Some(&part), &e);
    }
    Visit::Item(Box::new(item))
}

/// An item's forward relationships (the types whose origin fits its type), as relationship
/// edges and (but for a service's views, `Service2Service`) dependencies.
async fn relationships(
    ctx: &Ctx<'_>,
    item: &mut PlannedItem,
) -> Result<(), (String, orgpack_portal::Error)> {
    let client = ctx.client;
    let id = item.id.clone();
    let item_type = item.item_type().to_owned();
    // A hosted tile (or scene) layer is drawn from a feature layer, the origin of its
    // Service2Service: a restore publishes it again from that layer, which it needs first.
    if crate::tiles::is_hosted_tiles(&item.json) {
        let sources = client
            .related_items(&id, "Service2Service", false)
            .await
            .map_err(|e| ("relationships Service2Service (reverse)".to_owned(), e))?;
        for source in sources
            .iter()
            .filter_map(|s| s.get("id").and_then(Value::as_str))
        {
            item.relationships.push(Relationship {
                relationship_type: "Service2Service".to_owned(),
                direction: Direction::Reverse,
                item_id: source.to_owned(),
            });
            item.dependencies.push(Dependency {
                kind: DependencyKind::Item,
                target: source.to_owned(),
                item_id: Some(source.to_owned()),
                found_in: FoundIn::Relationship,
                path: Some("Service2Service".to_owned()),
                external: false,
            });
        }
    }
    let kinds = relations::forward_types(&item_type);
    // Every type at once first (`relationshipTypes`): most items relate to nothing, and then that
    // one request is all; the answer does not say which type relates what, so an item that has
    // relationships is asked type by type.
    let any = client
        .related_items_any(&id, &kinds, true)
        .await
        .map_err(|e| ("relationships".to_owned(), e))?;
    if any.is_empty() {
        return Ok(());
    }
    for kind in kinds {
        let related = client
            .related_items(&id, kind, true)
            .await
            .map_err(|e| (format!("relationships {kind}"), e))?;
        for other in related {
            let Some(other_id) = other.get("id").and_then(Value::as_str) else {
                continue;
            };
            item.relationships.push(Relationship {
                relationship_type: kind.to_owned(),
                direction: Direction::Forward,
                item_id: other_id.to_owned(),
            });
            // A service's Service2Service leads to a view made from it: the view depends on the
            // service (found in its source, `viewSource`), not the service on the view.
            if kind == "Service2Service" {
                continue;
            }
            item.dependencies.push(Dependency {
                kind: DependencyKind::Item,
                target: other_id.to_owned(),
                item_id: Some(other_id.to_owned()),
                found_in: FoundIn::Relationship,
                path: Some(kind.to_owned()),
                external: false,
            });
        }
    }
    Ok(())
}

/// Relationships, JSON data and JSON resources of a changed item, scanned for references.
async fn explore(
    ctx: &Ctx<'_>,
    item: &mut PlannedItem,
) -> Result<(), (String, orgpack_portal::Error)> {
    let client = ctx.client;
    let id = item.id.clone();
    let item_type = item.item_type().to_owned();
    relationships(ctx, item).await?;
    // A view reads from its source services: they come first, whatever refers to the view.
    if is_view(&item.json)
        && let Some(url) = item.json.get("url").and_then(Value::as_str)
    {
        let sources = client
            .call(
                "view sources",
                orgpack_portal::Method::Get,
                &format!("{}/sources", url.trim_end_matches('/')),
                &[],
            )
            .await
            .map_err(|e| ("view sources".to_owned(), e))?;
        for source in sources
            .get("services")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(source_id) = source.get("serviceItemId").and_then(Value::as_str) {
                item.dependencies.push(Dependency {
                    kind: DependencyKind::Item,
                    target: source_id.to_owned(),
                    item_id: Some(source_id.to_owned()),
                    found_in: FoundIn::ViewSource,
                    path: Some("sources".to_owned()),
                    external: false,
                });
            }
        }
        // Capture stores them with the view's definition: kept rather than asked for again.
        item.view_sources = Some(sources);
    }
    let keywords = orgpack_graph::keyword_list(item.json.get("typeKeywords"));
    let graph_ctx = Context {
        item_type: &item_type,
        type_keywords: &keywords,
        self_id: Some(&id),
        portal_urls: &ctx.portal_urls,
    };
    let mut refs = orgpack_graph::references(&graph_ctx, GraphPart::Item, &item.json.full());
    // A file item's data is its file; everything else's data is a JSON or text document. Data
    // that cannot be read now is not the item's end: capture asks for it again and records it as
    // a missing part, the item stays, and the references the parent snapshot found in its data
    // stand for the ones that could not be read.
    let mut unread: Vec<FoundIn> = Vec::new();
    if item.json.get("name").and_then(Value::as_str).is_none() {
        match scan(ctx, item, "data", Part::Data, item.size()).await {
            Ok(Some(doc)) => {
                refs.extend(orgpack_graph::references(&graph_ctx, GraphPart::Data, &doc));
            }
            Ok(None) => {}
            Err(_) => unread.push(FoundIn::Data),
        }
    } else if item_type == "Form" {
        // A Survey123 form's data is its package: the files in it name its service.
        match read_scanned(ctx, item, "data", Part::Data, item.size()).await {
            Ok(Some(zip)) => refs.extend(crate::form::package_references(&zip, &graph_ctx, &id)),
            Ok(None) => {}
            Err(_) => unread.push(FoundIn::Data),
        }
    }
    let resources = client
        .item_resources(&id)
        .await
        .map_err(|e| ("resources".to_owned(), e))?;
    item.resources = resources.into_iter().map(|r| (r.path, r.size)).collect();
    let json_resources: Vec<(String, u64)> = item
        .resources
        .iter()
        .filter(|(p, _)| p.to_ascii_lowercase().ends_with(".json"))
        .cloned()
        .collect();
    for (path, size) in json_resources {
        match scan(ctx, item, &path, Part::Resource(&path), size).await {
            Ok(Some(doc)) => refs.extend(orgpack_graph::references(
                &graph_ctx,
                GraphPart::Resource(&path),
                &doc,
            )),
            Ok(None) => {}
            Err(_) => unread.push(FoundIn::Resource),
        }
    }
    if let Some(parent) = ctx.parent_items.get(id.as_str()) {
        for dep in parent
            .dependencies
            .iter()
            .filter(|d| unread.contains(&d.found_in))
        {
            if !item.dependencies.contains(dep) {
                item.dependencies.push(dep.clone());
            }
        }
    }
    for r in refs {
        if let Some(dep) = dependency_of(&r)
            && !item.dependencies.contains(&dep)
        {
            item.dependencies.push(dep);
        }
    }
    Ok(())
}

/// Download a document that may be JSON and parse it; keep its bytes for `run` while the cache
/// budget lasts. `size` is what the portal reported (0 when unknown).
async fn scan(
    ctx: &Ctx<'_>,
    item: &mut PlannedItem,
    key: &str,
    part: Part<'_>,
    size: u64,
) -> Result<Option<Value>, (String, orgpack_portal::Error)> {
    Ok(read_scanned(ctx, item, key, part, size)
        .await?
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok()))
}

/// Download a part of at most [`MAX_SCANNED`] bytes to read; keep its bytes for `run` while the
/// cache budget lasts. `None` when the item has no such part or it is larger.
async fn read_scanned(
    ctx: &Ctx<'_>,
    item: &mut PlannedItem,
    key: &str,
    part: Part<'_>,
    size: u64,
) -> Result<Option<Vec<u8>>, (String, orgpack_portal::Error)> {
    if size > MAX_SCANNED {
        return Ok(None);
    }
    let spool = fetch::fetch(ctx.client, &item.id, part, &ctx.options.spool_dir)
        .await
        .map_err(|e| (part.label(), e))?;
    let Some(spool) = spool else {
        item.absent.insert(key.to_owned());
        return Ok(None);
    };
    if spool.len() > MAX_SCANNED {
        return Ok(None);
    }
    let len = spool.len();
    ctx.progress.bytes(len);
    let Ok(bytes) = spool.into_bytes() else {
        return Ok(None);
    };
    if ctx
        .cache_left
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            left.checked_sub(len)
        })
        .is_ok()
    {
        item.cached.insert(key.to_owned(), bytes.clone());
    }
    Ok(Some(bytes))
}

/// The dependency a graph reference stands for, if it is one.
fn dependency_of(r: &Reference) -> Option<Dependency> {
    let found_in = match r.path.split_once(' ').map_or("", |(p, _)| p) {
        "data" => FoundIn::Data,
        "resource" => FoundIn::Resource,
        _ => FoundIn::Item,
    };
    let (kind, target, item_id) = match r.kind {
        RefKind::Item => (DependencyKind::Item, r.value.clone(), Some(r.value.clone())),
        RefKind::Service => (
            DependencyKind::Service,
            match r.layer {
                Some(layer) => format!("{}/{layer}", r.value),
                None => r.value.clone(),
            },
            None,
        ),
        RefKind::Group => (DependencyKind::Group, r.value.clone(), None),
        _ => return None,
    };
    Some(Dependency {
        kind,
        target,
        item_id,
        found_in,
        path: Some(r.path.clone()),
        external: r.external,
    })
}

/// The key service URLs are matched by: no scheme case, no trailing slash, no layer index.
fn service_key(url: &str) -> String {
    service_root(url).to_ascii_lowercase()
}

/// A service URL without a trailing layer id or slash, as written (servers may tell case).
fn service_root(url: &str) -> String {
    let mut s = url.trim().trim_end_matches('/').to_owned();
    if let Some((head, last)) = s.rsplit_once('/')
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
    {
        s = head.to_owned();
    }
    s
}

/// Find the item behind each service URL the item refers to: an item already planned with that
/// URL, else the service's own `serviceItemId` when the service is the organization's. Services
/// found nowhere in the organization are marked external.
async fn resolve_services(
    ctx: &Ctx<'_>,
    item: &mut PlannedItem,
    services: &mut HashMap<String, Option<String>>,
) {
    for dep in &mut item.dependencies {
        if dep.kind != DependencyKind::Service || dep.item_id.is_some() || dep.external {
            continue;
        }
        let key = service_key(&dep.target);
        if !services.contains_key(&key) {
            // Asked at the URL as the item wrote it: the key is lowercased to compare.
            let found = if ctx.is_org_service(&key) {
                service_item_id(ctx.client, &service_root(&dep.target)).await
            } else {
                None
            };
            services.insert(key.clone(), found);
        }
        match services.get(&key).cloned().flatten() {
            Some(id) => dep.item_id = Some(id),
            None => dep.external = !ctx.is_org_service(&key),
        }
    }
    // A service's own URL in its item JSON is not a dependency.
    let own = item.id.clone();
    item.dependencies
        .retain(|d| !(d.kind == DependencyKind::Service && d.item_id.as_deref() == Some(&own)));
}

impl Ctx<'_> {
    /// Whether a service URL belongs to the source organization: on the portal's host (ArcGIS
    /// Enterprise, the sandbox) or under the organization id (ArcGIS Online hosted services).
    fn is_org_service(&self, key: &str) -> bool {
        let host = orgpack_graph::text::host(key).unwrap_or_default();
        let portal_host = orgpack_graph::text::host(&self.client.url().root).unwrap_or_default();
        host.eq_ignore_ascii_case(portal_host)
            || key.contains(&format!("/{}/", self.org_id.to_ascii_lowercase()))
    }
}

/// The `serviceItemId` a service's root JSON names, if the service answers.
async fn service_item_id(client: &Client, url: &str) -> Option<String> {
    let root = client
        .call("service", orgpack_portal::Method::Get, url, &[])
        .await
        .ok()?;
    root.get("serviceItemId")
        .and_then(Value::as_str)
        .filter(|id| orgpack_archive::manifest::is_portal_id(id))
        .map(str::to_owned)
}

/// A hosted feature layer view (typeKeyword `View Service`): captured by its definition, never
/// exported.
pub(crate) fn is_view(json: &crate::item_json::ItemJson) -> bool {
    is_hosted_feature_service(json)
        && json
            .get("typeKeywords")
            .and_then(Value::as_array)
            .is_some_and(|k| k.iter().any(|k| k.as_str() == Some("View Service")))
}

/// Read the state of every hosted feature service among `visits` (one request each, at the
/// plan's concurrency); one reused from the parent whose state changed is captured again. Not
/// with `--export reference`, which captures no service data. A service whose layers cannot be
/// read keeps the decision its `modified` gave (its export, if any, will say what is wrong).
async fn check_services(ctx: &Ctx<'_>, visits: &mut [(String, Why, Visit)]) {
    if ctx.options.selection.export == ExportMode::Reference {
        return;
    }
    let states: Vec<(usize, Option<ServiceState>)> =
        futures_util::stream::iter(visits.iter().enumerate().filter_map(|(i, (_, _, v))| {
            let Visit::Item(item) = v else { return None };
            let url = item.field("url")?;
            is_hosted_feature_service(&item.json).then(|| (i, url.to_owned()))
        }))
        .map(|(i, url)| async move { (i, crate::service_state::read(ctx.client, &url).await.ok()) })
        .buffer_unordered(ctx.options.concurrency.max(1))
        .collect()
        .await;
    for (i, state) in states {
        let Visit::Item(item) = &mut visits[i].2 else {
            continue;
        };
        let Some(state) = state else { continue };
        let parent = ctx.parent_items.get(item.id.as_str());
        if item.reuse
            && let Some(why) = parent.and_then(|p| state.changed_since(&p.annotations))
        {
            item.reuse = false;
            item.changed = Some(why);
        }
        item.service_state = Some(state);
    }
}

fn is_hosted_feature_service(json: &crate::item_json::ItemJson) -> bool {
    json.get("type").and_then(Value::as_str) == Some("Feature Service")
        && json
            .get("typeKeywords")
            .and_then(Value::as_array)
            .is_some_and(|k| k.iter().any(|k| k.as_str() == Some("Hosted Service")))
}

/// Sharing as the owner's view gives it (`sharing.access`, `sharing.groups` ids), with the item
/// JSON's `access` as a fallback.
fn sharing_of(view: &Value, json_access: Option<&Value>) -> Sharing {
    let access = view
        .pointer("/sharing/access")
        .or(json_access)
        .and_then(Value::as_str)
        .unwrap_or("private");
    let groups = view
        .pointer("/sharing/groups")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(|g| g.as_str().or_else(|| g.get("id").and_then(Value::as_str)))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    sharing_from(access, groups)
}

/// Sharing as the portal words it: `access` (`public`, `org`/`account`, `shared`, else private)
/// and the ids of the groups (titles are filled in by `run`).
fn sharing_from(access: &str, groups: Vec<String>) -> Sharing {
    Sharing {
        access: match access {
            "public" => Access::Public,
            "org" | "account" => Access::Org,
            "shared" => Access::Shared,
            _ => Access::Private,
        },
        groups: groups
            .into_iter()
            .map(|id| GroupRef {
                id,
                title: String::new(),
            })
            .collect(),
    }
}

/// The owner's folder an item's `ownerFolder` names (none for the root: empty or `/`).
fn folder_of(owner_folder: Option<&str>) -> Option<Folder> {
    owner_folder
        .filter(|f| !f.is_empty() && *f != "/")
        .map(|f| Folder {
            id: f.to_owned(),
            title: String::new(),
        })
}
