//! Retention and garbage collection (spec/archive-format.md §6.5).
//!
//! ```text
//! plan:  group snapshots by source (portal URL, org id), newest first
//!        keep by --keep-last / --keep-daily / --keep-weekly / --keep-monthly (union of rules)
//!        mark every blob reachable from a kept snapshot (descriptors, chunk lists, chunks)
//! run:   (exclusive lock) write the new index ─► remove forgotten and uncommitted manifests
//!        ─► remove unmarked blobs ─► clear tmp/
//! ```
//!
//! The index is replaced first: a crash part-way leaves extra files that the next prune removes,
//! never a snapshot whose content is gone.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::backend::Backend;
use crate::copy::add_blobs;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::index::IndexEntry;
use crate::layout::Key;
use crate::repository::Repository;
use crate::store::ListKind;

/// Which snapshots to keep, per source organization. Rules combine: a snapshot kept by any rule
/// is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// The newest N.
    pub keep_last: Option<u32>,
    /// The newest of each of the last N days that have snapshots (UTC).
    pub keep_daily: Option<u32>,
    /// The newest of each of the last N ISO weeks that have snapshots.
    pub keep_weekly: Option<u32>,
    /// The newest of each of the last N months that have snapshots.
    pub keep_monthly: Option<u32>,
}

impl Retention {
    fn is_empty(&self) -> bool {
        self.keep_last.is_none()
            && self.keep_daily.is_none()
            && self.keep_weekly.is_none()
            && self.keep_monthly.is_none()
    }
}

/// Snapshots kept, each with the names of the rules that keep it.
pub type Kept = Vec<(IndexEntry, Vec<&'static str>)>;

/// What a prune will do.
#[derive(Debug, Clone, Default)]
pub struct PrunePlan {
    /// Snapshots kept, with the rules that keep them.
    pub keep: Kept,
    /// Snapshots forgotten.
    pub forget: Vec<IndexEntry>,
    /// Blobs no kept snapshot uses, by stored name (keyed in an encrypted repository), with
    /// their stored sizes.
    pub blobs: Vec<(Digest, u64)>,
    /// Manifests not listed in the index (left by interrupted backups), by stored name.
    pub uncommitted: Vec<Digest>,
    /// Files left in `tmp/`.
    pub temp_files: Vec<PathBuf>,
}

impl PrunePlan {
    /// Stored bytes the prune frees.
    #[must_use]
    pub fn bytes_freed(&self) -> u64 {
        self.blobs.iter().map(|(_, s)| s).sum()
    }
}

/// Decide what to keep and what to delete. Reads every kept manifest; changes nothing.
///
/// # Errors
/// [`Error::InvalidInput`] without any rule (prune never deletes every snapshot by default), and
/// errors reading a kept snapshot: a prune never runs on a repository it cannot fully read.
pub fn plan(repo: &Repository, retention: Retention) -> Result<PrunePlan> {
    if retention.is_empty() {
        return Err(Error::InvalidInput(
            "give at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly".into(),
        ));
    }
    let archive = repo.archive()?;
    let (keep, forget) = apply_retention(&archive.index().snapshots, retention);
    let mut live = HashSet::new();
    for (entry, _) in &keep {
        // Each kept snapshot walked page by page: memory bounded by the blobs kept, not by
        // holding a snapshot's items.
        let (manifest, _) = archive.manifest_with_bytes(&entry.id)?;
        crate::walk::for_each_part(&archive, &entry.id, &manifest, |part| {
            add_blobs(&archive, &part, &mut live)
        })
        .map_err(|e| e.within(&format!("snapshot `{}`", entry.id.short())))?;
    }
    // Listings give stored names (keyed in an encrypted repository): compare in that space.
    let store = archive.store();
    let live: HashSet<Key> = live
        .iter()
        .map(|d| store.stored_key(&Key::Blob(*d)))
        .collect();
    let blobs = store
        .list(ListKind::Blobs)?
        .into_iter()
        .filter_map(|l| match l.key {
            Key::Blob(d) if !live.contains(&l.key) => Some((d, l.size)),
            _ => None,
        })
        .collect();
    let listed: HashSet<Key> = archive
        .index()
        .snapshots
        .iter()
        .map(|e| store.stored_key(&Key::Snapshot(e.id)))
        .collect();
    let uncommitted = store
        .list(ListKind::Snapshots)?
        .into_iter()
        .filter_map(|l| match l.key {
            Key::Snapshot(d) if !listed.contains(&l.key) => Some(d),
            _ => None,
        })
        .collect();
    let temp_files = match repo.backend() {
        Backend::Dir(d) => d.inner().temp_files()?,
        Backend::Remote(_) => Vec::new(),
    };
    Ok(PrunePlan {
        keep,
        forget,
        blobs,
        uncommitted,
        temp_files,
    })
}

/// Carry out a plan. `repo` must have been opened with [`Repository::open_exclusive`], so no
/// backup can be relying on content while it is deleted.
///
/// # Errors
/// [`Error::InvalidInput`] for a shared handle; I/O errors.
pub fn run(repo: &Repository, plan: &PrunePlan) -> Result<()> {
    if !repo.is_exclusive() {
        return Err(Error::InvalidInput(
            "prune needs the repository opened with `Repository::open_exclusive`".into(),
        ));
    }
    let forget: HashSet<Digest> = plan.forget.iter().map(|e| e.id).collect();
    repo.update_index(|index| index.snapshots.retain(|e| !forget.contains(&e.id)))?;
    let store = repo.backend();
    for id in &forget {
        store.delete(&Key::Snapshot(*id))?;
    }
    for stored in &plan.uncommitted {
        store.delete_stored(&Key::Snapshot(*stored))?;
    }
    // One request per blob on object storage: many in flight.
    let threads = match store {
        Backend::Dir(_) => 1,
        Backend::Remote(_) => 16,
    };
    crate::parallel::ordered_map(
        threads,
        threads * 4,
        plan.blobs.iter().map(Ok),
        |(stored, _)| store.delete_stored(&Key::Blob(*stored)),
        |()| Ok(()),
    )?;
    for path in &plan.temp_files {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("removing", path, e)),
        }
    }
    store.sink().flush()
}

