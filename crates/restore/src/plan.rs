//! `plan`, per target: which items, in which order (dependencies first, cycles broken into a
//! patching pass), who owns each, which groups are found or created, and per item whether it is
//! created, updated or left alone because it is already there. Only reads the target.

use std::collections::{BTreeMap, BTreeSet};

use orgpack_archive::manifest::{ExportMode, Item, Obtained, Payload, PayloadKind, Snapshot};
use orgpack_graph::{Edge, Graph, Reason, relationship_edge};
use orgpack_portal::Client;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::journal::{Journal, Kind};
use crate::people::{InitialPassword, PeopleMode, PeoplePlan};
use crate::report::Action;

/// What to do when an item is already in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnExisting {
    /// Leave it (the default: a rerun changes nothing).
    #[default]
    Skip,
    /// Update its properties, data and sharing from the snapshot.
    Update,
    /// Create another one.
    Duplicate,
}

/// How sharing is restored. Never broader than the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SharingMode {
    /// As in the source: groups, organization, everyone.
    #[default]
    Keep,
    /// Groups only: never shared with the organization or everyone.
    Private,
    /// Not shared at all.
    None,
}

/// How to restore.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)]
pub struct RestoreOptions {
    /// Only these items (and what they depend on); all when empty.
    pub items: Vec<String>,
    /// Source owner → target owner.
    pub owner_map: BTreeMap<String, String>,
    /// Source group id → target group id.
    pub group_map: BTreeMap<String, String>,
    /// Put every item in this folder of its owner, instead of the folder it was in.
    pub folder: Option<String>,
    /// Items already in the target.
    pub on_existing: OnExisting,
    /// Keep item ids where the target allows it (ArcGIS Enterprise `itemIdToCreate`).
    pub preserve_ids: bool,
    /// Sharing.
    pub sharing: SharingMode,
    /// Delete what this run created in a target when anything in it fails.
    pub rollback: bool,
    /// Republish hosted services from their export even when the backup holds their definition
    /// (for targets without `append`).
    pub republish: bool,
    /// Items restored at once per target.
    pub concurrency: usize,
    /// Where files are staged for upload.
    pub staging_dir: std::path::PathBuf,
    /// How people come back (`--people`).
    pub people: PeopleMode,
    /// Restore into the snapshot's own organization, items matched by their own id
    /// (`--in-place`; chosen on its own when the target is the snapshot's organization).
    pub in_place: bool,
    /// In place: put the snapshot's features back into hosted feature layers edited since.
    pub revert_data: bool,
    /// In place: delete the items created since the snapshot (into the recycle bin where there
    /// is one).
    pub delete_new: bool,
    /// Only items of these owners (and what they depend on).
    pub owners: Vec<String>,
    /// Only items in these folders (`owner/title` or a title), and what they depend on.
    pub folders: Vec<String>,
    /// Only items shared with these groups (ids), and what they depend on.
    pub groups: Vec<String>,
    /// The initial password of members made on ArcGIS Enterprise.
    pub initial_password: Option<InitialPassword>,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            owner_map: BTreeMap::new(),
            group_map: BTreeMap::new(),
            folder: None,
            on_existing: OnExisting::Skip,
            preserve_ids: false,
            sharing: SharingMode::Keep,
            rollback: false,
            republish: false,
            concurrency: 8,
            staging_dir: std::env::temp_dir(),
            people: PeopleMode::Map,
            initial_password: None,
            in_place: false,
            revert_data: false,
            delete_new: false,
            owners: Vec::new(),
            folders: Vec::new(),
            groups: Vec::new(),
        }
    }
}

/// What is known about a target.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Its portal URL.
    pub portal_url: String,
    /// Its organization id.
    pub org_id: String,
    /// ArcGIS Enterprise.
    pub is_portal: bool,
    /// Deleted items go to a recycle bin first (ArcGIS Online).
    pub recycle_bin: bool,
    /// The restoring user.
    pub user: String,
    /// The organization's URL key (`portals/self` `urlKey`).
    pub url_key: String,
    /// The organization's name.
    pub org_name: String,
    /// The Hub API of an ArcGIS Online target (its domain service), where sites are put on the
    /// web ([`crate::hub`]); `None` on ArcGIS Enterprise.
    pub hub: Option<String>,
}

