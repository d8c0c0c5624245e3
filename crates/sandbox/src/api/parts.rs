//! The parts of an item besides its JSON and data: resources, thumbnails and metadata,
//! relationships, the groups it is in; group content; moving and reassigning.

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::internal;
use super::content::{can_read, folder_id, owner_or_admin, page, readable};
use super::{Call, FORBIDDEN, NOT_FOUND, error};
use crate::store::StoredItem;

/// Store `thumbnail` and `metadata` file parts sent with addItem or update; the thumbnail's path
/// goes into the item JSON as `thumbnail/<name>`.
pub(super) fn store_info_files(call: &Call, id: &str) -> Result<(), Response> {
    let store = &call.shared.store;
    if let Some(upload) = call.params.take_file("thumbnail") {
        let (name, bytes) = (upload.name, upload.body.to_vec().map_err(internal)?);
        store
            .put_file(id, "thumbnail", &name, &bytes)
            .map_err(internal)?;
        if let Some(mut item) = store.item(&call.org, id).map_err(internal)? {
            item.json
                .as_object_mut()
                .expect("object")
                .insert("thumbnail".into(), json!(format!("thumbnail/{name}")));
            store
                .update_item(id, &item.json, None, crate::now_ms())
                .map_err(internal)?;
        }
    }
    if let Some(upload) = call.params.take_file("metadata") {
        let bytes = upload.body.to_vec().map_err(internal)?;
        store
            .put_file(id, "metadata", "metadata.xml", &bytes)
            .map_err(internal)?;
    }
    Ok(())
}

pub(super) fn bytes(content_type: &str, data: Vec<u8>) -> Response {
    ([("content-type", content_type.to_owned())], data).into_response()
}

/// `content/items/<id>/resources`: paged `{resource, size, created, access}`.
pub(super) fn list_resources(call: &Call, id: &str) -> Result<Response, Response> {
    readable(call, id)?;
    let all = call.shared.store.resources(id).map_err(internal)?;
    let listed: Vec<Value> = all.into_iter().map(|(path, size, created)| json!({"resource": path, "size": size, "created": created, "access": "inherit"})).collect();
    Ok(call.reply(&page(&call.params, &listed, "resources")))
}

/// `content/items/<id>/resources/<path>`: the bytes.
pub(super) fn resource(call: &Call, id: &str, path: &str) -> Result<Response, Response> {
    readable(call, id)?;
    match call.shared.store.resource(id, path).map_err(internal)? {
        Some(data) => Ok(bytes(content_type(path), data)),
        None => Err(error(
            400,
            "Resource does not exist or is inaccessible.",
            &[],
        )),
    }
}

/// `content/items/<id>/info/<thumbnail path>` and `…/info/metadata/metadata.xml`.
pub(super) fn info(call: &Call, id: &str, path: &str) -> Result<Response, Response> {
    let item = readable(call, id)?;
    let (kind, wanted) = if path == "metadata/metadata.xml" {
        ("metadata", None)
    } else {
        (
            "thumbnail",
            item.json
                .get("thumbnail")
                .and_then(Value::as_str)
                .map(str::to_owned),
        )
    };
    if kind == "thumbnail" && wanted.as_deref() != Some(path) {
        return Err(error(400, "File does not exist or is inaccessible.", &[]));
    }
    match call.shared.store.file(id, kind).map_err(internal)? {
        Some((name, data)) => Ok(bytes(
            if kind == "metadata" {
                "application/xml"
            } else {
                content_type(&name)
            },
            data,
        )),
        None if kind == "metadata" => Err(error(
            400,
            "Item metadata does not exist or is inaccessible.",
            &[],
        )),
        None => Err(error(400, "File does not exist or is inaccessible.", &[])),
    }
}

