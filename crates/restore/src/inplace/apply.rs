//! Putting items back in place: a changed or recycled item brought to the snapshot's state
//! without changing its id, URL or creation date; the features of hosted layers edited since put
//! back (`--revert-data`); references to items made again under a new id re-pointed across the
//! organization; items created since deleted (`--delete-new`).

use std::collections::{BTreeMap, BTreeSet};

use orgpack_archive::manifest::{Access, Item, PayloadKind};
use orgpack_graph::{IdMap, Part, rewrite, rewrite_text};
use orgpack_portal::Content;
use serde_json::Value;

use crate::item::{Ctx, ItemContext, Restored};
use crate::plan::{PlannedItem, TargetPlan};
use crate::report::{Action, Status, TargetReport};

type Failed = (Option<String>, String);

/// Put one item back: out of the recycle bin first when it is there, then its owner and folder,
/// properties and data, resources, thumbnail and metadata, sharing, delete protection and
/// relationships as the snapshot has them (only what differs), and with `--revert-data` the
/// features of its layers edited since.
pub async fn put_back(ctx: &Ctx<'_>, planned: &PlannedItem, item: &Item) -> Restored {
    match run(ctx, planned, item).await {
        Ok(reason) => Restored {
            target_id: planned.existing.clone(),
            status: Status::Updated,
            reason,
            rewritten: 0,
        },
        Err((id, reason)) => Restored::failed(id.or_else(|| planned.existing.clone()), reason),
    }
}

