//! Groups and their settings (spec/portal-api.md, section Groups): `community/createGroup`,
//! `community/groups/<id>` with the caller's membership, `update`, `delete`, `protect` /
//! `unprotect`, and the content category schema. Membership is in `members.rs`.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::auth::internal;
use super::content::list;
use super::{Call, FORBIDDEN, error};

pub(super) const NO_GROUP: &str = "Group does not exist or is inaccessible.";

const SORT_FIELDS: &[&str] = &[
    "title",
    "owner",
    "avgrating",
    "numviews",
    "created",
    "modified",
];

/// The settings `createGroup` and `update` take, checked and written into the group JSON `o`.
/// `creating` allows `capabilities` (a shared-update group is made so, never changed into one).
fn apply_settings(call: &Call, o: &mut Map<String, Value>, creating: bool) -> Result<(), Response> {
    let p = &call.params;
    let bad = |key: &str, value: &str| error(400, &format!("Invalid {key}: '{value}'"), &[]);
    if let Some(access) = p.get("access") {
        let access = match access {
            "account" => "org",
            a @ ("private" | "org" | "public") => a,
            other => return Err(bad("access", other)),
        };
        o.insert("access".into(), json!(access));
    }
    for key in ["title", "description", "snippet", "phone"] {
        if let Some(v) = p.fields.get(key) {
            o.insert(key.into(), json!(v));
        }
    }
    if let Some(field) = p.get("sortField") {
        if !SORT_FIELDS.contains(&field.to_ascii_lowercase().as_str()) {
            return Err(bad("sortField", field));
        }
        o.insert("sortField".into(), json!(field));
    }
    if let Some(order) = p.get("sortOrder") {
        if !matches!(order, "asc" | "desc") {
            return Err(bad("sortOrder", order));
        }
        o.insert("sortOrder".into(), json!(order));
    }
    for key in [
        "isInvitationOnly",
        "isViewOnly",
        "autoJoin",
        "hiddenMembers",
        "leavingDisallowed",
        "isOpenData",
    ] {
        if let Some(v) = p.get(key) {
            if !matches!(v.to_ascii_lowercase().as_str(), "true" | "false") {
                return Err(bad(key, v));
            }
            o.insert(key.into(), json!(v.eq_ignore_ascii_case("true")));
        }
    }
    if let Some(access) = p.fields.get("membershipAccess") {
        if !matches!(access.as_str(), "" | "org" | "collaboration" | "none") {
            return Err(bad("membershipAccess", access));
        }
        let value = if access.is_empty() {
            Value::Null
        } else {
            json!(access)
        };
        o.insert("membershipAccess".into(), value);
    }
    for key in ["displaySettings", "properties"] {
        if let Some(raw) = p.get(key) {
            let v: Value = serde_json::from_str(raw).map_err(|_| bad(key, raw))?;
            o.insert(key.into(), v);
        }
    }
    for key in ["tags", "typeKeywords"] {
        if p.fields.contains_key(key) {
            o.insert(key.into(), json!(list(p, key)));
        }
    }
    if let Some(caps) = p.fields.get("capabilities") {
        let caps: Vec<String> = caps
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(c) = caps.iter().find(|c| *c != "updateitemcontrol") {
            return Err(bad("capabilities", c));
        }
        let had = o.get("capabilities").cloned().unwrap_or(json!([]));
        if !creating && had != json!(caps) {
            return Err(error(
                400,
                "The capabilities of a group cannot be changed after it is created.",
                &[],
            ));
        }
        if creating && !caps.is_empty() && !call.may("portal:admin:createUpdateCapableGroup")? {
            return Err(error(403, FORBIDDEN, &[]));
        }
        o.insert("capabilities".into(), json!(caps));
    }
    if o.get("isInvitationOnly") == Some(&json!(true)) && o.get("autoJoin") == Some(&json!(true)) {
        return Err(error(
            400,
            "A group cannot be both invitation only and open to join automatically.",
            &[],
        ));
    }
    Ok(())
}

