//! After a restore: read back what a target holds and check it against the snapshot. Every
//! restored item exists with the source's access and as many group shares; no item JSON, data,
//! JSON resource or text file of a form's package names the source organization (its item ids,
//! portal URL, organization id, or a group the target knows under another id);
//! every republished service answers its payload's feature counts.

use orgpack_archive::manifest::Snapshot;
use orgpack_portal::Client;
use serde::Serialize;
use serde_json::Value;

use crate::report::{Status, TargetReport};

/// What the check found in one target.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    /// Items read back.
    pub items: usize,
    /// Documents (item JSON, data, JSON resources) searched for references to the source.
    pub documents: usize,
    /// Sharing entries compared (access levels and group shares).
    pub sharing: usize,
    /// Service layers whose feature counts were compared.
    pub layers: usize,
    /// Everything that is not as it should be.
    pub problems: Vec<String>,
}

/// Check the items `report` says were restored into the target behind `client`.
pub async fn check_target(client: &Client, snapshot: &Snapshot, report: &TargetReport) -> Checked {
    let mut out = Checked::default();
    let source_portal = snapshot.source.portal_url.trim_end_matches('/').to_owned();
    // The source's item ids, its portal URL and org id, and the ids of its groups that the
    // target knows under other ids.
    let needles: Vec<&str> = snapshot
        .items
        .iter()
        .map(|i| i.id.as_str())
        .chain([source_portal.as_str(), snapshot.source.org_id.as_str()])
        .chain(
            report
                .groups
                .iter()
                .filter(|(source, target)| source != target)
                .map(|(source, _)| source.as_str()),
        )
        .filter(|n| !n.is_empty())
        .collect();
    for entry in &report.items {
        if !matches!(
            entry.status,
            Status::Created | Status::Updated | Status::Skipped
        ) {
            continue;
        }
        let (Some(id), Some(item)) = (&entry.target_id, snapshot.item(&entry.source_id)) else {
            continue;
        };
        let json = match client.item(id).await {
            Ok(j) => j,
            Err(e) => {
                out.problems
                    .push(format!("{} ({id}): cannot be read back: {e}", entry.title));
                continue;
            }
        };
        out.items += 1;
        // Access and group shares, as the source had them.
        let access = json
            .get("access")
            .and_then(Value::as_str)
            .unwrap_or("private");
        let wanted = serde_json::to_value(item.sharing.access).unwrap_or_default();
        if wanted.as_str() != Some(access) {
            out.problems.push(format!(
                "{}: shared as `{access}`, the source as `{}`",
                entry.title,
                wanted.as_str().unwrap_or_default()
            ));
        }
        // A part that cannot be read is a problem, not a pass: nothing unread counts as checked.
        match client.user_item(&entry.owner, id).await {
            Ok(view) => {
                let groups = view
                    .pointer("/sharing/groups")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                if groups != item.sharing.groups.len() {
                    out.problems.push(format!(
                        "{}: shared with {groups} groups, the source with {}",
                        entry.title,
                        item.sharing.groups.len()
                    ));
                }
            }
            Err(e) => out.problems.push(format!(
                "{} ({id}): its sharing cannot be read back: {e}",
                entry.title
            )),
        }
        out.sharing += 1 + item.sharing.groups.len();
        // References back to the source.
        let mut documents = Vec::new();
        let mut own = json.clone();
        if let Some(o) = own.as_object_mut() {
            o.remove("typeKeywords");
        }
        documents.push(("item JSON".to_owned(), own.to_string()));
        if item.data.as_ref().is_some_and(|d| d.name.is_none()) {
            let mut data = Vec::new();
            match client.item_data(id, &mut data).await {
                Ok(_) => documents.push((
                    "data".to_owned(),
                    String::from_utf8_lossy(&data).into_owned(),
                )),
                Err(e) => out.problems.push(format!(
                    "{} ({id}): its data cannot be read back: {e}",
                    entry.title
                )),
            }
        }
        // A Survey123 form's package: its text files, as a restore rewrites them.
        if item.item_type == "Form" && item.data.as_ref().is_some_and(|d| d.name.is_some()) {
            let mut zip = Vec::new();
            match client.item_data(id, &mut zip).await {
                Ok(_) => documents.extend(
                    crate::form::text_files(&zip)
                        .into_iter()
                        .map(|(name, text)| (format!("form package {name}"), text)),
                ),
                Err(e) => out.problems.push(format!(
                    "{} ({id}): its form package cannot be read back: {e}",
                    entry.title
                )),
            }
        }
        for r in item
            .resources
            .iter()
            .filter(|r| r.path.to_ascii_lowercase().ends_with(".json"))
        {
            let mut bytes = Vec::new();
            match client.item_resource(id, &r.path, &mut bytes).await {
                Ok(Some(_)) => documents.push((
                    format!("resource {}", r.path),
                    String::from_utf8_lossy(&bytes).into_owned(),
                )),
                Ok(None) => out.problems.push(format!(
                    "{} ({id}): resource `{}` is missing",
                    entry.title, r.path
                )),
                Err(e) => out.problems.push(format!(
                    "{} ({id}): resource `{}` cannot be read back: {e}",
                    entry.title, r.path
                )),
            }
        }
        for (part, text) in &documents {
            out.documents += 1;
            if let Some(n) = needles.iter().find(|n| text.contains(**n)) {
                out.problems.push(format!(
                    "{} {part}: still names `{n}` of the source",
                    entry.title
                ));
            }
        }
        // A rebuilt service: every layer and table of its definition by id.
        if let (Some(definition), Some((export, _)), Some(url)) = (
            crate::plan::definition_payload(item),
            crate::plan::republish_payload(item),
            json.get("url").and_then(Value::as_str),
        ) && definition.layers.iter().all(|l| l.id.is_some())
            && entry
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("rebuilt"))
        {
            by_id(client, entry, &definition.layers, export, url, &mut out).await;
            continue;
        }
        // Feature counts of republished services.
        if let (Some(payload), Some(url)) = (
            crate::plan::republish_payload(item).map(|(p, _)| p),
            json.get("url").and_then(Value::as_str),
        ) {
            let paired = match crate::item::layers_by_name(client, payload, url).await {
                Ok(p) => p,
                Err(e) => {
                    out.problems
                        .push(format!("{}: reading the service: {e}", entry.title));
                    continue;
                }
            };
            for (layer, layer_url) in paired {
                let Some(expected) = layer.feature_count else {
                    continue;
                };
                out.layers += 1;
                let Some(layer_url) = layer_url else {
                    out.problems.push(format!(
                        "{} layer `{}`: missing from the target",
                        entry.title, layer.name
                    ));
                    continue;
                };
                match client.feature_count(&layer_url).await {
                    Ok(n) if n == expected => {}
                    Ok(n) => out.problems.push(format!(
                        "{} layer `{}`: {n} features, the backup {expected}",
                        entry.title, layer.name
                    )),
                    Err(e) => out
                        .problems
                        .push(format!("{} layer `{}`: {e}", entry.title, layer.name)),
                }
            }
        }
    }
    out
}

