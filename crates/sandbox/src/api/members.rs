//! Group membership (spec/portal-api.md, section Groups): `users` (owner, managers, members),
//! `addUsers`, `removeUsers`, `updateUsers` (member ↔ manager), `invite` (accepted at once),
//! `join` / `leave` and `reassign`. The owner, the group's managers and administrators holding
//! `portal:admin:assignToGroups` change membership; at most 25 usernames per request.

use axum::response::Response;
use serde_json::json;

use super::auth::internal;
use super::content::list;
use super::groups::{NO_GROUP, managed, membership, visible_group};
use super::{Call, FORBIDDEN, error};

/// Usernames per request, as the reference's `addUsers` page states.
const MAX_USERS: usize = 25;

fn at_most_25(n: usize, verb: &str) -> Result<(), Response> {
    if n > MAX_USERS {
        return Err(error(
            400,
            &format!("A maximum of 25 users can be {verb} in one request."),
            &[],
        ));
    }
    Ok(())
}

/// `community/groups/<id>/users`: `{owner, admins, users}` (`admins` has the owner too). Members
/// of a group with hidden members see its owner and managers only.
pub(super) fn users(call: &Call, id: &str) -> Result<Response, Response> {
    let caller = call.require_user()?;
    let Some(group) = visible_group(call, id)? else {
        return Err(error(400, NO_GROUP, &[]));
    };
    let members = call.shared.store.group_members(id).map_err(internal)?;
    let owner = members.iter().find(|m| m.1 == "owner").map(|m| m.0.clone());
    let admins: Vec<&String> = members
        .iter()
        .filter(|m| m.1 != "member")
        .map(|m| &m.0)
        .collect();
    let manager = admins.iter().any(|a| **a == caller.username);
    let hidden = group.get("hiddenMembers") == Some(&json!(true))
        && !manager
        && !call.may("portal:admin:viewGroups")?;
    let users: Vec<&String> = if hidden {
        Vec::new()
    } else {
        members
            .iter()
            .filter(|m| m.1 == "member")
            .map(|m| &m.0)
            .collect()
    };
    Ok(call.reply(&json!({"owner": owner, "admins": admins, "users": users})))
}

/// `addUsers`: `users` (members) and `admins` (managers), comma lists. Users that are not in the
/// organization, or are disabled, are answered in `notAdded`; existing members keep their role.
pub(super) fn add(call: &Call, id: &str) -> Result<Response, Response> {
    let (_, members) = managed(call, id, "portal:admin:assignToGroups")?;
    let users = list(&call.params, "users");
    let admins = list(&call.params, "admins");
    at_most_25(users.len() + admins.len(), "added")?;
    let store = &call.shared.store;
    let mut not_added = Vec::new();
    let wanted = users
        .iter()
        .map(|u| (u, "member"))
        .chain(admins.iter().map(|u| (u, "admin")));
    for (username, member_type) in wanted {
        match store.user(&call.org, username).map_err(internal)? {
            Some(u) if !u.disabled => {
                if !members.iter().any(|m| m.0 == *username) {
                    store
                        .add_member(id, username, member_type)
                        .map_err(internal)?;
                }
            }
            _ => not_added.push(username.clone()),
        }
    }
    Ok(call.reply(&json!({"notAdded": not_added})))
}