/// `community/createGroup` (the `portal:user:createGroup` privilege; a shared-update group
/// `portal:admin:createUpdateCapableGroup`). Titles are unique per owner, case-insensitive.
pub(super) fn create(call: &Call) -> Result<Response, Response> {
    let user = call.require("portal:user:createGroup")?;
    let Some(title) = call.params.get("title") else {
        return Err(error(400, "'title' must be specified.", &[]));
    };
    let store = &call.shared.store;
    let taken = store.groups(&call.org).map_err(internal)?.iter().any(|g| {
        g["owner"] == user.username.as_str()
            && g["title"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(title))
    });
    if taken {
        return Err(error(
            400,
            &format!("You already have a group named '{title}'. Try a different name."),
            &[],
        ));
    }
    let id = crate::new_id();
    let now = crate::now_ms();
    let mut group = json!({
        "id": id, "title": title, "owner": user.username, "access": "private", "tags": [],
        "description": null, "snippet": null, "phone": null, "typeKeywords": [],
        "isInvitationOnly": false, "isViewOnly": false, "autoJoin": false, "hiddenMembers": false,
        "leavingDisallowed": false, "isOpenData": false, "membershipAccess": null,
        "isReadOnly": false, "isFav": false, "provider": null, "providerGroupName": null,
        "sortField": "title", "sortOrder": "asc", "capabilities": [], "displaySettings": {"itemTypes": ""},
        "properties": null, "created": now, "modified": now, "orgId": call.org_id, "thumbnail": null,
        "protected": false, "hasCategorySchema": false,
    });
    apply_settings(call, group.as_object_mut().expect("object"), true)?;
    let thumbnail = take_thumbnail(call)?;
    if let Some((name, _)) = &thumbnail {
        group["thumbnail"] = json!(name);
    }
    store
        .add_group(&call.org, &group, &user.username)
        .map_err(internal)?;
    if let Some((name, bytes)) = thumbnail {
        store
            .put_portrait("group", &id, &name, &bytes)
            .map_err(internal)?;
    }
    Ok(call.reply(&json!({"success": true, "group": group})))
}

/// `community/groups/<id>`: groups the caller may see (members, the organization's groups for
/// its members, public groups), with the caller's `userMembership`.
pub(super) fn get(call: &Call, id: &str) -> Result<Response, Response> {
    let Some(mut group) = visible_group(call, id)? else {
        return Err(error(400, NO_GROUP, &[]));
    };
    if let Some(u) = &call.user {
        let member_type = membership(call, id, &u.username)?.unwrap_or_else(|| "none".into());
        group["userMembership"] = json!({"username": u.username, "memberType": member_type});
    }
    Ok(call.reply(&group))
}

/// `username`'s membership type in group `id` (`owner`, `admin`, `member`), if any.
pub(super) fn membership(
    call: &Call,
    id: &str,
    username: &str,
) -> Result<Option<String>, Response> {
    Ok(call
        .shared
        .store
        .group_members(id)
        .map_err(internal)?
        .into_iter()
        .find(|(n, _)| n == username)
        .map(|m| m.1))
}

/// The group's JSON when the caller may see it.
pub(super) fn visible_group(call: &Call, id: &str) -> Result<Option<Value>, Response> {
    let Some(group) = call.shared.store.group(&call.org, id).map_err(internal)? else {
        return Ok(None);
    };
    let access = group
        .get("access")
        .and_then(Value::as_str)
        .unwrap_or("private");
    let member = match &call.user {
        Some(u) => membership(call, id, &u.username)?.is_some(),
        None => false,
    };
    let visible = access == "public"
        || (access == "org" && call.user.is_some())
        || member
        || call.may("portal:admin:viewGroups")?;
    Ok(visible.then_some(group))
}

/// The group and its members, when the caller may manage it: its owner or a manager, or an
/// administrator holding `privilege`.
pub(super) fn managed(
    call: &Call,
    id: &str,
    privilege: &str,
) -> Result<(Value, Vec<(String, String)>), Response> {
    let user = call.require_user()?;
    let Some(group) = call.shared.store.group(&call.org, id).map_err(internal)? else {
        return Err(error(400, NO_GROUP, &[]));
    };
    let members = call.shared.store.group_members(id).map_err(internal)?;
    let manager = members
        .iter()
        .any(|(name, kind)| *name == user.username && kind != "member");
    if !(manager || call.may(privilege)?) {
        return Err(error(403, FORBIDDEN, &[]));
    }
    Ok((group, members))
}

/// `community/groups/<id>/update`: the owner, a manager or an administrator; any setting
/// `createGroup` takes except `capabilities` (fixed at creation).
pub(super) fn update(call: &Call, id: &str) -> Result<Response, Response> {
    let (mut group, _) = managed(call, id, "portal:admin:updateGroups")?;
    let o = group.as_object_mut().expect("group JSON is an object");
    apply_settings(call, o, false)?;
    if let Some((name, bytes)) = take_thumbnail(call)? {
        o.insert("thumbnail".into(), json!(name));
        call.shared
            .store
            .put_portrait("group", id, &name, &bytes)
            .map_err(internal)?;
    }
    o.insert("modified".into(), json!(crate::now_ms()));
    call.shared
        .store
        .update_group(id, &group)
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "groupId": id})))
}

