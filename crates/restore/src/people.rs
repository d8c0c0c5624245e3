//! `people`: who owns what in a target, and bringing the organization's people back
//! (`--people create|map|none`, spec/backup-restore.md, People).
//!
//! [`plan`] matches every user the restore involves with the target's members (one listing):
//! the same username or `--owner-map`'s. With `create`, members the target lacks are to be made,
//! with their custom roles first (an existing role of the same name is used when its privileges
//! are the same). With `map`, a user without a match is *missing*: their items and groups go to
//! the restoring user, and the plan says so. With `none`, nobody is mapped: the restoring user
//! owns everything.
//!
//! [`make`] runs before the groups: roles, then members (ArcGIS Enterprise: built-in accounts
//! with the initial password, which is never printed, logged or stored; ArcGIS Online:
//! invitations), then their profiles and pictures. A member who cannot be made becomes missing,
//! with a note, and their items still arrive, owned by the restoring user. [`finish`] runs last:
//! disabled members disabled again, and (creating the whole organization) its featured groups,
//! gallery group queries and category schema.

use std::collections::{BTreeMap, BTreeSet};

use orgpack_archive::manifest::Snapshot;
use orgpack_portal::Client;
use serde_json::Value;

use crate::plan::{Facts, RestoreOptions};

mod make;

pub use make::{Make, finish, make};

/// How a restore brings people (`--people`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeopleMode {
    /// Make the custom roles and members the target lacks, then map.
    Create,
    /// Match users by name or owner map; unmatched users' content goes to the restoring user.
    #[default]
    Map,
    /// Map nobody: the restoring user owns everything; groups get no members.
    None,
}

/// The initial password of members made on ArcGIS Enterprise. Its `Debug` shows nothing, and
/// nothing here prints, logs or stores it.
#[derive(Clone)]
pub struct InitialPassword(pub(crate) String);

impl InitialPassword {
    /// Wrap a password (from `--initial-password-file` or `ORGPACK_INITIAL_PASSWORD`).
    #[must_use]
    pub fn new(password: String) -> Self {
        Self(password)
    }
}

impl std::fmt::Debug for InitialPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InitialPassword(REDACTED)")
    }
}

/// A source user in a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Person {
    /// A member of the target with this username.
    Existing(String),
    /// To be made with this username (`--people create`).
    Create(String),
    /// Not in the target (this username was looked for): their content goes to the restoring user.
    Missing(String),
}

/// A source custom role in a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleAction {
    /// The target's role of the same name and privileges (its id).
    Use(String),
    /// To be made.
    Create,
    /// The target's role of the same name grants other privileges (its id): left as it is, and
    /// members who held the source's role get their base role instead.
    Differs(String),
}

/// Who is who in one target.
#[derive(Debug, Clone, Default)]
pub struct PeoplePlan {
    /// The mode.
    pub mode: PeopleMode,
    /// Source username → the member in the target.
    pub users: BTreeMap<String, Person>,
    /// Source custom role id → the role in the target.
    pub roles: BTreeMap<String, RoleAction>,
}

impl PeoplePlan {
    /// The target username of a source user, when they are (or will be) a member there.
    #[must_use]
    pub fn target(&self, source: &str) -> Option<&str> {
        match self.users.get(source)? {
            Person::Existing(t) | Person::Create(t) => Some(t),
            Person::Missing(_) => None,
        }
    }

    /// Who owns a source user's content in the target: their member, else `me`.
    #[must_use]
    pub fn owner(&self, source: &str, me: &str) -> String {
        self.target(source).unwrap_or(me).to_owned()
    }
}

/// The users a restore involves: every user of the snapshot when restoring all of it, else the
/// owners of the chosen items and the owners and members of the groups they are shared with.
fn involved<'s>(snapshot: &'s Snapshot, chosen: &BTreeSet<String>, whole: bool) -> Vec<&'s str> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    if whole {
        names.extend(snapshot.users.iter().map(|u| u.username.as_str()));
        names.extend(snapshot.items.iter().map(|i| i.owner.as_str()));
    } else {
        let mut groups = BTreeSet::new();
        for item in snapshot.items.iter().filter(|i| chosen.contains(&i.id)) {
            names.insert(item.owner.as_str());
            groups.extend(item.sharing.groups.iter().map(|g| g.id.as_str()));
        }
        for g in snapshot
            .groups
            .iter()
            .filter(|g| groups.contains(g.id.as_str()))
        {
            names.insert(g.owner.as_str());
            names.extend(g.members.iter().map(|m| m.username.as_str()));
        }
    }
    names.retain(|n| !n.is_empty());
    names.into_iter().collect()
}

/// The target's members, lowercased username → username: one listing, or for a restoring user
/// who may not list members, one lookup per name (kept only when in the target's organization:
/// ArcGIS Online finds users of every organization by name).
async fn target_members(
    client: &Client,
    facts: &Facts,
    wanted: &[String],
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(members) = client.org_users().await {
        for m in members {
            if let Some(name) = m.get("username").and_then(Value::as_str) {
                out.insert(name.to_lowercase(), name.to_owned());
            }
        }
        return out;
    }
    for name in wanted {
        if let Ok(u) = client.user(name).await {
            let org = u.get("orgId").and_then(Value::as_str);
            if org.is_none_or(|o| o == facts.org_id)
                && let Some(n) = u.get("username").and_then(Value::as_str)
            {
                out.insert(n.to_lowercase(), n.to_owned());
            }
        }
    }
    out
}

