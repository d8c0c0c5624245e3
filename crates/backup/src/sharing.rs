//! Sharing of many items at once: which of the organization's groups each item is shared with,
//! from one listing per group instead of one request per item. An incremental backup uses it for
//! items that did not change, so an unchanged organization costs a few listings, not a request an
//! item.

use std::collections::{BTreeMap, BTreeSet};

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
            for item in client.group_content(id).await? {
                if let Some(item_id) = item.get("id").and_then(Value::as_str) {
                    out.by_item
                        .entry(item_id.to_owned())
                        .or_default()
                        .push(id.to_owned());
                }
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
