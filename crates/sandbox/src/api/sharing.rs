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

/// Shares `item` to (or unshares it from) the groups in `groups`, and, when `levels` and the
/// flags are given, sets `everyone`/`org`. Groups the caller may not share to are answered in
/// `notSharedWith` (`notUnsharedFrom`).
fn apply(call: &Call, item: &mut StoredItem, share: bool, levels: bool) -> Result<Value, Response> {
    let p = &call.params;
    let user = call.require_user()?;
    let id = item.json["id"].as_str().unwrap_or_default().to_owned();
    let mut groups = item.groups.clone();
    let mut refused = Vec::new();
    for g in list(p, "groups") {
        let store = &call.shared.store;
        let exists = store.group(&call.org, &g).map_err(internal)?.is_some();
        let member = exists
            && store
                .group_members(&g)
                .map_err(internal)?
                .iter()
                .any(|m| m.0 == user.username);
        if !(exists && (member || call.is_admin())) {
            refused.push(g);
        } else if share && !groups.contains(&g) {
            groups.push(g);
        } else if !share {
            groups.retain(|have| *have != g);
        }
    }
    let flag = |key: &str| p.get(key).map(|v| v.eq_ignore_ascii_case("true"));
    let was = item.json["access"].as_str().unwrap_or("private").to_owned();
    let (mut everyone, mut org) = (was == "public", was == "public" || was == "org");
    if levels && share {
        if let Some(e) = flag("everyone") {
            everyone = e;
        }
        if let Some(o) = flag("org") {
            org = o;
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
