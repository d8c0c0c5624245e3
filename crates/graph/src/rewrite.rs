//! Rewriting references: the same document with every mapped id, service URL, portal URL, org id,
//! group and folder replaced, wherever it occurs.
//!
//! ```text
//! references(doc) ─► replacements (old → new, longest first) ─► every string value and object key:
//!                    replace each old value where it stands alone (ids) or as a prefix (URLs)
//! ```
//!
//! Only values that [`references`] reports are replaced, so a rewrite never touches anything that
//! is not a reference; a reference with no mapping is left as it is and reported.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::apps::{AppsHome, moved_links};
use crate::find::{Context, Part, known_references, references};
use crate::reference::{RefKind, Reference};

/// Old → new values, by kind. Service URLs are mapped without layer indexes, which are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    /// Item ids (including the item's own id).
    pub items: BTreeMap<String, String>,
    /// Group ids.
    pub groups: BTreeMap<String, String>,
    /// Service URLs, up to the service type (`…/FeatureServer`).
    pub services: BTreeMap<String, String>,
    /// Portal base URLs.
    pub portal_urls: BTreeMap<String, String>,
    /// Organization ids.
    pub org_ids: BTreeMap<String, String>,
    /// Folder ids.
    pub folders: BTreeMap<String, String>,
    /// Where the target serves Experience Builder apps and stories, when that differs from the
    /// source (ArcGIS Online ↔ Enterprise): links to the backup's own apps move to its form
    /// ([`crate::apps`]). `None` when both are the same kind of portal.
    pub apps_home: Option<AppsHome>,
}

impl IdMap {
    /// The table a reference's value is mapped in; `None` for kinds that are never rewritten
    /// (resource paths stay as they are; services named only by name are matched online).
    fn table(&self, r: &Reference) -> Option<&BTreeMap<String, String>> {
        Some(match r.kind {
            RefKind::Service => &self.services,
            RefKind::SelfRef if r.value.contains("://") => &self.services,
            RefKind::Item | RefKind::SelfRef => &self.items,
            RefKind::Group => &self.groups,
            RefKind::PortalUrl => &self.portal_urls,
            RefKind::OrgId => &self.org_ids,
            RefKind::Folder => &self.folders,
            RefKind::Resource | RefKind::ServiceName => return None,
        })
    }

    /// The new value for a reference, if mapped.
    #[must_use]
    pub fn get(&self, r: &Reference) -> Option<&String> {
        self.table(r)?.get(&r.value)
    }

    /// Map a reference's value to `new` (kept if already mapped). Returns false for kinds that
    /// are never rewritten.
    pub fn insert(&mut self, r: &Reference, new: String) -> bool {
        let table = match r.kind {
            RefKind::Service => &mut self.services,
            RefKind::SelfRef if r.value.contains("://") => &mut self.services,
            RefKind::Item | RefKind::SelfRef => &mut self.items,
            RefKind::Group => &mut self.groups,
            RefKind::PortalUrl => &mut self.portal_urls,
            RefKind::OrgId => &mut self.org_ids,
            RefKind::Folder => &mut self.folders,
            RefKind::Resource | RefKind::ServiceName => return false,
        };
        table.entry(r.value.clone()).or_insert(new);
        true
    }

    /// How many values are mapped.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
            + self.groups.len()
            + self.services.len()
            + self.portal_urls.len()
            + self.org_ids.len()
            + self.folders.len()
    }

    /// Whether nothing is mapped.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The result of a rewrite.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewritten {
    /// The rewritten document.
    pub doc: Value,
    /// How many strings (values and keys) changed.
    pub changed: usize,
    /// References that had no mapping (external references excepted), left as they were.
    pub unmapped: Vec<Reference>,
}

/// How an old value may sit in a string to be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    /// Ids: not preceded or followed by a letter, digit or underscore.
    Token,
    /// URLs: not followed by a letter, digit, `.`, `-` or `_` (so `…/FeatureServer/0?x` matches).
    Prefix,
}

/// Rewrite `doc` with `map`.
#[must_use]
pub fn rewrite(ctx: &Context<'_>, part: Part<'_>, doc: &Value, map: &IdMap) -> Rewritten {
    let (replacements, unmapped) = replacements(ctx, part, doc, map);
    let mut changed = 0;
    let doc = rewrite_value(doc, &replacements, &mut changed);
    Rewritten {
        doc,
        changed,
        unmapped,
    }
}

