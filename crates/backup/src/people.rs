//! `people`: the groups a snapshot holds (JSON, thumbnail, category schema, members) and the
//! organization's people: every member with their role, user type and picture, the custom roles
//! with their privileges, and the organization's group settings and category schema
//! (spec/backup-restore.md, People). Never a password or token: the portal does not give them,
//! and nothing here asks.

use std::collections::{BTreeMap, BTreeSet};

use orgpack_archive::BlobWriter;
use orgpack_archive::manifest::{
    Access, Failure, FailureSubject, Group, GroupMember, Item, NamedPart, People, Role, User,
};
use orgpack_portal::{Client, ErrorKind};
use serde_json::Value;

use crate::plan::Plan;
use crate::spool::Spool;

/// The organization settings kept with people: those that name groups.
pub const ORG_SETTINGS: &[&str] = &[
    "featuredGroups",
    "featuredGroupsId",
    "basemapGalleryGroupQuery",
    "vectorBasemapGalleryGroupQuery",
    "templatesGroupQuery",
    "galleryTemplatesGroupQuery",
    "stylesGroupQuery",
    "symbolSetsGroupQuery",
    "colorSetsGroupQuery",
    "layerTemplatesGroupQuery",
    "homePageFeaturedContent",
    "homePageFeaturedContentCount",
    "featuredItemsGroupQuery",
];

/// Roles every organization has, whose ids members may carry: never captured as custom roles.
const BUILT_IN_ROLES: &[&str] = &[
    "org_admin",
    "org_publisher",
    "org_user",
    "iAAAAAAAAAAAAAAA",
    "iBBBBBBBBBBBBBBB",
];