/// Plan who is who in the target; notes say who is missing and what happens to their content,
/// and what `create` will make.
pub async fn plan(
    snapshot: &Snapshot,
    chosen: &BTreeSet<String>,
    client: &Client,
    facts: &Facts,
    options: &RestoreOptions,
    notes: &mut Vec<String>,
) -> PeoplePlan {
    let mut out = PeoplePlan {
        mode: options.people,
        ..PeoplePlan::default()
    };
    if options.people == PeopleMode::None {
        notes.push(format!(
            "--people none: every item and group is owned by `{}`; groups get no members",
            facts.user
        ));
        return out;
    }
    let names = involved(snapshot, chosen, options.items.is_empty());
    let wanted: Vec<String> = names
        .iter()
        .map(|n| {
            options
                .owner_map
                .get(*n)
                .map_or(*n, String::as_str)
                .to_owned()
        })
        .collect();
    let members = target_members(client, facts, &wanted).await;
    let create = options.people == PeopleMode::Create;
    let no_password = create && facts.is_portal && options.initial_password.is_none();
    for (name, wanted) in names.iter().zip(wanted) {
        let person = if let Some(found) = members.get(&wanted.to_lowercase()) {
            Person::Existing(found.clone())
        } else if create && !no_password {
            Person::Create(wanted)
        } else {
            Person::Missing(wanted)
        };
        out.users.insert((*name).to_owned(), person);
    }
    if create {
        out.roles = plan_roles(snapshot, &out, client, notes).await;
    }
    describe(snapshot, chosen, &out, facts, no_password, notes);
    out
}

/// The custom roles of members to make, matched by name with the target's.
async fn plan_roles(
    snapshot: &Snapshot,
    people: &PeoplePlan,
    client: &Client,
    notes: &mut Vec<String>,
) -> BTreeMap<String, RoleAction> {
    let mut out = BTreeMap::new();
    let Some(roles) = snapshot.people.as_ref().map(|p| &p.roles) else {
        return out;
    };
    let needed: BTreeSet<&str> = snapshot
        .users
        .iter()
        .filter(|u| matches!(people.users.get(&u.username), Some(Person::Create(_))))
        .filter_map(|u| u.role_id.as_deref())
        .collect();
    let mine: Vec<Value> = match client.roles().await {
        Ok(r) => r,
        Err(e) => {
            notes.push(format!(
                "the target's roles could not be read ({e}): members are made with their base role"
            ));
            return out;
        }
    };
    for role in roles.iter().filter(|r| needed.contains(r.id.as_str())) {
        let same_name = mine.iter().find(|m| {
            m.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(&role.name))
        });
        let action = match same_name.and_then(|m| m.get("id").and_then(Value::as_str)) {
            None => {
                notes.push(format!("custom role `{}` is created", role.name));
                RoleAction::Create
            }
            Some(id) => match client.role_privileges(id).await {
                Ok(p) if p == role.privileges => RoleAction::Use(id.to_owned()),
                _ => {
                    notes.push(format!(
                        "the target's role `{}` grants other privileges than the source's: left as it is; its members get their base role",
                        role.name
                    ));
                    RoleAction::Differs(id.to_owned())
                }
            },
        };
        out.insert(role.id.clone(), action);
    }
    out
}

/// Notes: who is made, who is missing and where their content goes.
fn describe(
    snapshot: &Snapshot,
    chosen: &BTreeSet<String>,
    people: &PeoplePlan,
    facts: &Facts,
    no_password: bool,
    notes: &mut Vec<String>,
) {
    let how = if facts.is_portal {
        "an ArcGIS Enterprise account with the initial password, which they should change at first sign-in"
    } else {
        "an ArcGIS Online invitation"
    };
    for (name, person) in &people.users {
        match person {
            Person::Create(t) => notes.push(format!("user `{name}` is created as `{t}` ({how})")),
            Person::Missing(t) => {
                let items = snapshot
                    .items
                    .iter()
                    .filter(|i| chosen.contains(&i.id) && i.owner == *name)
                    .count();
                let groups = snapshot.groups.iter().filter(|g| g.owner == *name).count();
                let why = if no_password {
                    " and cannot be created: ArcGIS Enterprise accounts need an initial password (--initial-password-file FILE or ORGPACK_INITIAL_PASSWORD)"
                } else {
                    ""
                };
                notes.push(format!(
                    "warning: user `{t}` is not in the target{why}: `{name}`'s {items} items and {groups} groups go to `{}`, and `{name}` is in no group",
                    facts.user
                ));
            }
            Person::Existing(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let p = InitialPassword::new("Sup3r-secret!".into());
        assert!(!format!("{p:?}").contains("Sup3r"));
    }
}