pub(super) fn content_type(name: &str) -> &'static str {
    match name
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("txt") => "text/plain",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// `addResources`, `updateResources` (a `file` part, or `text`, named by `fileName` under
/// `resourcesPrefix`) and `removeResources` (`resource`, or `deleteAll=true`).
pub(super) fn resources_op(
    call: &Call,
    owner: &str,
    item: &StoredItem,
    id: &str,
    op: &str,
) -> Result<Response, Response> {
    let p = &call.params;
    if op == "removeResources" {
        let removed = if p.get("deleteAll") == Some("true") {
            call.shared
                .store
                .remove_resources(id, None)
                .map_err(internal)?
        } else {
            let Some(path) = p.get("resource") else {
                return Err(error(400, "'resource' must be specified.", &[]));
            };
            call.shared
                .store
                .remove_resources(id, Some(path))
                .map_err(internal)?
        };
        if removed == 0 && p.get("deleteAll") != Some("true") {
            return Err(error(
                400,
                "Resource does not exist or is inaccessible.",
                &[],
            ));
        }
        return Ok(call.reply(&json!({"success": true})));
    }
    let (name, data) = match (p.take_file("file"), p.get("text")) {
        (Some(upload), _) => (
            p.get("fileName").unwrap_or(&upload.name).to_owned(),
            upload.body.to_vec().map_err(internal)?,
        ),
        (None, Some(text)) => match p.get("fileName") {
            Some(n) => (n.to_owned(), text.as_bytes().to_vec()),
            None => return Err(error(400, "'fileName' must be specified.", &[])),
        },
        (None, None) => return Err(error(400, "'file' or 'text' must be specified.", &[])),
    };
    let path = match p.get("resourcesPrefix") {
        Some(prefix) => format!("{}/{name}", prefix.trim_matches('/')),
        None => name,
    };
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(error(400, "Invalid resource name.", &[]));
    }
    call.shared
        .store
        .put_resource(id, &path, &data, crate::now_ms())
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "itemId": id, "owner": owner, "folder": item.folder})))
}

/// `content/users/<u>/addRelationship`: `originItemId`, `destinationItemId`, `relationshipType`.
pub(super) fn add_relationship(call: &Call, owner: &str) -> Result<Response, Response> {
    let (origin, destination, kind) = relationship_params(call, owner)?;
    call.shared
        .store
        .add_relationship(origin, destination, kind)
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}

/// `content/users/<u>/deleteRelationship`: the parameters of `addRelationship`. Removing a
/// relationship that does not exist also answers success (the reference does not say otherwise).
pub(super) fn delete_relationship(call: &Call, owner: &str) -> Result<Response, Response> {
    let (origin, destination, kind) = relationship_params(call, owner)?;
    call.shared
        .store
        .delete_relationship(origin, destination, kind)
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}

/// `originItemId`, `destinationItemId` and `relationshipType`, with both items readable.
fn relationship_params<'c>(
    call: &'c Call,
    owner: &str,
) -> Result<(&'c str, &'c str, &'c str), Response> {
    owner_or_admin(call, owner)?;
    let p = &call.params;
    let (Some(origin), Some(destination), Some(kind)) = (
        p.get("originItemId"),
        p.get("destinationItemId"),
        p.get("relationshipType"),
    ) else {
        return Err(error(
            400,
            "'originItemId', 'destinationItemId' and 'relationshipType' must be specified.",
            &[],
        ));
    };
    for id in [origin, destination] {
        readable(call, id)?;
    }
    Ok((origin, destination, kind))
}

/// `content/items/<id>/relatedItems`: `relationshipType` (or `relationshipTypes`), `direction`.
pub(super) fn related_items(call: &Call, id: &str) -> Result<Response, Response> {
    readable(call, id)?;
    let p = &call.params;
    let Some(kinds) = p.get("relationshipType").or(p.get("relationshipTypes")) else {
        return Err(error(400, "'relationshipType' must be specified.", &[]));
    };
    let forward = p.get("direction") != Some("reverse");
    let mut related = Vec::new();
    for kind in kinds.split(',').map(str::trim) {
        for other in call
            .shared
            .store
            .related(id, kind, forward)
            .map_err(internal)?
        {
            if let Some(item) = call
                .shared
                .store
                .item(&call.org, &other)
                .map_err(internal)?
                && can_read(call, &item)?
            {
                related.push(item.json);
            }
        }
    }
    Ok(call.reply(&json!({"total": related.len(), "relatedItems": related})))
}

