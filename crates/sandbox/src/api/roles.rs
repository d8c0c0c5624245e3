//! Roles and privileges (spec/portal-api.md, section Roles): the three built-in roles, the
//! built-in Viewer and Data Editor roles with their fixed ids, and custom roles
//! (`portals/self/createRole`, `roles/<id>/setPrivileges|privileges|update|delete`).
//!
//! What a caller may do is decided by privileges, as the portal decides it: a custom role grants
//! exactly its privileges, whatever its base level.

use axum::response::Response;
use serde_json::{Value, json};

use super::auth::internal;
use super::{Call, FORBIDDEN, error};
use crate::store::{Role, User};

/// The built-in Viewer role's id (the Python client's `viewer`).
pub(crate) const VIEWER: &str = "iAAAAAAAAAAAAAAA";
/// The built-in Data Editor role's id (`viewplusedit`).
pub(crate) const DATA_EDITOR: &str = "iBBBBBBBBBBBBBBB";

const VIEW: &[&str] = &[
    "portal:user:joinGroup",
    "portal:user:viewOrgGroups",
    "portal:user:viewOrgItems",
    "portal:user:viewOrgUsers",
];
const USER: &[&str] = &[
    "features:user:edit",
    "portal:user:createGroup",
    "portal:user:createItem",
    "portal:user:reassignItems",
    "portal:user:receiveItems",
    "portal:user:shareGroupToOrg",
    "portal:user:shareToGroup",
    "portal:user:shareToOrg",
    "portal:user:shareToPublic",
];
const PUBLISHER: &[&str] = &[
    "portal:publisher:publishFeatures",
    "portal:publisher:publishScenes",
    "portal:publisher:publishTiles",
    "portal:publisher:createDataPipelines",
];
const ADMIN: &[&str] = &[
    "portal:admin:assignToGroups",
    "portal:admin:changeUserRoles",
    "portal:admin:createUpdateCapableGroup",
    "portal:admin:deleteGroups",
    "portal:admin:deleteItems",
    "portal:admin:deleteUsers",
    "portal:admin:disableUsers",
    "portal:admin:inviteUsers",
    "portal:admin:manageRoles",
    "portal:admin:reassignGroups",
    "portal:admin:reassignItems",
    "portal:admin:reassignUsers",
    "portal:admin:shareToGroup",
    "portal:admin:shareToOrg",
    "portal:admin:shareToPublic",
    "portal:admin:updateGroups",
    "portal:admin:updateItems",
    "portal:admin:updateUsers",
    "portal:admin:viewGroups",
    "portal:admin:viewItems",
    "portal:admin:viewUsers",
];

/// Every privilege the sandbox knows (a custom role may grant only these).
fn known(privilege: &str) -> bool {
    [VIEW, USER, PUBLISHER, ADMIN]
        .iter()
        .any(|set| set.contains(&privilege))
        || privilege == "features:user:fullEdit"
}

/// The privileges of a built-in role (`org_admin`, `org_publisher`, `org_user`, or the Viewer
/// and Data Editor ids).
fn built_in(role: &str) -> Option<Vec<String>> {
    let sets: &[&[&str]] = match role {
        "org_admin" => &[VIEW, USER, PUBLISHER, ADMIN],
        "org_publisher" => &[VIEW, USER, PUBLISHER],
        "org_user" => &[VIEW, USER],
        VIEWER => &[VIEW],
        DATA_EDITOR => &[VIEW, &["features:user:edit"]],
        _ => return None,
    };
    let mut all: Vec<String> = sets
        .iter()
        .flat_map(|s| s.iter().map(|p| (*p).to_owned()))
        .collect();
    all.sort();
    Some(all)
}

/// The base level a set of privileges puts a member at, as the portal reports it in `role`.
pub(crate) fn level_of(privileges: &[String]) -> &'static str {
    if privileges.iter().any(|p| p.starts_with("portal:admin:")) {
        "org_admin"
    } else if privileges
        .iter()
        .any(|p| p.starts_with("portal:publisher:"))
    {
        "org_publisher"
    } else {
        "org_user"
    }
}

/// What `user` may do.
pub(crate) fn privileges(call: &Call, user: &User) -> Result<Vec<String>, Response> {
    match &user.role_id {
        None => Ok(built_in(&user.role).unwrap_or_default()),
        Some(id) => match built_in(id) {
            Some(p) => Ok(p),
            None => Ok(call
                .shared
                .store
                .role(&call.org, id)
                .map_err(internal)?
                .map(|r| r.privileges)
                .unwrap_or_default()),
        },
    }
}

