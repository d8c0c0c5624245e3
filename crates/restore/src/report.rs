//! What a restore did (or, with `--dry-run`, would do) in each target.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// What the plan decided for an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Create it.
    Create,
    /// Republish a hosted service from its payload, then set its properties.
    Republish,
    /// It exists in the target (restored before): update it.
    Update,
    /// It exists in the target: leave it.
    Skip,
    /// In place: it exists but differs from the snapshot: put it back as it was.
    PutBack,
    /// In place: it is in the recycle bin: restore it from there, then put it back.
    Undelete,
}

impl Action {
    /// The action in words (`put back`, not `PutBack`).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Republish => "republish",
            Self::Update => "update",
            Self::Skip => "skip",
            Self::PutBack => "put back",
            Self::Undelete => "undelete",
        }
    }
}

/// An item of the organization that the snapshot does not hold (in place).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewItem {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its type.
    #[serde(rename = "type")]
    pub item_type: String,
    /// Its owner.
    pub owner: String,
}

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Dry run: nothing was done.
    Planned,
    /// Created (or republished).
    Created,
    /// Updated.
    Updated,
    /// Left as it was, or not attempted (the reason says which).
    Skipped,
    /// Failed; the reason says why.
    Failed,
    /// Created, then deleted again by `--rollback`.
    RolledBack,
}

/// One item in one target.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// The id in the snapshot.
    pub source_id: String,
    /// The id in the target, when there is one.
    pub target_id: Option<String>,
    /// The title.
    pub title: String,
    /// The type.
    #[serde(rename = "type")]
    pub item_type: String,
    /// The owner in the target.
    pub owner: String,
    /// What the plan decided.
    pub action: Action,
    /// What happened.
    pub status: Status,
    /// Why it was skipped or failed, or what is worth knowing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// References rewritten in its JSON, data and resources.
    pub rewritten: usize,
    /// Dry run: each reference and what it would become.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrites: Vec<crate::preview::Rewrite>,
    /// In place: what differs from the snapshot (what putting it back changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// What will not work in the target as it did in the source, though the item is there (a
    /// hosted tile layer still showing the source's tiles: `crate::limits`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// Why an item was not attempted: it needs `bad`, which failed, or was itself held back by
/// `root`'s failure. [`Entry::held_back_by`] reads it back.
#[must_use]
pub fn held_back_reason(bad: &str, root: &str) -> String {
    if bad == root {
        format!("depends on {bad}, which failed")
    } else {
        format!("depends on {bad}, which failed (because {root} failed)")
    }
}

impl Entry {
    /// Why the item will not work in the target as in the source, when it is there (created,
    /// updated, planned, or already there) and will not.
    #[must_use]
    pub fn incomplete(&self) -> Option<&str> {
        let there = matches!(
            self.status,
            Status::Created | Status::Updated | Status::Planned
        ) || (self.status == Status::Skipped && self.action == Action::Skip);
        self.incomplete.as_deref().filter(|_| there)
    }

    /// The failed item that held this one back, when it was not attempted for that reason.
    #[must_use]
    pub fn held_back_by(&self) -> Option<&str> {
        if self.status != Status::Skipped {
            return None;
        }
        let rest = self.reason.as_deref()?.strip_prefix("depends on ")?;
        let (bad, rest) = rest.split_once(", which failed")?;
        Some(
            rest.strip_prefix(" (because ")
                .and_then(|r| r.strip_suffix(" failed)"))
                .unwrap_or(bad),
        )
    }
}

/// One target's report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetReport {
    /// The target's name (`--to`).
    pub target: String,
    /// Its portal URL.
    pub portal_url: String,
    /// Every item, in restore order.
    pub items: Vec<Entry>,
    /// Groups: source id → target id (created or found).
    pub groups: BTreeMap<String, String>,
    /// Things worth knowing: owners mapped to the restoring user, groups created, …
    pub notes: Vec<String>,
    /// In place: references to items made again under a new id, re-pointed
    /// (`` `title` (id): old → new ``).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repointed: Vec<String>,
    /// In place: items of the organization the snapshot does not hold (created since), left
    /// alone or, with `--delete-new`, deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_since: Vec<NewItem>,
    /// Why the target failed as a whole (it could not be signed in to, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The journal file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
    /// Seconds taken.
    pub seconds: f64,
}

