//! `groups`: the groups a target's plan creates, with every setting of the source's, their
//! thumbnail and category schema, their members (mapped to the target's people, before any item
//! is shared into them: a portal lets an item into a group only when its owner is a member), and
//! then their mapped owner; and the missing members of groups the target already had.

use std::collections::{BTreeMap, BTreeSet};

use orgpack_archive::manifest::{Access, Group};
use serde_json::Value;

use crate::error::Result;
use crate::item;
use crate::journal::Kind;
use crate::people::{Make, PeopleMode, PeoplePlan};
use crate::plan::{GroupAction, TargetPlan};
use crate::report::TargetReport;

/// A group's settings from its archived JSON, as `createGroup` takes them: membership rules,
/// shared update (`capabilities`), sorting, display settings, phone.
fn group_settings(json: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for key in [
        "isInvitationOnly",
        "isViewOnly",
        "autoJoin",
        "hiddenMembers",
        "leavingDisallowed",
    ] {
        if let Some(b) = json.get(key).and_then(Value::as_bool) {
            out.push((key, b.to_string()));
        }
    }
    for key in ["sortField", "sortOrder", "membershipAccess", "phone"] {
        if let Some(v) = json
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            out.push((key, v.to_owned()));
        }
    }
    let caps: Vec<&str> = json
        .get("capabilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !caps.is_empty() {
        out.push(("capabilities", caps.join(",")));
    }
    if let Some(d) = json.get("displaySettings").filter(|d| d.is_object()) {
        out.push(("displaySettings", d.to_string()));
    }
    out
}

/// What making groups needs: what making people needs, who is who, and the source groups the
/// restoring user must stay in (items they own there are shared into them).
pub struct Groups<'a> {
    /// The archive, snapshot, target, journal, facts and options.
    pub base: &'a Make<'a>,
    /// Who is who.
    pub people: &'a PeoplePlan,
    /// Source groups the restoring user must stay in.
    pub keep_me: &'a BTreeSet<String>,
    /// In place: a group the target has is put back as the snapshot has it (settings, owner,
    /// members), not only given its missing members.
    pub in_place: bool,
}

impl Groups<'_> {
    /// The restoring user (who creates groups, and so first owns them).
    fn me(&self) -> &str {
        &self.base.facts.user
    }
}

/// The groups of the plan: found ones used (their missing members added, unless `--people none`),
/// the others created. Returns source id → target id.
///
/// # Errors
/// Portal errors creating a group; journal errors.
pub async fn make_groups(
    g: &Groups<'_>,
    plan: &TargetPlan,
    report: &mut TargetReport,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (id, action) in &plan.groups {
        let source = g.base.snapshot.groups.iter().find(|s| s.id == *id);
        let target = match action {
            GroupAction::Use(t) => {
                if let Some(source) = source.filter(|_| g.people.mode != PeopleMode::None) {
                    if g.in_place {
                        put_back(g, source, t, report).await?;
                    }
                    add_members(g, source, t, report).await?;
                    if g.in_place {
                        trim_members(g, source, t, report).await?;
                    }
                }
                t.clone()
            }
            GroupAction::Create => {
                if let Some(t) = g.base.journal.id(Kind::Group, id)? {
                    t
                } else {
                    let Some(source) = source else {
                        report.notes.push(format!(
                            "group {id} is not in the snapshot: items are not shared with it"
                        ));
                        continue;
                    };
                    let new = create(g, source).await?;
                    g.base.journal.set_id(Kind::Group, id, &new, true)?;
                    report
                        .notes
                        .push(format!("created group `{}` ({new})", source.title));
                    new
                }
            }
        };
        if let (GroupAction::Create, Some(source)) = (action, source) {
            settle(g, source, &target, report).await?;
        }
        out.insert(id.clone(), target);
    }
    Ok(out)
}

