//! A backup's page: from the snapshot it wrote (and its parent, for what changed), with the
//! run's own figures when the page is written by the run (`backup --report FILE.html`), without
//! them for a past snapshot (`orgpack report`).

use std::collections::{BTreeMap, BTreeSet};

use orgpack_archive::manifest::{FailureSubject, Owner, Snapshot};

use super::{Cell, Fact, Page, Row, Verdict, group_causes};

/// What only the run knows: its figures, keyed as in the JSON report (`bytesIn`, `seconds`).
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub facts: Vec<Fact>,
    /// The command that backs up again (the next backup fetches what failed).
    pub retry: String,
}

/// The page of `snapshot` (`id`), compared with `parent` when there is one.
#[must_use]
pub fn page(id: &str, snapshot: &Snapshot, parent: Option<&Snapshot>, run: Option<Run>) -> Page {
    let failures = &snapshot.failures;
    let verdict = if failures.is_empty() {
        Verdict::Complete
    } else {
        Verdict::Missing {
            count: failures.len(),
            what: if failures.len() == 1 {
                "part missing"
            } else {
                "parts missing"
            },
        }
    };
    let sizes = sizes(snapshot);
    let diff = parent.map(|p| orgpack_archive::diff::diff(p, snapshot));
    let added: BTreeSet<&str> = diff
        .iter()
        .flat_map(|d| d.added.iter().map(|i| i.id.as_str()))
        .collect();
    let changed: BTreeMap<&str, String> = diff
        .iter()
        .flat_map(|d| d.changed.iter())
        .map(|c| (c.item.id.as_str(), c.parts.join(", ")))
        .collect();
    let mut failed_parts: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in failures
        .iter()
        .filter(|f| f.subject == FailureSubject::Item)
    {
        failed_parts.entry(&f.id).or_default().push(match &f.part {
            Some(part) => format!("{part}: {}", f.message),
            None => f.message.clone(),
        });
    }
    let mut rows: Vec<Row> = snapshot
        .items
        .iter()
        .map(|item| {
            let action = if parent.is_none() {
                "captured".to_owned()
            } else if added.contains(item.id.as_str()) {
                "new".to_owned()
            } else if let Some(parts) = changed.get(item.id.as_str()) {
                format!("changed ({parts})")
            } else {
                "unchanged".to_owned()
            };
            let failed = failed_parts.get(item.id.as_str());
            Row {
                id: item.id.clone(),
                title: item.title.clone(),
                item_type: item.item_type.clone(),
                owner: item.owner.clone(),
                size: Some(sizes.get(item.id.as_str()).copied().unwrap_or(0)),
                cells: vec![Cell {
                    action,
                    status: if failed.is_some() {
                        "part missing".into()
                    } else {
                        "captured".into()
                    },
                    reason: failed.map(|f| f.join("; ")).unwrap_or_default(),
                }],
            }
        })
        .collect();
    // Items nothing of which could be captured are not among the snapshot's items.
    let held: BTreeSet<&str> = snapshot.items.iter().map(|i| i.id.as_str()).collect();
    for (id, reasons) in &failed_parts {
        if !held.contains(id) {
            rows.push(Row {
                id: (*id).to_owned(),
                title: String::new(),
                item_type: String::new(),
                owner: String::new(),
                size: None,
                cells: vec![Cell {
                    action: "capture".into(),
                    status: "not captured".into(),
                    reason: reasons.join("; "),
                }],
            });
        }
    }
    let title_of = |subject: FailureSubject, id: &str| match subject {
        FailureSubject::Item => snapshot
            .item(id)
            .map_or_else(|| id.to_owned(), |i| i.title.clone()),
        FailureSubject::Group => format!("group {id}"),
        FailureSubject::User => format!("user {id}"),
    };
    let causes = group_causes(
        failures.iter().map(|f| {
            let message = match &f.part {
                Some(part) => format!("{}: {}", generic_part(part), f.message),
                None => f.message.clone(),
            };
            (f.id.clone(), title_of(f.subject, &f.id), message)
        }),
        &|id| dependents(snapshot, id),
    );
    let failed_ids: BTreeSet<String> = failures
        .iter()
        .filter(|f| f.subject == FailureSubject::Item && held.contains(f.id.as_str()))
        .map(|f| f.id.clone())
        .collect();
    let graph = super::failure_graph(snapshot, &failed_ids, &|id| dependents(snapshot, id));
    let (facts, retry) = match run {
        Some(run) => (run.facts, (!failures.is_empty()).then_some(run.retry)),
        None => (
            vec![
                Fact::count("items", "Items", snapshot.items.len()),
                Fact::count("groups", "Groups", snapshot.groups.len()),
                Fact::count("users", "Users", snapshot.users.len()),
                Fact::bytes("bytes", "Stored for it", sizes.values().sum()),
                Fact::count("failures", "Parts missing", failures.len()),
            ],
            None,
        ),
    };
    Page {
        title: format!("Backup of {}", org_name(snapshot)),
        subtitle: format!(
            "{} · snapshot {id} · taken {}{}",
            snapshot.source.portal_url,
            snapshot.created,
            snapshot
                .parent
                .map(|p| format!(" · incremental on {}", p.short()))
                .unwrap_or_default()
        ),
        verdict,
        facts,
        retry,
        changes: diff.as_ref().map(changes).unwrap_or_default(),
        causes,
        graph,
        columns: vec!["backup".into()],
        rows,
        notes: Vec::new(),
    }
}