impl Call {
    /// Whether the caller holds `privilege`.
    pub(crate) fn may(&self, privilege: &str) -> Result<bool, Response> {
        match &self.user {
            Some(u) => Ok(privileges(self, u)?.iter().any(|p| p == privilege)),
            None => Ok(false),
        }
    }

    /// The caller, when they hold `privilege`; the portal's 403 otherwise.
    pub(crate) fn require(&self, privilege: &str) -> Result<&User, Response> {
        let user = self.require_user()?;
        if self.may(privilege)? {
            Ok(user)
        } else {
            Err(error(403, FORBIDDEN, &[]))
        }
    }

    /// Whether the caller is a default administrator (`org_admin` with no custom role): the
    /// portal's own test, and the JavaScript client's.
    pub(crate) fn is_default_admin(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.role == "org_admin" && u.role_id.is_none())
    }
}

/// A role id: built-in (`org_admin`, …, Viewer, Data Editor) or one of the organization's custom
/// roles. Answered as (`role` level, custom role id).
pub(crate) fn resolve(call: &Call, id: &str) -> Result<(String, Option<String>), Response> {
    let id = match id {
        "admin" | "org_admin" | "account_admin" => "org_admin",
        "publisher" | "org_publisher" | "account_publisher" => "org_publisher",
        "user" | "org_user" | "account_user" => "org_user",
        other => other,
    };
    if matches!(id, "org_admin" | "org_publisher" | "org_user") {
        return Ok((id.to_owned(), None));
    }
    let privileges = match built_in(id) {
        Some(p) => p,
        None => match call.shared.store.role(&call.org, id).map_err(internal)? {
            Some(r) => r.privileges,
            None => return Err(error(400, &format!("Invalid role: '{id}'"), &[])),
        },
    };
    Ok((level_of(&privileges).to_owned(), Some(id.to_owned())))
}

fn role_json(role: &Role) -> Value {
    json!({"id": role.id, "name": role.name, "description": role.description,
           "created": role.created, "modified": role.modified})
}

fn built_in_roles() -> Vec<Value> {
    vec![
        json!({"id": VIEWER, "name": "Viewer", "description": "Can view content and groups shared with them.", "created": 0, "modified": 0}),
        json!({"id": DATA_EDITOR, "name": "Data Editor", "description": "Viewer privileges plus the ability to edit features.", "created": 0, "modified": 0}),
    ]
}

/// `portals/self/roles`: the Viewer and Data Editor roles, then the custom roles, paged (as the
/// Python client's `RoleManager.all` expects: the three base roles are not listed).
pub(super) fn list(call: &Call) -> Result<Response, Response> {
    call.require_user()?;
    let mut all = built_in_roles();
    all.extend(
        call.shared
            .store
            .roles(&call.org)
            .map_err(internal)?
            .iter()
            .map(role_json),
    );
    Ok(call.reply(&super::content::page(&call.params, &all, "roles")))
}

/// The role `id` of this organization, for managing it (default administrators only).
fn custom(call: &Call, id: &str) -> Result<Role, Response> {
    manager(call)?;
    if built_in(id).is_some() {
        return Err(error(
            400,
            &format!("Role '{id}' is a default role and cannot be changed."),
            &[],
        ));
    }
    call.shared
        .store
        .role(&call.org, id)
        .map_err(internal)?
        .ok_or_else(|| error(400, &format!("Role '{id}' does not exist."), &[]))
}

fn manager(call: &Call) -> Result<(), Response> {
    call.require_user()?;
    if call.is_default_admin() {
        Ok(())
    } else {
        Err(error(403, FORBIDDEN, &[]))
    }
}

