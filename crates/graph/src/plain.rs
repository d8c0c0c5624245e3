//! Rewriting references in text that is not JSON — the XForm XML and the other text files of a
//! Survey123 form package (`esriinfo/*.xml`, `.webform`, `.info`, `.itemInfo`, `.json`) — where
//! no rules can say which string is what: every service URL, item id, portal URL and
//! organization id (as a URL's path segment, as Workflow Manager writes it) that the id map knows
//! is replaced wherever it stands, as Esri's solution.js does for form packages. What the map
//! does not know stays as it is.

use crate::reference::{RefKind, Reference};
use crate::rewrite::IdMap;
use crate::text::{self, HELPER_TYPES, service_urls};

/// The references in text that is not JSON, each at `path`: every organization service URL (not
/// Esri's, not a helper service) and every item id; `self_id`, the item's own, as a self
/// reference. What [`rewrite_plain`] rewrites, for a backup to follow.
#[must_use]
pub fn plain_references(text: &str, path: &str, self_id: Option<&str>) -> Vec<Reference> {
    let mut out = Vec::new();
    for found in service_urls(text) {
        let Some(host) = text::host(&found.service) else {
            continue;
        };
        if text::is_global_host(host) || HELPER_TYPES.iter().any(|t| found.service.ends_with(t)) {
            continue;
        }
        let mut r = Reference::new(RefKind::Service, found.service.clone(), path).in_text();
        r.layer = found.layer;
        out.push(r);
    }
    for (_, id) in ids(text) {
        let kind = if Some(id) == self_id {
            RefKind::SelfRef
        } else {
            RefKind::Item
        };
        let r = Reference::new(kind, id, path).in_text();
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// Whether a file of a Survey123 form package is one of its text files that name services and
/// items (`.info`, `.itemInfo`, `.json`, `.webform`, `.xml`, in any case).
#[must_use]
pub fn is_package_text(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".info", ".iteminfo", ".json", ".webform", ".xml"]
        .iter()
        .any(|s| lower.ends_with(s))
}

/// `text` with every reference the map knows replaced, and how many were.
#[must_use]
pub fn rewrite_plain(text: &str, map: &IdMap) -> (String, usize) {
    // (start, end, replacement), from the original text; overlapping later ones are dropped.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for found in service_urls(text) {
        let old = &text[found.span.start..found.span.start + found.service.len()];
        if let Some(new) = lookup(&map.services, old) {
            edits.push((
                found.span.start,
                found.span.start + found.service.len(),
                new.to_owned(),
            ));
        }
    }
    for (at, id) in ids(text) {
        if let Some(new) = map.items.get(id) {
            edits.push((at, at + id.len(), new.clone()));
        }
    }
    for (old, new) in &map.portal_urls {
        let old = old.trim_end_matches('/');
        for (at, _) in match_indices_ignoring_case(text, old) {
            // Only a whole URL prefix: `…/sharing`, `…/home`, a quote or the end follows.
            let next = text[at + old.len()..].chars().next();
            if next.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')) {
                edits.push((at, at + old.len(), new.trim_end_matches('/').to_owned()));
            }
        }
    }
    if let Some(home) = &map.apps_home {
        let sources: Vec<String> = map
            .portal_urls
            .keys()
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect();
        for (old, new) in
            crate::apps::moved_links(text, &sources, home, &|id| map.items.get(id).cloned())
        {
            for (at, _) in text.match_indices(old.as_str()) {
                edits.push((at, at + old.len(), new.clone()));
            }
        }
    }
    for (old, new) in &map.org_ids {
        for (at, _) in text.match_indices(old.as_str()) {
            let before = text[..at].ends_with('/');
            let after = text[at + old.len()..].starts_with('/');
            if before && after {
                edits.push((at, at + old.len(), new.clone()));
            }
        }
    }
    edits.sort_by_key(|e| (e.0, std::cmp::Reverse(e.1)));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut changed = 0;
    for (start, end, new) in edits {
        if start < at {
            continue; // inside an edit already made (a portal URL within a service URL)
        }
        out.push_str(&text[at..start]);
        if text[start..end] != *new {
            changed += 1;
        }
        out.push_str(&new);
        at = end;
    }
    out.push_str(&text[at..]);
    (out, changed)
}

