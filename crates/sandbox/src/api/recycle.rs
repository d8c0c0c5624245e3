//! Deleting items, and ArcGIS Online's recycle bin (June 2024; spec/portal-api.md, section
//! Recycle bin): `delete` and `deleteItems` move items to the bin for 14 days unless
//! `permanentDelete=true`; a recycled item keeps its id, its hosted service's name and URL (both
//! stay taken) and its sharing, and is seen by nothing until `restore`. `canRecycle`,
//! `canRestore`, `restore` (to a folder), the bin's listing
//! (`content/users/<u>?inRecycleBin=true`) and purge (`permanentDelete=true` on a recycled item).
//! ArcGIS Enterprise organizations delete permanently and answer the bin's operations as
//! unknown.

use axum::response::Response;
use serde_json::{Value, json};

use super::auth::internal;
use super::content::{list, owner_or_admin};
use super::{Call, NOT_FOUND, error};
use crate::store::StoredItem;

/// How long an item stays in the bin.
const KEEP_MS: i64 = 14 * 24 * 3600 * 1000;

/// Empty what has been in the bin longer than 14 days.
fn purge_expired(call: &Call) -> Result<(), Response> {
    call.shared
        .store
        .purge_recycled(&call.org, crate::now_ms() - KEEP_MS)
        .map_err(internal)
        .map(|_| ())
}

/// `owner`'s item `id`, live or recycled: (item, recycled at).
fn find(call: &Call, owner: &str, id: &str) -> Result<(StoredItem, Option<i64>), Response> {
    owner_or_admin(call, owner)?;
    purge_expired(call)?;
    match call
        .shared
        .store
        .item_anywhere(&call.org, id)
        .map_err(internal)?
    {
        Some((item, at)) if item.owner == owner => Ok((item, at)),
        _ => Err(error(400, NOT_FOUND, &[])),
    }
}

fn bin_only(call: &Call) -> Result<(), Response> {
    if call.is_portal {
        Err(error(400, "Invalid URL", &[]))
    } else {
        Ok(())
    }
}

/// Live items that depend on `id`: views of its service (`Service2Service` to them).
fn dependents(call: &Call, id: &str) -> Result<Vec<String>, Response> {
    let store = &call.shared.store;
    let mut out = Vec::new();
    for view in store
        .related(id, "Service2Service", true)
        .map_err(internal)?
    {
        if store.item(&call.org, &view).map_err(internal)?.is_some() {
            out.push(view);
        }
    }
    Ok(out)
}

/// A recycled item's source that is recycled too (restore it first).
fn recycled_source(call: &Call, id: &str) -> Result<Option<String>, Response> {
    let store = &call.shared.store;
    for source in store
        .related(id, "Service2Service", false)
        .map_err(internal)?
    {
        if let Some((_, Some(_))) = store.item_anywhere(&call.org, &source).map_err(internal)? {
            return Ok(Some(source));
        }
    }
    Ok(None)
}

/// Delete one item: to the bin (ArcGIS Online, unless `permanent`), or for good. A protected
/// item is refused; so is recycling a service whose views are live.
fn delete_one(
    call: &Call,
    item: &StoredItem,
    recycled: bool,
    permanent: bool,
) -> Result<(), Value> {
    let id = item.json["id"].as_str().unwrap_or_default();
    if item.json.get("protected").and_then(Value::as_bool) == Some(true) {
        return Err(
            json!({"code": 400, "message": "Unable to delete item. Delete protection is turned on."}),
        );
    }
    let store = &call.shared.store;
    let to_bin = !call.is_portal && !permanent;
    if to_bin {
        if recycled {
            return Err(json!({"code": 400, "message": format!("Item '{id}' is already in the recycle bin.")}));
        }
        let blocking = dependents(call, id).map_err(|_| json!({"code": 500, "message": "Unable to delete item."}))?;
        if !blocking.is_empty() {
            return Err(json!({"code": 400, "messageCode": "CONT_0298",
                "message": "Unable to recycle item. Items that depend on it must be recycled or deleted first.",
                "offending": blocking}));
        }
        store.set_recycled(id, Some(crate::now_ms()))
    } else {
        store.delete_item(id)
    }
    .map_err(|e| json!({"code": 500, "message": "Unable to delete item.", "details": [e.to_string()]}))
}

/// `content/users/<u>[/<folder>]/items/<id>/delete`: `permanentDelete` (default false).
pub(super) fn delete(call: &Call, owner: &str, id: &str) -> Result<Response, Response> {
    let (item, recycled) = find(call, owner, id)?;
    let permanent = call.params.flag("permanentDelete", false);
    if recycled.is_some() && call.is_portal {
        return Err(error(400, NOT_FOUND, &[]));
    }
    match delete_one(call, &item, recycled.is_some(), permanent) {
        Ok(()) => Ok(call.reply(&json!({"success": true, "itemId": id}))),
        Err(e) => Err(error(
            e["code"].as_i64().unwrap_or(400),
            e["message"].as_str().unwrap_or_default(),
            &[],
        )),
    }
}