/// The result of a rewrite of JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct RewrittenText {
    /// The rewritten text: the input byte for byte, but for the strings that held a reference.
    pub text: String,
    /// How many strings (values and keys) changed.
    pub changed: usize,
    /// References that had no mapping (external references excepted), left as they were.
    pub unmapped: Vec<Reference>,
}

/// Rewrite a JSON document given as text, keeping everything but the references as it was: key
/// order, whitespace, number forms and escapes of every string that holds no reference. A changed
/// string is written as `serde_json` writes strings, with `\/` kept if the original escaped its
/// slashes. Parsing the result gives what [`rewrite`] gives for the parsed document. `None` when
/// `text` is not JSON.
#[must_use]
pub fn rewrite_text(
    ctx: &Context<'_>,
    part: Part<'_>,
    text: &str,
    map: &IdMap,
) -> Option<RewrittenText> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let (reps, unmapped) = replacements(ctx, part, &doc, map);
    let mut changed = 0;
    let text = if reps.is_empty() {
        text.to_owned()
    } else {
        rewrite_strings_in_text(text, &reps, &mut changed)
    };
    Some(RewrittenText {
        text,
        changed,
        unmapped,
    })
}

/// The replacements (longest old value first) for the references `doc` holds, and the references
/// that have no mapping.
fn replacements(
    ctx: &Context<'_>,
    part: Part<'_>,
    doc: &Value,
    map: &IdMap,
) -> (Vec<(String, String, Boundary)>, Vec<Reference>) {
    // The rules' references, and any id or service of the map standing in a string elsewhere
    // (stringified JSON, text of types without rules): those are items of the backup too.
    // Asked of the map itself: copying its keys for every document made a restore quadratic
    // (a tenth of a 30,000-item restore's CPU went to it).
    let mut found = references(ctx, part, doc);
    found.extend(known_references(
        part,
        doc,
        &|id| map.items.contains_key(id),
        &|service| map.services.contains_key(service),
    ));
    let mut replacements: Vec<(String, String, Boundary)> = Vec::new();
    let mut unmapped = Vec::new();
    for r in &found {
        match map.get(r) {
            Some(new) => {
                let boundary = match r.kind {
                    RefKind::Service | RefKind::PortalUrl => Boundary::Prefix,
                    RefKind::SelfRef if r.value.contains("://") => Boundary::Prefix,
                    _ => Boundary::Token,
                };
                if !replacements.iter().any(|(old, _, _)| old == &r.value) {
                    replacements.push((r.value.clone(), new.clone(), boundary));
                }
            }
            None if r.external || matches!(r.kind, RefKind::Resource | RefKind::ServiceName) => {}
            None => unmapped.push(r.clone()),
        }
    }
    if let Some(home) = &map.apps_home {
        let sources: Vec<String> = map.portal_urls.keys().cloned().collect();
        for_each_string(doc, &mut |s| {
            for (old, new) in moved_links(s, &sources, home, &|id| map.items.get(id).cloned()) {
                if !replacements.iter().any(|(o, _, _)| o == &old) {
                    replacements.push((old, new, Boundary::Prefix));
                }
            }
        });
    }
    // Longest first: a service URL is replaced before the portal URL it starts with (and a whole
    // app link before the id it holds).
    replacements.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    unmapped.sort();
    unmapped.dedup_by(|a, b| a.kind == b.kind && a.value == b.value && a.layer == b.layer);
    (replacements, unmapped)
}

/// Call `f` with every string value of `v`.
fn for_each_string(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| for_each_string(x, f)),
        Value::Object(o) => o.values().for_each(|x| for_each_string(x, f)),
        _ => {}
    }
}

/// Every string token of valid JSON `text` (keys and values) rewritten; the bytes between them
/// copied as they are.
fn rewrite_strings_in_text(
    text: &str,
    reps: &[(String, String, Boundary)],
    changed: &mut usize,
) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        // A string token: up to the next quote not escaped (the text is valid JSON).
        let start = i;
        i += 1;
        while i < bytes.len() && bytes[i] != b'"' {
            i += if bytes[i] == b'\\' { 2 } else { 1 };
        }
        let end = (i + 1).min(bytes.len());
        i = end;
        let token = &text[start..end];
        let raw = &token[1..token.len().saturating_sub(1)];
        let decoded: std::borrow::Cow<'_, str> = if raw.contains('\\') {
            match serde_json::from_str::<String>(token) {
                Ok(s) => s.into(),
                Err(_) => continue,
            }
        } else {
            raw.into()
        };
        let mut here = 0;
        let new = rewrite_str(&decoded, reps, &mut here);
        if here == 0 {
            continue;
        }
        *changed += here;
        let mut encoded = serde_json::to_string(&new).unwrap_or_else(|_| token.to_owned());
        if raw.contains("\\/") {
            encoded = encoded.replace('/', "\\/");
        }
        out.push_str(&text[copied..start]);
        out.push_str(&encoded);
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