/// One item in a target's plan.
#[derive(Debug, Clone)]
pub struct PlannedItem {
    /// The item's index in the snapshot.
    pub index: usize,
    /// The source id.
    pub id: String,
    /// Created, republished, updated or skipped.
    pub action: Action,
    /// The item in the target, when it is already there.
    pub existing: Option<String>,
    /// How it was found there.
    pub found_by: Option<FoundBy>,
    /// Keep the source id (`itemIdToCreate`).
    pub keep_id: bool,
    /// The owner in the target.
    pub owner: String,
    /// The folder title in the owner's content, if any.
    pub folder: Option<String>,
    /// Items that must be restored first (deferred edges excluded).
    pub needs: Vec<String>,
    /// Its references to these items are patched in the second pass.
    pub patch_later: Vec<String>,
    /// In place: what differs from the snapshot, and why the item is left (when it is).
    pub in_place: Option<InPlaceItem>,
    /// What will not work in the target as in the source ([`crate::limits::not_rebuilt`]).
    pub incomplete: Option<String>,
}

/// An item of an in-place plan.
#[derive(Debug, Clone, Default)]
pub struct InPlaceItem {
    /// What differs (a live item).
    pub differences: crate::inplace::Differences,
    /// In the recycle bin, owned by this user.
    pub recycled: Option<String>,
    /// Why it is left as it is.
    pub reason: Option<String>,
}

/// How an item already in the target was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    /// The journal of an earlier run.
    Journal,
    /// Its `source-<id>` typeKeyword: restored by an interrupted run or by another tool.
    Keyword,
    /// The same id (keeping ids on ArcGIS Enterprise).
    SameId,
}

/// A group in a target's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupAction {
    /// Use this group of the target.
    Use(String),
    /// Create it.
    Create,
}

/// One target's plan.
#[derive(Debug, Clone)]
pub struct TargetPlan {
    /// The target.
    pub facts: Facts,
    /// Items in restore order.
    pub items: Vec<PlannedItem>,
    /// Source group id → what to do.
    pub groups: BTreeMap<String, GroupAction>,
    /// Things worth knowing.
    pub notes: Vec<String>,
    /// Cycles broken into the patching pass.
    pub cycles: Vec<Vec<String>>,
    /// Who is who in the target.
    pub people: PeoplePlan,
    /// Restoring into the snapshot's own organization ([`crate::inplace`]).
    pub in_place: bool,
    /// In place: items of the organization the snapshot does not hold (id, title, type, owner).
    pub created_since: Vec<(String, String, String, String)>,
}

/// The target's facts from `portals/self`.
///
/// # Errors
/// Portal errors.
pub async fn facts(client: &Client) -> Result<Facts> {
    let me = client.portal_self().await?;
    let text = |p: &str| {
        me.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Facts {
        portal_url: client.url().root.clone(),
        org_id: text("/id"),
        is_portal: me.get("isPortal").and_then(Value::as_bool) == Some(true),
        recycle_bin: me.get("recycleBinEnabled").and_then(Value::as_bool) == Some(true),
        user: text("/user/username"),
        url_key: text("/urlKey"),
        org_name: text("/name"),
        hub: client
            .hub_api()
            .filter(|_| me.get("isPortal").and_then(Value::as_bool) != Some(true)),
    })
}

/// The items to restore: the selection and everything it depends on within the snapshot.
///
/// # Errors
/// [`Error::Options`] for an id the snapshot does not hold.
pub fn selected(snapshot: &Snapshot, wanted: &[String]) -> Result<BTreeSet<String>> {
    let all: BTreeSet<String> = snapshot.items.iter().map(|i| i.id.clone()).collect();
    if wanted.is_empty() {
        return Ok(all);
    }
    let mut out = BTreeSet::new();
    let mut stack: Vec<String> = Vec::new();
    for id in wanted.iter().filter(|id| !id.is_empty()) {
        if !all.contains(id) {
            return Err(Error::Options(format!("item {id} is not in the snapshot")));
        }
        stack.push(id.clone());
    }
    while let Some(id) = stack.pop() {
        if !out.insert(id.clone()) {
            continue;
        }
        if let Some(item) = snapshot.item(&id) {
            for next in needs_of(item) {
                if all.contains(&next) && !out.contains(&next) {
                    stack.push(next);
                }
            }
        }
    }
    Ok(out)
}

/// The items `--item`, `--owner`, `--folder` (with `--in-place`) and `--group` name: every item
/// when none is given. An owner, folder or group that names no item of the snapshot names none.
fn narrowed(snapshot: &Snapshot, options: &RestoreOptions, in_place: bool) -> Vec<String> {
    let folders = if in_place {
        options.folders.as_slice()
    } else {
        &[]
    };
    if options.owners.is_empty() && folders.is_empty() && options.groups.is_empty() {
        return options.items.clone();
    }
    let mut out = options.items.clone();
    for item in &snapshot.items {
        let folder = item.folder.as_ref().map(|f| f.title.as_str());
        let hit = options.owners.contains(&item.owner)
            || folders
                .iter()
                .any(|f| folder.is_some_and(|t| *f == t || *f == format!("{}/{t}", item.owner)))
            || options
                .groups
                .iter()
                .any(|g| item.sharing.groups.iter().any(|s| s.id == *g));
        if hit && !out.contains(&item.id) {
            out.push(item.id.clone());
        }
    }
    if out.is_empty() {
        // Filters that match nothing restore nothing, not everything.
        out.push(String::new());
    }
    out
}

