//! Turning a [`Selection`] into the item ids it names, and the groups to capture.
//!
//! Whole organizations and owners are listed user by user, folder by folder
//! (`content/users/<u>[/<folder>]`), never by search: listings are exact and have no 10,000-result
//! ceiling, where search is fuzzy and capped (shared/reference/portal-rest-api.md §4).

use std::collections::BTreeMap;

use orgpack_archive::manifest::Selection;
use orgpack_portal::Client;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::item_json::ItemJson;

/// The items a selection names, each with the first reason it was selected, and the groups to
/// capture because they were selected.
#[derive(Debug, Default)]
pub struct Selected {
    /// Item id → why it was selected (`owner alice`, `group <id>`, …).
    pub items: BTreeMap<String, String>,
    /// Item id → its JSON as a listing or search gave it (with its owner, `modified`, `access`).
    pub listed: BTreeMap<String, ItemJson>,
    /// Group ids selected with `--group`.
    pub groups: Vec<String>,
    /// Members of the organization whose content could not be listed (`--all`): recorded, and the
    /// rest backed up.
    pub failures: Vec<orgpack_archive::manifest::Failure>,
}

impl Selected {
    /// Adds listed items, except orgpack's own temporary exports (titled
    /// [`EXPORT_TITLE_PREFIX`](crate::capture::EXPORT_TITLE_PREFIX)): another run's, in flight
    /// or left by a killed run for the ledger to delete, they are never content to back up.
    fn add(&mut self, list: &[Value], why: &str) {
        self.add_kept(list.iter().map(ItemJson::new).collect(), why);
    }

    fn add_kept(&mut self, list: Vec<ItemJson>, why: &str) {
        for item in list {
            let title = item.get("title").and_then(Value::as_str).unwrap_or("");
            if title.starts_with(crate::capture::EXPORT_TITLE_PREFIX) {
                continue;
            }
            if let Some(id) = item.get("id").and_then(Value::as_str).map(str::to_owned) {
                self.items
                    .entry(id.clone())
                    .or_insert_with(|| why.to_owned());
                self.listed.entry(id).or_insert(item);
            }
        }
    }
}

/// An owner's items: their root folder's, then each folder's.
async fn list_owner(
    client: &Client,
    owner: &str,
) -> Result<Vec<Vec<ItemJson>>, orgpack_portal::Error> {
    let keep = |v: Value| Some(ItemJson::new(&v));
    let mut out = vec![client.user_items_kept(owner, None, keep).await?];
    for folder in client.user_folders(owner).await? {
        if let Some(fid) = folder.get("id").and_then(Value::as_str) {
            out.push(client.user_items_kept(owner, Some(fid), keep).await?);
        }
    }
    Ok(out)
}

/// Resolve `selection` in the organization `org_id`.
///
/// # Errors
/// Portal errors listing what was selected; [`Error::Selection`] when a named folder does not
/// exist or an item id is malformed.
pub async fn resolve(client: &Client, org_id: &str, selection: &Selection) -> Result<Selected> {
    let mut out = Selected::default();
    let mut owners: Vec<String> = selection.owners.clone();
    if selection.all {
        for user in client.org_users().await? {
            if let Some(name) = user.get("username").and_then(Value::as_str) {
                owners.push(name.to_owned());
            }
        }
    }
    owners.sort();
    owners.dedup();
    for owner in &owners {
        let why = if selection.all {
            "whole organization".to_owned()
        } else {
            format!("owner {owner}")
        };
        match list_owner(client, owner).await {
            Ok(lists) => {
                for list in lists {
                    out.add_kept(list, &why);
                }
            }
            // One member's listing failing does not stop a whole-organization backup: it is a
            // failed part of the snapshot, and the next backup lists them again.
            Err(e) if selection.all && !selection.owners.contains(owner) => {
                out.failures.push(orgpack_archive::manifest::Failure {
                    subject: orgpack_archive::manifest::FailureSubject::User,
                    id: owner.clone(),
                    part: Some("content listing".into()),
                    message: e.to_string(),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    for spec in &selection.folders {
        let (owner, name) = spec.split_once('/').ok_or_else(|| {
            Error::Selection(format!(
                "folder `{spec}` must be given as OWNER/FOLDER (a title or a folder id)"
            ))
        })?;
        let folders = client.user_folders(owner).await?;
        let found = folders.iter().find_map(|f| {
            let id = f.get("id").and_then(Value::as_str)?;
            let title = f.get("title").and_then(Value::as_str).unwrap_or_default();
            (id == name || title == name).then_some(id)
        });
        let Some(fid) = found else {
            let titles: Vec<&str> = folders
                .iter()
                .filter_map(|f| f.get("title").and_then(Value::as_str))
                .collect();
            return Err(Error::Selection(format!(
                "user `{owner}` has no folder `{name}` (folders: {})",
                if titles.is_empty() {
                    "none".to_owned()
                } else {
                    titles.join(", ")
                }
            )));
        };
        out.add(
            &client.user_items(owner, Some(fid)).await?,
            &format!("folder {spec}"),
        );
    }
    for group in &selection.groups {
        client.group(group).await?;
        out.add(
            &client.group_content(group).await?,
            &format!("group {group}"),
        );
        out.groups.push(group.clone());
    }
    for query in &selection.queries {
        let restricted = format!("({query}) AND orgid:{org_id}");
        out.add(
            &client.search_all(&restricted, 100).await?,
            &format!("query {query}"),
        );
    }
    for id in &selection.items {
        if !orgpack_archive::manifest::is_portal_id(id) {
            return Err(Error::Selection(format!(
                "`{id}` is not an item id (32 lowercase hexadecimal digits)"
            )));
        }
        out.items
            .entry(id.clone())
            .or_insert_with(|| "selected by id".to_owned());
    }
    Ok(out)
}
