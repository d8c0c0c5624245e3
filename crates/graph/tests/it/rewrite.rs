//! Rewriting, as properties over the whole corpus: an identity map changes nothing, and after a
//! rewrite with fresh values, finding references yields exactly the mapped references; a rewrite
//! of the text gives the same document and keeps everything else byte for byte.

use std::collections::BTreeSet;

use orgpack_graph::{IdMap, RefKind, Reference, references, rewrite, rewrite_text};
use proptest::prelude::*;

use crate::corpus::samples;

/// A fresh value for a reference, drawn from `seed`.
fn fresh(r: &Reference, seed: u64, n: usize) -> String {
    let hex = format!(
        "{:016x}{:016x}",
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(n as u64),
        seed ^ (n as u64) << 7
    );
    match r.kind {
        RefKind::Service => format!(
            "https://services9.arcgis.com/New{seed:x}/arcgis/rest/services/S{n}/FeatureServer"
        ),
        RefKind::SelfRef if r.value.contains("://") => format!(
            "https://services9.arcgis.com/New{seed:x}/arcgis/rest/services/Self{n}/FeatureServer"
        ),
        RefKind::PortalUrl => format!("https://new{n}x{seed:x}.maps.arcgis.com"),
        RefKind::OrgId => format!("NewOrg{n}x{seed:x}"),
        _ => hex,
    }
}

fn map_for(found: &[Reference], seed: u64, identity: bool) -> IdMap {
    let mut map = IdMap::default();
    for (n, r) in found.iter().enumerate().filter(|(_, r)| !r.external) {
        map.insert(
            r,
            if identity {
                r.value.clone()
            } else {
                fresh(r, seed, n)
            },
        );
    }
    map
}

fn mapped(r: &Reference, map: &IdMap) -> String {
    if r.external {
        r.value.clone()
    } else {
        map.get(r).cloned().unwrap_or_else(|| r.value.clone())
    }
}

#[test]
fn identity_map_changes_nothing() {
    for (sample, _) in samples() {
        let ctx = sample.context(sample.self_id.as_deref(), &sample.portal_urls);
        let found = references(&ctx, sample.part(), &sample.doc);
        let out = rewrite(&ctx, sample.part(), &sample.doc, &map_for(&found, 0, true));
        assert_eq!(out.doc, sample.doc, "{}", sample.file);
        assert_eq!(out.changed, 0, "{}", sample.file);
        assert!(
            out.unmapped.is_empty(),
            "{}: {:?}",
            sample.file,
            out.unmapped
        );
        let text =
            rewrite_text(&ctx, sample.part(), &sample.text, &map_for(&found, 0, true)).unwrap();
        assert_eq!(text.text, sample.text, "{}", sample.file);
    }
}

/// The text with every string token emptied: its structure, key order, whitespace and numbers.
fn skeleton(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
            out.push('"');
        }
    }
    out
}

#[test]
fn a_text_rewrite_keeps_order_formatting_and_escapes() {
    let old = "44612e6217d34f40b1ce2a48f367e90a";
    let new = "0123456789abcdef0123456789abcdef";
    let text = format!(
        "{{\n  \"version\": \"2.30\",\n  \"operationalLayers\": [ {{ \"url\" : \"https:\\/\\/s\\/arcgis\\/rest\\/services\\/X\\/FeatureServer\\/2\",\n    \"itemId\": \"{old}\", \"opacity\": 1.0, \"title\": \"Caf\\u00e9\" }} ],\n  \"authoringApp\": \"ArcGISMapViewer\"\n}}\n"
    );
    let ctx = orgpack_graph::Context {
        item_type: "Web Map",
        ..orgpack_graph::Context::default()
    };
    let mut map = IdMap::default();
    map.items.insert(old.into(), new.into());
    map.services.insert(
        "https://s/arcgis/rest/services/X/FeatureServer".into(),
        "https://t/arcgis/rest/services/Y/FeatureServer".into(),
    );
    let out = rewrite_text(&ctx, orgpack_graph::Part::Data, &text, &map).unwrap();
    assert_eq!(out.changed, 2);
    assert_eq!(
        out.text,
        text.replace(old, new)
            .replace("\\/s\\/", "\\/t\\/")
            .replace("services\\/X", "services\\/Y"),
        "only the two references changed; slashes stay escaped, `1.0` and `\\u00e9` stay as written"
    );
    assert!(rewrite_text(&ctx, orgpack_graph::Part::Data, "{not json", &map).is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn rewrite_then_find_yields_exactly_the_mapped_references(seed in 1u64..u64::MAX) {
        for (sample, _) in samples() {
            let ctx = sample.context(sample.self_id.as_deref(), &sample.portal_urls);
            let found = references(&ctx, sample.part(), &sample.doc);
            let map = map_for(&found, seed, false);
            let out = rewrite(&ctx, sample.part(), &sample.doc, &map);
            prop_assert!(out.unmapped.is_empty(), "{}: {:?}", sample.file, out.unmapped);
            let mapped_count = map.len();
            prop_assert_eq!(mapped_count > 0, out.doc != sample.doc, "{}: a mapping must change the document", sample.file);
            prop_assert!(out.changed >= usize::from(mapped_count > 0), "{}", sample.file);
            let new_self = sample.self_id.as_ref().map(|id| map.items.get(id).cloned().unwrap_or_else(|| id.clone()));
            let new_portals: Vec<String> = sample.portal_urls.iter().map(|u| map.portal_urls.get(u).cloned().unwrap_or_else(|| u.clone())).collect();
            let ctx2 = sample.context(new_self.as_deref(), &new_portals);
            let again: BTreeSet<(RefKind, String, Option<u32>)> =
                references(&ctx2, sample.part(), &out.doc).into_iter().map(|r| (r.kind, r.value, r.layer)).collect();
            let want: BTreeSet<(RefKind, String, Option<u32>)> =
                found.iter().map(|r| (r.kind, mapped(r, &map), r.layer)).collect();
            prop_assert_eq!(&again, &want, "{}", sample.file);
            let text = rewrite_text(&ctx, sample.part(), &sample.text, &map).unwrap();
            let parsed: serde_json::Value = serde_json::from_str(&text.text).unwrap();
            prop_assert_eq!(&parsed, &out.doc, "{}: the text rewrite is the document rewrite", sample.file);
            prop_assert_eq!(text.changed, out.changed, "{}", sample.file);
            prop_assert_eq!(skeleton(&text.text), skeleton(&sample.text), "{}: order and formatting kept", sample.file);
        }
    }
}
