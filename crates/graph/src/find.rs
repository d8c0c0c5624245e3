//! Finding references: the entry point, the context a backup knows, and the walker every item
//! type's rules use.

mod apps;
mod maps;
mod services;
mod stories;
mod various;

use serde_json::Value;

use crate::reference::{RefKind, Reference};
use crate::text::{self, HELPER_TYPES};

/// Which part of an item a JSON document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// The item JSON (`content/items/<id>`).
    Item,
    /// The item's data (`content/items/<id>/data`).
    Data,
    /// An item resource, or a member of a data zip (Survey123 `esriinfo/…`), by path.
    Resource(&'a str),
    /// A service document: `root`, `layer`, `sources`, `adminLayerInfo`, `query`, `createService`.
    Service(&'a str),
    /// A group's JSON.
    Group,
    /// A page of a group's content (`content/groups/<id>`).
    GroupContent,
}

impl Part<'_> {
    fn label(&self) -> String {
        match self {
            Part::Item => "item".into(),
            Part::Data => "data".into(),
            Part::Resource(p) => format!("resource {p}"),
            Part::Service(s) => format!("service {s}"),
            Part::Group => "group".into(),
            Part::GroupContent => "group content".into(),
        }
    }
}

/// What is known about the item and its organization when its content is read.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// The item's type (`Web Map`, `Dashboard`, …).
    pub item_type: &'a str,
    /// The item's typeKeywords.
    pub type_keywords: &'a [String],
    /// The item's (or group's) own id.
    pub self_id: Option<&'a str>,
    /// The source organization's portal URLs (its `urlKey` URL, its Enterprise base URL, …).
    pub portal_urls: &'a [String],
}

/// An item JSON's `typeKeywords`, for [`Context::type_keywords`].
#[must_use]
pub fn type_keywords(item: &Value) -> Vec<String> {
    keyword_list(item.get("typeKeywords"))
}

