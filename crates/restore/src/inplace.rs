//! `inplace`: restoring an organization into itself (`--in-place`, chosen on its own when the
//! target is the snapshot's organization; spec/backup-restore.md, In place).
//!
//! Items are matched by their own id. [`find`] reads the organization once (a search, and the
//! recycle bin's listing where there is one) and each live item's owner view; [`compare`] then
//! says, per item, what differs from the snapshot: properties, data (read only when the item's
//! `modified` moved), resources, thumbnail, metadata, sharing, owner, folder, delete protection,
//! relationships, and for a hosted feature service the layers edited since. An unchanged item is
//! left alone; a changed one is put back ([`apply`]); one in the recycle bin is restored from it
//! first; one gone for good is made again — with its own id where the portal allows it
//! (`itemIdToCreate`, ArcGIS Enterprise), else with a new id, every reference to the old one in
//! the organization re-pointed.

pub mod apply;

use std::collections::{BTreeMap, BTreeSet};

use orgpack_archive::Archive;
use orgpack_archive::digest::Digest;
use orgpack_archive::manifest::{Access, Direction, Item, Snapshot};
use orgpack_portal::Client;
use serde_json::Value;

use crate::plan::Facts;

/// The annotation of a hosted feature service holding each layer's edit dates when backed up
/// (written by orgpack-backup's `service_state`): `{"<id>": [lastEditDate, schemaLastEditDate]}`.
pub const LAYER_EDITS: &str = "orgpack.layerEdits";

/// Item properties compared and put back (`update` takes each of them).
const PROPERTIES: &[&str] = &[
    "title",
    "snippet",
    "description",
    "tags",
    "typeKeywords",
    "accessInformation",
    "licenseInfo",
    "culture",
    "properties",
    "url",
    "extent",
    "spatialReference",
    "categories",
];

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
        let path = format!("content/portals/{}", facts.org_id);
        let mut start = 1u64;
        loop {
            let s = start.to_string();
            let page = client
                .call(
                    "recycle bin",
                    orgpack_portal::Method::Get,
                    &path,
                    &[("inRecycleBin", "true"), ("start", &s), ("num", "100")],
                )
                .await?;
            for item in page["items"].as_array().into_iter().flatten() {
                if let (Some(id), Some(owner)) = (item["id"].as_str(), item["owner"].as_str()) {
                    org.recycled.insert(id.to_owned(), owner.to_owned());
                }
            }
            match page["nextStart"].as_u64() {
                Some(n) if n > start => start = n,
                _ => break,
            }
        }
    }
    Ok(org)
}

/// What differs between an item and its snapshot, and what putting it back takes.
#[derive(Debug, Clone, Default)]
#[allow(clippy::struct_excessive_bools)]
pub struct Differences {
    /// Readable lines for the plan: `title: "A" → "B"`, `data $.operationalLayers[1]`, …
    pub lines: Vec<String>,
    /// Item properties differ (or its data: both go with one `update`).
    pub properties: bool,
    /// The data differs.
    pub data: bool,
    /// Resources the item has that the snapshot's does not, to remove.
    pub extra_resources: Vec<String>,
    /// Snapshot resources missing or different, to put back.
    pub resources: Vec<String>,
    /// The thumbnail differs.
    pub thumbnail: bool,
    /// The metadata differs.
    pub metadata: bool,
    /// The sharing differs: the groups it is in now.
    pub sharing: Option<Vec<String>>,
    /// The owner now, when it is not the snapshot's.
    pub owner: Option<String>,
    /// The folder differs: the folder it is in now.
    pub folder: Option<Option<String>>,
    /// Delete protection differs.
    pub protected: bool,
    /// Forward relationships missing: (type, item id).
    pub relationships: Vec<(String, String)>,
    /// Layers and tables of a hosted feature service edited since the snapshot.
    pub edited_layers: Vec<u64>,
}

