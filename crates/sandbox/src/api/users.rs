//! Members (spec/portal-api.md, section Users): the user JSON with its groups, role and
//! privileges; listing and searching members; creating them the two real ways (ArcGIS Online's
//! `portals/self/invite`, accepted at once, and Enterprise's
//! `portaladmin/security/users/createUser`); `update`, `updateuserrole`, `disable`/`enable`,
//! `delete` (refused while the member owns content or groups) and `reassign`.

use axum::response::Response;
use serde_json::{Value, json};

use super::auth::internal;
use super::search::{glob, parse};
use super::{Call, FORBIDDEN, error};
use crate::store::{NewUser, User};

/// The member as `community/users/<u>` shows them: public fields for anyone; private ones (role,
/// privileges, email, groups with the member's membership) for the member and administrators.
pub(crate) fn user_json(call: &Call, u: &User, private: bool) -> Result<Value, Response> {
    let p = &u.profile;
    let text = |k: &str| p.get(k).cloned().unwrap_or(Value::Null);
    let mut v = json!({
        "username": u.username, "fullName": u.full_name,
        "firstName": text("firstName"), "lastName": text("lastName"),
        "description": text("description"), "tags": p.get("tags").cloned().unwrap_or(json!([])),
        "culture": p.get("culture").cloned().unwrap_or(json!("en")),
        "region": p.get("region").cloned().unwrap_or(json!("")),
        "units": "metric", "thumbnail": text("thumbnail"),
        "created": u.created, "modified": u.modified.max(u.created), "provider": "arcgis",
    });
    if !private {
        return Ok(v);
    }
    let privileges = super::roles::privileges(call, u)?;
    let groups: Vec<Value> = call
        .shared
        .store
        .user_groups(&call.org, &u.username)
        .map_err(internal)?
        .into_iter()
        .map(|(mut g, member_type)| {
            g["userMembership"] = json!({"username": u.username, "memberType": member_type});
            g
        })
        .collect();
    let o = v.as_object_mut().expect("object");
    o.insert(
        "id".into(),
        json!(crate::hex_id(&format!("user:{}:{}", call.org, u.username))),
    );
    o.insert("email".into(), text("email"));
    o.insert("orgId".into(), json!(call.org_id));
    o.insert("role".into(), json!(u.role));
    if let Some(id) = &u.role_id {
        o.insert("roleId".into(), json!(id));
    }
    // `userType` is the member's Esri access (`arcgisonly` | `both`); the license is
    // `userLicenseTypeId`.
    o.insert(
        "userType".into(),
        p.get("userType").cloned().unwrap_or(json!("arcgisonly")),
    );
    o.insert("userLicenseTypeId".into(), json!(u.user_type));
    let viewer = !privileges.iter().any(|p| p == "portal:user:createItem");
    o.insert("level".into(), json!(if viewer { "1" } else { "2" }));
    o.insert("privileges".into(), json!(privileges));
    o.insert("disabled".into(), json!(u.disabled));
    o.insert("access".into(), json!("org"));
    o.insert("storageUsage".into(), json!(0));
    o.insert("lastLogin".into(), json!(-1));
    o.insert("groups".into(), json!(groups));
    Ok(v)
}

/// `community/self`: the caller.
pub(super) fn community_self(call: &Call) -> Result<Response, Response> {
    let user = call.require_user()?;
    Ok(call.reply(&user_json(call, user, true)?))
}

/// A member of this organization, or the portal's error naming them.
fn member(call: &Call, username: &str) -> Result<User, Response> {
    call.shared
        .store
        .user(&call.org, username)
        .map_err(internal)?
        .ok_or_else(|| error(400, &format!("User not found: '{username}'"), &[]))
}

/// `community/users/<u>`: public fields for anyone, private ones for the member and
/// administrators.
pub(super) fn community_user(call: &Call, username: &str) -> Result<Response, Response> {
    let u = member(call, username)?;
    let private = call.may("portal:admin:viewUsers")?
        || call.user.as_ref().is_some_and(|c| c.username == u.username);
    Ok(call.reply(&user_json(call, &u, private)?))
}