/// 32-hex runs not inside a longer run of letters and digits: as element names (`xls-<id>`) and
/// in paths they stand between hyphens, slashes and underscores.
fn ids(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 32 <= bytes.len() {
        let before = i > 0 && bytes[i - 1].is_ascii_alphanumeric();
        if !before && bytes[i..i + 32].iter().all(u8::is_ascii_hexdigit) {
            let after = bytes.get(i + 32).is_some_and(u8::is_ascii_alphanumeric);
            if !after {
                out.push((i, &text[i..i + 32]));
                i += 32;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// The mapping of `key`, matched without regard to case (hosts are; service paths are matched
/// so by the portal too).
fn lookup<'a>(map: &'a std::collections::BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    map.get(key).map(String::as_str).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    })
}

fn match_indices_ignoring_case<'a>(text: &'a str, needle: &str) -> Vec<(usize, &'a str)> {
    if needle.is_empty() {
        return Vec::new();
    }
    let lower = text.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    lower
        .match_indices(&needle)
        .map(|(at, _)| (at, &text[at..at + needle.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> IdMap {
        let mut m = IdMap::default();
        m.items.insert("a".repeat(32), "b".repeat(32));
        m.items.insert("c".repeat(32), "d".repeat(32));
        m.services.insert(
            "https://src.example.com/src/server/rest/services/Hosted/Trees/FeatureServer".into(),
            "https://dst.example.com/dst/server/rest/services/Hosted/Trees_1/FeatureServer".into(),
        );
        m.portal_urls.insert(
            "https://src.example.com/src".into(),
            "https://dst.example.com/dst".into(),
        );
        m.org_ids
            .insert("srcOrg1234567890".into(), "dstOrg0987654321".into());
        m
    }

    #[test]
    fn an_xform_submits_to_the_mapped_service_with_every_known_id_and_url_replaced() {
        let a = "a".repeat(32);
        let xml = format!(
            "<instance><xls-{a} id=\"survey\"/></instance>\
             <submission action=\"https://src.example.com/src/server/rest/services/Hosted/Trees/FeatureServer/0\" method=\"post\"/>\
             <link href=\"https://SRC.example.com/src/home/item.html?id={a}\"/>\
             <hook url=\"https://workflow.arcgis.com/srcOrg1234567890/{a}/webhooks\"/>\
             <other>https://src.example.com/srcother {}</other>",
            "e".repeat(32)
        );
        let (out, changed) = rewrite_plain(&xml, &map());
        let b = "b".repeat(32);
        assert!(out.contains(&format!("<xls-{b} id=\"survey\"/>")), "{out}");
        assert!(out.contains(
            "action=\"https://dst.example.com/dst/server/rest/services/Hosted/Trees_1/FeatureServer/0\""
        ));
        assert!(out.contains(&format!(
            "href=\"https://dst.example.com/dst/home/item.html?id={b}\""
        )));
        assert!(out.contains(&format!(
            "https://workflow.arcgis.com/dstOrg0987654321/{b}/webhooks"
        )));
        // Not a whole portal URL, and an id the map does not know: kept.
        assert!(out.contains(&format!(
            "https://src.example.com/srcother {}",
            "e".repeat(32)
        )));
        assert!(!out.contains(&a));
        assert_eq!(changed, 6);
    }

    #[test]
    fn references_in_plain_text_are_services_and_ids_the_items_own_apart() {
        let own = "a".repeat(32);
        let other = "c".repeat(32);
        let text = format!(
            "<xls-{own}/><submission action=\"https://src.example.com/src/server/rest/services/Hosted/Trees/FeatureServer/0\"/>\
             <x>{other} {other}</x><g>https://services.arcgisonline.com/arcgis/rest/services/World/MapServer</g>\
             <geo>https://src.example.com/src/server/rest/services/Geocode/GeocodeServer</geo>"
        );
        let refs = plain_references(&text, "data esriinfo/form.xml", Some(&own));
        let kinds: Vec<(RefKind, &str, Option<u32>)> = refs
            .iter()
            .map(|r| (r.kind, r.value.as_str(), r.layer))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    RefKind::Service,
                    "https://src.example.com/src/server/rest/services/Hosted/Trees/FeatureServer",
                    Some(0)
                ),
                (RefKind::SelfRef, own.as_str(), None),
                (RefKind::Item, other.as_str(), None),
            ]
        );
        assert!(
            refs.iter()
                .all(|r| r.in_text && r.path == "data esriinfo/form.xml")
        );
    }

    #[test]
    fn text_without_known_references_is_kept_byte_for_byte() {
        let text = "<h:title>survey</h:title> 1234 ünïcode";
        assert_eq!(rewrite_plain(text, &map()), (text.to_owned(), 0));
    }
}
