//! `orgpack ls ARCHIVE [--snapshot ID|latest]`

use anyhow::Result;

use crate::cli::LsArgs;
use crate::exit;
use crate::render;

pub fn run(args: &LsArgs, json: bool) -> Result<u8> {
    let archive = crate::secrets::archive(&args.archive)?;
    let id = archive.resolve(&args.snapshot)?;
    let snapshot = archive.snapshot(&id)?;
    if json {
        let items: Vec<_> = snapshot
            .items
            .iter()
            .map(|i| {
                serde_json::json!({
                    "id": i.id,
                    "type": i.item_type,
                    "title": i.title,
                    "owner": i.owner,
                    "folder": i.folder.as_ref().map(|f| &f.title),
                    "size": item_size(i),
                    "resources": i.resources.len(),
                    "payloads": i.payloads.len(),
                    "dependencies": i.dependencies.iter().map(|d| &d.target).collect::<Vec<_>>(),
                    "access": i.sharing.access,
                })
            })
            .collect();
        render::json(&serde_json::json!({
            "message_type": "ls",
            "snapshot": id,
            "created": snapshot.created,
            "source": snapshot.source,
            "items": items,
            "groups": snapshot.groups.iter().map(|g| serde_json::json!({
                "id": g.id, "title": g.title, "owner": g.owner, "access": g.access,
                "members": g.members,
            })).collect::<Vec<_>>(),
            "users": snapshot.users.iter().map(|u| serde_json::json!({
                "username": u.username, "fullName": u.full_name, "role": u.role,
                "roleId": u.role_id, "userType": u.user_type, "disabled": u.disabled,
            })).collect::<Vec<_>>(),
            "people": snapshot.people,
        }))?;
        return Ok(exit::OK);
    }
    render::note(&format!(
        "snapshot {} of {} ({}), {} items",
        id.short(),
        snapshot.source.portal_url,
        snapshot.created,
        snapshot.items.len()
    ));
    let rows: Vec<Vec<String>> = snapshot
        .items
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                render::clip(&i.item_type, 24),
                render::clip(&i.title, 40),
                render::clip(&i.owner, 20),
                render::size(item_size(i)),
                i.dependencies.len().to_string(),
            ]
        })
        .collect();
    render::table(
        &["ID", "TYPE", "TITLE", "OWNER", "SIZE", "DEPS"],
        &rows,
        &[4, 5],
    )?;
    if !snapshot.groups.is_empty() {
        let rows: Vec<Vec<String>> = snapshot
            .groups
            .iter()
            .map(|g| {
                let count = |t: &str| g.members.iter().filter(|m| m.member_type == t).count();
                vec![
                    g.id.clone(),
                    render::clip(&g.title, 32),
                    render::clip(&g.owner, 20),
                    format!("{:?}", g.access).to_lowercase(),
                    count("admin").to_string(),
                    count("member").to_string(),
                ]
            })
            .collect();
        render::table(
            &["GROUP", "TITLE", "OWNER", "ACCESS", "MANAGERS", "MEMBERS"],
            &rows,
            &[4, 5],
        )?;
    }
    people(&snapshot)?;
    Ok(exit::OK)
}

/// The members and custom roles a snapshot holds, when it captured people.
fn people(snapshot: &orgpack_archive::manifest::Snapshot) -> Result<()> {
    let roles: std::collections::BTreeMap<&str, &str> = snapshot
        .people
        .iter()
        .flat_map(|p| &p.roles)
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    let rows: Vec<Vec<String>> = snapshot
        .users
        .iter()
        .map(|u| {
            let role = u
                .role_id
                .as_deref()
                .map(|id| roles.get(id).copied().unwrap_or(id))
                .or(u.role.as_deref())
                .unwrap_or_default();
            vec![
                render::clip(&u.username, 24),
                render::clip(u.full_name.as_deref().unwrap_or_default(), 24),
                render::clip(role, 20),
                u.user_type.clone().unwrap_or_default(),
                if u.disabled { "disabled" } else { "" }.to_owned(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        render::table(&["USER", "NAME", "ROLE", "TYPE", "STATE"], &rows, &[])?;
    }
    let captured = match &snapshot.people {
        Some(p) if p.members => format!(
            "people: every member ({}), {} custom roles, {} organization settings{}",
            snapshot.users.len(),
            p.roles.len(),
            p.settings.len(),
            if p.category_schema.is_some() {
                ", a category schema"
            } else {
                ""
            }
        ),
        Some(_) => "people: the owners only (the backup user could not list members)".to_owned(),
        None => {
            "people: the owners only (backed up with --people none, or before 1.4.0)".to_owned()
        }
    };
    render::note(&captured);
    Ok(())
}

fn item_size(item: &orgpack_archive::Item) -> u64 {
    let mut parts = Vec::new();
    item.clone_parts(&mut parts);
    parts.iter().map(|d| d.size).sum()
}