/// `portals/self/createRole`: `name` (unique, case-insensitive) and `description`. A new role
/// grants nothing until `setPrivileges`. Answer `{"success": true, "id"}`.
pub(super) fn create(call: &Call) -> Result<Response, Response> {
    manager(call)?;
    let Some(name) = call.params.get("name") else {
        return Err(error(400, "'name' must be specified.", &[]));
    };
    let now = crate::now_ms();
    let role = Role {
        id: crate::new_id().chars().take(16).collect(),
        name: name.to_owned(),
        description: call.params.get("description").unwrap_or("").to_owned(),
        privileges: Vec::new(),
        created: now,
        modified: now,
    };
    let taken = built_in_roles().iter().any(|r| {
        r["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    });
    if taken
        || !call
            .shared
            .store
            .add_role(&call.org, &role)
            .map_err(internal)?
    {
        return Err(error(
            400,
            &format!("A role with the name '{name}' already exists."),
            &[],
        ));
    }
    Ok(call.reply(&json!({"success": true, "id": role.id})))
}

/// `portals/self/roles/<id>`: the role.
pub(super) fn get(call: &Call, id: &str) -> Result<Response, Response> {
    call.require_user()?;
    if let Some(r) = built_in_roles().into_iter().find(|r| r["id"] == id) {
        return Ok(call.reply(&r));
    }
    match call.shared.store.role(&call.org, id).map_err(internal)? {
        Some(r) => Ok(call.reply(&role_json(&r))),
        None => Err(error(400, &format!("Role '{id}' does not exist."), &[])),
    }
}

/// `portals/self/roles/<id>/privileges` (the Python client's name) and `getPrivileges`:
/// `{"privileges": [...]}`.
pub(super) fn get_privileges(call: &Call, id: &str) -> Result<Response, Response> {
    call.require_user()?;
    let privileges = match built_in(id) {
        Some(p) => p,
        None => match call.shared.store.role(&call.org, id).map_err(internal)? {
            Some(r) => r.privileges,
            None => return Err(error(400, &format!("Role '{id}' does not exist."), &[])),
        },
    };
    Ok(call.reply(&json!({"privileges": privileges})))
}

/// `roles/<id>/setPrivileges`: `privileges` = `{"privileges": [...]}` (JSON). Unknown privileges
/// are refused by name, and nothing changes.
pub(super) fn set_privileges(call: &Call, id: &str) -> Result<Response, Response> {
    let mut role = custom(call, id)?;
    let raw = call.params.get("privileges").unwrap_or("");
    let parsed: Option<Vec<String>> = serde_json::from_str::<Value>(raw)
        .ok()
        .and_then(|v| v.get("privileges").cloned())
        .and_then(|v| serde_json::from_value(v).ok());
    let Some(mut privileges) = parsed else {
        return Err(error(
            400,
            "Invalid privileges: expected {\"privileges\": [\"portal:user:createItem\", …]}.",
            &[],
        ));
    };
    if let Some(bad) = privileges.iter().find(|p| !known(p)) {
        return Err(error(400, &format!("Invalid privilege: '{bad}'"), &[]));
    }
    privileges.sort();
    privileges.dedup();
    role.privileges = privileges;
    role.modified = crate::now_ms();
    call.shared
        .store
        .update_role(&call.org, &role)
        .map_err(internal)?;
    refresh_levels(call, id, &role.privileges)?;
    Ok(call.reply(&json!({"success": true})))
}

/// Members holding role `id` move to the level its privileges now give.
fn refresh_levels(call: &Call, id: &str, privileges: &[String]) -> Result<(), Response> {
    let store = &call.shared.store;
    let now = crate::now_ms();
    for mut user in store.users(&call.org).map_err(internal)? {
        if user.role_id.as_deref() == Some(id) {
            level_of(privileges).clone_into(&mut user.role);
            store.update_user(&call.org, &user, now).map_err(internal)?;
        }
    }
    Ok(())
}

/// `roles/<id>/update`: `name`, `description`.
pub(super) fn update(call: &Call, id: &str) -> Result<Response, Response> {
    let mut role = custom(call, id)?;
    if let Some(name) = call.params.get("name") {
        name.clone_into(&mut role.name);
    }
    if let Some(d) = call.params.fields.get("description") {
        d.clone_into(&mut role.description);
    }
    role.modified = crate::now_ms();
    if !call
        .shared
        .store
        .update_role(&call.org, &role)
        .map_err(internal)?
    {
        return Err(error(
            400,
            &format!("A role with the name '{}' already exists.", role.name),
            &[],
        ));
    }
    Ok(call.reply(&json!({"success": true})))
}

/// `roles/<id>/delete`: refused while a member holds the role.
pub(super) fn delete(call: &Call, id: &str) -> Result<Response, Response> {
    custom(call, id)?;
    let store = &call.shared.store;
    let holders = store
        .users(&call.org)
        .map_err(internal)?
        .into_iter()
        .filter(|u| u.role_id.as_deref() == Some(id))
        .count();
    if holders > 0 {
        return Err(error(
            400,
            &format!("Role '{id}' cannot be deleted: {holders} member(s) are assigned to it."),
            &[],
        ));
    }
    store.delete_role(&call.org, id).map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}
