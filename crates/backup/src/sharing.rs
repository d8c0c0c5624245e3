//! Sharing of many items at once: which of the organization's groups each item is shared with,
//! from one listing per group instead of one request per item. An incremental backup uses it for
//! items that did not change, so an unchanged organization costs a few listings, not a request an
//! item; any backup uses it for every listed item when no member of the organization belongs to a
//! group of another organization ([`members_stay_in_org_groups`]).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt as _;
use orgpack_portal::Client;
use serde_json::Value;

/// The organization's groups and, per item, the groups it is shared with.
#[derive(Debug, Default)]
pub struct GroupIndex {
    /// Every group of the organization.
    pub groups: BTreeSet<String>,
    /// Item id → the organization's groups it is shared with, sorted.
    pub by_item: BTreeMap<String, Vec<String>>,
}

impl GroupIndex {
    /// List the organization's groups (`community/groups?q=orgid:…`) and each one's content.
    ///
    /// # Errors
    /// Portal errors of the listings.
    pub async fn build(client: &Client, org_id: &str) -> Result<Self, orgpack_portal::Error> {
        let mut out = Self::default();
        for group in client.search_groups(&format!("orgid:{org_id}")).await? {
            let Some(id) = group.get("id").and_then(Value::as_str) else {
                continue;
            };
            out.groups.insert(id.to_owned());
            for item_id in client.group_content_ids(id).await? {
                out.by_item.entry(item_id).or_default().push(id.to_owned());
            }
        }
        for groups in out.by_item.values_mut() {
            groups.sort();
            groups.dedup();
        }
        Ok(out)
    }

    /// The groups `item` is shared with, when the index can say: `None` when the item was shared
    /// with a group outside the organization (the index cannot see those; ask the owner's view).
    pub fn groups_of(&self, item: &str, before: &[String]) -> Option<Vec<String>> {
        if before.iter().any(|g| !self.groups.contains(g)) {
            return None;
        }
        Some(self.by_item.get(item).cloned().unwrap_or_default())
    }
}

/// Fewer items than this needing their owner's view are not worth listing the members for.
pub const MEMBER_CHECK_FROM: usize = 20;

/// Whether no member of the organization belongs to a group outside `index` (a group of another
/// organization): then no item of the organization can be shared with such a group — only members
/// share items, and only into groups they belong to (an administrator too) — and the index says
/// every item's groups. Asked only when it costs fewer requests than it saves: the member listing
/// and one `community/users/<u>` per member (which, read by an administrator, lists the groups
/// the member belongs to in any organization) against `needs_view` owner's views. `false` when
/// it would not pay, or anything cannot be read.
pub async fn members_stay_in_org_groups(
    client: &Client,
    index: &GroupIndex,
    needs_view: usize,
    concurrency: usize,
) -> bool {
    if needs_view < MEMBER_CHECK_FROM {
        return false;
    }
    let Ok(members) = client.org_users().await else {
        return false;
    };
    if members.len() + 1 >= needs_view {
        return false;
    }
    let names: Vec<String> = members
        .iter()
        .filter_map(|m| m.get("username").and_then(Value::as_str).map(str::to_owned))
        .collect();
    if names.len() != members.len() {
        return false;
    }
    let answers: Vec<bool> = futures_util::stream::iter(names)
        .map(|name| async move {
            let Ok(user) = client.user(&name).await else {
                return false;
            };
            // A user JSON without `groups` (not read as an administrator) says nothing.
            let Some(groups) = user.get("groups").and_then(Value::as_array) else {
                return false;
            };
            groups.iter().all(|g| {
                g.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| index.groups.contains(id))
            })
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    answers.iter().all(|ok| *ok)
}