/// `portals/self/users` (paged) and `portals/self/users/search` (`q` over `username`,
/// `fullname`, `email`, `role`, `roleid`, `usertype`, `disabled` and bare terms; `sortField`
/// `username`|`fullname`|`created`; `sortOrder`): the organization's members, to administrators.
pub(super) fn org_users(call: &Call) -> Result<Response, Response> {
    call.require("portal:admin:viewUsers")?;
    let query = match call.params.get("q") {
        Some(q) if q != "*" => Some(parse(q)?),
        _ => None,
    };
    let mut users = Vec::new();
    for u in call.shared.store.users(&call.org).map_err(internal)? {
        let text = |k: &str| {
            u.profile
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let hit = query.as_ref().is_none_or(|q| {
            q.eval(&|field, value| match field {
                Some("username") => glob(&u.username, value, true),
                Some("fullname") => glob(&u.full_name, value, false),
                Some("email") => glob(&text("email"), value, true),
                Some("role") => glob(&u.role, value, true),
                Some("roleid") => u.role_id.as_deref().is_some_and(|r| r == value),
                Some("usertype" | "userlicensetype") => glob(&u.user_type, value, true),
                Some("disabled") => value.eq_ignore_ascii_case(&u.disabled.to_string()),
                Some(_) => false,
                None => glob(&u.username, value, false) || glob(&u.full_name, value, false),
            })
        });
        if hit {
            users.push((u.clone(), user_json(call, &u, true)?));
        }
    }
    match call
        .params
        .get("sortField")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("fullname") => users.sort_by_key(|u| u.0.full_name.to_lowercase()),
        Some("created") => users.sort_by_key(|u| u.0.created),
        _ => users.sort_by_key(|u| u.0.username.to_lowercase()),
    }
    if call.params.get("sortOrder") == Some("desc") {
        users.reverse();
    }
    let users: Vec<Value> = users.into_iter().map(|u| u.1).collect();
    let key = if call.params.get("q").is_some() {
        "results"
    } else {
        "users"
    };
    Ok(call.reply(&super::content::page(&call.params, &users, key)))
}

/// `community/users?q=`: members matching `q` (`username`, `fullname`, bare terms), public view.
pub(super) fn search_community(call: &Call) -> Result<Response, Response> {
    let Some(q) = call.params.get("q") else {
        return Err(error(400, "'q' must be specified.", &[]));
    };
    let query = parse(q)?;
    let mut found = Vec::new();
    for u in call.shared.store.users(&call.org).map_err(internal)? {
        let hit = query.eval(&|field, value| match field {
            Some("username") => glob(&u.username, value, true),
            Some("fullname") => glob(&u.full_name, value, false),
            Some("orgid" | "accountid") => value == call.org_id,
            Some(_) => false,
            None => glob(&u.username, value, false) || glob(&u.full_name, value, false),
        });
        if hit && call.user.is_some() {
            found.push(user_json(call, &u, false)?);
        }
    }
    Ok(call.reply(&super::content::page(&call.params, &found, "results")))
}

/// A username the portal accepts: 6 to 128 characters of letters, digits, `_`, `.`, `@`, `-`.
fn valid_username(name: &str) -> bool {
    (6..=128).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
}

/// One member to create, from an invitation or `createUser`'s fields.
struct Invitation<'a> {
    username: &'a str,
    password: Option<&'a str>,
    first: &'a str,
    last: &'a str,
    full: Option<&'a str>,
    email: &'a str,
    description: &'a str,
    role: &'a str,
    user_type: &'a str,
    groups: Vec<String>,
}

/// Create `inv`'s member; `Err(reason)` when it cannot be.
fn create(call: &Call, inv: &Invitation<'_>) -> Result<Result<(), String>, Response> {
    if !valid_username(inv.username) {
        return Ok(Err(format!(
            "'{}' is not a valid username (6 to 128 letters, digits, _ . @ -).",
            inv.username
        )));
    }
    if inv.email.is_empty() || !inv.email.contains('@') {
        return Ok(Err(format!("'{}' needs a valid email.", inv.username)));
    }
    let Ok((role, role_id)) = super::roles::resolve(call, inv.role) else {
        return Ok(Err(format!("Invalid role: '{}'", inv.role)));
    };
    let full = inv.full.map_or_else(
        || format!("{} {}", inv.first, inv.last).trim().to_owned(),
        str::to_owned,
    );
    // An ArcGIS Online invitation without a password is accepted at once: the member exists but
    // cannot sign in until a password is set (none can be here).
    let unusable = crate::new_token();
    let user = NewUser {
        username: inv.username,
        password: inv.password.unwrap_or(&unusable),
        role: &role,
        role_id: role_id.as_deref(),
        full_name: &full,
        user_type: if inv.user_type.is_empty() {
            "creatorUT"
        } else {
            inv.user_type
        },
        profile: json!({"email": inv.email, "firstName": inv.first, "lastName": inv.last,
                        "description": inv.description}),
    };
    let store = &call.shared.store;
    // ArcGIS Online's usernames are unique across all of ArcGIS Online, not per organization.
    let taken_online = !call.is_portal
        && store
            .username_taken_online(inv.username)
            .map_err(internal)?;
    if taken_online
        || !store
            .create_user(&call.org, &user, crate::now_ms())
            .map_err(internal)?
    {
        return Ok(Err(format!(
            "Username '{}' is not available.",
            inv.username
        )));
    }
    for g in &inv.groups {
        if store.group(&call.org, g).map_err(internal)?.is_some() {
            store
                .add_member(g, inv.username, "member")
                .map_err(internal)?;
        }
    }
    Ok(Ok(()))
}

