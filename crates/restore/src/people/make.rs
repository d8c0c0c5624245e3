//! Making people in a target: custom roles, members (ArcGIS Enterprise accounts with the initial
//! password, ArcGIS Online invitations), their profiles and pictures; and last, disabled members
//! disabled again and the organization's group settings and category schema.

use std::collections::BTreeMap;

use orgpack_archive::Archive;
use orgpack_archive::manifest::{Snapshot, User};
use orgpack_portal::{Client, NewMember};
use serde_json::{Value, json};

use super::{PeopleMode, PeoplePlan, Person, RoleAction};
use crate::error::Result;
use crate::journal::{Journal, Kind};
use crate::plan::{Facts, RestoreOptions};
use crate::report::TargetReport;

/// What [`make`] and [`finish`] need of the target.
pub struct Make<'a> {
    /// The archive.
    pub archive: &'a Archive,
    /// The snapshot.
    pub snapshot: &'a Snapshot,
    /// The target.
    pub client: &'a Client,
    /// Its journal.
    pub journal: &'a Journal,
    /// Its facts.
    pub facts: &'a Facts,
    /// The options.
    pub options: &'a RestoreOptions,
}

fn user_json(make: &Make<'_>, user: &User) -> Value {
    user.user
        .as_ref()
        .and_then(|d| crate::item::read_json(make.archive, d).ok())
        .unwrap_or(Value::Null)
}

fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Make the roles and members the plan creates, then finish the profiles of members made by this
/// run or an earlier one cut short. A member who cannot be made becomes [`Person::Missing`]
/// (a note says why).
///
/// # Errors
/// Journal errors.
pub async fn make(
    make: &Make<'_>,
    people: &mut PeoplePlan,
    report: &mut TargetReport,
) -> Result<()> {
    if people.mode != PeopleMode::Create {
        return Ok(());
    }
    let roles = make_roles(make, people, report).await?;
    let to_make: Vec<&User> = make
        .snapshot
        .users
        .iter()
        .filter(|u| matches!(people.users.get(&u.username), Some(Person::Create(_))))
        .collect();
    for user in to_make {
        let Some(Person::Create(target)) = people.users.get(&user.username).cloned() else {
            continue;
        };
        if make.journal.id(Kind::User, &user.username)?.is_some() {
            continue;
        }
        match make_member(make, user, &target, &roles).await {
            Ok(note) => {
                make.journal
                    .set_id(Kind::User, &user.username, &target, true)?;
                report.notes.extend(note);
            }
            Err(e) => {
                report.notes.push(format!(
                    "warning: user `{}` could not be created ({e}): their items go to `{}`",
                    user.username, make.facts.user
                ));
                people
                    .users
                    .insert(user.username.clone(), Person::Missing(target));
            }
        }
    }
    for user in &make.snapshot.users {
        let Some(target) = make.journal.id(Kind::User, &user.username)? else {
            continue;
        };
        let key = format!("user:{}", user.username);
        if make.journal.done(&key, "profile")? {
            continue;
        }
        match profile(make, user, &target).await {
            Ok(()) => make.journal.mark(&key, "profile")?,
            Err(e) => report.notes.push(format!(
                "user `{target}`: the profile could not be set: {e}"
            )),
        }
    }
    Ok(())
}

/// The roles: source custom role id → target role id, made where the plan says.
async fn make_roles(
    make: &Make<'_>,
    people: &PeoplePlan,
    report: &mut TargetReport,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let source_roles = make
        .snapshot
        .people
        .as_ref()
        .map(|p| p.roles.as_slice())
        .unwrap_or_default();
    for (id, action) in &people.roles {
        match action {
            RoleAction::Use(t) => {
                out.insert(id.clone(), t.clone());
            }
            RoleAction::Differs(_) => {}
            RoleAction::Create => {
                if let Some(t) = make.journal.id(Kind::Role, id)? {
                    out.insert(id.clone(), t);
                    continue;
                }
                let Some(role) = source_roles.iter().find(|r| r.id == *id) else {
                    continue;
                };
                match make
                    .client
                    .create_role(&role.name, &role.description, &role.privileges)
                    .await
                {
                    Ok(t) => {
                        make.journal.set_id(Kind::Role, id, &t, true)?;
                        out.insert(id.clone(), t);
                    }
                    Err(e) => report.notes.push(format!(
                        "warning: custom role `{}` could not be created ({e}): its members get their base role",
                        role.name
                    )),
                }
            }
        }
    }
    Ok(out)
}