/// `content/items/<id>/groups`: the groups holding the item that the caller can see, by the
/// caller's membership.
pub(super) fn item_groups(call: &Call, id: &str) -> Result<Response, Response> {
    let item = readable(call, id)?;
    let (mut admin, mut member, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for g in &item.groups {
        let Some(group) = call.shared.store.group(&call.org, g).map_err(internal)? else {
            continue;
        };
        let membership = match &call.user {
            Some(u) => call
                .shared
                .store
                .group_members(g)
                .map_err(internal)?
                .into_iter()
                .find(|m| m.0 == u.username)
                .map(|m| m.1),
            None => None,
        };
        match membership.as_deref() {
            Some("owner" | "admin") => admin.push(group),
            Some(_) => member.push(group),
            None if call.is_admin()
                || group.get("access").and_then(Value::as_str) != Some("private") =>
            {
                other.push(group);
            }
            None => {}
        }
    }
    Ok(call.reply(&json!({"admin": admin, "member": member, "other": other})))
}

/// `content/groups/<id>`: the group's items the caller may read, paged under `items`.
pub(super) fn group_content(call: &Call, id: &str) -> Result<Response, Response> {
    if call
        .shared
        .store
        .group(&call.org, id)
        .map_err(internal)?
        .is_none()
    {
        return Err(error(400, "Group does not exist or is inaccessible.", &[]));
    }
    // Computed once for the pages of one walk (a group of 5,000 items was read whole per page).
    let reader = call.user.as_ref().map_or("", |u| u.username.as_str());
    let key = format!("group {} {id} {reader} {}", call.org, call.rest);
    let items = call.shared.store.remembered(&key, || {
        let mut items = Vec::new();
        for item in call
            .shared
            .store
            .group_items(&call.org, id)
            .map_err(internal)?
        {
            if can_read(call, &item)? {
                items.push(item.json);
            }
        }
        Ok::<_, Response>(items)
    })?;
    Ok(call.reply(&page(&call.params, &items, "items")))
}

/// `…/items/<id>/move`: `folder` (an id, or `/` for the root).
pub(super) fn move_item(call: &Call, owner: &str, id: &str) -> Result<Response, Response> {
    let target = folder_id(call, owner, call.params.get("folder").unwrap_or("/"))?;
    let store = &call.shared.store;
    let Some(mut item) = store.item(&call.org, id).map_err(internal)? else {
        return Err(error(400, NOT_FOUND, &[]));
    };
    item.json
        .as_object_mut()
        .expect("object")
        .insert("ownerFolder".into(), json!(target));
    store
        .update_item(id, &item.json, None, crate::now_ms())
        .map_err(internal)?;
    store
        .set_owner_folder(id, owner, target.as_deref())
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "itemId": id, "owner": owner, "folder": target})))
}

/// `…/items/<id>/reassign` (administrators): `targetUsername`, `targetFolderName` (created when
/// missing; `/` for the root).
pub(super) fn reassign(
    call: &Call,
    _owner: &str,
    item: &StoredItem,
    id: &str,
) -> Result<Response, Response> {
    if !call.is_admin() {
        return Err(error(403, FORBIDDEN, &[]));
    }
    let Some(target) = call.params.get("targetUsername") else {
        return Err(error(400, "'targetUsername' must be specified.", &[]));
    };
    let store = &call.shared.store;
    match store.user(&call.org, target).map_err(internal)? {
        None => return Err(error(400, &format!("User not found: '{target}'"), &[])),
        Some(u) if u.disabled => {
            return Err(error(
                400,
                &format!("User '{target}' is disabled and cannot receive content."),
                &[],
            ));
        }
        Some(_) => {}
    }
    // A private item may go only to someone who can reach every group it is shared with.
    let wide = matches!(item.json["access"].as_str(), Some("org" | "public"));
    if !wide {
        for g in &item.groups {
            if super::groups::membership(call, g, target)?.is_none() {
                return Err(error(
                    400,
                    &format!("Unable to reassign item '{id}'."),
                    &[&format!(
                        "The item is shared with group '{g}', which '{target}' is not a member of: items with a private sharing level may only go to a user with sharing access to all its groups."
                    )],
                ));
            }
        }
    }
    let folder = match call.params.get("targetFolderName").filter(|f| *f != "/") {
        Some(title) => {
            let existing = store
                .folders(&call.org, target)
                .map_err(internal)?
                .into_iter()
                .find(|f| f.1 == title)
                .map(|f| f.0);
            if let Some(f) = existing {
                Some(f)
            } else {
                let fid = crate::new_id();
                store
                    .add_folder(&fid, &call.org, target, title, crate::now_ms())
                    .map_err(internal)?;
                Some(fid)
            }
        }
        None => None,
    };
    let mut json = item.json.clone();
    let o = json.as_object_mut().expect("object");
    o.insert("owner".into(), json!(target));
    o.insert("ownerFolder".into(), json!(folder));
    store
        .update_item(id, &json, None, crate::now_ms())
        .map_err(internal)?;
    store
        .set_owner_folder(id, target, folder.as_deref())
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "itemId": id})))
}
