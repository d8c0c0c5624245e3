//! Group membership changes: `community/groups/<id>/addUsers` and `removeUsers`.
//!
//! The group's owner, its managers and the organization's administrators may change membership
//! (the reference's `addUsers` page); at most 25 usernames per request.

use axum::response::Response;
use serde_json::json;

use super::auth::internal;
use super::content::list;
use super::{Call, FORBIDDEN, error};

/// Usernames per request, as the reference's `addUsers` page states.
const MAX_USERS: usize = 25;

/// `addUsers`: `users` (members) and `admins` (managers), comma lists. Users that are not in the
/// organization are answered in `notAdded`; existing members keep their role.
pub(super) fn add_users(call: &Call, id: &str) -> Result<Response, Response> {
    let members = may_manage(call, id)?;
    let users = list(&call.params, "users");
    let admins = list(&call.params, "admins");
    if users.len() + admins.len() > MAX_USERS {
        return Err(error(
            400,
            "A maximum of 25 users can be added in one request.",
            &[],
        ));
    }
    let mut not_added = Vec::new();
    let wanted = users
        .iter()
        .map(|u| (u, "member"))
        .chain(admins.iter().map(|u| (u, "admin")));
    for (username, member_type) in wanted {
        let known = call
            .shared
            .store
            .user(&call.org, username)
            .map_err(internal)?
            .is_some();
        if !known {
            not_added.push(username.clone());
        } else if !members.iter().any(|m| m.0 == *username) {
            call.shared
                .store
                .add_member(id, username, member_type)
                .map_err(internal)?;
        }
    }
    Ok(call.reply(&json!({"notAdded": not_added})))
}

/// `removeUsers`: `users`, a comma list. The owner and users who are not members are answered
/// in `notRemoved`.
pub(super) fn remove_users(call: &Call, id: &str) -> Result<Response, Response> {
    let members = may_manage(call, id)?;
    let users = list(&call.params, "users");
    if users.len() > MAX_USERS {
        return Err(error(
            400,
            "A maximum of 25 users can be removed in one request.",
            &[],
        ));
    }
    let mut not_removed = Vec::new();
    for username in users {
        match members.iter().find(|m| m.0 == username) {
            Some((_, kind)) if kind != "owner" => {
                call.shared
                    .store
                    .remove_member(id, &username)
                    .map_err(internal)?;
            }
            _ => not_removed.push(username),
        }
    }
    Ok(call.reply(&json!({"notRemoved": not_removed})))
}

/// `community/groups/<id>/delete`: the group's owner or an administrator. Items shared with it
/// alone become private. Answer: `{"success": true, "groupId"}`.
pub(super) fn delete(call: &Call, id: &str) -> Result<Response, Response> {
    let members = may_manage(call, id)?;
    let user = call.require_user()?;
    let owner = members
        .iter()
        .any(|(name, kind)| *name == user.username && kind == "owner");
    if !(owner || call.is_admin()) {
        return Err(error(403, FORBIDDEN, &[]));
    }
    call.shared.store.delete_group(id).map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "groupId": id})))
}

/// `community/groups/<id>/update`: the group's owner or managers, or an administrator. Sets what
/// is given of `title`, `access` (`private`, `org`/`account`, `public`), `tags`, `description`,
/// `snippet`, `isInvitationOnly`, `isViewOnly`, `sortField`, `sortOrder`.
pub(super) fn update(call: &Call, id: &str) -> Result<Response, Response> {
    may_manage(call, id)?;
    let p = &call.params;
    let store = &call.shared.store;
    let Some(mut group) = store.group(&call.org, id).map_err(internal)? else {
        return Err(error(400, "Group does not exist or is inaccessible.", &[]));
    };
    let o = group.as_object_mut().expect("group JSON is an object");
    if let Some(access) = p.get("access") {
        let access = match access {
            "account" => "org",
            a @ ("private" | "org" | "public") => a,
            other => return Err(error(400, &format!("Invalid access: '{other}'"), &[])),
        };
        o.insert("access".into(), json!(access));
    }
    for key in ["title", "description", "snippet", "sortField", "sortOrder"] {
        if let Some(v) = p.get(key) {
            o.insert(key.into(), json!(v));
        }
    }
    for key in ["isInvitationOnly", "isViewOnly"] {
        if let Some(v) = p.get(key) {
            o.insert(key.into(), json!(v.eq_ignore_ascii_case("true")));
        }
    }
    if p.fields.contains_key("tags") {
        o.insert("tags".into(), json!(list(p, "tags")));
    }
    o.insert("modified".into(), json!(crate::now_ms()));
    store.update_group(id, &group).map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "groupId": id})))
}

/// The group's members, when the caller may change them.
fn may_manage(call: &Call, id: &str) -> Result<Vec<(String, String)>, Response> {
    let user = call.require_user()?;
    if call
        .shared
        .store
        .group(&call.org, id)
        .map_err(internal)?
        .is_none()
    {
        return Err(error(400, "Group does not exist or is inaccessible.", &[]));
    }
    let members = call.shared.store.group_members(id).map_err(internal)?;
    let manager = members
        .iter()
        .any(|(name, kind)| *name == user.username && kind != "member");
    if !(manager || call.is_admin()) {
        return Err(error(403, FORBIDDEN, &[]));
    }
    Ok(members)
}