/// `removeUsers`: `users`, a comma list. The owner and users who are not members are answered
/// in `notRemoved`.
pub(super) fn remove(call: &Call, id: &str) -> Result<Response, Response> {
    let (_, members) = managed(call, id, "portal:admin:assignToGroups")?;
    let users = list(&call.params, "users");
    at_most_25(users.len(), "removed")?;
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

/// `updateUsers`: `admins` (members made managers) or `users` (managers made members). The
/// owner and non-members fail. Answer `{"results": [{"username", "success"}]}`.
pub(super) fn update(call: &Call, id: &str) -> Result<Response, Response> {
    let (_, members) = managed(call, id, "portal:admin:assignToGroups")?;
    let admins = list(&call.params, "admins");
    let users = list(&call.params, "users");
    at_most_25(admins.len() + users.len(), "updated")?;
    let mut results = Vec::new();
    let wanted = admins
        .iter()
        .map(|u| (u, "admin"))
        .chain(users.iter().map(|u| (u, "member")));
    for (username, member_type) in wanted {
        let ok = match members.iter().find(|m| m.0 == *username) {
            Some((_, kind)) if kind != "owner" => {
                call.shared
                    .store
                    .set_member_type(id, username, member_type)
                    .map_err(internal)?;
                true
            }
            _ => false,
        };
        results.push(json!({"username": username, "success": ok}));
    }
    Ok(call.reply(&json!({"results": results})))
}

/// `invite`: `users`, `role` (`group_member` | `group_admin`), `expiration` (minutes). Members
/// of the organization accept at once (the sandbox has no one to wait for); an unknown or
/// disabled user fails the request and nothing changes.
pub(super) fn invite(call: &Call, id: &str) -> Result<Response, Response> {
    let (_, members) = managed(call, id, "portal:admin:assignToGroups")?;
    let users = list(&call.params, "users");
    at_most_25(users.len(), "invited")?;
    let member_type = match call.params.get("role").unwrap_or("group_member") {
        "group_member" => "member",
        "group_admin" => "admin",
        other => return Err(error(400, &format!("Invalid role: '{other}'"), &[])),
    };
    if let Some(e) = call.params.get("expiration")
        && e.parse::<u32>().is_err()
    {
        return Err(error(400, &format!("Invalid expiration: '{e}'"), &[]));
    }
    let store = &call.shared.store;
    for username in &users {
        match store.user(&call.org, username).map_err(internal)? {
            Some(u) if !u.disabled => {}
            _ => return Err(error(400, &format!("User not found: '{username}'"), &[])),
        }
    }
    for username in &users {
        if !members.iter().any(|m| m.0 == *username) {
            store
                .add_member(id, username, member_type)
                .map_err(internal)?;
        }
    }
    Ok(call.reply(&json!({"success": true})))
}

/// `join`: the caller joins a group they can see that is open to them: not invitation-only, of
/// their organization when `membershipAccess` is `org`. A group that is not `autoJoin` takes
/// applications, which the sandbox does not serve: refused with that said.
pub(super) fn join(call: &Call, id: &str) -> Result<Response, Response> {
    let user = call.require("portal:user:joinGroup")?;
    let Some(group) = visible_group(call, id)? else {
        return Err(error(400, NO_GROUP, &[]));
    };
    if membership(call, id, &user.username)?.is_some() {
        return Err(error(
            400,
            &format!(
                "User '{}' is already a member of this group.",
                user.username
            ),
            &[],
        ));
    }
    if group.get("isInvitationOnly") == Some(&json!(true)) {
        return Err(error(
            403,
            "This group is invitation only. You cannot join it.",
            &[],
        ));
    }
    if group.get("autoJoin") != Some(&json!(true)) {
        return Err(error(
            400,
            "Joining this group needs a manager's approval: group applications are not served by the sandbox (set autoJoin, or add the member with addUsers).",
            &[],
        ));
    }
    call.shared
        .store
        .add_member(id, &user.username, "member")
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "groupId": id})))
}

/// `leave`: the caller leaves; the owner cannot, nor anyone when `leavingDisallowed`.
pub(super) fn leave(call: &Call, id: &str) -> Result<Response, Response> {
    let user = call.require_user()?;
    let Some(group) = visible_group(call, id)? else {
        return Err(error(400, NO_GROUP, &[]));
    };
    match membership(call, id, &user.username)?.as_deref() {
        None => Err(error(400, "You are not a member of this group.", &[])),
        Some("owner") => Err(error(
            400,
            "The group owner cannot leave the group. Reassign it first.",
            &[],
        )),
        Some(_) if group.get("leavingDisallowed") == Some(&json!(true)) => {
            Err(error(403, "Members cannot leave this group.", &[]))
        }
        Some(_) => {
            call.shared
                .store
                .remove_member(id, &user.username)
                .map_err(internal)?;
            Ok(call.reply(&json!({"success": true, "groupId": id})))
        }
    }
}

/// `reassign`: `targetUsername` (a member of the organization who may own groups) becomes the
/// owner; the previous owner stays as a manager. The owner or an administrator.
pub(super) fn reassign(call: &Call, id: &str) -> Result<Response, Response> {
    let (group, members) = managed(call, id, "portal:admin:reassignGroups")?;
    let caller = call.require_user()?;
    let owner = group["owner"].as_str().unwrap_or_default();
    if caller.username != owner && !call.may("portal:admin:reassignGroups")? {
        return Err(error(403, FORBIDDEN, &[]));
    }
    let Some(target) = call.params.get("targetUsername") else {
        return Err(error(400, "'targetUsername' must be specified.", &[]));
    };
    let store = &call.shared.store;
    let Some(to) = store.user(&call.org, target).map_err(internal)? else {
        return Err(error(400, &format!("User not found: '{target}'"), &[]));
    };
    let may_own = super::roles::privileges(call, &to)?
        .iter()
        .any(|p| p == "portal:user:createGroup");
    if to.disabled || !may_own {
        return Err(error(
            400,
            &format!("User '{target}' cannot own groups."),
            &[],
        ));
    }
    if members.iter().any(|m| m.0 == to.username && m.1 == "owner") {
        return Ok(call.reply(&json!({"success": true})));
    }
    store.set_group_owner(id, &to.username).map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}