impl Differences {
    /// Whether anything but the layers' data differs.
    #[must_use]
    pub fn item_changed(&self) -> bool {
        self.properties
            || self.data
            || !self.extra_resources.is_empty()
            || !self.resources.is_empty()
            || self.thumbnail
            || self.metadata
            || self.sharing.is_some()
            || self.owner.is_some()
            || self.folder.is_some()
            || self.protected
            || !self.relationships.is_empty()
    }
}

fn same_value(a: Option<&Value>, b: Option<&Value>) -> bool {
    let norm = |v: Option<&Value>| -> Value {
        match v {
            None | Some(Value::Null) => Value::Null,
            Some(Value::String(s)) if s.is_empty() => Value::Null,
            Some(Value::Array(a)) if a.is_empty() => Value::Null,
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
                let mut sorted: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
                sorted.sort_unstable();
                Value::from(sorted)
            }
            Some(v) => v.clone(),
        }
    };
    norm(a) == norm(b)
}

fn shown(v: Option<&Value>) -> String {
    let text = match v {
        None | Some(Value::Null) => "(none)".to_owned(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    };
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    }
}

/// JSON paths where two documents differ (at most `limit`), `$`-rooted.
pub fn json_paths(a: &Value, b: &Value, limit: usize) -> Vec<String> {
    fn walk(then: &Value, now: &Value, path: &str, out: &mut Vec<String>, limit: usize) {
        if out.len() >= limit || then == now {
            return;
        }
        match (then, now) {
            (Value::Object(older), Value::Object(newer)) => {
                let keys: BTreeSet<&String> = older.keys().chain(newer.keys()).collect();
                for key in keys {
                    let here = format!("{path}.{key}");
                    match (older.get(key), newer.get(key)) {
                        (Some(v), Some(w)) => walk(v, w, &here, out, limit),
                        (Some(_), None) => out.push(format!("{here} (not in the target)")),
                        (None, Some(_)) => out.push(format!("{here} (added in the target)")),
                        (None, None) => {}
                    }
                    if out.len() >= limit {
                        return;
                    }
                }
            }
            (Value::Array(older), Value::Array(newer)) => {
                for index in 0..older.len().max(newer.len()) {
                    let here = format!("{path}[{index}]");
                    match (older.get(index), newer.get(index)) {
                        (Some(v), Some(w)) => walk(v, w, &here, out, limit),
                        (Some(_), None) => out.push(format!("{here} (not in the target)")),
                        (None, Some(_)) => out.push(format!("{here} (added in the target)")),
                        (None, None) => {}
                    }
                    if out.len() >= limit {
                        return;
                    }
                }
            }
            _ => out.push(path.to_owned()),
        }
    }
    let mut out = Vec::new();
    walk(a, b, "$", &mut out, limit);
    out
}