/// A retention rule: its name, its count, and the calendar bucket of a date.
type Rule = (&'static str, Option<u32>, fn(&jiff::civil::Date) -> String);

/// Split `snapshots` into kept (with reasons) and forgotten.
#[must_use]
pub fn apply_retention(snapshots: &[IndexEntry], retention: Retention) -> (Kept, Vec<IndexEntry>) {
    let mut groups: BTreeMap<(&str, &str), Vec<&IndexEntry>> = BTreeMap::new();
    for e in snapshots {
        groups
            .entry((e.portal_url.as_str(), e.org_id.as_str()))
            .or_default()
            .push(e);
    }
    let mut reasons: BTreeMap<Digest, Vec<&'static str>> = BTreeMap::new();
    for entries in groups.values_mut() {
        entries.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        let rules: [Rule; 4] = [
            ("last", retention.keep_last, |_| String::new()),
            ("daily", retention.keep_daily, |d| d.to_string()),
            ("weekly", retention.keep_weekly, |d| {
                let w = d.iso_week_date();
                format!("{}-W{}", w.year(), w.week())
            }),
            ("monthly", retention.keep_monthly, |d| {
                format!("{}-{}", d.year(), d.month())
            }),
        ];
        for (name, limit, bucket) in rules {
            let Some(limit) = limit else { continue };
            let mut last_bucket: Option<String> = None;
            let mut kept = 0;
            for (i, e) in entries.iter().enumerate() {
                if kept >= limit {
                    break;
                }
                let date = e.created.parse::<Timestamp>().map_or_else(
                    |_| jiff::civil::date(1970, 1, 1),
                    |t| TimeZone::UTC.to_datetime(t).date(),
                );
                let b = if name == "last" {
                    i.to_string()
                } else {
                    bucket(&date)
                };
                if last_bucket.as_ref() != Some(&b) {
                    reasons.entry(e.id).or_default().push(name);
                    kept += 1;
                    last_bucket = Some(b);
                }
            }
        }
    }
    let mut keep = Vec::new();
    let mut forget = Vec::new();
    for e in snapshots {
        match reasons.remove(&e.id) {
            Some(r) => keep.push((e.clone(), r)),
            None => forget.push(e.clone()),
        }
    }
    (keep, forget)
}
