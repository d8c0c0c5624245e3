//! What changed between two snapshots: items, groups, members, custom roles and the
//! organization's settings added, removed and changed, and for a changed item, group or member,
//! what in it. Compared by descriptor and manifest field, so no content is read.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::manifest::{Group, Item, Role, Snapshot, User};

/// The differences between an older snapshot `a` and a newer `b`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotDiff {
    /// Items only in `b`.
    pub added: Vec<ItemSummary>,
    /// Items only in `a`.
    pub removed: Vec<ItemSummary>,
    /// Items in both whose content or settings differ.
    pub changed: Vec<ItemChange>,
    /// Items in both and identical.
    pub unchanged: usize,
    /// Groups only in `b`, by id.
    pub groups_added: Vec<String>,
    /// Groups only in `a`, by id.
    pub groups_removed: Vec<String>,
    /// Groups in both whose JSON, thumbnail or members differ, by id.
    pub groups_changed: Vec<String>,
    /// What changed in each changed group, in the order of `groups_changed`.
    pub group_changes: Vec<Change>,
    /// Users only in `b` (joined, or first captured), by username.
    pub users_added: Vec<String>,
    /// Users only in `a`, by username.
    pub users_removed: Vec<String>,
    /// Users in both whose role, user type, email, state, name or picture differ.
    pub user_changes: Vec<Change>,
    /// Custom roles only in `b`, by name.
    pub roles_added: Vec<String>,
    /// Custom roles only in `a`, by name.
    pub roles_removed: Vec<String>,
    /// Custom roles whose description or privileges differ, by name.
    pub roles_changed: Vec<String>,
    /// Organization settings (featured groups, gallery group queries, the category schema as
    /// `categorySchema`) that differ, by name.
    pub settings_changed: Vec<String>,
}

/// A changed group or member and what changed in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The group id or the username.
    pub id: String,
    /// The group's title or the member's full name, as in `b`.
    pub name: String,
    /// What differs: for a group `settings`, `thumbnail`, `categories`, `owner <a> → <b>`,
    /// `+<user> (<type>)`, `-<user>`, `<user> <type a> → <type b>`; for a member `role`,
    /// `custom role`, `user type`, `email`, `full name`, `disabled`/`enabled`, `picture`.
    pub parts: Vec<String>,
}

/// An item, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemSummary {
    /// The item id.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub item_type: String,
    /// Its title.
    pub title: String,
    /// Its owner.
    pub owner: String,
}

/// A changed item and what changed in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemChange {
    /// The item, as in `b`.
    #[serde(flatten)]
    pub item: ItemSummary,
    /// The parts that differ: `item JSON`, `data`, `thumbnail`, `metadata`, `resource <path>`
    /// (added, removed or changed), `payloads`, `sharing`, `relationships`, `owner`, `folder`.
    pub parts: Vec<String>,
}

/// Counts of a diff grouped by a key (owner or type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Items added.
    pub added: usize,
    /// Items removed.
    pub removed: usize,
    /// Items changed.
    pub changed: usize,
}

impl SnapshotDiff {
    /// Whether the two snapshots hold the same items and groups.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.groups_added.is_empty()
            && self.groups_removed.is_empty()
            && self.groups_changed.is_empty()
            && self.users_added.is_empty()
            && self.users_removed.is_empty()
            && self.user_changes.is_empty()
            && self.roles_added.is_empty()
            && self.roles_removed.is_empty()
            && self.roles_changed.is_empty()
            && self.settings_changed.is_empty()
    }

    /// Counts per owner.
    #[must_use]
    pub fn by_owner(&self) -> BTreeMap<String, Counts> {
        self.grouped(|s| s.owner.clone())
    }

    /// Counts per item type.
    #[must_use]
    pub fn by_type(&self) -> BTreeMap<String, Counts> {
        self.grouped(|s| s.item_type.clone())
    }

    fn grouped(&self, key: impl Fn(&ItemSummary) -> String) -> BTreeMap<String, Counts> {
        let mut out: BTreeMap<String, Counts> = BTreeMap::new();
        for s in &self.added {
            out.entry(key(s)).or_default().added += 1;
        }
        for s in &self.removed {
            out.entry(key(s)).or_default().removed += 1;
        }
        for c in &self.changed {
            out.entry(key(&c.item)).or_default().changed += 1;
        }
        out
    }
}