/// Create a group: title, access (never broader than the source), tags, description, snippet
/// and settings from the archived group JSON.
async fn create(g: &Groups<'_>, group: &Group) -> Result<String> {
    let json = item::read_json(g.base.archive, &group.group).unwrap_or(Value::Null);
    let text = |k: &str| {
        json.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let tags = json
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let access = match group.access {
        Access::Public => "public",
        Access::Org => "org",
        Access::Private | Access::Shared => "private",
    };
    let (description, snippet) = (text("description"), text("snippet"));
    let settings = group_settings(&json);
    let mut params = vec![("title", group.title.as_str()), ("access", access)];
    params.extend(settings.iter().map(|(k, v)| (*k, v.as_str())));
    if !tags.is_empty() {
        params.push(("tags", &tags));
    }
    if !description.is_empty() {
        params.push(("description", &description));
    }
    if !snippet.is_empty() {
        params.push(("snippet", &snippet));
    }
    Ok(g.base.client.create_group(&params).await?)
}

/// A created group's thumbnail, category schema, members and owner, each step once (the
/// journal): a run cut short finishes the group it created.
async fn settle(
    g: &Groups<'_>,
    source: &Group,
    target: &str,
    report: &mut TargetReport,
) -> Result<()> {
    let key = format!("group:{}", source.id);
    if g.base.journal.done(&key, "settled")? {
        return Ok(());
    }
    if let Some(t) = &source.thumbnail {
        let sent = match item::read(g.base.archive, &t.content) {
            Ok(bytes) => g
                .base
                .client
                .set_thumbnail(
                    &format!("community/groups/{target}/update"),
                    bytes,
                    t.name.as_deref().unwrap_or("thumbnail.png"),
                )
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            report.notes.push(format!(
                "group `{}`: the thumbnail could not be set: {e}",
                source.title
            ));
        }
    }
    if let Some(schema) = &source.category_schema
        && let Err(e) = g
            .base
            .client
            .assign_category_schema(Some(target), schema)
            .await
    {
        report.notes.push(format!(
            "group `{}`: the category schema could not be set: {e}",
            source.title
        ));
    }
    if g.people.mode != PeopleMode::None {
        add_members(g, source, target, report).await?;
        hand_over(g, source, target, report).await?;
    }
    g.base.journal.mark(&key, "settled")?;
    Ok(())
}

/// Add a group's recorded members the target group lacks (owner and managers as managers,
/// members as members), mapped to the target's people; users the target lacks are named in a
/// note.
async fn add_members(
    g: &Groups<'_>,
    group: &Group,
    target: &str,
    report: &mut TargetReport,
) -> Result<()> {
    let present: BTreeSet<String> = match g.base.client.group_members(target).await {
        Ok(m) => ["owner", "admins", "users"]
            .iter()
            .flat_map(|k| match m.get(*k) {
                Some(Value::String(s)) => vec![s.to_lowercase()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_lowercase))
                    .collect(),
                _ => Vec::new(),
            })
            .collect(),
        Err(_) => BTreeSet::new(),
    };
    let (mut admins, mut users, mut missing) = (Vec::new(), Vec::new(), Vec::<String>::new());
    for m in &group.members {
        let Some(name) = g.people.target(&m.username) else {
            missing.push(m.username.clone());
            continue;
        };
        if name == g.me() || present.contains(&name.to_lowercase()) {
            continue;
        }
        if m.member_type == "member" {
            users.push(name);
        } else {
            admins.push(name);
        }
    }
    if !users.is_empty() || !admins.is_empty() {
        let refused = g
            .base
            .client
            .add_group_users(target, &users, &admins)
            .await?;
        missing.extend(refused);
    }
    if !missing.is_empty() {
        report.notes.push(format!(
            "group `{}`: not in the target, so not members: {}",
            group.title,
            missing.join(", ")
        ));
    }
    Ok(())
}

/// Give a created group to its source owner's member in the target, and take the restoring user
/// out of it when the source group did not have them (unless items they own are shared there).
async fn hand_over(
    g: &Groups<'_>,
    group: &Group,
    target: &str,
    report: &mut TargetReport,
) -> Result<()> {
    let owner = g.people.owner(&group.owner, g.me());
    if owner != g.me() {
        if let Err(e) = g.base.client.reassign_group(target, &owner).await {
            report.notes.push(format!(
                "warning: group `{}` stays owned by `{}`: it could not be given to `{owner}`: {e}",
                group.title,
                g.me()
            ));
            return Ok(());
        }
        let me_then = group
            .members
            .iter()
            .find(|m| g.people.target(&m.username) == Some(g.me()));
        if let Some(m) = me_then {
            // Handing over left them a manager; the source had them as a plain member.
            if m.member_type == "member" {
                let _ = g
                    .base
                    .client
                    .update_group_users(target, &[], &[g.me()])
                    .await;
            }
        } else if g.keep_me.contains(&group.id) {
            report.notes.push(format!(
                "group `{}`: `{}` stays a member, since items it owns here are shared into it",
                group.title,
                g.me()
            ));
        } else if let Err(e) = g.base.client.remove_group_users(target, &[g.me()]).await {
            report.notes.push(format!(
                "group `{}`: `{}` could not leave it: {e}",
                group.title,
                g.me()
            ));
        }
    } else if group.owner != g.me() && g.people.target(&group.owner).is_none() {
        report.notes.push(format!(
            "warning: group `{}` is owned by `{}`: its owner `{}` is not in the target",
            group.title,
            g.me(),
            group.owner
        ));
    }
    Ok(())
}

