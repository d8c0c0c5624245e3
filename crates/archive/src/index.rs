//! `index.json`: the list of committed snapshots, the archive's single commit point
//! (spec/archive-format.md §4.4).

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::layout::FORMAT_VERSION;
use crate::manifest::Snapshot;

/// The list of committed snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// The format version the index was written with.
    pub format_version: String,
    /// Committed snapshots, oldest first.
    #[serde(default)]
    pub snapshots: Vec<IndexEntry>,
}

/// A committed snapshot and a summary of it, so listings need not read every manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    /// The snapshot id: the digest of its manifest file.
    pub id: Digest,
    /// The manifest's `created`.
    pub created: String,
    /// The manifest's `source.portalUrl`.
    pub portal_url: String,
    /// The manifest's `source.orgId`.
    pub org_id: String,
    /// The manifest's `source.user`.
    pub user: String,
    /// The number of items in the manifest.
    pub items: u64,
    /// The total size of the distinct content the manifest references.
    pub size: u64,
    /// The manifest's `parent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Digest>,
    /// The manifest's `tags`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl Default for Index {
    fn default() -> Self {
        Self {
            format_version: FORMAT_VERSION.to_owned(),
            snapshots: Vec::new(),
        }
    }
}

impl IndexEntry {
    /// The entry for `snapshot`, stored under `id`.
    #[must_use]
    pub fn new(id: Digest, snapshot: &Snapshot) -> Self {
        Self {
            id,
            created: snapshot.created.clone(),
            portal_url: snapshot.source.portal_url.clone(),
            org_id: snapshot.source.org_id.clone(),
            user: snapshot.source.user.clone(),
            items: snapshot.items.len() as u64,
            size: snapshot.total_size(),
            parent: snapshot.parent,
            tags: snapshot.tags.clone(),
        }
    }
}

impl Index {
    /// Add an entry unless a snapshot with the same id is already listed.
    pub fn insert(&mut self, entry: IndexEntry) -> bool {
        if self.snapshots.iter().any(|e| e.id == entry.id) {
            return false;
        }
        self.snapshots.push(entry);
        // A stable sort by time: snapshots of the same second keep the order they were
        // committed in, so the newest stays last (a backup's parent is the last of its kind;
        // ordering ties by id would make it a coin toss).
        self.snapshots.sort_by(|a, b| a.created.cmp(&b.created));
        true
    }

    /// Problems with the index itself: duplicate ids, bad times.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for e in &self.snapshots {
            if !seen.insert(e.id) {
                out.push(format!("snapshot `{}` is listed twice", e.id.short()));
            }
            if e.created.parse::<jiff::Timestamp>().is_err() {
                out.push(format!(
                    "snapshot `{}` has an unreadable time",
                    e.id.short()
                ));
            }
        }
        out
    }
}
