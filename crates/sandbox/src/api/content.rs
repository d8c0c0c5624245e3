//! Items and folders.

use std::io::{Read as _, Seek as _};

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::internal;
use super::{Call, FORBIDDEN, NOT_FOUND, Params, error};
use crate::store::{Body, Stored, StoredItem};

/// One page of `all` under `key`, by the `start` (1-based) and `num` (≤ 100) parameters.
pub(crate) fn page(params: &Params, all: &[Value], key: &str) -> Value {
    paged(params, key, |offset, limit| {
        Ok::<_, std::convert::Infallible>((
            all.len(),
            all.iter().skip(offset).take(limit).cloned().collect(),
        ))
    })
    .unwrap_or_else(|never| match never {})
}

/// A page of a listing: `fetch(offset, limit)` gives the total and that page (the store pages
/// big listings itself). `start` (1-based) and `num` (at most 100; default 10) as the portal
/// takes them; `start` of 0 or less asks past the last page (the Python client sends `start=-1`
/// after the last page): an empty page, or that client loops.
pub(crate) fn paged<E>(
    params: &Params,
    key: &str,
    fetch: impl FnOnce(usize, usize) -> Result<(usize, Vec<Value>), E>,
) -> Result<Value, E> {
    let asked: i64 = params
        .get("start")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let num: usize = params
        .get("num")
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .clamp(0, 100);
    let start = usize::try_from(asked).ok().filter(|s| *s > 0);
    let (total, items) = fetch(
        start.map_or(0, |s| s - 1),
        if start.is_some() { num } else { 0 },
    )?;
    let Some(start) = start else {
        return Ok(json!({"total": total, "start": asked, "num": 0, "nextStart": -1, key: []}));
    };
    let next = if start - 1 + items.len() >= total || num == 0 {
        -1
    } else {
        i64::try_from(start + items.len()).unwrap_or(-1)
    };
    Ok(json!({"total": total, "start": start, "num": num, "nextStart": next, key: items}))
}