/// The items an item needs: its non-external item dependencies and forward relationships.
fn needs_of(item: &Item) -> Vec<String> {
    let mut out: Vec<String> = item
        .dependencies
        .iter()
        .filter(|d| !d.external)
        .filter_map(|d| d.item_id.clone())
        .filter(|id| *id != item.id)
        .collect();
    out.extend(
        item.relationships
            .iter()
            .filter(|r| r.direction == orgpack_archive::manifest::Direction::Forward)
            .map(|r| r.item_id.clone()),
    );
    out.sort();
    out.dedup();
    out
}

/// Plan the restore of `snapshot` into the target behind `client`.
///
/// # Errors
/// Portal errors reading the target (users, groups, existing items).
pub async fn plan_target(
    archive: &orgpack_archive::Archive,
    snapshot: &Snapshot,
    client: &Client,
    journal: Option<&Journal>,
    options: &RestoreOptions,
) -> Result<TargetPlan> {
    let facts = facts(client).await?;
    // In place: into the snapshot's own organization, asked for or found so.
    let in_place = options.in_place || facts.org_id == snapshot.source.org_id;
    let chosen = selected(snapshot, &narrowed(snapshot, options, in_place))?;
    let mut graph = Graph::new();
    // Pairs (origin, made) whose relationship orders nothing, because `made` is made from
    // `origin` and must come after it: a view or a hosted tile layer and its source service (the
    // Service2Service relationship, the source its origin), and below, a map area and its map, a
    // package and its area.
    let mut made_from: BTreeSet<(&str, &str)> = snapshot
        .items
        .iter()
        .flat_map(|made| {
            made.dependencies
                .iter()
                .filter(|d| {
                    d.found_in == orgpack_archive::manifest::FoundIn::ViewSource
                        || d.found_in == orgpack_archive::manifest::FoundIn::Relationship
                            && d.path.as_deref() == Some("Service2Service")
                })
                .filter_map(move |d| Some((d.item_id.as_deref()?, made.id.as_str())))
        })
        .collect();
    // A map area is made by the packaging service from its restored map, and its packages by
    // the area's setup: the other way round from their relationships (`Map2Area` from the map,
    // `Area2Package` from the area), which order nothing.
    for item in snapshot.items.iter().filter(|i| chosen.contains(&i.id)) {
        let Some(made) = made_by_job(snapshot, item) else {
            continue;
        };
        let (from, kind) = match made {
            MadeByJob::Area { map } => (map, "Map2Area"),
            MadeByJob::Package { area } => (area, "Area2Package"),
        };
        made_from.insert((from, item.id.as_str()));
        if chosen.contains(from) {
            graph.add_edge(Edge {
                from: item.id.clone(),
                to: from.to_owned(),
                reason: Reason::Relationship {
                    relationship_type: kind.to_owned(),
                },
            });
        }
    }
    for item in snapshot.items.iter().filter(|i| chosen.contains(&i.id)) {
        graph.add_node(&item.id);
        // An external reference that the snapshot holds after all (a link to an app on ArcGIS
        // Online's app hosts, which serve every organization's) orders it too: restored first, so
        // the link is pointed at it.
        for d in item
            .dependencies
            .iter()
            .filter(|d| !d.external || d.item_id.as_ref().is_some_and(|t| chosen.contains(t)))
        {
            if let Some(to) = d
                .item_id
                .as_ref()
                .filter(|t| chosen.contains(*t) && **t != item.id)
                .filter(|t| !made_from.contains(&(item.id.as_str(), t.as_str())))
            {
                graph.add_edge(Edge {
                    from: item.id.clone(),
                    to: to.clone(),
                    reason: Reason::Reference {
                        path: d.path.clone().unwrap_or_default(),
                    },
                });
            }
        }
        for r in &item.relationships {
            let forward = r.direction == orgpack_archive::manifest::Direction::Forward;
            let (origin, destination) = if forward {
                (item.id.as_str(), r.item_id.as_str())
            } else {
                (r.item_id.as_str(), item.id.as_str())
            };
            if chosen.contains(&r.item_id)
                && r.item_id != item.id
                && !made_from.contains(&(origin, destination))
            {
                graph.add_edge(relationship_edge(
                    &item.id,
                    &r.relationship_type,
                    forward,
                    &r.item_id,
                ));
            }
        }
    }
    let order = graph.plan();
    let deferred: BTreeSet<(String, String)> = order
        .deferred
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in graph.edges() {
        if !deferred.contains(&(e.from.clone(), e.to.clone())) {
            needs
                .entry(e.from.clone())
                .or_default()
                .insert(e.to.clone());
        }
    }

    let mut notes = Vec::new();
    let people = crate::people::plan(snapshot, &chosen, client, &facts, options, &mut notes).await;
    let groups = map_groups(snapshot, &chosen, client, options, &mut notes).await?;

    let index: BTreeMap<&str, usize> = snapshot
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id.as_str(), i))
        .collect();
    let mut items = Vec::new();
    let chosen_items: Vec<&Item> = order
        .order
        .iter()
        .map(|id| &snapshot.items[index[id.as_str()]])
        .collect();
    let (found, survey) = if in_place {
        notes.push(format!(
            "in place: the target is the snapshot's organization ({}); items are matched by their own id",
            if options.in_place {
                "--in-place"
            } else {
                "the same organization id"
            }
        ));
        let owners: BTreeMap<String, String> = chosen_items
            .iter()
            .map(|i| (i.owner.clone(), people.owner(&i.owner, &facts.user)))
            .collect();
        let group_ids: BTreeMap<String, String> = groups
            .iter()
            .filter_map(|(s, a)| match a {
                GroupAction::Use(t) => Some((s.clone(), t.clone())),
                GroupAction::Create => None,
            })
            .collect();
        let (mut survey, org) = crate::inplace::survey(
            archive,
            &chosen_items,
            client,
            &facts,
            journal,
            &owners,
            &group_ids,
            options.concurrency,
        )
        .await?;
        let recreated: BTreeSet<String> = survey
            .items
            .values()
            .filter_map(|s| match &s.found {
                crate::inplace::Found::Live(t) | crate::inplace::Found::Unfinished(t) => {
                    Some(t.clone())
                }
                _ => None,
            })
            .collect();
        // Only a backup of the whole organization says what else it held; narrowed to the
        // owners asked for, and not at all for items, folders or groups.
        let whole =
            options.items.is_empty() && options.groups.is_empty() && options.folders.is_empty();
        if snapshot.selection.all && whole {
            survey.created_since = crate::inplace::created_since(snapshot, &org, &recreated)
                .into_iter()
                .filter(|(_, _, _, owner)| {
                    options.owners.is_empty() || options.owners.contains(owner)
                })
                .collect();
        }
        (BTreeMap::new(), Some(survey))
    } else {
        for (flag, given) in [
            ("--revert-data", options.revert_data),
            ("--delete-new", options.delete_new),
        ] {
            if given {
                notes.push(format!(
                    "{flag} applies only in place (this target is not the snapshot's organization): nothing is reverted or deleted here"
                ));
            }
        }
        (
            find_existing(client, journal, &facts, &chosen_items, options).await?,
            None,
        )
    };
    for id in &order.order {
        let i = index[id.as_str()];
        let item = &snapshot.items[i];
        let item_needs: Vec<String> = needs
            .get(id)
            .map(|n| n.iter().cloned().collect())
            .unwrap_or_default();
        let (existing, found_by) = match found.get(id).cloned() {
            Some((id, how)) => (Some(id), Some(how)),
            None => (None, None),
        };
        let republish = is_republished(snapshot, item);
        // In place, the survey decides; elsewhere, what was found and --on-existing.
        let in_place_item = survey
            .as_ref()
            .and_then(|s| s.items.get(id))
            .map(|s| in_place_action(s, item, &groups, options, facts.is_portal, republish));
        let (action, existing, found_by, keep_id, in_place_detail) =
            if let Some((action, target, keep, detail)) = in_place_item {
                let by = target.as_ref().map(|_| FoundBy::SameId);
                (action, target, by, keep, Some(detail))
            } else {
                let action = match (&existing, options.on_existing) {
                    (Some(_), OnExisting::Skip) => Action::Skip,
                    (Some(_), OnExisting::Update) => Action::Update,
                    _ if republish => Action::Republish,
                    _ => Action::Create,
                };
                let keep = options.preserve_ids && facts.is_portal && existing.is_none();
                (action, existing, found_by, keep, None)
            };
        let existing = if options.on_existing == OnExisting::Duplicate {
            None
        } else {
            existing
        };
        items.push(PlannedItem {
            index: i,
            id: id.clone(),
            action,
            existing,
            found_by,
            keep_id,
            owner: people.owner(&item.owner, &facts.user),
            folder: options.folder.clone().filter(|_| !in_place).or_else(|| {
                item.folder
                    .as_ref()
                    .map(|f| f.title.clone())
                    .filter(|t| !t.is_empty())
            }),
            needs: item_needs,
            patch_later: order
                .deferred
                .iter()
                .filter(|e| e.from == *id)
                .map(|e| e.to.clone())
                .collect(),
            in_place: in_place_detail,
            incomplete: crate::limits::not_rebuilt(archive, snapshot, item, &facts),
        });
    }
    let created_since = survey.map(|s| s.created_since).unwrap_or_default();
    if !created_since.is_empty() {
        notes.push(format!(
            "{} items of the organization are not in the snapshot (created since, or not backed up): {} ({})",
            created_since.len(),
            if options.delete_new {
                "deleted, into the recycle bin where there is one"
            } else {
                "left alone; --delete-new removes them"
            },
            created_since
                .iter()
                .take(10)
                .map(|(id, title, _, _)| format!("`{title}` {id}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(TargetPlan {
        facts,
        items,
        groups,
        notes,
        cycles: order.cycles,
        people,
        in_place,
        created_since,
    })
}

/// In place, what to do with an item found as `surveyed`: (action, its id in the target, keep
/// its id, what differs). Live: put back when anything differs (a hosted layer's features only
/// with `--revert-data`), else left; in the recycle bin: restored from it, then put back; gone:
/// made again, with its own id on ArcGIS Enterprise.
fn in_place_action(
    surveyed: &crate::inplace::Surveyed,
    item: &Item,
    groups: &BTreeMap<String, GroupAction>,
    options: &RestoreOptions,
    is_portal: bool,
    republish: bool,
) -> (Action, Option<String>, bool, InPlaceItem) {
    use crate::inplace::Found;
    match &surveyed.found {
        Found::Live(id) => {
            let mut d = surveyed.differences.clone().unwrap_or_default();
            // Shared with a group the target lost (made again at run time): sharing differs.
            for g in &item.sharing.groups {
                if groups.get(&g.id) == Some(&GroupAction::Create) && d.sharing.is_none() {
                    d.sharing = Some(Vec::new());
                    d.lines.push(format!(
                        "sharing: not shared with group `{}` (made again)",
                        g.title
                    ));
                }
            }
            let revert = options.revert_data && !d.edited_layers.is_empty();
            let (action, reason) = if d.item_changed() || revert {
                (Action::PutBack, None)
            } else if d.edited_layers.is_empty() {
                (
                    Action::Skip,
                    Some("unchanged since the snapshot".to_owned()),
                )
            } else {
                (
                    Action::Skip,
                    Some(format!(
                        "unchanged but for the features of layers {} edited since the snapshot (--revert-data puts the snapshot's back)",
                        d.edited_layers
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                )
            };
            (
                action,
                Some(id.clone()),
                false,
                InPlaceItem {
                    differences: d,
                    recycled: None,
                    reason,
                },
            )
        }
        Found::Unfinished(id) => (
            if republish {
                Action::Republish
            } else {
                Action::Create
            },
            Some(id.clone()),
            is_portal && *id == item.id,
            InPlaceItem {
                reason: Some("made again by a run cut short: finished".into()),
                ..InPlaceItem::default()
            },
        ),
        Found::Recycled(owner) => (
            Action::Undelete,
            Some(item.id.clone()),
            false,
            InPlaceItem {
                recycled: Some(owner.clone()),
                ..InPlaceItem::default()
            },
        ),
        Found::Gone => (
            if republish {
                Action::Republish
            } else {
                Action::Create
            },
            None,
            is_portal,
            InPlaceItem::default(),
        ),
    }
}

/// A hosted feature service with a fresh export is republished from it, a hosted tile layer
/// whose feature layer or package the snapshot holds is published again from it; everything
/// else is created as an item.
pub fn is_republished(snapshot: &Snapshot, item: &Item) -> bool {
    snapshot.selection.export != ExportMode::Reference
        && (item.item_type == "Feature Service" && republish_payload(item).is_some()
            || tile_source(snapshot, item).is_some())
}

/// An item the packaging service makes, not `addItem`: an offline map area, made again for its
/// restored map (`CreateMapArea`, `SetupMapArea`), and the packages its setup makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadeByJob<'a> {
    /// A `Map Area` of this map (the snapshot's id of the web map whose `Map2Area` it is).
    Area {
        /// The map's id in the snapshot.
        map: &'a str,
    },
    /// A package (`Area2Package`) of this area, itself made again.
    Package {
        /// The area's id in the snapshot.
        area: &'a str,
    },
}

/// Whether the packaging service makes `item` in the target: a map area whose web map the
/// snapshot holds, or a package of such an area.
#[must_use]
pub fn made_by_job<'a>(snapshot: &'a Snapshot, item: &Item) -> Option<MadeByJob<'a>> {
    // The types `Area2Package` leads to (the REST reference's relationship table): only these
    // are looked for among the areas' packages, so the plan stays linear in the item count.
    const PACKAGES: &[&str] = &[
        "SQLite Geodatabase",
        "Tile Package",
        "Compact Tile Package",
        "Vector Tile Package",
        "Map Package",
        "Mobile Map Package",
    ];
    if item.item_type != "Map Area" && !PACKAGES.contains(&item.item_type.as_str()) {
        return None;
    }
    let origin_of = |kind: &str, id: &str| {
        snapshot.items.iter().find(|o| {
            o.relationships.iter().any(|r| {
                r.relationship_type == kind
                    && r.direction == orgpack_archive::manifest::Direction::Forward
                    && r.item_id == id
            })
        })
    };
    if item.item_type == "Map Area" {
        let map = origin_of("Map2Area", &item.id).filter(|m| m.item_type == "Web Map")?;
        return Some(MadeByJob::Area { map: &map.id });
    }
    let area = origin_of("Area2Package", &item.id)?;
    matches!(made_by_job(snapshot, area), Some(MadeByJob::Area { .. }))
        .then_some(MadeByJob::Package { area: &area.id })
}

/// What a hosted tile, vector tile or scene layer is published again from.
#[derive(Debug, Clone, Copy)]
pub enum TileOrigin<'a> {
    /// The hosted feature layer it is drawn from (its reverse `Service2Service`), by its id in
    /// the snapshot, and the layer's `tileLayerDefinition` (its scales).
    FeatureLayer {
        /// The feature layer's id in the snapshot.
        id: &'a str,
        /// The tile layer's definition.
        definition: &'a Payload,
    },
    /// The tile package or vector tile package it was published from (its `Service2Data`), and
    /// the `fileType` that publishes it.
    Package {
        /// The package item's id in the snapshot.
        id: &'a str,
        /// `vectorTilePackage`, `tilePackage` or `compactTilePackage`.
        file_type: &'static str,
    },
}