fn rewrite_value(v: &Value, reps: &[(String, String, Boundary)], changed: &mut usize) -> Value {
    match v {
        Value::String(s) => Value::String(rewrite_str(s, reps, changed)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|x| rewrite_value(x, reps, changed))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| {
                    (
                        rewrite_str(k, reps, changed),
                        rewrite_value(x, reps, changed),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn rewrite_str(s: &str, reps: &[(String, String, Boundary)], changed: &mut usize) -> String {
    if reps.is_empty() {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut any = false;
    'scan: while i < s.len() {
        for (old, new, boundary) in reps {
            if bytes[i..].starts_with(old.as_bytes()) && fits(bytes, i, old.len(), *boundary) {
                out.push_str(new);
                i += old.len();
                any = true;
                continue 'scan;
            }
        }
        let ch = s[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    if any && out != s {
        *changed += 1;
    }
    out
}

fn fits(bytes: &[u8], at: usize, len: usize, boundary: Boundary) -> bool {
    let after = bytes.get(at + len).copied();
    match boundary {
        Boundary::Token => {
            let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
            let before = at > 0 && word(bytes[at - 1]);
            !before && !after.is_some_and(word)
        }
        Boundary::Prefix => {
            !after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context<'static> {
        Context {
            item_type: "Web Map",
            ..Context::default()
        }
    }

    #[test]
    fn ids_urls_and_layers_are_rewritten_and_lookalikes_kept() {
        let old = "44612e6217d34f40b1ce2a48f367e90a";
        let doc = json!({
            "operationalLayers": [{"itemId": old, "url": "https://s.arcgis.com/A/arcgis/rest/services/P/FeatureServer/3",
                "popupInfo": {"description": format!("see item {old} and x_{old}")}}],
        });
        let mut map = IdMap::default();
        map.items
            .insert(old.into(), "0123456789abcdef0123456789abcdef".into());
        map.services.insert(
            "https://s.arcgis.com/A/arcgis/rest/services/P/FeatureServer".into(),
            "https://t.arcgis.com/B/arcgis/rest/services/P2/FeatureServer".into(),
        );
        let out = rewrite(&ctx(), Part::Data, &doc, &map);
        assert_eq!(
            out.doc["operationalLayers"][0]["itemId"],
            "0123456789abcdef0123456789abcdef"
        );
        assert_eq!(
            out.doc["operationalLayers"][0]["url"],
            "https://t.arcgis.com/B/arcgis/rest/services/P2/FeatureServer/3"
        );
        assert_eq!(
            out.doc["operationalLayers"][0]["popupInfo"]["description"],
            format!("see item 0123456789abcdef0123456789abcdef and x_{old}"),
            "the id inside text is rewritten; the one glued into a name is not"
        );
        assert!(out.unmapped.is_empty());
    }

    #[test]
    fn an_arcade_portal_of_the_organization_and_a_hub_catalog_are_rewritten() {
        let (svc, group) = (
            "44612e6217d34f40b1ce2a48f367e90a",
            "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        );
        let source = "https://democity.maps.arcgis.com";
        let portals = [source.to_owned()];
        let mut map = IdMap::default();
        map.items
            .insert(svc.into(), "0123456789abcdef0123456789abcdef".into());
        map.groups
            .insert(group.into(), "fedcba9876543210fedcba9876543210".into());
        map.portal_urls
            .insert(source.into(), "https://gis.target.gov/portal".into());
        let dashboard = json!({"widgets": [{"datasets": [{"dataSource": {"type": "arcadeDataSource",
            "script": format!("var own = FeatureSetByPortalItem(Portal('{source}'), '{svc}', 0);\nvar esri = FeatureSetByPortalItem(Portal('https://www.arcgis.com'), '{svc}', 1);")}}]}]});
        let ctx = Context {
            item_type: "Dashboard",
            portal_urls: &portals,
            ..Context::default()
        };
        let out = rewrite(&ctx, Part::Data, &dashboard, &map);
        assert_eq!(
            out.doc["widgets"][0]["datasets"][0]["dataSource"]["script"],
            "var own = FeatureSetByPortalItem(Portal('https://gis.target.gov/portal'), '0123456789abcdef0123456789abcdef', 0);\nvar esri = FeatureSetByPortalItem(Portal('https://www.arcgis.com'), '0123456789abcdef0123456789abcdef', 1);"
        );
        let site = json!({"values": {"catalog": {"groups": [group]}}});
        let ctx = Context {
            item_type: "Hub Site Application",
            ..Context::default()
        };
        let out = rewrite(&ctx, Part::Data, &site, &map);
        assert_eq!(
            out.doc["values"]["catalog"]["groups"][0],
            "fedcba9876543210fedcba9876543210"
        );
        assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    }

    #[test]
    fn ids_in_stringified_json_and_arcade_are_rewritten() {
        let (old, new) = (
            "44612e6217d34f40b1ce2a48f367e90a",
            "0123456789abcdef0123456789abcdef",
        );
        let doc = json!({
            "operationalLayers": [{"itemId": old, "layers": [{"layerType": "GroupLayer", "layers": [
                {"itemId": "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "url": "https://s/arcgis/rest/services/X/FeatureServer/1"}]}]}],
            "applicationProperties": {"config": format!("{{\"webmap\":\"{old}\",\"zoom\":3}}")},
            "popup": {"expression": format!("FeatureSetByPortalItem(Portal('https://www.arcgis.com'), '{old}', 0)")},
        });
        let found = references(&ctx(), Part::Data, &doc);
        assert!(
            found
                .iter()
                .any(|r| r.value == "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
            "group layers are recursed"
        );
        assert!(
            found
                .iter()
                .any(|r| r.value == old && r.path.ends_with("$.popup.expression") && r.in_text),
            "Arcade"
        );
        let mut map = IdMap::default();
        map.items.insert(old.into(), new.into());
        map.items.insert(
            "9f8e7d6c5b4a39281706f5e4d3c2b1a0".into(),
            "ffffffffffffffffffffffffffffffff".into(),
        );
        map.services.insert(
            "https://s/arcgis/rest/services/X/FeatureServer".into(),
            "https://t/arcgis/rest/services/Y/FeatureServer".into(),
        );
        let out = rewrite(&ctx(), Part::Data, &doc, &map);
        assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
        let scene = json!({"ground": {"layers": [{"itemId": old, "url": "https://s/arcgis/rest/services/X/FeatureServer/1/query?where=1%3D1&f=json"}]}});
        let scene_ctx = Context {
            item_type: "Web Scene",
            ..Context::default()
        };
        let scene_out = rewrite(&scene_ctx, Part::Data, &scene, &map);
        assert_eq!(
            scene_out.doc["ground"]["layers"][0]["itemId"], new,
            "elevation layers of scenes"
        );
        assert_eq!(
            scene_out.doc["ground"]["layers"][0]["url"],
            "https://t/arcgis/rest/services/Y/FeatureServer/1/query?where=1%3D1&f=json",
            "the layer index, path and query string are kept"
        );
        let text = out.doc.to_string();
        assert!(
            !text.contains(old),
            "every occurrence, including the stringified JSON: {text}"
        );
        assert_eq!(
            out.doc["applicationProperties"]["config"],
            format!("{{\"webmap\":\"{new}\",\"zoom\":3}}")
        );
        assert_eq!(
            out.doc["operationalLayers"][0]["layers"][0]["layers"][0]["url"],
            "https://t/arcgis/rest/services/Y/FeatureServer/1"
        );
    }

    #[test]
    fn a_hub_sites_pages_groups_and_initiative_are_found() {
        // Shaped as a Hub site as Hub writes it (Esri's hub.js test mock of a site item and its
        // data): content and core-team groups in data and item properties, its initiative, and
        // a page.
        let data = json!({"source": "df2eaefc53cd43e78eb2e1b3537104e1", "values": {
            "pages": [{"id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "title": "About", "slug": "about"}],
            "subdomain": "bdd", "collaborationGroupId": "484d8c5d805e4029a21898319a24039f",
            "groups": ["22f49221a9404cc7b3122f488120d513"], "clientId": "t1EtD6y3qY8PI8ER",
            "siteId": "49817", "layout": {"sections": []}}});
        let item = json!({"type": "Hub Site Application", "properties": {
            "source": "236012a5263b4d719d857ae878166a54", "parentId": "236012a5263b4d719d857ae878166a54",
            "parentInitiativeId": "635e9113f1b440c08be10586bd01327b", "children": [],
            "collaborationGroupId": "cefce618f9484a13b827d65be2983e93"}});
        let ctx = Context {
            item_type: "Hub Site Application",
            ..Context::default()
        };
        let found = |part, doc: &Value| -> Vec<(RefKind, String)> {
            let mut v: Vec<(RefKind, String)> = references(&ctx, part, doc)
                .into_iter()
                .map(|r| (r.kind, r.value))
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            found(Part::Data, &data),
            [
                (RefKind::Item, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_owned()),
                (
                    RefKind::Group,
                    "22f49221a9404cc7b3122f488120d513".to_owned()
                ),
                (
                    RefKind::Group,
                    "484d8c5d805e4029a21898319a24039f".to_owned()
                ),
            ]
        );
        // The template it was made from (`source`, `parentId`) is not a dependency.
        assert_eq!(
            found(Part::Item, &item),
            [
                (RefKind::Item, "635e9113f1b440c08be10586bd01327b".to_owned()),
                (
                    RefKind::Group,
                    "cefce618f9484a13b827d65be2983e93".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_story_embedding_the_organizations_dashboard_depends_on_it_and_other_stories_stay_external()
    {
        let (dash, other) = (
            "77e8b0e3d393497190735e03f05b2d69",
            "5029e1c3caca908dbf6ba9d421ffb6b1",
        );
        let doc = json!({"nodes": {
            "n-1": {"type": "embed", "data": {"url": format!("https://democity.maps.arcgis.com/apps/dashboards/{dash}")}},
            "n-2": {"type": "embed", "data": {"url": format!("https://storymaps.arcgis.com/stories/{other}")}},
        }});
        let portals = ["https://democity.maps.arcgis.com".to_owned()];
        let ctx = Context {
            item_type: "StoryMap",
            portal_urls: &portals,
            ..Context::default()
        };
        let found = references(&ctx, Part::Data, &doc);
        let of = |id: &str| {
            found
                .iter()
                .filter(|r| r.kind == RefKind::Item && r.value == id)
                .map(|r| r.external)
                .collect::<Vec<_>>()
        };
        assert_eq!(of(dash), [false], "{found:?}");
        assert_eq!(of(other), [true], "{found:?}");
    }

    #[test]
    fn an_app_linking_the_organizations_dashboard_by_url_follows_it_to_the_target() {
        // The experience embeds the dashboard by its app URL, in a widget and in a description.
        let (dash, new) = (
            "77e8b0e3d393497190735e03f05b2d69",
            "0123456789abcdef0123456789abcdef",
        );
        let doc = json!({
            "widgets": {"widget_3": {"config": {"url": format!("https://democity.maps.arcgis.com/apps/dashboards/{dash}")}}},
            "about": format!("<a href=\"https://democity.maps.arcgis.com/apps/opsdashboard/index.html#/{dash}\">live</a>"),
        });
        let portals = ["https://democity.maps.arcgis.com".to_owned()];
        let ctx = Context {
            item_type: "Web Experience",
            portal_urls: &portals,
            ..Context::default()
        };
        let found = references(&ctx, Part::Data, &doc);
        assert_eq!(
            found
                .iter()
                .filter(|r| r.kind == RefKind::Item && r.value == dash)
                .count(),
            2,
            "{found:?}"
        );
        let mut map = IdMap::default();
        map.items.insert(dash.into(), new.into());
        map.portal_urls.insert(
            "https://democity.maps.arcgis.com".into(),
            "https://gis.target.gov/portal".into(),
        );
        let out = rewrite(&ctx, Part::Data, &doc, &map);
        assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
        assert_eq!(
            out.doc["widgets"]["widget_3"]["config"]["url"],
            format!("https://gis.target.gov/portal/apps/dashboards/{new}")
        );
        assert_eq!(
            out.doc["about"],
            format!(
                "<a href=\"https://gis.target.gov/portal/apps/opsdashboard/index.html#/{new}\">live</a>"
            )
        );
    }

    #[test]
    fn unmapped_references_are_reported_and_left_alone() {
        let doc = json!({"operationalLayers": [{"itemId": "44612e6217d34f40b1ce2a48f367e90a"}]});
        let out = rewrite(&ctx(), Part::Data, &doc, &IdMap::default());
        assert_eq!(out.doc, doc);
        assert_eq!(out.changed, 0);
        assert_eq!(out.unmapped.len(), 1);
    }
}
