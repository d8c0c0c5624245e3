//! `inplace`: restoring an organization into itself (`--in-place`, chosen on its own when the
//! target is the snapshot's organization; spec/backup-restore.md, In place).
//!
//! Items are matched by their own id. [`survey`] reads the organization once ([`read_org`]: a
//! search, and the recycle bin's listing where there is one) and each live item's owner view;
//! [`compare`] (`compare.rs`) then
//! says, per item, what differs from the snapshot: properties, data (read only when the item's
//! `modified` moved), resources, thumbnail, metadata, sharing, owner, folder, delete protection,
//! relationships, and for a hosted feature service the layers edited since. An unchanged item is
//! left alone; a changed one is put back ([`apply`]); one in the recycle bin is restored from it
//! first; one gone for good is made again — with its own id where the portal allows it
//! (`itemIdToCreate`, ArcGIS Enterprise), else with a new id, every reference to the old one in
//! the organization re-pointed.

pub mod apply;
mod compare;

pub use compare::{Differences, Live, compare, json_paths, layer_dates, loaded_key};

use std::collections::{BTreeMap, BTreeSet};

use orgpack_archive::Archive;
use orgpack_archive::manifest::{Item, Snapshot};
use orgpack_portal::Client;
use serde_json::Value;

use crate::plan::Facts;

/// The annotation of a hosted feature service holding each layer's edit dates when backed up
/// (written by orgpack-backup's `service_state`): `{"<id>": [lastEditDate, schemaLastEditDate]}`.
pub const LAYER_EDITS: &str = "orgpack.layerEdits";

/// Where a snapshot item is in the organization now.
#[derive(Debug, Clone)]
pub enum Found {
    /// Live, with this id (its own, or the one an earlier in-place run recreated it under).
    Live(String),
    /// Made again by an earlier in-place run that was cut short before finishing it: finish it.
    Unfinished(String),
    /// In the recycle bin (ArcGIS Online), owned by this user.
    Recycled(String),
    /// Gone for good.
    Gone,
}

/// The organization as an in-place restore finds it.
#[derive(Debug, Default)]
pub struct Organization {
    /// Live items by id: their search result.
    pub live: BTreeMap<String, Value>,
    /// Recycled items by id: their owner.
    pub recycled: BTreeMap<String, String>,
}

/// Read the organization: one search of its items and, where it has one, its recycle bin.
///
/// # Errors
/// Portal errors of the search.
pub async fn read_org(
    client: &Client,
    facts: &Facts,
) -> Result<Organization, orgpack_portal::Error> {
    let mut org = Organization::default();
    for item in client
        .search_all(&format!("orgid:{}", facts.org_id), 100)
        .await?
    {
        if let Some(id) = item.get("id").and_then(Value::as_str) {
            org.live.insert(id.to_owned(), item.clone());
        }
    }
    if facts.recycle_bin {
        for item in client.recycle_bin(&facts.org_id).await? {
            if let (Some(id), Some(owner)) = (item["id"].as_str(), item["owner"].as_str()) {
                org.recycled.insert(id.to_owned(), owner.to_owned());
            }
        }
    }
    Ok(org)
}

/// Items of the organization the snapshot does not hold (created since it, or outside its
/// selection): (id, title, type, owner). Recreated copies of snapshot items are not counted.
#[must_use]
pub fn created_since(
    snapshot: &Snapshot,
    org: &Organization,
    recreated: &BTreeSet<String>,
) -> Vec<(String, String, String, String)> {
    let known: BTreeSet<&str> = snapshot.items.iter().map(|i| i.id.as_str()).collect();
    org.live
        .iter()
        .filter(|(id, _)| !known.contains(id.as_str()) && !recreated.contains(*id))
        .filter(|(_, v)| {
            // orgpack's own uploads and temporary exports are not the organization's content.
            !v["typeKeywords"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "orgpack-payload"))
                && !v["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("orgpack-export-"))
        })
        .map(|(id, v)| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (id.clone(), s("title"), s("type"), s("owner"))
        })
        .collect()
}

/// What an in-place plan found of one snapshot item.
#[derive(Debug, Clone)]
pub struct Surveyed {
    /// Where it is.
    pub found: Found,
    /// For a live item, what differs.
    pub differences: Option<Differences>,
}