/// Where a hosted tile, vector tile or scene layer comes from, when the snapshot holds it: a
/// feature layer recorded as its `Service2Service` origin (with the layer's
/// `tileLayerDefinition`), or a package item a tile layer relates to by `Service2Data`.
#[must_use]
pub fn tile_source<'a>(snapshot: &'a Snapshot, item: &'a Item) -> Option<TileOrigin<'a>> {
    if !matches!(
        item.item_type.as_str(),
        "Map Service" | "Vector Tile Service" | "Scene Service"
    ) {
        return None;
    }
    let definition = item
        .payloads
        .iter()
        .find(|p| p.kind == PayloadKind::TileLayerDefinition);
    let layer = item
        .dependencies
        .iter()
        .find(|d| {
            d.found_in == orgpack_archive::manifest::FoundIn::Relationship
                && d.path.as_deref() == Some("Service2Service")
        })
        .and_then(|d| d.item_id.as_deref())
        .filter(|id| snapshot.item(id).is_some());
    if let (Some(definition), Some(id)) = (definition, layer) {
        return Some(TileOrigin::FeatureLayer { id, definition });
    }
    item.relationships
        .iter()
        .filter(|r| {
            r.relationship_type == "Service2Data"
                && r.direction == orgpack_archive::manifest::Direction::Forward
        })
        .find_map(|r| {
            let package = snapshot.item(&r.item_id)?;
            let file_type = match (item.item_type.as_str(), package.item_type.as_str()) {
                ("Vector Tile Service", "Vector Tile Package") => "vectorTilePackage",
                ("Map Service", "Tile Package") => "tilePackage",
                ("Map Service", "Compact Tile Package") => "compactTilePackage",
                _ => return None,
            };
            Some(TileOrigin::Package {
                id: r.item_id.as_str(),
                file_type,
            })
        })
}

