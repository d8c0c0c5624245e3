//! A restore's page: one column group per target, the failures of every target grouped by
//! cause with the items each held back, and the command that retries what failed.

use std::collections::{BTreeMap, BTreeSet};

use orgpack_archive::manifest::Snapshot;
use orgpack_restore::{Status, TargetReport};

use super::{Cell, Fact, Page, Row, Verdict, group_causes};

/// A status in words, as the table shows it and the filter offers it.
fn status_label(s: Status) -> &'static str {
    match s {
        Status::Planned => "planned",
        Status::Created => "created",
        Status::Updated => "updated",
        Status::Skipped => "skipped",
        Status::Failed => "failed",
        Status::RolledBack => "rolled back",
    }
}

/// A status as the JSON report spells it (`rolledBack`).
fn status_key(s: Status) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The page of a restore of `snapshot` (`id`) into the targets of `reports`.
#[must_use]
pub fn page(
    id: &str,
    snapshot: &Snapshot,
    reports: &[TargetReport],
    dry_run: bool,
    retry: Option<String>,
) -> Page {
    let failed = |e: &orgpack_restore::report::Entry| {
        matches!(e.status, Status::Failed | Status::RolledBack) || e.held_back_by().is_some()
    };
    let broken: usize = reports
        .iter()
        .map(|r| r.items.iter().filter(|e| failed(e)).count())
        .sum();
    let verdict = if let Some(r) = reports.iter().find(|r| r.error.is_some()) {
        Verdict::Failed(format!(
            "{}: {}",
            r.target,
            r.error.as_deref().unwrap_or_default()
        ))
    } else if broken > 0 {
        Verdict::Missing {
            count: broken,
            what: if broken == 1 {
                "item not restored"
            } else {
                "items not restored"
            },
        }
    } else {
        Verdict::Complete
    };
    let mut facts = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        let mut by_status: BTreeMap<String, (usize, &'static str)> = BTreeMap::new();
        for e in &r.items {
            by_status
                .entry(status_key(e.status))
                .or_insert((0, status_label(e.status)))
                .0 += 1;
        }
        let prefix = if reports.len() > 1 {
            format!("{}: ", r.target)
        } else {
            String::new()
        };
        for (key, (n, label)) in by_status {
            facts.push(Fact::count(
                &format!("targets.{i}.{key}"),
                &format!("{prefix}{label}"),
                n,
            ));
        }
        facts.push(Fact::seconds(
            &format!("targets.{i}.seconds"),
            &format!("{prefix}seconds"),
            r.seconds,
        ));
    }
    // One row per snapshot item any target reports, in the first target's order.
    let mut order: Vec<&str> = Vec::new();
    let mut seen = BTreeSet::new();
    for e in reports.iter().flat_map(|r| &r.items) {
        if seen.insert(e.source_id.as_str()) {
            order.push(&e.source_id);
        }
    }
    let sizes = super::backup::sizes(snapshot);
    let rows: Vec<Row> = order
        .iter()
        .map(|id| {
            let first = reports
                .iter()
                .flat_map(|r| &r.items)
                .find(|e| e.source_id == *id)
                .expect("every id comes from an entry");
            Row {
                id: (*id).to_owned(),
                title: first.title.clone(),
                item_type: first.item_type.clone(),
                owner: first.owner.clone(),
                size: sizes.get(id).copied(),
                cells: reports
                    .iter()
                    .map(|r| match r.items.iter().find(|e| e.source_id == *id) {
                        Some(e) => Cell {
                            action: e.action.label().to_owned(),
                            status: status_label(e.status).to_owned(),
                            // What does not work as in the source is said where a reason is.
                            reason: e
                                .reason
                                .clone()
                                .or_else(|| e.incomplete().map(|w| format!("incomplete: {w}")))
                                .unwrap_or_default(),
                        },
                        None => Cell {
                            action: "—".into(),
                            status: "not in this target".into(),
                            reason: r.error.clone().unwrap_or_default(),
                        },
                    })
                    .collect(),
            }
        })
        .collect();
    let many = reports.len() > 1;
    let failures = reports.iter().flat_map(|r| {
        r.items
            .iter()
            .filter(|e| matches!(e.status, Status::Failed | Status::RolledBack))
            .map(move |e| {
                let reason = e.reason.clone().unwrap_or_else(|| "failed".into());
                let cause = if many {
                    format!("{}: {reason}", r.target)
                } else {
                    reason
                };
                (e.source_id.clone(), e.title.clone(), cause)
            })
    });
    let held_back = |root: &str| -> Vec<(String, String)> {
        let mut out = Vec::new();
        for e in reports.iter().flat_map(|r| &r.items) {
            let pair = (e.source_id.clone(), e.title.clone());
            if e.held_back_by() == Some(root) && !out.contains(&pair) {
                out.push(pair);
            }
        }
        out
    };
    let causes = group_causes(failures, &held_back);
    let failed_ids: BTreeSet<String> = reports
        .iter()
        .flat_map(|r| &r.items)
        .filter(|e| matches!(e.status, Status::Failed | Status::RolledBack))
        .map(|e| e.source_id.clone())
        .collect();
    let graph = super::failure_graph(snapshot, &failed_ids, &held_back);
    let mut notes: Vec<String> = Vec::new();
    for r in reports {
        let prefix = if many {
            format!("{}: ", r.target)
        } else {
            String::new()
        };
        notes.extend(r.notes.iter().map(|n| format!("{prefix}{n}")));
    }
    Page {
        title: format!(
            "{} of {}",
            if dry_run { "Restore plan" } else { "Restore" },
            snapshot
                .source
                .org_name
                .clone()
                .unwrap_or_else(|| snapshot.source.org_id.clone())
        ),
        subtitle: format!(
            "snapshot {id} (taken {}) into {}{}",
            snapshot.created,
            reports
                .iter()
                .map(|r| format!("{} ({})", r.target, r.portal_url))
                .collect::<Vec<_>>()
                .join(", "),
            if dry_run {
                " · dry run: nothing was sent"
            } else {
                ""
            }
        ),
        verdict,
        facts,
        retry: retry.filter(|_| broken > 0 || reports.iter().any(|r| r.error.is_some())),
        changes: Vec::new(),
        causes,
        graph,
        columns: reports.iter().map(|r| r.target.clone()).collect(),
        rows,
        notes,
    }
}