async fn fetch<F, Fut>(get: F) -> Result<Option<Vec<u8>>, String>
where
    F: FnOnce(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = (Vec<u8>, Result<Option<u64>, orgpack_portal::Error>)>,
{
    let (bytes, got) = get(Vec::new()).await;
    match got {
        Ok(Some(_)) => Ok(Some(bytes)),
        Ok(None) => Ok(None),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// What the archive holds for a descriptor, read whole (item parts are small; data files are
/// compared by digest without reading them).
fn archived(archive: &Archive, d: &orgpack_archive::Descriptor) -> Result<Vec<u8>, String> {
    crate::item::read(archive, d)
}

/// A live item as compared: its id, its owner's view (`content/users/<owner>/items/<id>`:
/// `{item, sharing}`), and who should own it.
#[derive(Debug, Clone, Copy)]
pub struct Live<'a> {
    /// Its id in the organization.
    pub id: &'a str,
    /// The owner's view of it.
    pub view: &'a Value,
    /// Who should own it.
    pub owner: &'a str,
}

/// Compare a live item with its snapshot, the snapshot's references to items made again under a
/// new id (`moved`) taken as re-pointed.
///
/// # Errors
/// Portal and archive errors reading what is compared.
#[allow(clippy::too_many_lines)]
pub async fn compare(
    client: &Client,
    archive: &Archive,
    item: &Item,
    live: Live<'_>,
    groups: &BTreeMap<String, String>,
    journal: Option<&crate::journal::Journal>,
    moved: &orgpack_graph::IdMap,
) -> Result<Differences, String> {
    let Live { id, view, owner } = live;
    let mut d = Differences::default();
    let now = &view["item"];
    let json: Value = crate::item::read_json(archive, &item.item)?;
    let keywords = orgpack_graph::type_keywords(&json);
    let gctx = orgpack_graph::Context {
        item_type: &item.item_type,
        type_keywords: &keywords,
        self_id: Some(&item.id),
        portal_urls: &[],
    };
    let snap = if moved.is_empty() {
        json.clone()
    } else {
        orgpack_graph::rewrite(&gctx, orgpack_graph::Part::Item, &json, moved).doc
    };
    for key in PROPERTIES {
        if *key == "url" && id != item.id {
            continue; // a recreated service has its own URL: references were re-pointed
        }
        if !same_value(snap.get(*key), now.get(*key)) {
            d.properties = true;
            d.lines.push(format!(
                "{key}: {} → {}",
                shown(now.get(*key)),
                shown(snap.get(*key))
            ));
        }
    }
    let protected = |v: &Value| v.get("protected").and_then(Value::as_bool) == Some(true);
    if protected(&snap) != protected(now) {
        d.protected = true;
        d.lines.push(format!(
            "delete protection: {} → {}",
            protected(now),
            protected(&snap)
        ));
    }
    let current_owner = now["owner"].as_str().unwrap_or_default();
    if current_owner != owner {
        d.owner = Some(current_owner.to_owned());
        d.lines.push(format!("owner: {current_owner} → {owner}"));
    }
    let current_folder = now["ownerFolder"].as_str().map(str::to_owned);
    let wanted_folder = item.folder.as_ref().map(|f| f.id.clone());
    if d.owner.is_none() && current_folder != wanted_folder {
        d.folder = Some(current_folder.clone());
        d.lines.push(format!(
            "folder: {} → {}",
            current_folder.as_deref().unwrap_or("(root)"),
            item.folder.as_ref().map_or("(root)", |f| f.title.as_str())
        ));
    }
    // Sharing: access and groups (the snapshot's mapped to the target's).
    let access_now = view["sharing"]["access"].as_str().unwrap_or("private");
    let groups_now: BTreeSet<String> = view["sharing"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_owned))
        .collect();
    let groups_wanted: BTreeSet<String> = item
        .sharing
        .groups
        .iter()
        .filter_map(|g| groups.get(&g.id).cloned())
        .collect();
    let level = |a: &str| match a {
        "public" => 2,
        "org" | "account" => 1,
        _ => 0,
    };
    let wanted_level = match item.sharing.access {
        Access::Public => 2,
        Access::Org => 1,
        Access::Private | Access::Shared => 0,
    };
    if level(access_now) != wanted_level || groups_now != groups_wanted {
        d.sharing = Some(groups_now.iter().cloned().collect());
        for g in groups_now.difference(&groups_wanted) {
            d.lines.push(format!(
                "sharing: shared with group {g} (not in the snapshot)"
            ));
        }
        for g in groups_wanted.difference(&groups_now) {
            d.lines.push(format!("sharing: not shared with group {g}"));
        }
        if level(access_now) != wanted_level {
            d.lines
                .push(format!("sharing: {access_now} → {:?}", item.sharing.access));
        }
    }
    // Content: read only when the item's `modified` moved (every content change moves it).
    let touched = now["modified"].as_i64() != Some(item.modified);
    if touched && let Some(data) = &item.data {
        let got = fetch(|mut b| async move {
            let r = client.item_data(id, &mut b).await;
            (b, r)
        })
        .await?;
        let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).ok();
        let same = if got.as_deref().map(Digest::of) == Some(data.content.digest) {
            true
        } else if data.name.is_some() {
            false
        } else {
            // JSON is compared as JSON (a restore writes it compactly), the snapshot's
            // re-pointed to the items made again.
            let then = archived(archive, &data.content).ok();
            match (
                got.as_deref().and_then(parse),
                then.as_deref().and_then(parse),
            ) {
                (Some(now), Some(then)) if moved.is_empty() => then == now,
                (Some(now), Some(then)) => {
                    orgpack_graph::rewrite(&gctx, orgpack_graph::Part::Data, &then, moved).doc
                        == now
                }
                _ => false,
            }
        };
        if !same {
            d.data = true;
            d.properties = true;
            let old = archived(archive, &data.content).ok();
            match (
                got.as_deref().and_then(parse),
                old.as_deref().and_then(parse),
            ) {
                (Some(now), Some(then)) => {
                    for p in json_paths(&then, &now, 12) {
                        d.lines.push(format!("data {p}"));
                    }
                }
                _ => d.lines.push(format!(
                    "data: {} bytes, the snapshot's {}",
                    got.as_ref().map_or(0, Vec::len),
                    data.content.size
                )),
            }
        }
    }
    let listed = client.item_resources(id).await.map_err(|e| e.to_string())?;
    let have: BTreeMap<&str, u64> = listed.iter().map(|r| (r.path.as_str(), r.size)).collect();
    let want: BTreeMap<&str, &orgpack_archive::manifest::Resource> = item
        .resources
        .iter()
        .map(|r| (r.path.as_str(), r))
        .collect();
    for path in have.keys().filter(|p| !want.contains_key(*p)) {
        d.extra_resources.push((*path).to_owned());
        d.lines
            .push(format!("resource {path} (not in the snapshot)"));
    }
    for (path, r) in &want {
        let differs = match have.get(path) {
            None => {
                d.lines.push(format!("resource {path} (missing)"));
                true
            }
            Some(size) if *size != r.content.size => true,
            Some(_) if touched => {
                let got = fetch(|mut b| async move {
                    let x = client.item_resource(id, path, &mut b).await;
                    (b, x)
                })
                .await?;
                got.as_deref().map(Digest::of) != Some(r.content.digest)
            }
            Some(_) => false,
        };
        if differs {
            if have.contains_key(path) {
                d.lines.push(format!("resource {path} (changed)"));
            }
            d.resources.push((*path).to_owned());
        }
    }
    let thumb_now = now["thumbnail"].as_str().and_then(|t| t.rsplit('/').next());
    let thumb_then = item.thumbnail.as_ref().and_then(|t| t.name.as_deref());
    if let Some(t) = &item.thumbnail {
        let differs = if thumb_now == thumb_then {
            touched && {
                let path = now["thumbnail"].as_str().unwrap_or_default().to_owned();
                let got = fetch(|mut b| async move {
                    let x = client.item_thumbnail(id, &path, &mut b).await;
                    (b, x)
                })
                .await?;
                got.as_deref().map(Digest::of) != Some(t.content.digest)
            }
        } else {
            true
        };
        if differs {
            d.thumbnail = true;
            d.lines.push("thumbnail".to_owned());
        }
    }
    if touched && let Some(m) = &item.metadata {
        let got = fetch(|mut b| async move {
            let x = client.item_metadata(id, &mut b).await;
            (b, x)
        })
        .await?;
        if got.as_deref().map(Digest::of) != Some(m.digest) {
            d.metadata = true;
            d.lines.push("metadata".to_owned());
        }
    }
    let mut types: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in item
        .relationships
        .iter()
        .filter(|r| r.direction == Direction::Forward)
    {
        types
            .entry(r.relationship_type.as_str())
            .or_default()
            .push(r.item_id.as_str());
    }
    for (kind, wanted) in types {
        let related = client
            .related_items(id, kind, true)
            .await
            .map_err(|e| e.to_string())?;
        for to in wanted {
            let to = moved.items.get(to).map_or(to, String::as_str);
            if !related.iter().any(|r| r["id"].as_str() == Some(to)) {
                d.relationships.push((kind.to_owned(), to.to_owned()));
                d.lines
                    .push(format!("relationship {kind} → {to} (missing)"));
            }
        }
    }
    // A view's features are its source's: put back with the source, never through the view.
    let is_view = item
        .payloads
        .iter()
        .any(|p| p.kind == orgpack_archive::manifest::PayloadKind::ViewDefinition);
    if let (Some(url), Some(edits), false) = (
        now["url"]
            .as_str()
            .filter(|_| item.item_type == "Feature Service"),
        item.annotations.get(LAYER_EDITS),
        is_view,
    ) {
        d.edited_layers = edited_layers(client, url, edits, id, journal).await?;
        for layer in &d.edited_layers {
            d.lines
                .push(format!("layer {layer}: features edited since the snapshot"));
        }
    }
    Ok(d)
}