/// Whether the caller may read an item: its owner, an administrator, anyone for public items,
/// members of the org for org items, members of a group it is shared with.
pub(crate) fn can_read(call: &Call, item: &StoredItem) -> Result<bool, Response> {
    let access = item
        .json
        .get("access")
        .and_then(Value::as_str)
        .unwrap_or("private");
    if access == "public" || call.is_admin() {
        return Ok(true);
    }
    let Some(user) = &call.user else {
        return Ok(false);
    };
    if item.owner == user.username || access == "org" {
        return Ok(true);
    }
    for g in &item.groups {
        if call
            .shared
            .store
            .group_members(g)
            .map_err(internal)?
            .iter()
            .any(|m| m.0 == user.username)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The owner's folder id for a folder path segment (id or title); `/` and `root` mean the root.
pub(super) fn folder_id(
    call: &Call,
    owner: &str,
    folder: &str,
) -> Result<Option<String>, Response> {
    if folder == "/" || folder.eq_ignore_ascii_case("root") {
        return Ok(None);
    }
    let folders = call
        .shared
        .store
        .folders(&call.org, owner)
        .map_err(internal)?;
    folders
        .into_iter()
        .find(|(id, title, _)| id == folder || title == folder)
        .map(|(id, _, _)| Some(id))
        .ok_or_else(|| error(400, "Folder does not exist.", &[]))
}

pub(super) fn owner_or_admin(call: &Call, owner: &str) -> Result<(), Response> {
    let user = call.require_user()?;
    if user.username != owner && !call.is_admin() {
        return Err(error(403, FORBIDDEN, &[]));
    }
    if call
        .shared
        .store
        .user(&call.org, owner)
        .map_err(internal)?
        .is_none()
    {
        return Err(error(400, &format!("User not found: '{owner}'"), &[]));
    }
    Ok(())
}

/// Whether the caller, not the owner, is a member of a shared-update group (`updateitemcontrol`)
/// the item `id` of `owner` is shared with: such members may update it (`itemControl` `update`).
pub(super) fn may_update_shared(call: &Call, owner: &str, id: &str) -> Result<bool, Response> {
    let Some(user) = &call.user else {
        return Ok(false);
    };
    if user.username == owner {
        return Ok(false);
    }
    let Some(item) = call.shared.store.item(&call.org, id).map_err(internal)? else {
        return Ok(false);
    };
    if item.owner != owner {
        return Ok(false);
    }
    let groups = call
        .shared
        .store
        .user_groups(&call.org, &user.username)
        .map_err(internal)?;
    Ok(groups.iter().any(|(g, _)| {
        g["id"]
            .as_str()
            .is_some_and(|gid| item.groups.iter().any(|i| i == gid))
            && g["capabilities"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == "updateitemcontrol"))
    }))
}

/// `content/users/<u>[/<folder>]`: the user's items in one folder, paged, and their folders.
pub(super) fn user_content(
    call: &Call,
    owner: &str,
    folder: Option<&str>,
) -> Result<Response, Response> {
    if call.params.flag("inRecycleBin", false) {
        return super::recycle::listing(call, Some(owner));
    }
    owner_or_admin(call, owner)?;
    let folder = match folder {
        Some(f) => folder_id(call, owner, f)?,
        None => None,
    };
    let folders: Vec<Value> = call
        .shared
        .store
        .folders(&call.org, owner)
        .map_err(internal)?
        .into_iter()
        .map(|(id, title, created)| json!({"username": owner, "id": id, "title": title, "created": created}))
        .collect();
    let current = folder
        .as_ref()
        .and_then(|f| folders.iter().find(|x| x["id"] == f.as_str()).cloned());
    let mut v = paged(&call.params, "items", |offset, limit| {
        call.shared
            .store
            .user_items_page(&call.org, owner, folder.as_deref(), offset, limit)
            .map_err(internal)
    })?;
    let o = v.as_object_mut().expect("object");
    o.insert("username".into(), json!(owner));
    o.insert("currentFolder".into(), current.unwrap_or(Value::Null));
    o.insert("folders".into(), json!(folders));
    Ok(call.reply(&v))
}

/// `content/users/<u>/createFolder`.
pub(super) fn create_folder(call: &Call, owner: &str) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    let Some(title) = call.params.get("title") else {
        return Err(error(400, "'title' must be specified.", &[]));
    };
    let id = crate::new_id();
    if !call
        .shared
        .store
        .add_folder(&id, &call.org, owner, title, crate::now_ms())
        .map_err(internal)?
    {
        return Err(error(
            400,
            &format!("Folder with name '{title}' already exists."),
            &[],
        ));
    }
    Ok(call
        .reply(&json!({"success": true, "folder": {"username": owner, "id": id, "title": title}})))
}

/// `content/users/<u>/<folderId>/delete`: the folder and every item in it (none deleted when one
/// is delete-protected).
pub(super) fn delete_folder(call: &Call, owner: &str, folder: &str) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    let store = &call.shared.store;
    let title = store
        .folders(&call.org, owner)
        .map_err(internal)?
        .into_iter()
        .find(|f| f.0 == folder)
        .map(|f| f.1);
    match store
        .delete_folder(&call.org, owner, folder)
        .map_err(internal)?
    {
        None => Err(error(400, "Folder does not exist.", &[])),
        Some(protected) if !protected.is_empty() => Err(error(
            400,
            "Unable to delete folder. Delete protection is turned on for items in it.",
            &protected.iter().map(String::as_str).collect::<Vec<_>>(),
        )),
        Some(_) => Ok(call.reply(&json!({"success": true, "folder": {
            "username": owner, "id": folder, "title": title,
        }}))),
    }
}