/// Compare snapshot `a` (older) with `b` (newer).
#[must_use]
pub fn diff(a: &Snapshot, b: &Snapshot) -> SnapshotDiff {
    let old: BTreeMap<&str, &Item> = a.items.iter().map(|i| (i.id.as_str(), i)).collect();
    let new: BTreeMap<&str, &Item> = b.items.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut out = SnapshotDiff::default();
    for (id, item) in &new {
        match old.get(id) {
            None => out.added.push(summary(item)),
            Some(before) => {
                let parts = changed_parts(before, item);
                if parts.is_empty() {
                    out.unchanged += 1;
                } else {
                    out.changed.push(ItemChange {
                        item: summary(item),
                        parts,
                    });
                }
            }
        }
    }
    for (id, item) in &old {
        if !new.contains_key(id) {
            out.removed.push(summary(item));
        }
    }
    let old_groups: BTreeMap<&str, &Group> = a.groups.iter().map(|g| (g.id.as_str(), g)).collect();
    let new_groups: BTreeMap<&str, &Group> = b.groups.iter().map(|g| (g.id.as_str(), g)).collect();
    for (id, g) in &new_groups {
        match old_groups.get(id) {
            None => out.groups_added.push((*id).to_owned()),
            Some(before) => {
                let parts = group_parts(before, g);
                if !parts.is_empty() {
                    out.groups_changed.push((*id).to_owned());
                    out.group_changes.push(Change {
                        id: (*id).to_owned(),
                        name: g.title.clone(),
                        parts,
                    });
                }
            }
        }
    }
    out.groups_removed = old_groups
        .keys()
        .filter(|id| !new_groups.contains_key(*id))
        .map(|id| (*id).to_owned())
        .collect();
    people(a, b, &mut out);
    out
}

/// What changed in a group: its JSON (settings), thumbnail, categories, owner and members.
fn group_parts(a: &Group, b: &Group) -> Vec<String> {
    let mut out = Vec::new();
    if a.group != b.group {
        out.push("settings".to_owned());
    }
    if a.thumbnail != b.thumbnail {
        out.push("thumbnail".to_owned());
    }
    if a.category_schema != b.category_schema {
        out.push("categories".to_owned());
    }
    if a.owner != b.owner {
        out.push(format!("owner {} → {}", a.owner, b.owner));
    }
    let old: BTreeMap<&str, &str> = a
        .members
        .iter()
        .map(|m| (m.username.as_str(), m.member_type.as_str()))
        .collect();
    let new: BTreeMap<&str, &str> = b
        .members
        .iter()
        .map(|m| (m.username.as_str(), m.member_type.as_str()))
        .collect();
    for (name, kind) in &new {
        match old.get(name) {
            None => out.push(format!("+{name} ({kind})")),
            Some(before) if before != kind && *kind != "owner" && *before != "owner" => {
                out.push(format!("{name} {before} → {kind}"));
            }
            _ => {}
        }
    }
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        out.push(format!("-{name}"));
    }
    out
}

/// Members, custom roles and organization settings. Members are compared by what the manifest
/// keeps of them (not their whole JSON, whose last sign-in changes every day).
fn people(a: &Snapshot, b: &Snapshot, out: &mut SnapshotDiff) {
    let old: BTreeMap<&str, &User> = a.users.iter().map(|u| (u.username.as_str(), u)).collect();
    let new: BTreeMap<&str, &User> = b.users.iter().map(|u| (u.username.as_str(), u)).collect();
    for (name, u) in &new {
        match old.get(name) {
            None => out.users_added.push((*name).to_owned()),
            Some(before) => {
                let mut parts = Vec::new();
                let mut check = |what: &str, same: bool| {
                    if !same {
                        parts.push(what.to_owned());
                    }
                };
                check("role", before.role == u.role);
                check("custom role", before.role_id == u.role_id);
                check("user type", before.user_type == u.user_type);
                check("email", before.email == u.email);
                check("full name", before.full_name == u.full_name);
                check("picture", before.thumbnail == u.thumbnail);
                if before.disabled != u.disabled {
                    parts.push(if u.disabled { "disabled" } else { "enabled" }.to_owned());
                }
                if !parts.is_empty() {
                    out.user_changes.push(Change {
                        id: (*name).to_owned(),
                        name: u.full_name.clone().unwrap_or_default(),
                        parts,
                    });
                }
            }
        }
    }
    out.users_removed = old
        .keys()
        .filter(|n| !new.contains_key(*n))
        .map(|n| (*n).to_owned())
        .collect();
    let roles = |s: &Snapshot| -> BTreeMap<String, Role> {
        s.people
            .iter()
            .flat_map(|p| &p.roles)
            .map(|r| (r.name.clone(), r.clone()))
            .collect()
    };
    let (old_roles, new_roles) = (roles(a), roles(b));
    for (name, r) in &new_roles {
        match old_roles.get(name) {
            None => out.roles_added.push(name.clone()),
            Some(before)
                if before.privileges != r.privileges || before.description != r.description =>
            {
                out.roles_changed.push(name.clone());
            }
            Some(_) => {}
        }
    }
    out.roles_removed = old_roles
        .keys()
        .filter(|n| !new_roles.contains_key(*n))
        .cloned()
        .collect();
    if let (Some(pa), Some(pb)) = (&a.people, &b.people) {
        let keys: BTreeSet<&String> = pa.settings.keys().chain(pb.settings.keys()).collect();
        for key in keys {
            if pa.settings.get(key) != pb.settings.get(key) {
                out.settings_changed.push(key.clone());
            }
        }
        if pa.category_schema != pb.category_schema {
            out.settings_changed.push("categorySchema".to_owned());
        }
    }
}

