//! Sharing (spec/portal-api.md, section Sharing): `share` and `unshare` of one item by its owner
//! or an administrator, the same as a group member (`content/items/<id>/share`), and the bulk
//! `shareItems` / `unshareItems`. Sharing to groups adds to the groups an item is shared with;
//! `unshare` takes groups away; `everyone` and `org` set the access level when given.

use axum::response::Response;
use serde_json::{Value, json};

use super::auth::internal;
use super::content::{list, owner_or_admin};
use super::{Call, FORBIDDEN, NOT_FOUND, error};
use crate::store::StoredItem;

/// `content/users/<owner>[/<folder>]/items/<id>/share|unshare` (the item already checked to be
/// the owner's, and the caller the owner or an administrator).
pub(super) fn item(call: &Call, item: &mut StoredItem, op: &str) -> Result<Response, Response> {
    let answer = apply(call, item, op == "share", true)?;
    Ok(call.reply(&answer))
}

/// `content/items/<id>/share|unshare`: sharing to groups by whoever may share to them (a group
/// member or administrator), without being the item's owner. Access levels are left alone.
pub(super) fn as_group_member(call: &Call, id: &str, op: &str) -> Result<Response, Response> {
    call.require_user()?;
    let mut item = match call.shared.store.item(&call.org, id).map_err(internal)? {
        Some(item) if super::content::can_read(call, &item)? => item,
        _ => return Err(error(400, NOT_FOUND, &[])),
    };
    let answer = apply(call, &mut item, op == "share", false)?;
    Ok(call.reply(&answer))
}

/// `content/users/<u>/shareItems|unshareItems`: `items` (comma ids) each shared or unshared as
/// by `share`; per-item failures are reported in `results`, never as a top-level error.
pub(super) fn bulk(call: &Call, owner: &str, op: &str) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    let share = op == "shareItems";
    let mut results = Vec::new();
    for id in list(&call.params, "items") {
        let found = call.shared.store.item(&call.org, &id).map_err(internal)?;
        let outcome = match found {
            Some(mut item) if item.owner == call.require_user()?.username || call.is_admin() => {
                Ok(apply(call, &mut item, share, true)?)
            }
            Some(_) => Err(json!({"code": 403, "message": FORBIDDEN})),
            None => Err(json!({"code": 400, "message": NOT_FOUND})),
        };
        results.push(match outcome {
            Ok(mut answer) => {
                answer["success"] = json!(true);
                answer
            }
            Err(e) => json!({"itemId": id, "success": false, "error": e}),
        });
    }
    Ok(call.reply(&json!({"results": results})))
}

/// How the caller reaches the item: as its owner or an administrator on the owner's behalf
/// (`content/users/<owner>/…/share`, `shareItems`), or as a group manager
/// (`content/items/<id>/share`).
#[derive(Clone, Copy, PartialEq)]
enum Via {
    OwnerPath,
    GroupAdmin,
}

/// Whether `username` may share into `group` as a member: any member, but only the owner and
/// managers of a view-only group.
fn may_share_into(kind: Option<&str>, group: &Value) -> bool {
    let view_only = group.get("isViewOnly") == Some(&json!(true));
    match kind {
        Some("owner" | "admin") => true,
        Some(_) => !view_only,
        None => false,
    }
}