/// What a hosted service is republished from: its fresh export, else (the backup could not
/// export it) the file it was first published from, when that is a kind `publish` takes — the
/// `bool` says so.
#[must_use]
pub fn republish_payload(item: &Item) -> Option<(&Payload, bool)> {
    if let Some(fresh) = item.payloads.iter().find(|p| {
        p.obtained == Obtained::FreshExport
            && !matches!(
                p.kind,
                PayloadKind::FeatureServiceDefinition | PayloadKind::TileLayerDefinition
            )
    }) {
        return Some((fresh, false));
    }
    item.payloads
        .iter()
        .find(|p| {
            p.obtained == Obtained::OriginalSource
                && matches!(
                    p.kind,
                    PayloadKind::FileGeodatabase
                        | PayloadKind::Shapefile
                        | PayloadKind::Csv
                        | PayloadKind::GeoJson
                        | PayloadKind::ServiceDefinition
                )
        })
        .map(|p| (p, true))
}

/// A hosted service's captured definition (`featureServiceDefinition`), when the backup took one.
#[must_use]
pub fn definition_payload(item: &Item) -> Option<&Payload> {
    item.payloads
        .iter()
        .find(|p| p.kind == PayloadKind::FeatureServiceDefinition)
}

/// Groups the chosen items are shared with (and, restoring a whole snapshot that captured people,
/// every group it holds): the group map, else the same id when the target has it, else a group
/// with the same title, else created at run time. Only groups the snapshot
/// holds (or the group map names): an archive naming any other group cannot share into it, so
/// it cannot widen sharing in the target (said in the notes).
async fn map_groups(
    snapshot: &Snapshot,
    chosen: &BTreeSet<String>,
    client: &Client,
    options: &RestoreOptions,
    notes: &mut Vec<String>,
) -> Result<BTreeMap<String, GroupAction>> {
    let mut out = BTreeMap::new();
    if options.sharing == SharingMode::None {
        return Ok(out);
    }
    let mut ids: BTreeSet<&str> = snapshot
        .items
        .iter()
        .filter(|i| chosen.contains(&i.id))
        .flat_map(|i| i.sharing.groups.iter().map(|g| g.id.as_str()))
        .collect();
    if options.items.is_empty() && options.people != PeopleMode::None && snapshot.people.is_some() {
        ids.extend(snapshot.groups.iter().map(|g| g.id.as_str()));
    }
    for id in ids {
        if let Some(mapped) = options.group_map.get(id) {
            out.insert(id.to_owned(), GroupAction::Use(mapped.clone()));
            continue;
        }
        if !snapshot.groups.iter().any(|g| g.id == id) {
            notes.push(format!(
                "group {id} is not in the snapshot: nothing is shared with it (map it with --group-map to share)"
            ));
            continue;
        }
        if client.group(id).await.is_ok() {
            out.insert(id.to_owned(), GroupAction::Use(id.to_owned()));
            continue;
        }
        // In the snapshot's groups: a group that is not was passed over above.
        let title = snapshot
            .groups
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.title.clone())
            .unwrap_or_default();
        let found = if title.is_empty() {
            None
        } else {
            client
                .search_groups(&format!("title:\"{}\"", title.replace('"', "")))
                .await?
                .into_iter()
                .find(|g| g.get("title").and_then(Value::as_str) == Some(title.as_str()))
                .and_then(|g| g.get("id").and_then(Value::as_str).map(str::to_owned))
        };
        out.insert(
            id.to_owned(),
            found.map_or(GroupAction::Create, GroupAction::Use),
        );
    }
    Ok(out)
}