/// `community/groups/<id>/delete`: the owner or an administrator; refused while the group is
/// protected. Items shared with it alone become private.
pub(super) fn delete(call: &Call, id: &str) -> Result<Response, Response> {
    let (group, members) = managed(call, id, "portal:admin:deleteGroups")?;
    let user = call.require_user()?;
    let owner = members
        .iter()
        .any(|(name, kind)| *name == user.username && kind == "owner");
    if !(owner || call.may("portal:admin:deleteGroups")?) {
        return Err(error(403, FORBIDDEN, &[]));
    }
    if group.get("protected") == Some(&json!(true)) {
        return Err(error(
            400,
            "Unable to delete group. Delete protection is turned on.",
            &[],
        ));
    }
    call.shared.store.delete_group(id).map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "groupId": id})))
}

/// `community/groups/<id>/protect` and `unprotect`.
pub(super) fn protect(call: &Call, id: &str, on: bool) -> Result<Response, Response> {
    let (mut group, _) = managed(call, id, "portal:admin:updateGroups")?;
    group["protected"] = json!(on);
    call.shared
        .store
        .update_group(id, &group)
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}

/// `community/groups/<id>/categorySchema`: `{"categorySchema": [...]}`.
pub(super) fn category_schema(call: &Call, id: &str) -> Result<Response, Response> {
    if visible_group(call, id)?.is_none() {
        return Err(error(400, NO_GROUP, &[]));
    }
    let schema = call.shared.store.category_schema(id).map_err(internal)?;
    Ok(call.reply(&json!({"categorySchema": schema})))
}

/// `community/groups/<id>/assignCategorySchema`: `categorySchema` = `{"categorySchema":
/// [{"title", "categories": [...]}]}` (or the bare list); each top level needs a `title`.
pub(super) fn assign_category_schema(call: &Call, id: &str) -> Result<Response, Response> {
    managed(call, id, "portal:admin:updateGroups")?;
    let schema = parse_category_schema(call)?;
    call.shared
        .store
        .set_category_schema(id, &schema)
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}

/// The `categorySchema` parameter of a group's or the organization's `assignCategorySchema`.
pub(super) fn parse_category_schema(call: &Call) -> Result<Value, Response> {
    let raw = call.params.get("categorySchema").unwrap_or("");
    let parsed: Option<Value> = serde_json::from_str::<Value>(raw)
        .ok()
        .map(|v| v.get("categorySchema").cloned().unwrap_or(v));
    let valid = parsed.as_ref().and_then(Value::as_array).is_some_and(|a| {
        a.iter()
            .all(|c| c.get("title").and_then(Value::as_str).is_some())
    });
    match (valid, parsed) {
        (true, Some(schema)) => Ok(schema),
        _ => Err(error(
            400,
            "Invalid categorySchema: expected {\"categorySchema\": [{\"title\": …, \"categories\": […]}]}.",
            &[],
        )),
    }
}

/// The `thumbnail` file part, read whole (thumbnails are small: at most 10 MiB).
pub(super) fn take_thumbnail(call: &Call) -> Result<Option<(String, Vec<u8>)>, Response> {
    let Some(upload) = call.params.take_file("thumbnail") else {
        return Ok(None);
    };
    if upload.body.len() > 10 << 20 {
        return Err(error(400, "The thumbnail is larger than 10 MB.", &[]));
    }
    let bytes = upload.body.to_vec().map_err(internal)?;
    Ok(Some((upload.name, bytes)))
}

/// `community/groups/<id>/info/<file>`: the group's thumbnail, by the name its JSON gives.
pub(super) fn thumbnail(call: &Call, id: &str, file: &str) -> Result<Response, Response> {
    if visible_group(call, id)?.is_none() {
        return Err(error(400, NO_GROUP, &[]));
    }
    match call.shared.store.portrait("group", id).map_err(internal)? {
        Some((name, data)) if name == file => {
            Ok(super::parts::bytes(super::parts::content_type(&name), data))
        }
        _ => Err(error(400, "File does not exist or is inaccessible.", &[])),
    }
}
