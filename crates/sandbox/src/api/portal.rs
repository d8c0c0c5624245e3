//! The portal, users and groups.

use axum::response::Response;
use serde_json::{Value, json};

use super::auth::internal;
use super::{Call, FORBIDDEN, error};
use crate::store::User;

fn user_json(call: &Call, u: &User, private: bool) -> Value {
    let mut v = json!({
        "username": u.username, "fullName": u.full_name, "created": u.created, "modified": u.created,
        "culture": "en", "region": "", "units": "metric", "provider": "arcgis", "thumbnail": null,
    });
    if private {
        let privileges: &[&str] = match u.role.as_str() {
            "org_admin" => &[
                "portal:admin:viewUsers",
                "portal:admin:viewItems",
                "portal:admin:updateItems",
                "portal:admin:deleteItems",
                "portal:admin:reassignItems",
                "portal:admin:shareToGroup",
                "portal:admin:createUpdateCapableGroup",
                "portal:user:createItem",
                "portal:user:createGroup",
                "portal:user:shareToGroup",
                "portal:user:shareToOrg",
                "portal:user:shareToPublic",
                "portal:publisher:publishFeatures",
            ],
            "org_publisher" => &[
                "portal:user:createItem",
                "portal:user:createGroup",
                "portal:user:shareToGroup",
                "portal:user:shareToOrg",
                "portal:user:shareToPublic",
                "portal:publisher:publishFeatures",
            ],
            _ => &[
                "portal:user:createItem",
                "portal:user:shareToGroup",
                "portal:user:joinGroup",
            ],
        };
        let o = v.as_object_mut().expect("object");
        o.insert(
            "id".into(),
            json!(crate::hex_id(&format!("user:{}:{}", call.org, u.username))),
        );
        o.insert("orgId".into(), json!(call.org_id));
        o.insert("role".into(), json!(u.role));
        o.insert("privileges".into(), json!(privileges));
        o.insert("level".into(), json!("2"));
        o.insert("disabled".into(), json!(false));
        o.insert("access".into(), json!("org"));
    }
    v
}

/// `portals/self`: the organization, with the caller embedded as `user` when signed in.
#[allow(clippy::unnecessary_wraps)] // every route answers `Result`
pub(super) fn portal_self(call: &Call) -> Result<Response, Response> {
    let host = call
        .rest
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("127.0.0.1");
    let mut v = json!({
        "id": call.org_id, "name": call.org_name, "urlKey": call.org, "isPortal": call.is_portal,
        "portalName": if call.is_portal { "ArcGIS Enterprise" } else { "ArcGIS Online" },
        "portalMode": if call.is_portal { "singletenant" } else { "multitenant" },
        "portalHostname": format!("{host}/{}", call.org), "customBaseUrl": host, "allSSL": false,
        "access": "private", "canSharePublic": true, "canSearchPublic": true, "supportsHostedServices": true,
        "supportsOAuth": true, "currentVersion": crate::CURRENT_VERSION, "culture": "en", "units": "metric",
        "maxTokenExpirationMinutes": 20160, "helperServices": {},
    });
    if let Some(u) = &call.user {
        v.as_object_mut()
            .expect("object")
            .insert("user".into(), user_json(call, u, true));
    }
    Ok(call.reply(&v))
}

/// `community/self`: the caller.
pub(super) fn community_self(call: &Call) -> Result<Response, Response> {
    let user = call.require_user()?;
    Ok(call.reply(&user_json(call, user, true)))
}

/// `community/users/<u>`: public fields for anyone, private ones for the user and administrators.
pub(super) fn community_user(call: &Call, username: &str) -> Result<Response, Response> {
    let Some(u) = call
        .shared
        .store
        .user(&call.org, username)
        .map_err(internal)?
    else {
        return Err(error(400, &format!("User not found: '{username}'"), &[]));
    };
    let private = call.is_admin() || call.user.as_ref().is_some_and(|c| c.username == u.username);
    Ok(call.reply(&user_json(call, &u, private)))
}