/// A list field: a comma list, or a JSON array (as the Python client sends `typeKeywords`).
pub(super) fn list(params: &Params, key: &str) -> Vec<String> {
    let Some(v) = params.get(key) else {
        return Vec::new();
    };
    if v.trim_start().starts_with('[')
        && let Ok(items) = serde_json::from_str::<Vec<String>>(v)
    {
        return items;
    }
    v.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `content/users/<u>[/<folder>]/addItem`: text, URL or file items; new items are private.
pub(super) fn add_item(
    call: &Call,
    owner: &str,
    folder: Option<&str>,
) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    call.require("portal:user:createItem")?;
    let p = &call.params;
    let (Some(item_type), Some(title)) = (p.get("type"), p.get("title")) else {
        return Err(error(400, "'type' and 'title' property required.", &[]));
    };
    let folder = match folder {
        Some(f) => folder_id(call, owner, f)?,
        None => None,
    };
    let id = id_to_create(call)?;
    let now = crate::now_ms();
    let (data, name): (Option<Body>, Option<String>) = match (p.take_file("file"), p.get("text")) {
        (Some(upload), _) => (
            Some(upload.body),
            Some(
                p.get("fileName")
                    .or(p.get("filename"))
                    .unwrap_or(&upload.name)
                    .to_owned(),
            ),
        ),
        (None, Some(text)) => (Some(Body::Memory(text.as_bytes().to_vec())), None),
        (None, None) => (
            None,
            p.get("fileName").or(p.get("filename")).map(str::to_owned),
        ),
    };
    let data = data.map(|d| stash(call, d)).transpose()?;
    let properties: Value = p
        .get("properties")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    let json = new_item_json(
        call,
        &id,
        owner,
        now,
        json!({
            "name": name, "title": title, "type": item_type, "typeKeywords": list(p, "typeKeywords"),
            "description": p.get("description"), "tags": list(p, "tags"), "snippet": p.get("snippet"),
            "spatialReference": p.get("spatialReference"), "accessInformation": p.get("accessInformation"),
            "licenseInfo": p.get("licenseInfo"), "culture": p.get("culture").unwrap_or("en-us"),
            "properties": properties, "url": p.get("url"), "categories": list(p, "categories"),
            "size": data.as_ref().map_or(0, Stored::len), "ownerFolder": folder,
        }),
    );
    let stored = data.as_ref().map(|d| (d, name.as_deref()));
    call.shared
        .store
        .add_item(&call.org, owner, folder.as_deref(), &json, stored, now)
        .map_err(|e| match e.sqlite_error_code() {
            // Ids are unique across the portal: only a kept `itemIdToCreate` can collide.
            Some(rusqlite::ErrorCode::ConstraintViolation) => {
                error(409, &format!("Item with id '{id}' already exists."), &[])
            }
            _ => internal(e),
        })?;
    super::parts::store_info_files(call, &id)?;
    if p.get("multipart") == Some("true") {
        super::uploads::start(call, &id)?;
    }
    Ok(call.reply(&json!({"success": true, "id": id, "folder": folder})))
}

/// A new item's JSON: every field the portal returns, with its defaults, then `fields` over them.
pub(super) fn new_item_json(call: &Call, id: &str, owner: &str, now: i64, fields: Value) -> Value {
    let mut item = json!({
        "id": id, "owner": owner, "orgId": call.org_id, "created": now, "modified": now, "guid": null,
        "name": null, "title": null, "type": null, "typeKeywords": [], "description": null, "tags": [],
        "snippet": null, "thumbnail": null, "documentation": null, "extent": [], "categories": [],
        "spatialReference": null, "accessInformation": null, "licenseInfo": null, "culture": "en-us",
        "properties": null, "url": null, "proxyFilter": null, "access": "private", "size": 0,
        "appCategories": [], "industries": [], "languages": [], "largeThumbnail": null, "banner": null,
        "screenshots": [], "listed": false, "ownerFolder": null, "protected": false,
        "commentsEnabled": false, "numComments": 0, "numRatings": 0, "avgRating": 0, "numViews": 0,
        "isOrgItem": true,
    });
    if let (Some(o), Value::Object(more)) = (item.as_object_mut(), fields) {
        o.extend(more);
    }
    item
}