/// A rebuilt service's layers and tables, each by its id: there under the same name, with the
/// export's count of features.
async fn by_id(
    client: &Client,
    entry: &crate::report::Entry,
    layers: &[orgpack_archive::manifest::PayloadLayer],
    export: &orgpack_archive::manifest::Payload,
    url: &str,
    out: &mut Checked,
) {
    let url = url.trim_end_matches('/');
    // The service's own listing names every layer and table: one request, not one a layer.
    let there = match client
        .call("service", orgpack_portal::Method::Get, url, &[])
        .await
    {
        Ok(root) => crate::rebuild::ids_and_names(&root),
        Err(e) => {
            out.problems
                .push(format!("{}: reading the service: {e}", entry.title));
            return;
        }
    };
    for layer in layers {
        let Some(id) = layer.id else { continue };
        out.layers += 1;
        let layer_url = format!("{url}/{id}");
        match there.iter().find(|(i, _)| *i == id) {
            Some((_, n)) if n.eq_ignore_ascii_case(&layer.name) => {}
            Some((_, n)) => {
                out.problems.push(format!(
                    "{} layer {id}: `{n}` in the target, `{}` in the backup",
                    entry.title, layer.name
                ));
                continue;
            }
            None => {
                out.problems.push(format!(
                    "{} layer {id} (`{}`): missing from the target",
                    entry.title, layer.name
                ));
                continue;
            }
        }
        let Some(expected) = export
            .layers
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(&layer.name))
            .and_then(|l| l.feature_count)
        else {
            continue;
        };
        match client.feature_count(&layer_url).await {
            Ok(n) if n == expected => {}
            Ok(n) => out.problems.push(format!(
                "{} layer {id} (`{}`): {n} features, the backup {expected}",
                entry.title, layer.name
            )),
            Err(e) => out.problems.push(format!(
                "{} layer {id} (`{}`): {e}",
                entry.title, layer.name
            )),
        }
    }
}