/// `portals/self/invite`: `invitationList` = `{"invitations": [{username, password?, firstname,
/// lastname, fullname, email, role, userLicenseType, groups}]}`. Answer `{"success": true,
/// "notInvited": [usernames]}`.
pub(super) fn invite(call: &Call) -> Result<Response, Response> {
    call.require("portal:admin:inviteUsers")?;
    let list: Value = call
        .params
        .get("invitationList")
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| error(400, "'invitationList' must be specified.", &[]))?;
    let Some(invitations) = list.get("invitations").and_then(Value::as_array) else {
        return Err(error(400, "Invalid invitationList: no 'invitations'.", &[]));
    };
    let mut not_invited = Vec::new();
    for i in invitations {
        let s = |k: &str| i.get(k).and_then(Value::as_str).unwrap_or("");
        let inv = Invitation {
            username: s("username"),
            password: i.get("password").and_then(Value::as_str),
            first: s("firstname"),
            last: s("lastname"),
            full: i.get("fullname").and_then(Value::as_str),
            email: s("email"),
            description: s("description"),
            role: if s("role").is_empty() {
                "org_user"
            } else {
                s("role")
            },
            user_type: s("userLicenseType"),
            groups: s("groups")
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        if create(call, &inv)?.is_err() {
            not_invited.push(json!(inv.username));
        }
    }
    Ok(call.reply(&json!({"success": true, "notInvited": not_invited})))
}

/// `portaladmin/security/users/createUser` (ArcGIS Enterprise): a built-in account with its
/// password. Answered as the portal's admin API answers: `{"status": "success"}`, or
/// `{"status": "error", "messages": [...], "code": 400}`.
pub(super) fn create_user(call: &Call) -> Result<Response, Response> {
    let admin_error = |code: u16, message: &str| {
        call.reply(&json!({"status": "error", "messages": [message], "code": code}))
    };
    if !call.is_portal {
        return Err(error(400, "Invalid URL", &[]));
    }
    if call.user.is_none() {
        return Err(admin_error(499, "Token Required."));
    }
    if !call.may("portal:admin:inviteUsers")? {
        return Err(admin_error(403, FORBIDDEN));
    }
    let p = &call.params;
    let Some(password) = p.get("password") else {
        return Err(admin_error(400, "'password' must be specified."));
    };
    let inv = Invitation {
        username: p.get("username").unwrap_or(""),
        password: Some(password),
        first: p.get("firstname").unwrap_or(""),
        last: p.get("lastname").unwrap_or(""),
        full: p.get("fullname"),
        email: p.get("email").unwrap_or(""),
        description: p.get("description").unwrap_or(""),
        role: p.get("role").unwrap_or("org_user"),
        user_type: p.get("userLicenseTypeId").unwrap_or("creatorUT"),
        groups: Vec::new(),
    };
    match create(call, &inv)? {
        Ok(()) => Ok(call.reply(&json!({"status": "success"}))),
        Err(reason) => Err(admin_error(400, &reason)),
    }
}

/// The member `username`, when the caller is they or holds `privilege`.
fn self_or(call: &Call, username: &str, privilege: &str) -> Result<User, Response> {
    let caller = call.require_user()?;
    let u = member(call, username)?;
    if caller.username == u.username || call.may(privilege)? {
        Ok(u)
    } else {
        Err(error(403, FORBIDDEN, &[]))
    }
}

/// `community/users/<u>/update`: `fullName`, `firstName`, `lastName`, `email`, `description`,
/// `tags`, `culture`, `region`, `userType` (Esri access: `arcgisonly` | `both`), a `thumbnail`
/// file part; the member or an administrator.
pub(super) fn update(call: &Call, username: &str) -> Result<Response, Response> {
    let mut u = self_or(call, username, "portal:admin:updateUsers")?;
    let p = &call.params;
    if let Some(name) = p.get("fullName") {
        name.clone_into(&mut u.full_name);
    }
    let profile = u.profile.as_object_mut().expect("profile is an object");
    for key in [
        "firstName",
        "lastName",
        "email",
        "description",
        "culture",
        "region",
    ] {
        if let Some(v) = p.fields.get(key) {
            profile.insert(key.into(), json!(v));
        }
    }
    if p.fields.contains_key("tags") {
        profile.insert("tags".into(), json!(super::content::list(p, "tags")));
    }
    if let Some((name, bytes)) = super::groups::take_thumbnail(call)? {
        profile.insert("thumbnail".into(), json!(name));
        call.shared
            .store
            .put_portrait(
                "user",
                &format!("{}/{}", call.org, u.username),
                &name,
                &bytes,
            )
            .map_err(internal)?;
    }
    if let Some(access) = p.get("userType") {
        if !matches!(access, "arcgisonly" | "both") {
            return Err(error(400, &format!("Invalid userType: '{access}'"), &[]));
        }
        profile.insert("userType".into(), json!(access));
    }
    call.shared
        .store
        .update_user(&call.org, &u, crate::now_ms())
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "username": u.username})))
}