/// The strings of a `typeKeywords` member (none when it is missing or not a list).
#[must_use]
pub fn keyword_list(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Every reference in one JSON document of an item.
#[must_use]
pub fn references(ctx: &Context<'_>, part: Part<'_>, doc: &Value) -> Vec<Reference> {
    let mut f = Finder {
        ctx,
        prefix: part.label(),
        out: Vec::new(),
    };
    match (ctx.item_type, part) {
        (_, Part::Group) => various::group(&mut f, doc),
        (_, Part::GroupContent) => various::group_content(&mut f, doc),
        (_, Part::Service(kind)) => services::service_doc(&mut f, kind, doc),
        ("Web Map" | "Web Scene", Part::Data) => maps::web_map(&mut f, doc),
        ("Dashboard", Part::Data) => maps::dashboard(&mut f, doc),
        ("Web Mapping Application", Part::Data) => apps::web_app(&mut f, doc),
        ("Web Experience" | "Web Experience Template", Part::Data | Part::Resource(_)) => {
            apps::experience(&mut f, doc);
        }
        ("StoryMap", Part::Data | Part::Resource(_)) => stories::storymap(&mut f, doc),
        ("Hub Site Application" | "Hub Page" | "Site Application" | "Site Page", Part::Data) => {
            stories::hub(&mut f, doc);
        }
        ("Form", _) => various::form(&mut f, doc),
        ("Notebook", Part::Data) => various::notebook(&mut f, doc),
        ("QuickCapture Project", _) => various::quickcapture(&mut f, doc),
        ("Workforce Project", Part::Data) => various::workforce_v1(&mut f, doc),
        (_, Part::Item) => various::item_json(&mut f, doc),
        _ => f.generic(doc, "$"),
    }
    // References written inside any string of any type, in one pass over the document:
    walk(doc, "$", &mut |path, _, v| {
        let Some(s) = v.as_str() else {
            return;
        };
        // Arcade (popups, data expressions, labels) reaches items through
        // FeatureSetByPortalItem, and `Portal('https://<org>…')` names the organization's own
        // portal, pointed at the target's (the global `www.arcgis.com` is not an organization's
        // URL).
        if s.contains("FeatureSetByPortalItem") {
            for (_, id) in text::arcade_item_ids(s) {
                f.push(RefKind::Item, id, path, true);
            }
            f.portal_urls_in(s, path);
        }
        // Links to apps on ArcGIS Online's app hosts (an experience or story of this
        // organization or another's): external, so nothing else is captured for them, but
        // pointed at the restored app when the snapshot holds it.
        if s.contains(".arcgis.com/") {
            for (_, id) in text::online_app_links(s) {
                if Some(id) != ctx.self_id {
                    f.out.push(
                        Reference::new(RefKind::Item, id, f.at(path))
                            .external()
                            .in_text(),
                    );
                }
            }
        }
        // Links to the organization's own apps and items (an experience embedding a dashboard
        // by URL, a description linking a map), with the portal the link is on: the restore
        // points it at the target's.
        let links = text::portal_links(s, ctx.portal_urls);
        for (_, id) in &links {
            if Some(*id) != ctx.self_id {
                f.push(RefKind::Item, id, path, *id != s);
            }
        }
        if !links.is_empty() {
            for base in ctx.portal_urls {
                if s.contains(&format!("{}/", base.trim_end_matches('/'))) {
                    f.push(RefKind::PortalUrl, base.trim_end_matches('/'), path, true);
                }
            }
        }
    });
    if let Some(id) = ctx.self_id {
        f.self_refs(doc, "$", id);
    }
    let mut out = f.out;
    out.sort();
    out.dedup();
    out
}

/// Every reference in an item's JSON, its data and its resources (each resource by path), as
/// [`references`] finds them part by part.
#[must_use]
pub fn item_references(
    ctx: &Context<'_>,
    item: Option<&Value>,
    data: Option<&Value>,
    resources: &[(&str, &Value)],
) -> Vec<Reference> {
    let mut out = Vec::new();
    if let Some(item) = item {
        out.extend(references(ctx, Part::Item, item));
    }
    if let Some(data) = data {
        out.extend(references(ctx, Part::Data, data));
    }
    for (path, doc) in resources {
        out.extend(references(ctx, Part::Resource(path), doc));
    }
    out
}

/// Collects references with their paths.
pub(crate) struct Finder<'c, 'a> {
    pub ctx: &'c Context<'a>,
    prefix: String,
    pub out: Vec<Reference>,
}

impl Finder<'_, '_> {
    fn at(&self, path: &str) -> String {
        format!("{} {path}", self.prefix)
    }

    /// An item id held by a key known to hold one (any non-empty string counts).
    pub fn item(&mut self, v: Option<&Value>, path: &str) {
        if let Some(s) = v.and_then(Value::as_str).filter(|s| !s.is_empty()) {
            self.push(RefKind::Item, s, path, false);
        }
    }

    /// An item id that is Esri's or a template's: recorded as external.
    pub fn external_item(&mut self, v: Option<&Value>, path: &str) {
        if let Some(s) = v.and_then(Value::as_str).filter(|s| !s.is_empty()) {
            let r = Reference::new(RefKind::Item, s, self.at(path)).external();
            self.out.push(r);
        }
    }

    /// A group id held by a known key.
    pub fn group(&mut self, v: Option<&Value>, path: &str) {
        if let Some(s) = v.and_then(Value::as_str).filter(|s| !s.is_empty()) {
            self.push(RefKind::Group, s, path, false);
        }
    }

    /// A folder id held by a known key.
    pub fn folder(&mut self, v: Option<&Value>, path: &str) {
        if let Some(s) = v.and_then(Value::as_str).filter(|s| !s.is_empty()) {
            self.push(RefKind::Folder, s, path, false);
        }
    }

    pub fn push(&mut self, kind: RefKind, value: &str, path: &str, in_text: bool) {
        let mut r = Reference::new(kind, value, self.at(path));
        if in_text {
            r = r.in_text();
        }
        self.out.push(r);
    }

    /// A string that may hold service URLs and portal URLs (whole or inside text).
    pub fn urls(&mut self, v: Option<&Value>, path: &str) {
        let Some(s) = v.and_then(Value::as_str) else {
            return;
        };
        for found in text::service_urls(s) {
            let Some(host) = text::host(&found.service) else {
                continue;
            };
            if text::is_global_host(host) || HELPER_TYPES.iter().any(|t| found.service.ends_with(t))
            {
                continue;
            }
            let mut r = Reference::new(RefKind::Service, found.service.clone(), self.at(path));
            r.layer = found.layer;
            r.in_text = found.span != (0..s.len());
            self.out.push(r);
        }
        self.portal_urls_in(s, path);
    }

    /// Portal URLs of the source organization inside `s`.
    pub fn portal_urls_in(&mut self, s: &str, path: &str) {
        let mut seen = Vec::new();
        if let Some(url) = text::org_portal_url(s)
            && s.starts_with(&url)
        {
            seen.push(url);
        }
        for known in self.ctx.portal_urls {
            if s.contains(known.as_str()) && !seen.contains(known) {
                seen.push(known.clone());
            }
        }
        for url in seen {
            let in_text = url != s;
            self.push(RefKind::PortalUrl, &url, path, in_text);
        }
    }

    /// 32-hex item ids standing alone inside a string (code, markdown, URL parameters).
    pub fn ids_in_text(&mut self, s: &str, path: &str) {
        for (_, id) in text::embedded_ids(s) {
            let in_text = id != s;
            self.push(RefKind::Item, id, path, in_text);
        }
    }

    /// Unknown types: 32-hex values under keys that name ids, and service URLs anywhere.
    pub fn generic(&mut self, v: &Value, path: &str) {
        walk(v, path, &mut |path, key, value| {
            if let Some(s) = value.as_str() {
                let key = key.unwrap_or_default().to_ascii_lowercase();
                if text::is_item_id(s)
                    && (key.ends_with("itemid")
                        || key == "webmap"
                        || key.ends_with("mapid")
                        || key == "id")
                {
                    self.push(RefKind::Item, s, path, false);
                } else if text::is_item_id(s) && key.ends_with("groupid") {
                    self.push(RefKind::Group, s, path, false);
                } else {
                    self.urls(Some(value), path);
                }
            }
        });
    }

    /// Every occurrence of the item's own id, whole or inside text, becomes a self reference; the
    /// same value found as a dependency is dropped.
    fn self_refs(&mut self, v: &Value, path: &str, id: &str) {
        self.out
            .retain(|r| !(r.kind == RefKind::Item && r.value == id));
        let mut found = Vec::new();
        walk(v, path, &mut |path, _, value| {
            if let Some(s) = value.as_str()
                && s.contains(id)
            {
                found.push((path.to_owned(), s != id));
            }
        });
        for (path, in_text) in found {
            self.push(RefKind::SelfRef, id, &path, in_text);
        }
    }
}

/// Visit every scalar of `v` with its path and the key that holds it.
pub(crate) fn walk(v: &Value, path: &str, visit: &mut dyn FnMut(&str, Option<&str>, &Value)) {
    walk_keyed(v, path, None, visit);
}

fn walk_keyed(
    v: &Value,
    path: &str,
    key: Option<&str>,
    visit: &mut dyn FnMut(&str, Option<&str>, &Value),
) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                walk_keyed(x, &child(path, k), Some(k), visit);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                walk_keyed(x, &format!("{path}[{i}]"), key, visit);
            }
        }
        scalar => visit(path, key, scalar),
    }
}