/// The new item's id: `itemIdToCreate` where the organization answers as ArcGIS Enterprise
/// (10.8.1+), which keeps ids across a restore; ArcGIS Online ignores the parameter.
pub(super) fn id_to_create(call: &Call) -> Result<String, Response> {
    let Some(wanted) = call.params.get("itemIdToCreate").filter(|_| call.is_portal) else {
        return Ok(crate::new_id());
    };
    if wanted.len() != 32 || !wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(error(
            400,
            "Invalid itemIdToCreate. It must be 32 hexadecimal characters.",
            &[],
        ));
    }
    // A taken id is refused by the items table's primary key when the item is stored.
    Ok(wanted.to_ascii_lowercase())
}

pub(super) fn readable(call: &Call, id: &str) -> Result<StoredItem, Response> {
    match call.shared.store.item(&call.org, id).map_err(internal)? {
        Some(item) if can_read(call, &item)? => Ok(item),
        // Items that exist but may not be read are answered as missing: existence is not leaked.
        _ => Err(error(400, NOT_FOUND, &[])),
    }
}

/// `content/items/<id>`: the item JSON.
pub(super) fn item(call: &Call, id: &str) -> Result<Response, Response> {
    let item = readable(call, id)?;
    Ok(call.reply(&item.json))
}

/// `content/items/<id>/data`: the item's data as stored (JSON text or a file).
pub(super) fn data(call: &Call, id: &str) -> Result<Response, Response> {
    readable(call, id)?;
    let (data, name) = call
        .shared
        .store
        .item_data(&call.org, id)
        .map_err(internal)?
        .unwrap_or((None, None));
    let Some(stored) = data else {
        return Err(error(500, "Item does not have a file.", &[]));
    };
    let size = stored.len();
    let mut reader = call
        .shared
        .store
        .blobs()
        .reader(&stored)
        .map_err(internal)?;
    let mut first = [0u8; 1];
    let looks_json =
        reader.read(&mut first).map_err(internal)? == 1 && (first[0] == b'{' || first[0] == b'[');
    reader.seek(std::io::SeekFrom::Start(0)).map_err(internal)?;
    let content_type = if looks_json {
        "application/json; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    let disposition = name.map(|n| format!("attachment; filename=\"{}\"", n.replace('"', "")));
    let mut response = (
        [
            ("content-type", content_type.to_owned()),
            ("content-length", size.to_string()),
        ],
        super::stream_body(reader),
    )
        .into_response();
    if let Some(d) = disposition.and_then(|d| d.parse().ok()) {
        response.headers_mut().insert("content-disposition", d);
    }
    Ok(response)
}

/// `content/users/<u>/items/<id>`: the owner's view, `{item, sharing}`.
pub(super) fn user_item(call: &Call, owner: &str, id: &str) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    let item = owned(call, owner, id)?;
    let access = item.json.get("access").cloned().unwrap_or(json!("private"));
    Ok(call
        .reply(&json!({"item": item.json, "sharing": {"access": access, "groups": item.groups}})))
}

fn owned(call: &Call, owner: &str, id: &str) -> Result<StoredItem, Response> {
    match call.shared.store.item(&call.org, id).map_err(internal)? {
        Some(item) if item.owner == owner => Ok(item),
        _ => Err(error(400, NOT_FOUND, &[])),
    }
}