/// Source ids looked up with one search: `typekeywords:"source-<id>"` terms joined by `OR` keep
/// the query (and the URL it goes in) around 1.5 KB.
const KEYWORD_BATCH: usize = 20;

/// The items in the target restored from `items` before, by source id (absent: not there): the
/// journal's (if that item still exists), else one carrying the typeKeyword `source-<id>`, else
/// (keeping ids on Enterprise) one with the same id. Against a real portal each request is a round
/// trip, so the keyword lookups go [`KEYWORD_BATCH`] to a search, and everything runs several at
/// once.
async fn find_existing(
    client: &Client,
    journal: Option<&Journal>,
    facts: &Facts,
    items: &[&Item],
    options: &RestoreOptions,
) -> Result<BTreeMap<String, (String, FoundBy)>> {
    use futures_util::StreamExt as _;
    let at_once = options.concurrency.max(1) * 2;
    let mut found: BTreeMap<String, (String, FoundBy)> = BTreeMap::new();
    if let Some(j) = journal {
        let checked: Vec<(String, Option<String>)> = futures_util::stream::iter(items)
            .map(|item| async move {
                let Some(id) = j.id(Kind::Item, &item.id)? else {
                    return Ok((item.id.clone(), None));
                };
                match client.item(&id).await {
                    Ok(_) => Ok((item.id.clone(), Some(id))),
                    Err(e) if e.is_not_found() => {
                        j.forget(Kind::Item, &item.id)?;
                        Ok((item.id.clone(), None))
                    }
                    Err(e) => Err(e.into()),
                }
            })
            .buffer_unordered(at_once)
            .collect::<Vec<Result<_>>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        for (source, id) in checked {
            if let Some(id) = id {
                found.insert(source, (id, FoundBy::Journal));
            }
        }
    }
    let rest: Vec<&str> = items
        .iter()
        .map(|i| i.id.as_str())
        .filter(|id| !found.contains_key(*id))
        .collect();
    let by_keyword: Vec<BTreeMap<String, String>> =
        futures_util::stream::iter(rest.chunks(KEYWORD_BATCH))
            .map(|batch| search_keywords(client, facts, batch))
            .buffer_unordered(at_once)
            .collect::<Vec<Result<_>>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
    for (source, id) in by_keyword.into_iter().flatten() {
        found.insert(source, (id, FoundBy::Keyword));
    }
    if !(options.preserve_ids && facts.is_portal) {
        return Ok(found);
    }
    // Keeping ids on Enterprise: an item with the same id in this organization.
    let unfound: Vec<&str> = items
        .iter()
        .map(|i| i.id.as_str())
        .filter(|id| !found.contains_key(*id))
        .collect();
    let same: Vec<Option<String>> = futures_util::stream::iter(unfound)
        .map(|id| async move {
            let same = client.item(id).await.ok()?;
            (same.get("orgId").and_then(Value::as_str) == Some(facts.org_id.as_str()))
                .then(|| id.to_owned())
        })
        .buffer_unordered(at_once)
        .collect()
        .await;
    found.extend(
        same.into_iter()
            .flatten()
            .map(|id| (id.clone(), (id, FoundBy::SameId))),
    );
    Ok(found)
}