/// An in-place plan's view of the organization: each chosen item, and the items the snapshot
/// does not hold.
#[derive(Debug, Default)]
pub struct Survey {
    /// Source id → what was found.
    pub items: BTreeMap<String, Surveyed>,
    /// Items of the organization not in the snapshot: (id, title, type, owner).
    pub created_since: Vec<(String, String, String, String)>,
}

/// Find every chosen item in the organization and compare the live ones with the snapshot,
/// several at once. A live item is found by its own id, else (made again by an earlier in-place
/// run under a new id) by the journal or its `source-<id>` keyword.
///
/// # Errors
/// Portal errors reading the organization; the first comparison that fails.
#[allow(clippy::too_many_arguments)]
pub async fn survey(
    archive: &Archive,
    items: &[&Item],
    client: &Client,
    facts: &Facts,
    journal: Option<&crate::journal::Journal>,
    owners: &BTreeMap<String, String>,
    groups: &BTreeMap<String, String>,
    concurrency: usize,
) -> crate::error::Result<(Survey, Organization)> {
    use futures_util::StreamExt as _;
    let org = read_org(client, facts).await?;
    let mut located: Vec<(&Item, Found)> = Vec::new();
    for item in items {
        let journaled = journal
            .map(|j| j.id(crate::journal::Kind::Item, &item.id))
            .transpose()?
            .flatten()
            .filter(|t| org.live.contains_key(t));
        let keyword = crate::plan::source_keyword(&item.id);
        let by_keyword = || {
            org.live
                .iter()
                .filter(|(_, v)| {
                    v["typeKeywords"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k.as_str() == Some(keyword.as_str())))
                })
                .min_by_key(|(_, v)| v["created"].as_i64().unwrap_or(i64::MAX))
                .map(|(id, _)| id.clone())
        };
        let unfinished = journal
            .map(|j| j.created(crate::journal::Kind::Item, &item.id))
            .transpose()?
            .flatten()
            .filter(|(t, complete)| !complete && org.live.contains_key(t))
            .map(|(t, _)| t);
        let found = if let Some(t) = unfinished {
            Found::Unfinished(t)
        } else if org.live.contains_key(&item.id) {
            Found::Live(item.id.clone())
        } else if let Some(t) = journaled.or_else(by_keyword) {
            Found::Live(t)
        } else if let Some(owner) = org.recycled.get(&item.id) {
            Found::Recycled(owner.clone())
        } else {
            Found::Gone
        };
        located.push((item, found));
    }
    // Items made again under a new id by an earlier run: the snapshot's references to them are
    // compared as re-pointed.
    let mut moved = orgpack_graph::IdMap::default();
    for (item, found) in &located {
        if let Found::Live(t) | Found::Unfinished(t) = found
            && *t != item.id
        {
            moved.items.insert(item.id.clone(), t.clone());
            if let (Some(old), Some(new)) = (&item.url, org.live[t]["url"].as_str()) {
                moved.services.insert(old.clone(), new.to_owned());
            }
        }
    }
    let moved = &moved;
    let live = &org.live;
    let compared: Vec<crate::error::Result<(String, Surveyed)>> =
        futures_util::stream::iter(located)
            .map(|(item, found)| async move {
                let differences = match &found {
                    Found::Live(id) => {
                        let owner_now = live[id]["owner"].as_str().unwrap_or_default();
                        let view = client
                            .user_item(owner_now, id)
                            .await
                            .map_err(crate::error::Error::from)?;
                        let owner = owners
                            .get(&item.owner)
                            .map_or(item.owner.as_str(), String::as_str);
                        Some(
                            compare(
                                client,
                                archive,
                                item,
                                Live {
                                    id,
                                    view: &view,
                                    owner,
                                },
                                groups,
                                journal,
                                moved,
                            )
                            .await
                            .map_err(|e| {
                                crate::error::Error::Compare(format!(
                                    "comparing item {} with the snapshot: {e}",
                                    item.id
                                ))
                            })?,
                        )
                    }
                    _ => None,
                };
                Ok((item.id.clone(), Surveyed { found, differences }))
            })
            .buffer_unordered(concurrency.max(1) * 2)
            .collect()
            .await;
    let mut survey = Survey::default();
    for c in compared {
        let (id, s) = c?;
        survey.items.insert(id, s);
    }
    Ok((survey, org))
}