fn org_name(snapshot: &Snapshot) -> String {
    snapshot
        .source
        .org_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| snapshot.source.org_id.clone())
}

/// A part's name without what names the one file (`resource `a.png`` → `resource`).
fn generic_part(part: &str) -> &str {
    part.split_once(' ').map_or(part, |(kind, _)| kind)
}

/// Bytes stored per item: the sum of its parts' sizes (the items table's size column).
pub fn sizes(snapshot: &Snapshot) -> BTreeMap<&str, u64> {
    let mut out: BTreeMap<&str, u64> = BTreeMap::new();
    for part in snapshot.parts() {
        if let Owner::Item(id) = part.owner {
            *out.entry(id).or_default() += part.descriptor.size;
        }
    }
    out
}

/// What changed since the parent, in lines.
fn changes(d: &orgpack_archive::diff::SnapshotDiff) -> Vec<String> {
    const SHOWN: usize = 50;
    let mut out = vec![format!(
        "{} items added, {} changed, {} removed, {} unchanged",
        d.added.len(),
        d.changed.len(),
        d.removed.len(),
        d.unchanged
    )];
    let each = |out: &mut Vec<String>, what: &str, items: &mut dyn Iterator<Item = String>| {
        let all: Vec<String> = items.collect();
        for line in all.iter().take(SHOWN) {
            out.push(format!("{what}: {line}"));
        }
        if all.len() > SHOWN {
            out.push(format!("{what}: … and {} more", all.len() - SHOWN));
        }
    };
    let summary = |i: &orgpack_archive::diff::ItemSummary| {
        format!("{} ({}, {}) {}", i.title, i.item_type, i.owner, i.id)
    };
    each(&mut out, "added", &mut d.added.iter().map(summary));
    each(
        &mut out,
        "changed",
        &mut d
            .changed
            .iter()
            .map(|c| format!("{} — {}", summary(&c.item), c.parts.join(", "))),
    );
    each(&mut out, "removed", &mut d.removed.iter().map(summary));
    for (what, list) in [
        ("group added", &d.groups_added),
        ("group removed", &d.groups_removed),
        ("group changed", &d.groups_changed),
        ("member added", &d.users_added),
        ("member removed", &d.users_removed),
    ] {
        each(&mut out, what, &mut list.iter().cloned());
    }
    out
}

/// Every item of `snapshot` that needs `id`, directly or through others (its non-external
/// dependencies and forward relationships), as `(id, title)`.
#[must_use]
pub fn dependents(snapshot: &Snapshot, id: &str) -> Vec<(String, String)> {
    let mut needed_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for item in &snapshot.items {
        let needs = item
            .dependencies
            .iter()
            .filter(|d| !d.external)
            .filter_map(|d| d.item_id.as_deref())
            .chain(
                item.relationships
                    .iter()
                    .filter(|r| r.direction == orgpack_archive::manifest::Direction::Forward)
                    .map(|r| r.item_id.as_str()),
            );
        for need in needs {
            needed_by.entry(need).or_default().push(&item.id);
        }
    }
    let mut found = BTreeSet::from([id]);
    let mut stack = vec![id];
    while let Some(next) = stack.pop() {
        for by in needed_by.get(next).into_iter().flatten() {
            if found.insert(by) {
                stack.push(by);
            }
        }
    }
    snapshot
        .items
        .iter()
        .filter(|i| i.id != id && found.contains(i.id.as_str()))
        .map(|i| (i.id.clone(), i.title.clone()))
        .collect()
}