/// Make one member: their role (the mapped custom role, else their base role) and user type as
/// in the source; refused, once more with their base role and a Creator user type, said in the
/// returned note.
async fn make_member(
    make: &Make<'_>,
    user: &User,
    target: &str,
    roles: &BTreeMap<String, String>,
) -> std::result::Result<Option<String>, String> {
    let json = user_json(make, user);
    let base = user.role.as_deref().unwrap_or("org_user");
    let role = user
        .role_id
        .as_ref()
        .and_then(|r| roles.get(r))
        .map_or(base, String::as_str);
    let user_type = user.user_type.as_deref().unwrap_or("creatorUT");
    let email = user
        .email
        .as_deref()
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            "the archive holds no email for them, and the portal needs one".to_owned()
        })?;
    let full_name = user.full_name.as_deref().unwrap_or(target);
    let member = |role, user_type| NewMember {
        username: target,
        first_name: text(&json, "firstName"),
        last_name: text(&json, "lastName"),
        full_name,
        email,
        description: text(&json, "description"),
        role,
        user_type,
    };
    let first = create(make, &member(role, user_type)).await;
    match first {
        Ok(()) => Ok(None),
        Err(e) if role != base || user_type != "creatorUT" => {
            create(make, &member(base, "creatorUT"))
                .await
                .map_err(|again| format!("{e}; as {base} with a Creator user type: {again}"))?;
            Ok(Some(format!(
                "user `{target}` was created as {base} with a Creator user type, the nearest the target allowed ({role}, {user_type}: {e})"
            )))
        }
        Err(e) => Err(e),
    }
}

async fn create(make: &Make<'_>, member: &NewMember<'_>) -> std::result::Result<(), String> {
    if make.facts.is_portal {
        let password = make
            .options
            .initial_password
            .as_ref()
            .ok_or_else(|| "no initial password".to_owned())?;
        make.client
            .create_user(member, &password.0)
            .await
            .map_err(|e| e.to_string())
    } else {
        let not_invited = make
            .client
            .invite(std::slice::from_ref(member))
            .await
            .map_err(|e| e.to_string())?;
        if not_invited.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "not invited: the username `{}` is taken (ArcGIS Online usernames are unique across all organizations) or the invitation was refused",
                member.username
            ))
        }
    }
}