/// `content/users/<u>[/<folder>]/items/<id>/<op>`: `update`, `delete` and `restore` (the recycle
/// bin), sharing, protection, resources, `move`, `reassign`, upload parts.
pub(super) fn item_op(call: &Call, owner: &str, id: &str, op: &str) -> Result<Response, Response> {
    match op {
        // These reach recycled items too.
        "delete" => return super::recycle::delete(call, owner, id),
        "restore" => return super::recycle::restore(call, owner, id),
        _ => {}
    }
    // Members of a shared-update group the item is shared with change its properties, data and
    // resources as its owner does; nothing else (sharing, moving, ownership, deleting).
    let shared_update = matches!(
        op,
        "update" | "addResources" | "updateResources" | "removeResources"
    ) && may_update_shared(call, owner, id)?;
    if !shared_update {
        owner_or_admin(call, owner)?;
    }
    let mut item = owned(call, owner, id)?;
    let store = &call.shared.store;
    match op {
        "update" => {
            let p = &call.params;
            // A field passed empty changes nothing, unless `clearEmptyFields` asks to clear it
            // (the title excepted: an item always has one).
            let clear = p.flag("clearEmptyFields", false);
            let o = item.json.as_object_mut().expect("item JSON is an object");
            for key in [
                "title",
                "description",
                "snippet",
                "url",
                "accessInformation",
                "licenseInfo",
                "culture",
                "spatialReference",
            ] {
                match p.fields.get(key) {
                    Some(v) if !v.is_empty() => {
                        o.insert(key.into(), json!(v));
                    }
                    Some(_) if clear && key != "title" => {
                        o.insert(key.into(), Value::Null);
                    }
                    _ => {}
                }
            }
            for key in ["tags", "typeKeywords", "categories"] {
                let values = list(p, key);
                if !values.is_empty() || (clear && p.fields.contains_key(key)) {
                    o.insert(key.into(), json!(values));
                }
            }
            match p.get("properties") {
                Some("") if clear => {
                    o.insert("properties".into(), Value::Null);
                }
                Some("") | None => {}
                Some(text) => match serde_json::from_str::<Value>(text) {
                    Ok(props) if props.is_object() || props.is_null() => {
                        o.insert("properties".into(), props);
                    }
                    _ => return Err(error(400, "Invalid 'properties' JSON.", &[])),
                },
            }
            let now = crate::now_ms();
            o.insert("modified".into(), json!(now));
            let data = match (p.take_file("file"), p.get("text")) {
                (Some(upload), _) => Some((stash(call, upload.body)?, Some(upload.name))),
                (None, Some(text)) => {
                    Some((stash(call, Body::Memory(text.as_bytes().to_vec()))?, None))
                }
                _ => None,
            };
            if let Some((stored, _)) = &data {
                o.insert("size".into(), json!(stored.len()));
            }
            store
                .update_item(
                    id,
                    &item.json,
                    data.as_ref().map(|(b, n)| (b, n.as_deref())),
                    now,
                )
                .map_err(internal)?;
            super::parts::store_info_files(call, id)?;
            Ok(call.reply(&json!({"success": true, "id": id})))
        }
        "share" | "unshare" => super::sharing::item(call, &mut item, op),
        "protect" | "unprotect" => {
            item.json
                .as_object_mut()
                .expect("item JSON is an object")
                .insert("protected".into(), json!(op == "protect"));
            store
                .update_item(id, &item.json, None, crate::now_ms())
                .map_err(internal)?;
            Ok(call.reply(&json!({"success": true})))
        }
        "addResources" | "updateResources" | "removeResources" => {
            super::parts::resources_op(call, owner, &item, id, op)
        }
        "move" => super::parts::move_item(call, owner, id),
        "reassign" => super::parts::reassign(call, owner, &item, id),
        "addPart" => super::uploads::add_part(call, id),
        "commit" => super::uploads::commit(call, owner, &mut item, id),
        _ => Err(error(400, "Invalid URL", &[])),
    }
}

/// Keep a received body: small ones inline, large ones as a blob file (moved, not copied).
pub(super) fn stash(call: &Call, body: Body) -> Result<Stored, Response> {
    call.shared.store.blobs().stash(body).map_err(internal)
}