/// In place: a group's settings and properties put back as the snapshot has them (only what
/// differs is sent), and its owner.
async fn put_back(
    g: &Groups<'_>,
    source: &Group,
    target: &str,
    report: &mut TargetReport,
) -> Result<()> {
    let Ok(now) = g.base.client.group(target).await else {
        return Ok(());
    };
    let then = item::read_json(g.base.archive, &source.group).unwrap_or(Value::Null);
    let shown = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(","),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let access_now = match now["access"].as_str() {
        Some("account") => "org",
        Some(a) => a,
        None => "private",
    };
    let access = match source.access {
        Access::Public => "public",
        Access::Org => "org",
        Access::Private | Access::Shared => "private",
    };
    let mut params: Vec<(&str, String)> = Vec::new();
    if access_now != access {
        params.push(("access", access.to_owned()));
    }
    let mut wanted = group_settings(&then);
    for key in ["title", "description", "snippet"] {
        wanted.push((key, shown(&then[key])));
    }
    wanted.push(("tags", shown(&then["tags"])));
    for (key, value) in wanted {
        let current = if key == "displaySettings" {
            now[key].to_string()
        } else {
            shown(&now[key])
        };
        let same = if key == "displaySettings" {
            serde_json::from_str::<Value>(&value).ok().as_ref() == Some(&now[key])
        } else {
            current == value
        };
        if !same {
            params.push((key, value));
        }
    }
    if !params.is_empty() {
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        g.base.client.update_group(target, &refs).await?;
        report.notes.push(format!(
            "group `{}`: put back ({})",
            source.title,
            params
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let owner = g.people.owner(&source.owner, g.me());
    if now["owner"].as_str().is_some_and(|o| o != owner) {
        g.base.client.reassign_group(target, &owner).await?;
        report
            .notes
            .push(format!("group `{}`: given back to `{owner}`", source.title));
    }
    Ok(())
}

/// In place: members the snapshot's group does not have taken out, and each member's kind
/// (manager or member) as the snapshot has it. The restoring user stays when items they own are
/// shared there.
async fn trim_members(
    g: &Groups<'_>,
    source: &Group,
    target: &str,
    report: &mut TargetReport,
) -> Result<()> {
    let Ok(now) = g.base.client.group_members(target).await else {
        return Ok(());
    };
    let wanted: BTreeMap<String, &str> = source
        .members
        .iter()
        .filter_map(|m| {
            g.people
                .target(&m.username)
                .map(|t| (t.to_lowercase(), m.member_type.as_str()))
        })
        .collect();
    let owner = now["owner"].as_str().unwrap_or_default().to_lowercase();
    let (mut extra, mut to_admin, mut to_member) = (Vec::new(), Vec::new(), Vec::new());
    for (key, kind) in [("admins", "admin"), ("users", "member")] {
        for name in now[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let lower = name.to_lowercase();
            if lower == owner {
                continue;
            }
            match wanted.get(&lower) {
                None if lower == g.me().to_lowercase() && g.keep_me.contains(&source.id) => {}
                None => extra.push(name.to_owned()),
                Some(&"member") if kind == "admin" => to_member.push(name.to_owned()),
                Some(&("admin" | "owner")) if kind == "member" => to_admin.push(name.to_owned()),
                Some(_) => {}
            }
        }
    }
    if !extra.is_empty() {
        let names: Vec<&str> = extra.iter().map(String::as_str).collect();
        g.base.client.remove_group_users(target, &names).await?;
    }
    if !(to_admin.is_empty() && to_member.is_empty()) {
        let (admins, users): (Vec<&str>, Vec<&str>) = (
            to_admin.iter().map(String::as_str).collect(),
            to_member.iter().map(String::as_str).collect(),
        );
        g.base
            .client
            .update_group_users(target, &admins, &users)
            .await?;
    }
    if !(extra.is_empty() && to_admin.is_empty() && to_member.is_empty()) {
        report.notes.push(format!(
            "group `{}`: members put back ({} taken out, {} made managers, {} made members)",
            source.title,
            extra.len(),
            to_admin.len(),
            to_member.len()
        ));
    }
    Ok(())
}