/// A made member's tags, culture, region and picture.
async fn profile(make: &Make<'_>, user: &User, target: &str) -> std::result::Result<(), String> {
    let json = user_json(make, user);
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
    let mut params: Vec<(&str, &str)> = Vec::new();
    if !tags.is_empty() {
        params.push(("tags", &tags));
    }
    for key in ["culture", "region"] {
        if !text(&json, key).is_empty() {
            params.push((key, text(&json, key)));
        }
    }
    if !params.is_empty() {
        make.client
            .update_user(target, &params)
            .await
            .map_err(|e| e.to_string())?;
    }
    if let Some(t) = &user.thumbnail {
        let bytes = crate::item::read(make.archive, &t.content)?;
        let name = t.name.as_deref().unwrap_or("thumbnail.png");
        make.client
            .set_thumbnail(&format!("community/users/{target}/update"), bytes, name)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Last: members made by a restore whose source account was disabled are disabled again; and,
/// creating the whole organization (`--people create`, no `--item`), its featured groups, gallery
/// group queries and category schema are set, groups mapped to the target's. Settings that
/// already hold the wanted value send nothing.
///
/// # Errors
/// Journal errors.
pub async fn finish(
    make: &Make<'_>,
    people: &PeoplePlan,
    groups: &BTreeMap<String, String>,
    report: &mut TargetReport,
) -> Result<()> {
    if people.mode != PeopleMode::Create {
        return Ok(());
    }
    for user in make.snapshot.users.iter().filter(|u| u.disabled) {
        let Some(target) = make.journal.id(Kind::User, &user.username)? else {
            continue;
        };
        let key = format!("user:{}", user.username);
        if make.journal.done(&key, "disabled")? {
            continue;
        }
        let path = format!("community/users/{target}/disable");
        match make
            .client
            .call("disable", orgpack_portal::Method::Post, &path, &[])
            .await
        {
            Ok(_) => make.journal.mark(&key, "disabled")?,
            Err(e) => report.notes.push(format!(
                "user `{target}` could not be disabled as in the source: {e}"
            )),
        }
    }
    if !make.options.items.is_empty() {
        return Ok(());
    }
    let Some(source) = make.snapshot.people.as_ref() else {
        return Ok(());
    };
    if let Some(schema) = &source.category_schema {
        match make.client.category_schema(None).await {
            Ok(mine) if mine == *schema => {}
            Ok(mine) if mine.as_array().is_none_or(Vec::is_empty) => {
                if let Err(e) = make.client.assign_category_schema(None, schema).await {
                    report
                        .notes
                        .push(format!("the category schema could not be set: {e}"));
                }
            }
            Ok(_) => report.notes.push(
                "the target has a category schema of its own: left as it is (items keep their categories' paths)".into(),
            ),
            Err(e) => report
                .notes
                .push(format!("the target's category schema could not be read: {e}")),
        }
    }
    settings(make, people, groups, report).await;
    Ok(())
}

/// The organization's group settings, each group mapped to the target's; a setting naming a
/// group the restore did not bring is left as the target has it.
async fn settings(
    make: &Make<'_>,
    people: &PeoplePlan,
    groups: &BTreeMap<String, String>,
    report: &mut TargetReport,
) {
    let Some(source) = make.snapshot.people.as_ref() else {
        return;
    };
    let Ok(mine) = make.client.portal_self().await else {
        return;
    };
    let mut wanted: Vec<(String, String)> = Vec::new();
    for (key, value) in &source.settings {
        let mapped = if key == "featuredGroups" {
            featured(make.snapshot, people, groups, &make.facts.user, value)
        } else if let Some(v) = value.as_str() {
            map_query(v, groups).map(Value::String)
        } else {
            None
        };
        let Some(mapped) = mapped else {
            continue;
        };
        if mine.get(key) == Some(&mapped) {
            continue;
        }
        let text = mapped
            .as_str()
            .map_or_else(|| mapped.to_string(), str::to_owned);
        wanted.push((key.clone(), text));
    }
    if wanted.is_empty() {
        return;
    }
    let params: Vec<(&str, &str)> = wanted
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    match make.client.update_portal(&params).await {
        Ok(()) => report.notes.push(format!(
            "organization settings set as in the source: {}",
            wanted
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Err(e) => report
            .notes
            .push(format!("the organization's settings could not be set: {e}")),
    }
}

/// Featured groups (`[{"title", "owner"}]`) as the target names them: each group the restore
/// brought, with its owner there.
fn featured(
    snapshot: &Snapshot,
    people: &PeoplePlan,
    groups: &BTreeMap<String, String>,
    me: &str,
    value: &Value,
) -> Option<Value> {
    let list = value.as_array()?;
    let mapped: Vec<Value> = list
        .iter()
        .filter_map(|f| {
            let (title, owner) = (f.get("title")?.as_str()?, f.get("owner")?.as_str()?);
            let g = snapshot
                .groups
                .iter()
                .find(|g| g.title == title && g.owner == owner)?;
            groups.get(&g.id)?;
            Some(json!({"title": title, "owner": people.owner(owner, me)}))
        })
        .collect();
    (!list.is_empty() && !mapped.is_empty()).then_some(Value::Array(mapped))
}

/// A group query naming groups by `id:<id>`, those ids mapped; `None` when it names no group the
/// restore brought (an Esri gallery group, say).
fn map_query(query: &str, groups: &BTreeMap<String, String>) -> Option<String> {
    let mut out = query.to_owned();
    let mut any = false;
    for (source, target) in groups {
        let term = format!("id:{source}");
        if out.contains(&term) {
            out = out.replace(&term, &format!("id:{target}"));
            any = true;
        }
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_follow_their_groups_and_leave_others() {
        let groups = BTreeMap::from([("a".repeat(32), "b".repeat(32))]);
        assert_eq!(
            map_query(&format!("id:{}", "a".repeat(32)), &groups),
            Some(format!("id:{}", "b".repeat(32)))
        );
        assert_eq!(
            map_query("title:\"Esri Basemaps\" AND owner:esri_en", &groups),
            None
        );
    }
}