/// Whether the caller may share `item` into `group` (spec/portal-api.md, Sharing rules):
/// - the owner shares into groups they may share into (member; manager of a view-only group),
///   with `portal:user:shareToGroup`;
/// - an administrator (`portal:admin:shareToGroup`) shares any item of the organization (their
///   own too): one that is not shared with the organization or everyone only into groups its
///   owner may share into;
/// - a group's manager shares items they can see into that group (`content/items/<id>/share`);
/// - a shared-update group (`updateitemcontrol`) takes an item only with `confirmItemControl`,
///   and only when its owner is a member.
fn may_share(
    call: &Call,
    item: &StoredItem,
    group: &Value,
    id: &str,
    via: Via,
    wide: bool,
) -> Result<bool, Response> {
    let caller = call.require_user()?;
    let owner_kind = super::groups::membership(call, id, &item.owner)?;
    let caller_kind = super::groups::membership(call, id, &caller.username)?;
    let shared_update = group
        .get("capabilities")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| c == "updateitemcontrol"));
    if shared_update && !(call.params.flag("confirmItemControl", false) && owner_kind.is_some()) {
        return Ok(false);
    }
    if call.may("portal:admin:shareToGroup")?
        && (wide || may_share_into(owner_kind.as_deref(), group))
    {
        return Ok(true);
    }
    if caller.username == item.owner && call.may("portal:user:shareToGroup")? {
        return Ok(may_share_into(caller_kind.as_deref(), group));
    }
    Ok(via == Via::GroupAdmin && matches!(caller_kind.as_deref(), Some("owner" | "admin")))
}

/// Whether the caller may take `item` out of group `id`: its owner, an administrator, or the
/// group's manager.
fn may_unshare(call: &Call, item: &StoredItem, id: &str) -> Result<bool, Response> {
    let caller = call.require_user()?;
    if caller.username == item.owner || call.may("portal:admin:shareToGroup")? {
        return Ok(true);
    }
    let kind = super::groups::membership(call, id, &caller.username)?;
    Ok(matches!(kind.as_deref(), Some("owner" | "admin")))
}

/// Shares `item` to (or unshares it from) the groups in `groups`, and, when `levels` and the
/// flags are given, sets `everyone`/`org`. Groups the caller may not share to are answered in
/// `notSharedWith` (`notUnsharedFrom`); a level the caller may not grant fails the request and
/// nothing changes.
fn apply(call: &Call, item: &mut StoredItem, share: bool, levels: bool) -> Result<Value, Response> {
    let p = &call.params;
    let via = if levels {
        Via::OwnerPath
    } else {
        Via::GroupAdmin
    };
    let caller = call.require_user()?.username.clone();
    let on_behalf = caller != item.owner;
    let id = item.json["id"].as_str().unwrap_or_default().to_owned();
    let flag = |key: &str| p.get(key).map(|v| v.eq_ignore_ascii_case("true"));
    let was = item.json["access"].as_str().unwrap_or("private").to_owned();
    let (mut everyone, mut org) = (was == "public", was == "public" || was == "org");
    if levels && share {
        let scope = if on_behalf { "admin" } else { "user" };
        if let Some(e) = flag("everyone") {
            if e && !everyone && !call.may(&format!("portal:{scope}:shareToPublic"))? {
                return Err(error(403, FORBIDDEN, &[]));
            }
            everyone = e;
        }
        if let Some(o) = flag("org") {
            if o && !org && !call.may(&format!("portal:{scope}:shareToOrg"))? {
                return Err(error(403, FORBIDDEN, &[]));
            }
            org = o || everyone;
        }
    }
    let mut groups = item.groups.clone();
    let mut refused = Vec::new();
    for g in list(p, "groups") {
        let group = call.shared.store.group(&call.org, &g).map_err(internal)?;
        let allowed = match &group {
            None => false,
            Some(group) if share => may_share(call, item, group, &g, via, everyone || org)?,
            Some(_) => may_unshare(call, item, &g)?,
        };
        if !allowed {
            refused.push(g);
        } else if share && !groups.contains(&g) {
            groups.push(g);
        } else if !share {
            groups.retain(|have| *have != g);
        }
    }
    let access = if everyone {
        "public"
    } else if org {
        "org"
    } else if groups.is_empty() {
        "private"
    } else {
        "shared"
    };
    item.json
        .as_object_mut()
        .expect("item JSON is an object")
        .insert("access".into(), json!(access));
    let store = &call.shared.store;
    store
        .update_item(&id, &item.json, None, crate::now_ms())
        .map_err(internal)?;
    store.set_item_groups(&id, &groups).map_err(internal)?;
    let refused_key = if share {
        "notSharedWith"
    } else {
        "notUnsharedFrom"
    };
    Ok(json!({"itemId": id, refused_key: refused}))
}