/// `portals/self/updateuserrole`: `user`, `role` (a built-in role or a role id). An
/// administrator cannot change their own role.
pub(super) fn update_role(call: &Call) -> Result<Response, Response> {
    let caller = call
        .require("portal:admin:changeUserRoles")?
        .username
        .clone();
    let Some(username) = call.params.get("user") else {
        return Err(error(400, "'user' must be specified.", &[]));
    };
    let Some(role) = call.params.get("role") else {
        return Err(error(400, "'role' must be specified.", &[]));
    };
    let mut u = member(call, username)?;
    if u.username == caller {
        return Err(error(400, "You cannot change your own role.", &[]));
    }
    let (level, role_id) = super::roles::resolve(call, role)?;
    u.role = level;
    u.role_id = role_id;
    call.shared
        .store
        .update_user(&call.org, &u, crate::now_ms())
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "username": u.username})))
}

/// `community/users/<u>/disable` and `enable`: a disabled member cannot sign in, and their tokens
/// are refused. An administrator cannot disable themselves.
pub(super) fn set_disabled(
    call: &Call,
    username: &str,
    disabled: bool,
) -> Result<Response, Response> {
    let caller = call.require("portal:admin:disableUsers")?.username.clone();
    let mut u = member(call, username)?;
    if disabled && u.username == caller {
        return Err(error(400, "You cannot disable your own account.", &[]));
    }
    u.disabled = disabled;
    call.shared
        .store
        .update_user(&call.org, &u, crate::now_ms())
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}

/// `community/users/<u>/delete`: refused while the member owns items (the recycle bin's too) or
/// groups; their content must be reassigned first.
pub(super) fn delete(call: &Call, username: &str) -> Result<Response, Response> {
    let caller = call.require("portal:admin:deleteUsers")?.username.clone();
    let u = member(call, username)?;
    if u.username == caller {
        return Err(error(400, "You cannot delete your own account.", &[]));
    }
    let store = &call.shared.store;
    let (items, groups) = store.owned(&call.org, &u.username).map_err(internal)?;
    if items > 0 || groups > 0 {
        return Err(error(
            400,
            &format!("Unable to delete user '{}'.", u.username),
            &[&format!(
                "User '{}' owns {items} item(s) and {groups} group(s): reassign or delete them first.",
                u.username
            )],
        ));
    }
    store
        .delete_user(&call.org, &u.username)
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "username": u.username})))
}

/// `community/users/<u>/reassign`: `targetUsername` receives every item (a folder's items into a
/// folder `<u>_<folder>`) and every group `<u>` owns.
pub(super) fn reassign(call: &Call, username: &str) -> Result<Response, Response> {
    call.require("portal:admin:reassignUsers")?;
    let from = member(call, username)?;
    let Some(target) = call.params.get("targetUsername") else {
        return Err(error(400, "'targetUsername' must be specified.", &[]));
    };
    let to = member(call, target)?;
    if to.username == from.username {
        return Err(error(400, "'targetUsername' must be another member.", &[]));
    }
    if to.disabled {
        return Err(error(
            400,
            &format!(
                "User '{}' is disabled and cannot receive content.",
                to.username
            ),
            &[],
        ));
    }
    call.shared
        .store
        .reassign_user(&call.org, &from.username, &to.username, crate::now_ms())
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}

/// `portals/self/userDefaultSettings`: what new members get unless told otherwise (the Python
/// client's `users.create` reads it).
pub(super) fn default_settings(call: &Call) -> Result<Response, Response> {
    call.require("portal:admin:inviteUsers")?;
    Ok(call.reply(
        &json!({"role": "org_user", "userLicenseType": "creatorUT", "userType": "arcgisonly",
        "groups": [], "categories": [], "apps": [], "appBundles": []}),
    ))
}

/// `community/users/<u>/info/<file>`: the member's thumbnail, by the name their JSON gives.
pub(super) fn thumbnail(call: &Call, username: &str, file: &str) -> Result<Response, Response> {
    call.require_user()?;
    let u = member(call, username)?;
    match call
        .shared
        .store
        .portrait("user", &format!("{}/{}", call.org, u.username))
        .map_err(internal)?
    {
        Some((name, data)) if name == file => {
            Ok(super::parts::bytes(super::parts::content_type(&name), data))
        }
        _ => Err(error(400, "File does not exist or is inaccessible.", &[])),
    }
}