#[allow(clippy::too_many_lines)]
async fn run(ctx: &Ctx<'_>, planned: &PlannedItem, item: &Item) -> Result<Option<String>, Failed> {
    let id = planned.existing.clone().unwrap_or_else(|| item.id.clone());
    let fail = |e: String| (Some(id.clone()), e);
    let client = ctx.client;
    let detail = planned.in_place.clone().unwrap_or_default();
    let mut diff = detail.differences;
    let mut notes = Vec::new();
    if let Some(owner) = &detail.recycled {
        client
            .restore_recycled(owner, &id)
            .await
            .map_err(|e| fail(format!("restoring it from the recycle bin: {e}")))?;
        notes.push("restored from the recycle bin".to_owned());
        // Back in its owner's root folder: compare it now, as any live item.
        let view = client
            .user_item(owner, &id)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let known = ctx.map.lock().expect("id map lock").clone();
        let moved = orgpack_graph::IdMap {
            items: known.items.into_iter().filter(|(a, b)| a != b).collect(),
            services: known.services.into_iter().filter(|(a, b)| a != b).collect(),
            ..orgpack_graph::IdMap::default()
        };
        diff = super::compare(
            client,
            ctx.archive,
            item,
            super::Live {
                id: &id,
                view: &view,
                owner: &planned.owner,
            },
            ctx.groups,
            Some(ctx.journal),
            &moved,
        )
        .await
        .map_err(fail)?;
    }
    let owner = planned.owner.as_str();
    if let Some(from) = &diff.owner {
        let folder = planned.folder.as_deref().unwrap_or("/");
        client
            .reassign_item(from, &id, owner, folder)
            .await
            .map_err(|e| fail(format!("giving it back to `{owner}`: {e}")))?;
    } else if diff.folder.is_some() {
        let folder = planned
            .folder
            .as_ref()
            .and_then(|t| ctx.folders.get(&(owner.to_owned(), t.clone())));
        client
            .move_item(owner, &id, folder.map(String::as_str))
            .await
            .map_err(|e| fail(format!("moving it back: {e}")))?;
    }
    // The snapshot's item JSON, read once for the properties and the delete protection.
    let json = crate::item::read_json(ctx.archive, &item.item).map_err(fail)?;
    let protected_then = json.get("protected").and_then(Value::as_bool) == Some(true);
    // Delete protection off while it is changed; back on last when the snapshot had it.
    let protected_now = diff.protected != protected_then;
    if protected_now {
        client
            .protect_item(owner, &id, false)
            .await
            .map_err(|e| fail(format!("delete protection: {e}")))?;
    }
    if diff.properties || diff.data {
        let map = std::sync::Arc::clone(&ctx.wave_map.read().expect("wave map lock"));
        let item_context = ItemContext::new(ctx.snapshot, item, &json);
        let gctx = item_context.context();
        let rewritten = rewrite(&gctx, Part::Item, &json, &map);
        let mut params: Vec<(&str, String)> =
            crate::item::item_params(&rewritten.doc, &item.id, false)
                .into_iter()
                .filter(|(k, _)| *k != "type" && *k != "typeKeywords")
                .collect();
        params.push((
            "typeKeywords",
            orgpack_graph::type_keywords(&rewritten.doc).join(","),
        ));
        // Emptied properties are sent empty, with `clearEmptyFields` (without it a portal keeps
        // what an empty field would clear), so a value added since goes away.
        for key in ["snippet", "description", "accessInformation", "licenseInfo"] {
            if !params.iter().any(|(k, _)| *k == key) {
                params.push((key, String::new()));
            }
        }
        params.push(("clearEmptyFields", "true".into()));
        if item.data.is_none()
            && let Some(url) = rewritten.doc.get("url").and_then(Value::as_str)
        {
            params.push(("url", url.to_owned()));
        }
        let content = if diff.data {
            let (staged, _) = crate::item::content_of(ctx, item, &gctx, &map).await?;
            Some(staged)
        } else {
            None
        };
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        client
            .update_item(
                owner,
                None,
                &id,
                &refs,
                content
                    .as_ref()
                    .map_or(Content::None, crate::item::Staged::as_content),
            )
            .await
            .map_err(|e| fail(format!("putting its properties back: {e}")))?;
    }
    // A changed resource is replaced: removed first when it is there (one listing says which).
    let present: BTreeSet<String> = if diff.resources.is_empty() {
        BTreeSet::new()
    } else {
        client
            .item_resources(&id)
            .await
            .map_err(|e| fail(format!("listing its resources: {e}")))?
            .into_iter()
            .map(|r| r.path)
            .collect()
    };
    for path in diff.extra_resources.iter().chain(&diff.resources) {
        if diff.extra_resources.contains(path) || present.contains(path) {
            client
                .remove_resource(owner, &id, path)
                .await
                .map_err(|e| fail(format!("resource `{path}`: {e}")))?;
        }
    }
    for path in &diff.resources {
        let Some(r) = item.resources.iter().find(|r| r.path == *path) else {
            continue;
        };
        let bytes = crate::item::read(ctx.archive, &r.content).map_err(fail)?;
        client
            .add_resource(owner, &id, path, bytes)
            .await
            .map_err(|e| fail(format!("resource `{path}`: {e}")))?;
    }
    if diff.thumbnail
        && let Some(t) = &item.thumbnail
    {
        let file = crate::item::stage(ctx, &t.content).await.map_err(fail)?;
        let name = t.name.clone().unwrap_or_else(|| "thumbnail.png".into());
        client
            .update_info_file(owner, None, &id, "thumbnail", file.path(), &name)
            .await
            .map_err(|e| fail(format!("thumbnail: {e}")))?;
    }
    if diff.metadata
        && let Some(m) = &item.metadata
    {
        let file = crate::item::stage(ctx, m).await.map_err(fail)?;
        client
            .update_info_file(owner, None, &id, "metadata", file.path(), "metadata.xml")
            .await
            .map_err(|e| fail(format!("metadata: {e}")))?;
    }
    if let Some(now) = &diff.sharing {
        let wanted: BTreeSet<&str> = item
            .sharing
            .groups
            .iter()
            .filter_map(|g| ctx.groups.get(&g.id).map(String::as_str))
            .collect();
        let extra: Vec<&str> = now
            .iter()
            .map(String::as_str)
            .filter(|g| !wanted.contains(g))
            .collect();
        if !extra.is_empty() {
            client
                .unshare_item(owner, &id, &extra)
                .await
                .map_err(|e| fail(format!("unsharing: {e}")))?;
        }
        if item.sharing.access == Access::Private || item.sharing.access == Access::Shared {
            // No longer with the organization or everyone, and with the snapshot's groups.
            client
                .share_item(owner, &id, false, false, &[])
                .await
                .map_err(|e| fail(format!("sharing: {e}")))?;
        }
        crate::item::share(ctx, item, owner, &id)
            .await
            .map_err(fail)?;
    }
    for (kind, to) in &diff.relationships {
        let to = ctx
            .map
            .lock()
            .expect("id map lock")
            .items
            .get(to)
            .cloned()
            .unwrap_or_else(|| to.clone());
        client
            .add_relationship(owner, &id, &to, kind)
            .await
            .map_err(|e| fail(format!("relationship {kind}: {e}")))?;
    }
    if ctx.options.revert_data && !diff.edited_layers.is_empty() {
        revert(ctx, item, owner, &id, planned.folder.as_deref())
            .await
            .map_err(fail)?;
        notes.push(format!(
            "the features of layers {} put back as the snapshot has them",
            diff.edited_layers
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if protected_then && (protected_now || diff.protected) {
        client
            .protect_item(owner, &id, true)
            .await
            .map_err(|e| fail(format!("delete protection: {e}")))?;
    }
    Ok((!notes.is_empty()).then(|| notes.join("; ")))
}

/// Put a hosted feature service's features back: the snapshot's export uploaded, every layer and
/// table emptied and loaded from it (`truncate`, `append`; ids, URL and layer ids kept), counted
/// against the export, and the upload deleted.
async fn revert(
    ctx: &Ctx<'_>,
    item: &Item,
    owner: &str,
    id: &str,
    folder: Option<&str>,
) -> Result<(), String> {
    let definition = crate::plan::definition_payload(item).ok_or_else(|| {
        "the backup holds no definition of the service to load its layers by".to_owned()
    })?;
    let (export, _) = crate::plan::republish_payload(item)
        .filter(|(p, original)| !original && p.kind == PayloadKind::FileGeodatabase)
        .ok_or_else(|| "the backup holds no File Geodatabase export of the service".to_owned())?;
    let admin = crate::rebuild::admin_of(ctx, definition)?;
    let url = crate::item::service_url(ctx, id).await?;
    let result = crate::rebuild::load(ctx, &admin, export, &url, || async {
        crate::item::upload_payload(ctx, item, export, owner, folder)
            .await
            .map_err(|(_, e)| e)
    })
    .await;
    // The uploaded export goes, whatever the load did (the journal knows its id).
    let key = format!("{}/payload", item.id);
    if let Ok(Some(up)) = ctx.journal.id(crate::journal::Kind::Item, &key) {
        let _ = ctx.client.delete_item(owner, &up).await;
        let _ = ctx.journal.forget(crate::journal::Kind::Item, &key);
    }
    result
}

/// After every item: the layers this run loaded (a service made again, or its features put back)
/// have new edit dates, though they hold the snapshot's features: the journal keeps those dates,
/// so the next comparison does not take the load for an edit.
pub async fn remember_loads(
    ctx: &Ctx<'_>,
    plan: &TargetPlan,
    results: &BTreeMap<String, Restored>,
) {
    for p in &plan.items {
        let item = &ctx.snapshot.items[p.index];
        let loaded = match p.action {
            Action::Create | Action::Republish => true,
            Action::PutBack => {
                ctx.options.revert_data
                    && p.in_place
                        .as_ref()
                        .is_some_and(|i| !i.differences.edited_layers.is_empty())
            }
            _ => false,
        };
        let Some(r) = results.get(&p.id) else {
            continue;
        };
        let done = matches!(r.status, Status::Created | Status::Updated);
        if !(loaded && done && item.item_type == "Feature Service") {
            continue;
        }
        let Some(id) = &r.target_id else { continue };
        let Ok(url) = crate::item::service_url(ctx, id).await else {
            continue;
        };
        if let Ok(dates) = super::layer_dates(ctx.client, &url).await {
            for (layer, date) in dates {
                let _ = ctx
                    .journal
                    .mark(&super::loaded_key(id, layer), &date.to_string());
            }
        }
    }
}

/// After every item: each item made again under a new id (the original was gone for good and
/// the portal could not keep its id) is re-pointed to everywhere in the organization. Every item
/// of the organization is read (its JSON; the data of those whose data is JSON) and rewritten
/// from the old ids and URLs to the new; each reference changed is listed in the report.
pub async fn repoint(
    ctx: &Ctx<'_>,
    plan: &TargetPlan,
    results: &BTreeMap<String, Restored>,
    report: &mut TargetReport,
) {
    let mut map = IdMap::default();
    for p in &plan.items {
        let Some(new) = results.get(&p.id).and_then(|r| r.target_id.clone()) else {
            continue;
        };
        if new == p.id || !matches!(p.action, Action::Create | Action::Republish) {
            continue;
        }
        map.items.insert(p.id.clone(), new.clone());
        let item = &ctx.snapshot.items[p.index];
        // Made with `source-<id>` to be found again if the run was cut short: done, so its
        // keywords become the snapshot's.
        if let Ok(json) = crate::item::read_json(ctx.archive, &item.item) {
            let keywords = orgpack_graph::type_keywords(&json).join(",");
            if let Err(e) = ctx
                .client
                .update_item(
                    &p.owner,
                    None,
                    &new,
                    &[("typeKeywords", &keywords), ("clearEmptyFields", "true")],
                    Content::None,
                )
                .await
            {
                report.notes.push(format!(
                    "`{}` ({new}): its keywords could not be set: {e}",
                    item.title
                ));
            }
        }
        if let Some(old_url) = item
            .url
            .as_ref()
            .filter(|_| item.item_type.ends_with("Service"))
            && let Ok(new_url) = crate::item::service_url(ctx, &new).await
        {
            map.services.insert(old_url.clone(), new_url);
        }
    }
    if map.is_empty() {
        return;
    }
    let Ok(all) = ctx
        .client
        .search_all(&format!("orgid:{}", ctx.facts.org_id), 100)
        .await
    else {
        report
            .notes
            .push("the organization could not be searched to re-point references".into());
        return;
    };
    let made: BTreeSet<&String> = map.items.values().collect();
    for found in all {
        let (Some(id), Some(owner)) = (found["id"].as_str(), found["owner"].as_str()) else {
            continue;
        };
        if made.contains(&id.to_owned()) {
            continue;
        }
        match repoint_one(ctx, &map, id, owner, &found).await {
            Ok(lines) => report.repointed.extend(lines),
            Err(e) => report.notes.push(format!(
                "item {id}: its references could not be re-pointed: {e}"
            )),
        }
    }
}

/// Rewrite one item's JSON and JSON data with `map`; returns what was re-pointed.
async fn repoint_one(
    ctx: &Ctx<'_>,
    map: &IdMap,
    id: &str,
    owner: &str,
    found: &Value,
) -> Result<Vec<String>, String> {
    let keywords: Vec<String> = orgpack_graph::type_keywords(found);
    let gctx = orgpack_graph::Context {
        item_type: found["type"].as_str().unwrap_or_default(),
        type_keywords: &keywords,
        self_id: Some(id),
        portal_urls: &[],
    };
    let mut params: Vec<(&str, String)> = Vec::new();
    let mut lines = Vec::new();
    let title = found["title"].as_str().unwrap_or_default();
    let props = rewrite(&gctx, Part::Item, found, map);
    if props.changed > 0 {
        for key in ["url", "description", "snippet"] {
            if props.doc.get(key) != found.get(key)
                && let Some(v) = props.doc.get(key).and_then(Value::as_str)
            {
                params.push((key, v.to_owned()));
            }
        }
        if props.doc.get("properties") != found.get("properties") {
            params.push(("properties", props.doc["properties"].to_string()));
        }
    }
    // Only a document is read (no file `name`, the backup's rule): a file item's data, however
    // large, holds no reference to rewrite.
    let document = found["name"].as_str().is_none_or(str::is_empty);
    let mut data = None;
    let mut bytes = Vec::new();
    if document
        && ctx.client.item_data(id, &mut bytes).await.is_ok()
        && let Ok(text) = std::str::from_utf8(&bytes)
        && let Some(r) = rewrite_text(&gctx, Part::Data, text, map)
        && r.changed > 0
    {
        data = Some(r.text);
    }
    // A Survey123 form's package (its data zip) names the service it submits to.
    let mut package = None;
    if !document && found["type"].as_str() == Some("Form") {
        let mut zip = Vec::new();
        if ctx.client.item_data(id, &mut zip).await.is_ok()
            && let Ok(Some(p)) =
                tokio::task::block_in_place(|| crate::form::rewrite_package(&zip, map))
            && p.changed > 0
        {
            package = Some(p);
        }
    }
    if params.is_empty() && data.is_none() && package.is_none() {
        return Ok(lines);
    }
    let text = format!("{found}{}", String::from_utf8_lossy(&bytes));
    for (old, new) in map.items.iter().chain(&map.services) {
        if text.contains(old.as_str()) {
            lines.push(format!("`{title}` ({id}): {old} → {new}"));
        }
    }
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::prior::keep(ctx, id, id, owner).await?;
    if let Some(package) = package {
        lines.push(format!(
            "`{title}` ({id}): its form package, {} references",
            package.changed
        ));
        let name = found["name"].as_str().unwrap_or("form.zip");
        return crate::form::upload(ctx, owner, id, name, &package.bytes, &refs)
            .await
            .map(|()| lines);
    }
    ctx.client
        .update_item(
            owner,
            None,
            id,
            &refs,
            data.as_deref().map_or(Content::None, Content::Text),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(lines)
}

/// `--delete-new`: the items the organization holds that the snapshot does not, deleted (into the
/// recycle bin where there is one), each named in the notes.
pub async fn delete_new(ctx: &Ctx<'_>, plan: &TargetPlan, report: &mut TargetReport) {
    for (id, title, _, owner) in &plan.created_since {
        match ctx.client.recycle_item(owner, id).await {
            Ok(()) => report.notes.push(format!(
                "deleted `{title}` ({id}), created since the snapshot{}",
                if ctx.facts.recycle_bin {
                    ": in the recycle bin"
                } else {
                    ""
                }
            )),
            Err(e) => report
                .notes
                .push(format!("`{title}` ({id}) could not be deleted: {e}")),
        }
    }
}