/// `content/users/<u>/deleteItems`: `items` (at most 100), `permanentDelete`. Per-item results.
pub(super) fn delete_items(call: &Call, owner: &str) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    purge_expired(call)?;
    let ids = list(&call.params, "items");
    if ids.len() > 100 {
        return Err(error(
            400,
            "A maximum of 100 items can be deleted in one request.",
            &[],
        ));
    }
    let permanent = call.params.flag("permanentDelete", false);
    let mut results = Vec::new();
    for id in ids {
        let found = call
            .shared
            .store
            .item_anywhere(&call.org, &id)
            .map_err(internal)?
            .filter(|(item, at)| item.owner == owner && (at.is_none() || !call.is_portal));
        let outcome = match found {
            Some((item, at)) => delete_one(call, &item, at.is_some(), permanent),
            None => Err(json!({"code": 400, "message": NOT_FOUND})),
        };
        results.push(match outcome {
            Ok(()) => json!({"itemId": id, "success": true}),
            Err(e) => json!({"itemId": id, "success": false, "error": e}),
        });
    }
    Ok(call.reply(&json!({"results": results})))
}

/// `canRecycle`: whether deleting the item would put it in the bin.
pub(super) fn can_recycle(call: &Call, owner: &str, id: &str) -> Result<Response, Response> {
    bin_only(call)?;
    let (item, recycled) = find(call, owner, id)?;
    if recycled.is_some() {
        return Err(error(400, NOT_FOUND, &[]));
    }
    let blocking = dependents(call, id)?;
    let protected = item.json.get("protected").and_then(Value::as_bool) == Some(true);
    Ok(call.reply(&if blocking.is_empty() && !protected {
        json!({"itemId": id, "success": true})
    } else {
        json!({"itemId": id, "success": false, "error": {"code": 400, "messageCode": "CONT_0298",
            "message": "Unable to recycle item.", "offending": blocking}})
    }))
}

/// Why a recycled item cannot come back, as `canRestore` and `restore` answer it.
fn restore_blocked(
    call: &Call,
    id: &str,
    recycled: Option<i64>,
) -> Result<Option<Value>, Response> {
    if recycled.is_none() {
        return Ok(Some(
            json!({"code": 400, "message": format!("Item '{id}' is not in the recycle bin.")}),
        ));
    }
    Ok(recycled_source(call, id)?.map(|source| {
        json!({"code": 400, "messageCode": "CONT_00486",
            "message": "Unable to restore item. This service item has a required related Service item in the recycle bin.",
            "offending": [source]})
    }))
}

/// `canRestore`.
pub(super) fn can_restore(call: &Call, owner: &str, id: &str) -> Result<Response, Response> {
    bin_only(call)?;
    let (_, recycled) = find(call, owner, id)?;
    Ok(call.reply(&match restore_blocked(call, id, recycled)? {
        None => json!({"itemId": id, "success": true}),
        Some(e) => json!({"itemId": id, "success": false, "error": e}),
    }))
}

/// `restore`: `folder` (an id of the owner's, default the root). The item comes back with its id,
/// its service URL and its sharing.
pub(super) fn restore(call: &Call, owner: &str, id: &str) -> Result<Response, Response> {
    bin_only(call)?;
    let (mut item, recycled) = find(call, owner, id)?;
    if let Some(e) = restore_blocked(call, id, recycled)? {
        return Ok(call.reply(&json!({"itemId": id, "success": false, "error": e})));
    }
    let folder = match call.params.get("folder").filter(|f| *f != "/") {
        Some(f) => super::content::folder_id(call, owner, f)?,
        None => None,
    };
    let store = &call.shared.store;
    item.json["ownerFolder"] = json!(folder);
    store
        .update_item(id, &item.json, None, crate::now_ms())
        .map_err(internal)?;
    store
        .set_owner_folder(id, owner, folder.as_deref())
        .map_err(internal)?;
    store.set_recycled(id, None).map_err(internal)?;
    Ok(call.reply(&json!({"itemId": id, "success": true})))
}

/// `content/users/<u>?inRecycleBin=true` (the owner's recycled items, from every folder) and
/// `content/portals/<orgId>?inRecycleBin=true` (the organization's, to administrators): each
/// with `recycledDate`, newest first, paged as the content listing.
pub(super) fn listing(call: &Call, owner: Option<&str>) -> Result<Response, Response> {
    bin_only(call)?;
    match owner {
        Some(owner) => owner_or_admin(call, owner)?,
        None => {
            call.require("portal:admin:viewItems")?;
        }
    }
    purge_expired(call)?;
    let mut items: Vec<Value> = call
        .shared
        .store
        .recycled(&call.org, owner)
        .map_err(internal)?
        .into_iter()
        .map(|(mut item, at)| {
            item.json["recycledDate"] = json!(at);
            item.json
        })
        .collect();
    items.reverse();
    let mut v = super::content::page(&call.params, &items, "items");
    if let Some(owner) = owner {
        v["username"] = json!(owner);
        v["currentFolder"] = Value::Null;
        v["folders"] = json!([]);
    }
    Ok(call.reply(&v))
}

/// `content/portals/<orgId>`: served for the recycle bin (`inRecycleBin=true`) only.
pub(super) fn org_content(call: &Call) -> Result<Response, Response> {
    if !call.params.flag("inRecycleBin", false) {
        return Err(error(
            400,
            "content/portals/<orgId> is served only with inRecycleBin=true (the organization's recycle bin): list content with search.",
            &[],
        ));
    }
    listing(call, None)
}