/// The journal's key for a layer an in-place run loaded: its edit date then is the step.
#[must_use]
pub fn loaded_key(item: &str, layer: u64) -> String {
    format!("{item}/layer/{layer}")
}

/// Each layer's and table's last edit date (`<url>/layers`, one request).
///
/// # Errors
/// Portal errors.
pub async fn layer_dates(client: &Client, url: &str) -> Result<Vec<(u64, i64)>, String> {
    let layers = client
        .call(
            "layers",
            orgpack_portal::Method::Get,
            &format!("{url}/layers"),
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for key in ["layers", "tables"] {
        for layer in layers[key].as_array().into_iter().flatten() {
            if let Some(id) = layer["id"].as_u64() {
                out.push((
                    id,
                    layer["editingInfo"]["lastEditDate"].as_i64().unwrap_or(0),
                ));
            }
        }
    }
    Ok(out)
}

/// The layers and tables of a hosted feature service whose last edit is neither the one the
/// snapshot recorded nor one an in-place run's load left (the journal's).
async fn edited_layers(
    client: &Client,
    url: &str,
    edits: &str,
    id: &str,
    journal: Option<&crate::journal::Journal>,
) -> Result<Vec<u64>, String> {
    let then: BTreeMap<String, (i64, i64)> =
        serde_json::from_str(edits).map_err(|e| format!("the layer edits annotation: {e}"))?;
    let mut out = Vec::new();
    for (layer, last) in layer_dates(client, url).await? {
        let loaded = journal.is_some_and(|j| {
            j.done(&loaded_key(id, layer), &last.to_string())
                .unwrap_or(false)
        });
        if then.get(&layer.to_string()).map(|e| e.0) != Some(last) && !loaded {
            out.push(layer);
        }
    }
    out.sort_unstable();
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_name_what_differs() {
        let a = json!({"operationalLayers": [{"id": "a"}, {"id": "b"}], "title": "x"});
        let b = json!({"operationalLayers": [{"id": "a"}], "title": "y", "extra": 1});
        assert_eq!(
            json_paths(&a, &b, 10),
            [
                "$.extra (added in the target)",
                "$.operationalLayers[1] (not in the target)",
                "$.title"
            ]
        );
        assert!(json_paths(&a, &a, 10).is_empty());
    }

    #[test]
    fn empty_values_and_orders_are_the_same() {
        assert!(same_value(None, Some(&json!(""))));
        assert!(same_value(Some(&json!([])), Some(&Value::Null)));
        assert!(same_value(
            Some(&json!(["b", "a"])),
            Some(&json!(["a", "b"]))
        ));
        assert!(!same_value(Some(&json!("a")), Some(&json!("b"))));
    }
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
