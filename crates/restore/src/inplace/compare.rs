//! Comparing a live item with its snapshot: what differs ([`Differences`]), read as cheaply as
//! the answer allows (content only when `modified` moved, hashed as it downloads), and which of a
//! hosted service's layers were edited since.

use std::collections::{BTreeMap, BTreeSet};

use orgpack_archive::Archive;
use orgpack_archive::digest::Digest;
use orgpack_archive::manifest::{Access, Direction, Item};
use orgpack_portal::Client;
use serde_json::Value;

use super::LAYER_EDITS;

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

/// A download sink that hashes what it receives and keeps the bytes only when asked: a data file
/// of any size is compared by its digest without being held, a document is kept to compare as
/// JSON.
struct HashSink {
    hasher: orgpack_archive::digest::Hasher,
    kept: Option<Vec<u8>>,
    len: u64,
}

impl HashSink {
    fn new(keep: bool) -> Self {
        Self {
            hasher: orgpack_archive::digest::Hasher::new(),
            kept: keep.then(Vec::new),
            len: 0,
        }
    }

    /// What a download into it gave: `None` when the portal has nothing there.
    fn finish(
        self,
        got: Result<Option<u64>, orgpack_portal::Error>,
    ) -> Result<Option<Downloaded>, String> {
        match got {
            Ok(Some(_)) => Ok(Some(Downloaded {
                digest: self.hasher.finish(),
                bytes: self.kept,
                len: self.len,
            })),
            Ok(None) => Ok(None),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl tokio::io::AsyncWrite for HashSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        if let Some(kept) = &mut self.kept {
            kept.extend_from_slice(buf);
        }
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A downloaded part: its digest, its length, and its bytes when they were kept.
struct Downloaded {
    digest: Digest,
    bytes: Option<Vec<u8>>,
    len: u64,
}

/// Whether a download is there and has `digest`.
fn same_digest(got: Option<&Downloaded>, digest: Digest) -> bool {
    got.is_some_and(|g| g.digest == digest)
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
        // A document (no file name) is kept to compare as JSON, a form's package to compare
        // file by file; any other file only hashed.
        let document = data.name.is_none();
        let package = item.item_type == "Form" && data.content.size <= crate::form::MOST_BYTES;
        let mut sink = HashSink::new(document || package);
        let got = client.item_data(id, &mut sink).await;
        let got = sink.finish(got)?;
        let same_package = || {
            let now = got.as_ref().and_then(|g| g.bytes.as_deref())?;
            let then = crate::item::read(archive, &data.content).ok()?;
            Some(crate::form::same_package(&then, now, moved))
        };
        let same = same_digest(got.as_ref(), data.content.digest)
            || (package && same_package() == Some(true));
        if !same {
            let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).ok();
            let now = got
                .as_ref()
                .and_then(|g| g.bytes.as_deref())
                .and_then(parse);
            let then = document
                .then(|| crate::item::read(archive, &data.content).ok())
                .flatten()
                .as_deref()
                .and_then(parse);
            // JSON is compared as JSON (a restore writes it compactly), the snapshot's
            // re-pointed to the items made again.
            let same = match (&now, &then) {
                (Some(now), Some(then)) if moved.is_empty() => then == now,
                (Some(now), Some(then)) => {
                    orgpack_graph::rewrite(&gctx, orgpack_graph::Part::Data, then, moved).doc
                        == *now
                }
                _ => false,
            };
            if !same {
                d.data = true;
                d.properties = true;
                match (now, then) {
                    (Some(now), Some(then)) => {
                        for p in json_paths(&then, &now, 12) {
                            d.lines.push(format!("data {p}"));
                        }
                    }
                    _ => d.lines.push(format!(
                        "data: {} bytes, the snapshot's {}",
                        got.as_ref().map_or(0, |g| g.len),
                        data.content.size
                    )),
                }
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
                let mut sink = HashSink::new(false);
                let got = client.item_resource(id, path, &mut sink).await;
                !same_digest(sink.finish(got)?.as_ref(), r.content.digest)
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
                let path = now["thumbnail"].as_str().unwrap_or_default();
                let mut sink = HashSink::new(false);
                let got = client.item_thumbnail(id, path, &mut sink).await;
                !same_digest(sink.finish(got)?.as_ref(), t.content.digest)
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
        let mut sink = HashSink::new(false);
        let got = client.item_metadata(id, &mut sink).await;
        if !same_digest(sink.finish(got)?.as_ref(), m.digest) {
            d.metadata = true;
            d.lines.push("metadata".to_owned());
        }
    }
    let mut types: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    // A service's Service2Service to a view or tile layer made from it is the portal's, made
    // with that item: missing, it says the derived item is gone, and putting that item back
    // makes it again (the service cannot be related to an item that does not exist).
    for r in item
        .relationships
        .iter()
        .filter(|r| r.direction == Direction::Forward && r.relationship_type != "Service2Service")
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