/// One search for the items of the target organization carrying `source-<id>` for any of
/// `sources`: source id → the target item's id. A result counts only when its typeKeywords hold
/// the keyword exactly (search is fuzzy: `source-<id>-payload` must not match); when several
/// items carry it, the one created first.
async fn search_keywords(
    client: &Client,
    facts: &Facts,
    sources: &[&str],
) -> Result<BTreeMap<String, String>> {
    let terms: Vec<String> = sources
        .iter()
        .map(|id| format!("typekeywords:\"{}\"", source_keyword(id)))
        .collect();
    let q = format!("orgid:{} AND ({})", facts.org_id, terms.join(" OR "));
    let mut results = client.search_all(&q, 100).await?;
    results.sort_by_key(|r| r.get("created").and_then(Value::as_i64).unwrap_or(i64::MAX));
    let mut out = BTreeMap::new();
    for r in &results {
        let (Some(id), Some(keywords)) = (
            r.get("id").and_then(Value::as_str),
            r.get("typeKeywords").and_then(Value::as_array),
        ) else {
            continue;
        };
        for source in sources {
            let keyword = source_keyword(source);
            if keywords
                .iter()
                .any(|k| k.as_str() == Some(keyword.as_str()))
            {
                out.entry((*source).to_owned())
                    .or_insert_with(|| id.to_owned());
            }
        }
    }
    Ok(out)
}

