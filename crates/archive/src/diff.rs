//! What changed between two snapshots: items and groups added, removed and changed, and for a
//! changed item, which of its parts. Compared by descriptor, so no content is read.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::manifest::{Group, Item, Snapshot};

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
            Some(before)
                if before.group != g.group
                    || before.thumbnail != g.thumbnail
                    || before.members != g.members =>
            {
                out.groups_changed.push((*id).to_owned());
            }
            Some(_) => {}
        }
    }
    out.groups_removed = old_groups
        .keys()
        .filter(|id| !new_groups.contains_key(*id))
        .map(|id| (*id).to_owned())
        .collect();
    out
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
        let by_type = d.by_type();
        assert_eq!(
            by_type
                .values()
                .map(|c| c.added + c.removed + c.changed)
                .sum::<usize>(),
            3
        );
    }
}
