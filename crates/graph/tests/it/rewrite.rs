//! Rewriting, as properties over the whole corpus: an identity map changes nothing, and after a
//! rewrite with fresh values, finding references yields exactly the mapped references.

use std::collections::BTreeSet;

use orgpack_graph::{IdMap, RefKind, Reference, references, rewrite};
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
    }
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
        }
    }
}