/// The typeKeyword that marks an item restored from `id` (the convention of Esri's tools).
pub fn source_keyword(id: &str) -> String {
    format!("source-{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    /// A hosted service holding `payloads`, each `(kind, obtained)`.
    fn service(payloads: &[(&str, &str)]) -> Item {
        let payloads: Vec<serde_json::Value> = payloads
            .iter()
            .map(|(kind, obtained)| {
                serde_json::json!({
                    "fileName": format!("{kind}.bin"), "kind": kind, "obtained": obtained,
                    "digest": DIGEST, "size": 1, "layers": [],
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "id": "a".repeat(32), "type": "Feature Service", "title": "S", "owner": "o",
            "modified": 1, "item": {"digest": DIGEST, "size": 1},
            "sharing": {"access": "private"}, "payloads": payloads,
        }))
        .unwrap()
    }

    fn chosen(payloads: &[(&str, &str)]) -> Option<(PayloadKind, bool)> {
        let item = service(payloads);
        republish_payload(&item).map(|(p, original)| (p.kind, original))
    }

    #[test]
    fn a_service_comes_back_from_its_export_else_from_a_file_publish_takes() {
        let definition = ("featureServiceDefinition", "freshExport");
        assert_eq!(
            chosen(&[definition, ("fileGeodatabase", "freshExport")]),
            Some((PayloadKind::FileGeodatabase, false))
        );
        assert_eq!(
            chosen(&[definition, ("csv", "originalSource")]),
            Some((PayloadKind::Csv, true))
        );
        // An export wins over the original file, whatever their order.
        assert_eq!(
            chosen(&[("csv", "originalSource"), ("shapefile", "freshExport")]),
            Some((PayloadKind::Shapefile, false))
        );
        // Nothing publish takes: an Excel original, a definition alone, a downloaded file.
        assert_eq!(chosen(&[definition, ("excel", "originalSource")]), None);
        assert_eq!(chosen(&[definition]), None);
        assert_eq!(chosen(&[("fileGeodatabase", "download")]), None);
    }
}
