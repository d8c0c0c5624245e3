//! What a dry run shows besides the actions: for each item, the references in its JSON, data and
//! JSON resources, and what each would become in the target.

use std::collections::BTreeMap;

use orgpack_archive::Archive;
use orgpack_archive::manifest::{Item, Snapshot};
use orgpack_graph::{Part, RefKind, Reference, references};
use serde::Serialize;

use crate::item::{ItemContext, read, read_json};
use crate::plan::{Facts, GroupAction, TargetPlan};

/// One reference and what it would be rewritten to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rewrite {
    /// The value in the snapshot (an id, or a URL with its layer).
    pub from: String,
    /// What it becomes: a known id or URL, or a description of what the run will create.
    pub to: String,
    /// Where (`data $.operationalLayers[0].itemId`).
    pub path: String,
}

/// The rewrites each planned item would get, by source id.
pub fn rewrites(
    archive: &Archive,
    snapshot: &Snapshot,
    plan: &TargetPlan,
) -> BTreeMap<String, Vec<Rewrite>> {
    let existing: BTreeMap<&str, &str> = plan
        .items
        .iter()
        .filter_map(|p| p.existing.as_deref().map(|e| (p.id.as_str(), e)))
        .collect();
    let planned: BTreeMap<&str, &crate::plan::PlannedItem> =
        plan.items.iter().map(|p| (p.id.as_str(), p)).collect();
    let service_items: BTreeMap<String, &Item> = snapshot
        .items
        .iter()
        .filter_map(|i| {
            i.url
                .as_ref()
                .map(|u| (u.trim_end_matches('/').to_owned(), i))
        })
        .collect();
    let mut out = BTreeMap::new();
    for p in &plan.items {
        let item = &snapshot.items[p.index];
        let Ok(json) = read_json(archive, &item.item) else {
            continue;
        };
        let context = ItemContext::new(snapshot, item, &json);
        let ctx = context.context();
        let mut found: Vec<Reference> = references(&ctx, Part::Item, &json);
        if let Some(data) = item.data.as_ref().filter(|d| d.name.is_none())
            && let Ok(doc) = read(archive, &data.content)
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            found.extend(references(&ctx, Part::Data, &doc));
        }
        for r in item
            .resources
            .iter()
            .filter(|r| r.path.to_ascii_lowercase().ends_with(".json"))
        {
            if let Ok(doc) = read_json(archive, &r.content) {
                found.extend(references(&ctx, Part::Resource(&r.path), &doc));
            }
        }
        let mut rewrites: Vec<Rewrite> = found
            .iter()
            .filter_map(|r| {
                let to = target_of(
                    r,
                    &plan.facts,
                    snapshot,
                    plan,
                    &existing,
                    &planned,
                    &service_items,
                )?;
                let from = match r.layer {
                    Some(l) => format!("{}/{l}", r.value),
                    None => r.value.clone(),
                };
                Some(Rewrite {
                    from,
                    to,
                    path: r.path.clone(),
                })
            })
            .collect();
        rewrites.dedup();
        if !rewrites.is_empty() {
            out.insert(p.id.clone(), rewrites);
        }
    }
    out
}

/// What one reference becomes in the target; `None` for references that are not rewritten.
fn target_of(
    r: &Reference,
    facts: &Facts,
    snapshot: &Snapshot,
    plan: &TargetPlan,
    existing: &BTreeMap<&str, &str>,
    planned: &BTreeMap<&str, &crate::plan::PlannedItem>,
    service_items: &BTreeMap<String, &Item>,
) -> Option<String> {
    if r.external {
        return Some("(kept: not the organization's)".into());
    }
    let item_target = |id: &str| -> String {
        match (existing.get(id), planned.get(id)) {
            (Some(t), _) => (*t).to_owned(),
            (None, Some(p)) if p.keep_id => format!("{id} (kept id)"),
            (None, Some(_)) => "(the item this run creates)".into(),
            (None, None) => "(kept: not in this restore)".into(),
        }
    };
    Some(match r.kind {
        RefKind::Item | RefKind::SelfRef if !r.value.contains("://") => item_target(&r.value),
        RefKind::Service | RefKind::SelfRef => {
            match service_items.get(r.value.trim_end_matches('/')) {
                Some(i) if crate::plan::is_republished(snapshot, i) => {
                    match existing.get(i.id.as_str()) {
                        Some(t) => format!("(the URL of service {t})"),
                        None if planned.contains_key(i.id.as_str()) => {
                            "(the URL of the service this run republishes)".into()
                        }
                        None => "(kept: not in this restore)".into(),
                    }
                }
                _ => "(kept: the service is not republished)".into(),
            }
        }
        RefKind::Group => match plan.groups.get(&r.value) {
            Some(GroupAction::Use(t)) => t.clone(),
            Some(GroupAction::Create) => "(the group this run creates)".into(),
            None => "(kept)".into(),
        },
        RefKind::PortalUrl => facts.portal_url.clone(),
        RefKind::OrgId => facts.org_id.clone(),
        _ => return None,
    })
}