/// Counts of a target's items by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Created.
    pub created: usize,
    /// Updated.
    pub updated: usize,
    /// Skipped.
    pub skipped: usize,
    /// Failed.
    pub failed: usize,
    /// Rolled back.
    pub rolled_back: usize,
    /// Planned (dry run).
    pub planned: usize,
    /// Of those created, updated, planned or left in place, how many will not work as in the
    /// source ([`Entry::incomplete`]).
    pub incomplete: usize,
}

/// A target's items of one type, by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeCounts {
    /// The item type.
    #[serde(rename = "type")]
    pub item_type: String,
    /// Its items, by status.
    #[serde(flatten)]
    pub counts: Counts,
}

impl Counts {
    fn add(&mut self, e: &Entry) {
        match e.status {
            Status::Created => self.created += 1,
            Status::Updated => self.updated += 1,
            Status::Skipped => self.skipped += 1,
            Status::Failed => self.failed += 1,
            Status::RolledBack => self.rolled_back += 1,
            Status::Planned => self.planned += 1,
        }
        if e.incomplete().is_some() {
            self.incomplete += 1;
        }
    }
}

impl TargetReport {
    /// Counts by status.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for e in &self.items {
            c.add(e);
        }
        c
    }

    /// Counts by status for each item type, in type order.
    pub fn by_type(&self) -> Vec<TypeCounts> {
        let mut types: BTreeMap<&str, Counts> = BTreeMap::new();
        for e in &self.items {
            types.entry(&e.item_type).or_default().add(e);
        }
        types
            .into_iter()
            .map(|(t, counts)| TypeCounts {
                item_type: t.to_owned(),
                counts,
            })
            .collect()
    }

    /// Whether everything in this target succeeded: nothing failed, rolled back or skipped for a
    /// failure (items skipped because they already exist are fine).
    pub fn is_complete(&self) -> bool {
        self.error.is_none()
            && self.items.iter().all(|e| match e.status {
                Status::Failed | Status::RolledBack => false,
                Status::Skipped => e.action == Action::Skip,
                _ => true,
            })
    }

    /// The id map as CSV: `source_id,target_id,type,title`.
    pub fn id_map_csv(&self) -> String {
        let mut out = String::from("source_id,target_id,type,title\n");
        for e in &self.items {
            if let Some(t) = &e.target_id {
                let _ = writeln!(
                    out,
                    "{},{},{},{}",
                    e.source_id,
                    t,
                    csv_field(&e.item_type),
                    csv_field(&e.title)
                );
            }
        }
        out
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped(reason: &str) -> Entry {
        Entry {
            source_id: "m".into(),
            target_id: None,
            title: "Map".into(),
            item_type: "Web Map".into(),
            owner: "o".into(),
            action: Action::Create,
            status: Status::Skipped,
            reason: Some(reason.into()),
            rewritten: 0,
            rewrites: Vec::new(),
            changes: Vec::new(),
            incomplete: None,
        }
    }

    #[test]
    fn an_item_held_back_names_the_failure_at_the_root() {
        assert_eq!(
            skipped(&held_back_reason("svc", "svc")).held_back_by(),
            Some("svc")
        );
        assert_eq!(
            skipped(&held_back_reason("map", "svc")).held_back_by(),
            Some("svc")
        );
        assert_eq!(skipped("unchanged since the snapshot").held_back_by(), None);
        let mut failed = skipped(&held_back_reason("svc", "svc"));
        failed.status = Status::Failed;
        assert_eq!(failed.held_back_by(), None);
    }
}