/// Download `path` into the archive; `Ok(None)` when the portal has nothing there.
async fn download_part(
    client: &Client,
    blobs: &BlobWriter<'_>,
    plan: &Plan,
    what: &str,
    path: &str,
) -> Result<Option<orgpack_archive::Descriptor>, String> {
    let mut spool = Spool::new(&plan.spool_dir);
    match client.download(what, path, &mut spool).await {
        Ok(Some(_)) => {
            let reader = spool.into_reader().map_err(|e| e.to_string())?;
            tokio::task::block_in_place(|| blobs.put_reader(reader, what))
                .map(Some)
                .map_err(|e| e.to_string())
        }
        Ok(None) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

fn store_json(blobs: &BlobWriter<'_>, json: &Value) -> Result<orgpack_archive::Descriptor, String> {
    let bytes = serde_json::to_vec(json).map_err(|e| e.to_string())?;
    tokio::task::block_in_place(|| blobs.put_bytes(&bytes)).map_err(|e| e.to_string())
}

fn text<'a>(json: &'a Value, key: &str) -> Option<&'a str> {
    json.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Groups selected, shared into or referenced (every group of the organization when people are
/// captured with `--all`): JSON, thumbnail, category schema and members.
pub async fn capture_groups(
    client: &Client,
    blobs: &BlobWriter<'_>,
    plan: &Plan,
    failures: &mut Vec<Failure>,
) -> Vec<Group> {
    let mut out = Vec::new();
    for id in &plan.groups {
        let fail = |part: Option<&str>, message: String| Failure {
            subject: FailureSubject::Group,
            id: id.clone(),
            part: part.map(str::to_owned),
            message,
        };
        let json = match client.group(id).await {
            Ok(j) => j,
            Err(e) => {
                failures.push(fail(None, e.to_string()));
                continue;
            }
        };
        let group = match store_json(blobs, &json) {
            Ok(d) => d,
            Err(e) => {
                failures.push(fail(None, format!("storing the group JSON: {e}")));
                continue;
            }
        };
        let field = |k: &str| text(&json, k).unwrap_or_default().to_owned();
        let mut captured = Group {
            id: id.clone(),
            title: field("title"),
            owner: field("owner"),
            access: match text(&json, "access") {
                Some("public") => Access::Public,
                Some("org" | "account") => Access::Org,
                _ => Access::Private,
            },
            group,
            thumbnail: None,
            members: Vec::new(),
            category_schema: None,
            annotations: BTreeMap::new(),
        };
        if let Some(thumb) = text(&json, "thumbnail") {
            let what = format!("thumbnail of group {id}");
            match download_part(
                client,
                blobs,
                plan,
                &what,
                &format!("community/groups/{id}/info/{thumb}"),
            )
            .await
            {
                Ok(Some(content)) => {
                    captured.thumbnail = Some(NamedPart {
                        name: thumb.rsplit('/').next().map(str::to_owned),
                        content,
                    });
                }
                Ok(None) => {}
                Err(e) => failures.push(fail(Some("thumbnail"), e)),
            }
        }
        if json.get("hasCategorySchema").and_then(Value::as_bool) == Some(true) {
            match client.category_schema(Some(id)).await {
                Ok(schema) => {
                    captured.category_schema = Some(schema).filter(|s| !is_empty_list(s));
                }
                Err(e) => failures.push(fail(Some("category schema"), e.to_string())),
            }
        }
        match client.group_members(id).await {
            Ok(m) => captured.members = members_of(&m),
            Err(e) => failures.push(fail(Some("members"), e.to_string())),
        }
        out.push(captured);
    }
    out
}

fn is_empty_list(v: &Value) -> bool {
    v.as_array().is_none_or(Vec::is_empty)
}

/// A group's members from `community/groups/<id>/users`: the owner, managers (`admins`) and
/// members (`users`), by username.
fn members_of(answer: &Value) -> Vec<GroupMember> {
    let mut out = Vec::new();
    let mut add = |name: &str, kind: &str| {
        if !out.iter().any(|m: &GroupMember| m.username == name) {
            out.push(GroupMember {
                username: name.to_owned(),
                member_type: kind.to_owned(),
            });
        }
    };
    if let Some(owner) = answer.get("owner").and_then(Value::as_str) {
        add(owner, "owner");
    }
    for (key, kind) in [("admins", "admin"), ("users", "member")] {
        for name in answer
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            add(name, kind);
        }
    }
    out.sort_by(|a, b| a.username.cmp(&b.username));
    out
}

/// Fill in the titles of the groups items are shared with, so a restore can map them by title.
pub fn name_groups(items: &mut [Item], groups: &[Group]) {
    let titles: BTreeMap<&str, &str> = groups
        .iter()
        .map(|g| (g.id.as_str(), g.title.as_str()))
        .collect();
    for item in items {
        for g in &mut item.sharing.groups {
            if let Some(t) = titles.get(g.id.as_str()) {
                (*t).clone_into(&mut g.title);
            }
        }
    }
}

/// A member from their user JSON (`portals/self/users` or `community/users/<u>`).
fn user_of(json: &Value, user: Option<orgpack_archive::Descriptor>) -> User {
    let owned = |k: &str| text(json, k).map(str::to_owned);
    User {
        username: owned("username").unwrap_or_default(),
        full_name: owned("fullName"),
        role: owned("role"),
        user,
        role_id: owned("roleId").filter(|r| Some(r.as_str()) != text(json, "role")),
        user_type: owned("userLicenseTypeId"),
        email: owned("email"),
        disabled: json.get("disabled").and_then(Value::as_bool) == Some(true),
        thumbnail: None,
    }
}

/// The users of the snapshot, and what was captured of the organization's people.
///
/// Always the owners of captured items and groups. With people (`Plan::people`): every member
/// (one listing), their pictures (reused from the parent when the member did not change), the
/// custom roles and their privileges, the organization's group settings and category schema. A
/// backup user who may not list members (not an administrator) captures owners only, and the
/// snapshot says so (`people.members` false); that is not a failure.
pub async fn capture_people(
    client: &Client,
    blobs: &BlobWriter<'_>,
    plan: &Plan,
    items: &[Item],
    groups: &[Group],
    failures: &mut Vec<Failure>,
) -> (Vec<User>, Option<People>) {
    let owners: BTreeSet<&str> = items
        .iter()
        .map(|i| i.owner.as_str())
        .chain(groups.iter().map(|g| g.owner.as_str()))
        .filter(|n| !n.is_empty())
        .collect();
    let fail = |id: &str, part: Option<&str>, message: String| Failure {
        subject: FailureSubject::User,
        id: id.to_owned(),
        part: part.map(str::to_owned),
        message,
    };
    let mut users: BTreeMap<String, User> = BTreeMap::new();
    // Each member's picture file name, from the listing.
    let mut pictures: BTreeMap<String, String> = BTreeMap::new();
    let mut people = None;
    if plan.people {
        let mut captured = People::default();
        match client.org_users().await {
            Ok(members) => {
                captured.members = true;
                for json in members {
                    if let (Some(u), Some(t)) = (text(&json, "username"), text(&json, "thumbnail"))
                    {
                        pictures.insert(u.to_owned(), t.to_owned());
                    }
                    let user = match store_json(blobs, &json) {
                        Ok(d) => user_of(&json, Some(d)),
                        Err(e) => {
                            let name = text(&json, "username").unwrap_or_default();
                            failures.push(fail(name, None, format!("storing the user JSON: {e}")));
                            user_of(&json, None)
                        }
                    };
                    users.insert(user.username.clone(), user);
                }
            }
            Err(e) if forbidden(&e) => {}
            Err(e) => failures.push(fail("(organization members)", None, e.to_string())),
        }
        capture_pictures(client, blobs, plan, &mut users, &pictures, failures).await;
        match capture_roles(client).await {
            Ok(roles) => captured.roles = roles,
            Err(e) if forbidden(&e) => {}
            Err(e) => failures.push(fail("(custom roles)", None, e.to_string())),
        }
        // The organization as planning read it: no second `portals/self`.
        let me = &plan.portal;
        for key in ORG_SETTINGS {
            if let Some(v) = me.get(*key).filter(|v| !v.is_null()) {
                captured.settings.insert((*key).to_owned(), v.clone());
            }
        }
        if me.get("hasCategorySchema").and_then(Value::as_bool) == Some(true) {
            match client.category_schema(None).await {
                Ok(s) => captured.category_schema = Some(s).filter(|s| !is_empty_list(s)),
                Err(e) => failures.push(fail(
                    "(organization)",
                    Some("category schema"),
                    e.to_string(),
                )),
            }
        }
        people = Some(captured);
    }
    // Owners the listing did not give (not a member any more, or no listing).
    for name in owners {
        if users.contains_key(name) {
            continue;
        }
        let user = match client.user(name).await {
            Ok(json) => match store_json(blobs, &json) {
                Ok(d) => user_of(&json, Some(d)),
                Err(e) => {
                    failures.push(fail(name, None, format!("storing the user JSON: {e}")));
                    user_of(&json, None)
                }
            },
            Err(e) => {
                failures.push(fail(name, None, e.to_string()));
                User {
                    username: name.to_owned(),
                    ..User::default()
                }
            }
        };
        users.insert(name.to_owned(), user);
    }
    (users.into_values().collect(), people)
}

/// Whether the portal refused for lack of privileges.
fn forbidden(e: &orgpack_portal::Error) -> bool {
    matches!(e.kind, ErrorKind::Portal { code: 403, .. })
}

/// The members' pictures: the parent's when the member's `modified` and picture name are the
/// same (no request), else downloaded.
async fn capture_pictures(
    client: &Client,
    blobs: &BlobWriter<'_>,
    plan: &Plan,
    users: &mut BTreeMap<String, User>,
    pictures: &BTreeMap<String, String>,
    failures: &mut Vec<Failure>,
) {
    let before: BTreeMap<&str, &User> = plan
        .parent
        .as_ref()
        .map(|(_, p)| p.users.iter().map(|u| (u.username.as_str(), u)).collect())
        .unwrap_or_default();
    let sink = blobs.sink();
    for user in users.values_mut() {
        let Some(thumb) = pictures.get(&user.username) else {
            continue;
        };
        let name = thumb.rsplit('/').next().map(str::to_owned);
        // The user JSON's digest covers `modified` and the picture's name.
        if let Some(old) = before.get(user.username.as_str())
            && old.user.is_some()
            && old.user == user.user
            && let Some(t) = old.thumbnail.as_ref().filter(|t| t.name == name)
            && sink
                .contains(&orgpack_archive::Key::Blob(
                    t.content.chunks.unwrap_or(t.content.digest),
                ))
                .unwrap_or(false)
        {
            user.thumbnail = Some(t.clone());
            continue;
        }
        let what = format!("thumbnail of user {}", user.username);
        let path = format!("community/users/{}/info/{thumb}", user.username);
        match download_part(client, blobs, plan, &what, &path).await {
            Ok(Some(content)) => user.thumbnail = Some(NamedPart { name, content }),
            Ok(None) => {}
            Err(e) => failures.push(Failure {
                subject: FailureSubject::User,
                id: user.username.clone(),
                part: Some("thumbnail".into()),
                message: e,
            }),
        }
    }
}

/// The custom roles, each with its privileges.
async fn capture_roles(client: &Client) -> Result<Vec<Role>, orgpack_portal::Error> {
    let mut out = Vec::new();
    for role in client.roles().await? {
        let Some(id) = text(&role, "id") else {
            continue;
        };
        if BUILT_IN_ROLES.contains(&id) {
            continue;
        }
        out.push(Role {
            id: id.to_owned(),
            name: text(&role, "name").unwrap_or(id).to_owned(),
            description: text(&role, "description").unwrap_or_default().to_owned(),
            privileges: client.role_privileges(id).await?,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