/// The path of member `k` of the object at `path`, in JSONPath-ish notation.
pub(crate) fn child(path: &str, k: &str) -> String {
    let plain = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{k}")
    } else {
        format!("{path}[\"{k}\"]")
    }
}

/// The elements of an array member, with their paths.
pub(crate) fn each<'v>(v: &'v Value, path: &str, key: &str) -> Vec<(String, &'v Value)> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .enumerate()
                .map(|(i, x)| (format!("{}[{i}]", child(path, key)), x))
                .collect()
        })
        .unwrap_or_default()
}

/// The generic scan, for any JSON of any type: every string value holding an id or a service URL
/// that is in the backup, whole or inside text. Run it beside [`references`] so content of types
/// without rules loses nothing; ids and URLs not in the backup are not reported, which keeps
/// look-alikes (symbol hashes, UUIDs, keys) out. The backup is asked through `is_item` (of
/// 32-hex ids) and `is_service` (of service URLs up to the service type), so a caller holding
/// them in a map does not copy its keys for each document.
#[must_use]
pub fn known_references(
    part: Part<'_>,
    doc: &Value,
    is_item: &dyn Fn(&str) -> bool,
    is_service: &dyn Fn(&str) -> bool,
) -> Vec<Reference> {
    let ctx = Context::default();
    let mut f = Finder {
        ctx: &ctx,
        prefix: part.label(),
        out: Vec::new(),
    };
    walk(doc, "$", &mut |path, _, v| {
        let Some(s) = v.as_str() else { return };
        if text::is_item_id(s) && is_item(s) {
            f.push(RefKind::Item, s, path, false);
        } else {
            for (_, id) in text::embedded_ids(s) {
                if is_item(id) {
                    f.push(RefKind::Item, id, path, true);
                }
            }
        }
        for found in text::service_urls(s) {
            if is_service(&found.service) {
                let mut r = Reference::new(RefKind::Service, found.service.clone(), f.at(path));
                r.layer = found.layer;
                r.in_text = found.span != (0..s.len());
                f.out.push(r);
            }
        }
    });
    let mut out = f.out;
    out.sort();
    out.dedup();
    out
}

/// Guess an item type from the shape of its data, for documents given without one. `None` when
/// the shape is not recognised (the generic rules then apply).
#[must_use]
pub fn guess_type(doc: &Value) -> Option<&'static str> {
    let has = |k: &str| doc.get(k).is_some();
    Some(if has("operationalLayers") || has("baseMap") {
        "Web Map"
    } else if has("widgets")
        && has("version")
        && (has("headerPanel") || has("leftPanel") || has("layout"))
    {
        "Dashboard"
    } else if has("dataSources") && has("widgets") && has("pages") {
        "Web Experience"
    } else if has("nodes") && has("resources") && has("root") {
        "StoryMap"
    } else if has("cells") && has("nbformat") {
        "Notebook"
    } else if doc.pointer("/values/layout").is_some() {
        "Hub Site Application"
    } else if has("values") || has("widgetPool") || has("appItemId") {
        "Web Mapping Application"
    } else if has("workerWebMapId") || has("dispatcherWebMapId") {
        "Workforce Project"
    } else if has("dataSources") && has("templateGroups") {
        "QuickCapture Project"
    } else {
        return None;
    })
}