/// `portals/self/users`: the organization's members (administrators only), paged.
pub(super) fn org_users(call: &Call) -> Result<Response, Response> {
    call.require_user()?;
    if !call.is_admin() {
        return Err(error(403, FORBIDDEN, &[]));
    }
    let users: Vec<Value> = call
        .shared
        .store
        .users(&call.org)
        .map_err(internal)?
        .iter()
        .map(|u| user_json(call, u, true))
        .collect();
    Ok(call.reply(&super::content::page(&call.params, users, "users")))
}

/// `community/createGroup`.
pub(super) fn create_group(call: &Call) -> Result<Response, Response> {
    let user = call.require_user()?;
    let Some(title) = call.params.get("title") else {
        return Err(error(400, "'title' must be specified.", &[]));
    };
    let access = match call.params.get("access").unwrap_or("private") {
        "account" => "org",
        a @ ("private" | "org" | "public") => a,
        other => return Err(error(400, &format!("Invalid access: '{other}'"), &[])),
    };
    let id = crate::new_id();
    let now = crate::now_ms();
    let tags = super::content::list(&call.params, "tags");
    let group = json!({
        "id": id, "title": title, "owner": user.username, "access": access, "tags": tags,
        "description": call.params.get("description"), "snippet": call.params.get("snippet"),
        "isInvitationOnly": call.params.get("isInvitationOnly") == Some("true"), "isViewOnly": call.params.get("isViewOnly") == Some("true"),
        "created": now, "modified": now, "orgId": call.org_id, "thumbnail": null, "protected": false,
        "capabilities": call.params.get("capabilities").map(|c| vec![c]).unwrap_or_default(),
    });
    call.shared
        .store
        .add_group(&call.org, &group, &user.username)
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "group": group})))
}

/// `community/groups/<id>`: groups the caller may see (members, org groups, public groups).
pub(super) fn group(call: &Call, id: &str) -> Result<Response, Response> {
    let Some(mut group) = visible_group(call, id)? else {
        return Err(error(400, "Group does not exist or is inaccessible.", &[]));
    };
    if let Some(u) = &call.user {
        let member_type = call
            .shared
            .store
            .group_members(id)
            .map_err(internal)?
            .into_iter()
            .find(|(n, _)| *n == u.username)
            .map_or("none".to_owned(), |m| m.1);
        group.as_object_mut().expect("object").insert(
            "userMembership".into(),
            json!({"username": u.username, "memberType": member_type}),
        );
    }
    Ok(call.reply(&group))
}

/// `community/groups/<id>/users`: `{owner, admins, users}`.
pub(super) fn group_users(call: &Call, id: &str) -> Result<Response, Response> {
    call.require_user()?;
    if visible_group(call, id)?.is_none() {
        return Err(error(400, "Group does not exist or is inaccessible.", &[]));
    }
    let members = call.shared.store.group_members(id).map_err(internal)?;
    let owner = members.iter().find(|m| m.1 == "owner").map(|m| m.0.clone());
    let admins: Vec<&String> = members
        .iter()
        .filter(|m| m.1 != "member")
        .map(|m| &m.0)
        .collect();
    let users: Vec<&String> = members
        .iter()
        .filter(|m| m.1 == "member")
        .map(|m| &m.0)
        .collect();
    Ok(call.reply(&json!({"owner": owner, "admins": admins, "users": users})))
}

pub(super) fn visible_group(call: &Call, id: &str) -> Result<Option<Value>, Response> {
    let Some(group) = call.shared.store.group(&call.org, id).map_err(internal)? else {
        return Ok(None);
    };
    let access = group
        .get("access")
        .and_then(Value::as_str)
        .unwrap_or("private");
    let member = match &call.user {
        Some(u) => call
            .shared
            .store
            .group_members(id)
            .map_err(internal)?
            .iter()
            .any(|m| m.0 == u.username),
        None => false,
    };
    let visible =
        access == "public" || (access == "org" && call.user.is_some()) || member || call.is_admin();
    Ok(visible.then_some(group))
}