fn summary(item: &Item) -> ItemSummary {
    ItemSummary {
        id: item.id.clone(),
        item_type: item.item_type.clone(),
        title: item.title.clone(),
        owner: item.owner.clone(),
    }
}

fn changed_parts(a: &Item, b: &Item) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |name: &str, same: bool| {
        if !same {
            out.push(name.to_owned());
        }
    };
    check("item JSON", a.item == b.item);
    check("data", a.data == b.data);
    check("thumbnail", a.thumbnail == b.thumbnail);
    check("metadata", a.metadata == b.metadata);
    check("payloads", a.payloads == b.payloads);
    check("sharing", a.sharing == b.sharing);
    check("relationships", a.relationships == b.relationships);
    check("owner", a.owner == b.owner);
    check("folder", a.folder == b.folder);
    let old: BTreeMap<&str, _> = a
        .resources
        .iter()
        .map(|r| (r.path.as_str(), r.content))
        .collect();
    let new: BTreeMap<&str, _> = b
        .resources
        .iter()
        .map(|r| (r.path.as_str(), r.content))
        .collect();
    let paths: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    for path in paths {
        match (old.get(path), new.get(path)) {
            (None, Some(_)) => out.push(format!("resource {path} (added)")),
            (Some(_), None) => out.push(format!("resource {path} (removed)")),
            (Some(x), Some(y)) if x != y => out.push(format!("resource {path}")),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_removed_and_changed_parts() {
        let dir = tempfile::tempdir().unwrap();
        let repo = crate::Repository::init(&dir.path().join("r"), crate::ChunkerParams::default())
            .unwrap();
        let a = crate::sample::build_sample(&repo, "2026-11-26T02:00:00Z", 1000).unwrap();
        assert!(diff(&a, &a).is_empty());
        assert_eq!(diff(&a, &a).unchanged, a.items.len());

        let mut b = a.clone();
        let removed = b.items.remove(0);
        let changed = &mut b.items[0];
        changed.resources.push(crate::manifest::Resource {
            path: "images/new.png".into(),
            content: changed.item,
        });
        changed.sharing.access = crate::manifest::Access::Public;
        let mut added = changed.clone();
        added.id = "0123456789abcdef0123456789abcdef".into();
        b.items.push(added);
        let d = diff(&a, &b);
        assert_eq!(d.removed.len(), 1);
        assert_eq!(d.removed[0].id, removed.id);
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(
            d.changed[0].parts,
            ["sharing", "resource images/new.png (added)"]
        );
        assert!(d.users_added.is_empty() && d.user_changes.is_empty());
        let by_type = d.by_type();
        assert_eq!(
            by_type
                .values()
                .map(|c| c.added + c.removed + c.changed)
                .sum::<usize>(),
            3
        );
    }

    #[test]
    fn people_groups_and_roles() {
        let dir = tempfile::tempdir().unwrap();
        let repo = crate::Repository::init(&dir.path().join("r"), crate::ChunkerParams::default())
            .unwrap();
        let a = crate::sample::build_sample(&repo, "2026-11-26T02:00:00Z", 1000).unwrap();
        let mut b = a.clone();
        b.groups[0].members.push(crate::manifest::GroupMember {
            username: "editor".into(),
            member_type: "member".into(),
        });
        b.groups[0].members[0].member_type = "owner".into();
        b.users[0].role_id = None;
        b.users[1].disabled = true;
        b.users.push(crate::manifest::User {
            username: "new.member".into(),
            ..crate::manifest::User::default()
        });
        let people = b.people.as_mut().unwrap();
        people.roles[0].privileges.pop();
        people
            .settings
            .insert("featuredGroups".into(), serde_json::json!([]));
        let d = diff(&a, &b);
        assert!(!d.is_empty());
        assert_eq!(d.group_changes[0].parts, ["+editor (member)"]);
        assert_eq!(d.groups_changed, [a.groups[0].id.clone()]);
        assert_eq!(d.users_added, ["new.member"]);
        assert_eq!(d.user_changes[0].id, "editor");
        assert_eq!(d.user_changes[0].parts, ["custom role"]);
        assert_eq!(d.user_changes[1].parts, ["disabled"]);
        assert_eq!(d.roles_changed, ["Field Lead"]);
        assert_eq!(d.settings_changed, ["featuredGroups"]);
        assert!(d.changed.is_empty(), "no item changed");
    }
}
