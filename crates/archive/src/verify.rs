//! Checking an archive (spec/archive-format.md §7).
//!
//! ```text
//! structure:  layout, index ─► every snapshot: name = hash, JSON valid, invariants, index summary
//!             every descriptor ─► blob present, recorded size = descriptor size; chunk lists parsed
//! read-data:  every chunked content: chunks decoded + re-hashed in parallel, whole digest in order
//!             every other blob: decoded + re-hashed in parallel
//! ```
//!
//! Problems are collected, not thrown: one run reports everything that is wrong, each problem
//! naming the snapshot, the item and part, and the blob.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::archive::Archive;
use crate::blob;
use crate::digest::{Digest, Hasher};
use crate::error::{Error, Result};
use crate::index::IndexEntry;
use crate::layout::Key;
use crate::manifest::Descriptor;
use crate::parallel::{default_threads, ordered_map};
use crate::store::ListKind;

/// How thoroughly to verify.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Decode and re-hash every blob (`--read-data`).
    pub read_data: bool,
    /// Worker threads.
    pub threads: usize,
}

impl VerifyOptions {
    /// Structure and every byte of content (`verify --read-data`), on all cores.
    #[must_use]
    pub fn read_data() -> Self {
        Self {
            read_data: true,
            ..Self::default()
        }
    }
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            read_data: false,
            threads: default_threads(),
        }
    }
}

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The snapshot, item, part and blob affected, as far as known.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VerifyReport {
    /// Snapshots checked.
    pub snapshots: u64,
    /// Items in those snapshots.
    pub items: u64,
    /// Distinct blobs checked.
    pub blobs: u64,
    /// Content bytes decoded and re-hashed (with `read_data`).
    pub bytes_read: u64,
    /// Whether blob contents were read.
    pub read_data: bool,
    /// Everything wrong; empty when the archive is sound.
    pub problems: Vec<Problem>,
    /// Things worth knowing that are not damage (unreferenced blobs, unknown entries).
    pub warnings: Vec<String>,
}

impl VerifyReport {
    /// No problems were found.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One chunked content: its descriptor, its chunks (digest, size) and where it is used.
type Chunked = (Descriptor, Vec<(Digest, u64)>, String);

struct Work {
    /// Blob → (expected content size, where it is first used).
    blobs: BTreeMap<Digest, (u64, String)>,
    /// Chunked contents: (descriptor, chunks, where).
    chunked: Vec<Chunked>,
}

/// Verify `archive`.
///
/// # Errors
/// Only for failures to run at all; everything wrong with the archive is a [`Problem`].
pub fn verify(archive: &Archive, options: VerifyOptions) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        read_data: options.read_data,
        ..VerifyReport::default()
    };
    let problems = Mutex::new(Vec::new());
    let problem = |location: String, message: String| {
        problems
            .lock()
            .expect("poisoned")
            .push(Problem { location, message });
    };
    let archive_at = format!("archive `{}`", archive.location().display());
    for p in archive.index().problems() {
        problem(format!("{archive_at}: index.json"), p);
    }
    for name in archive.store().unknown_entries() {
        report
            .warnings
            .push(format!("unknown entry `{name}` ignored"));
    }
    let mut work = Work {
        blobs: BTreeMap::new(),
        chunked: Vec::new(),
    };
    for entry in &archive.index().snapshots {
        let at = format!("snapshot `{}`", entry.id.short());
        let snapshot = match archive.snapshot(&entry.id) {
            Ok(s) => s,
            Err(e) => {
                problem(
                    at,
                    strip_location(&e, &format!("snapshot `{}`", entry.id.short())),
                );
                continue;
            }
        };
        report.snapshots += 1;
        report.items += snapshot.items.len() as u64;
        if let Some(diff) = summary_mismatch(entry, &snapshot) {
            problem(format!("{at}: index.json"), diff);
        }
        for part in snapshot.parts() {
            let where_ = format!("{at}: {part}");
            let d = part.descriptor;
            match d.chunks {
                None => {
                    work.blobs.entry(d.digest).or_insert((d.size, where_));
                }
                Some(list_digest) => match archive.chunk_list(d) {
                    Ok(Some(list)) => {
                        let listed = format!("{where_} (chunk list)");
                        work.blobs.entry(list_digest).or_insert((u64::MAX, listed));
                        for (i, c) in list.chunks.iter().enumerate() {
                            work.blobs
                                .entry(c.digest)
                                .or_insert((c.size, format!("{where_} chunk {i}")));
                        }
                        work.chunked.push((
                            *d,
                            list.chunks.iter().map(|c| (c.digest, c.size)).collect(),
                            where_,
                        ));
                    }
                    Ok(None) => unreachable!("descriptor has chunks"),
                    Err(e) => problem(where_, e.to_string()),
                },
            }
        }
    }
    report.blobs = work.blobs.len() as u64;
    let bytes_read = AtomicU64::new(0);
    let threads = options.threads.max(1);
    // Blobs already decoded (or reported) while reassembling chunked content.
    let checked: Mutex<HashSet<Digest>> = Mutex::new(HashSet::new());
    if options.read_data {
        for (d, chunks, where_) in &work.chunked {
            let mut hasher = Hasher::new();
            let mut total = 0u64;
            let result = ordered_map(
                threads,
                threads * 2,
                chunks.iter().enumerate().map(Ok::<_, Error>),
                |(i, (digest, size))| {
                    let data = archive.read_blob(digest);
                    checked.lock().expect("poisoned").insert(*digest);
                    let data = data.map_err(|e| {
                        Error::corrupt(
                            format!("chunk {i}: blob `{}`", digest.short()),
                            strip_location(&e, ""),
                        )
                    })?;
                    if data.len() as u64 != *size {
                        return Err(Error::corrupt(
                            format!("chunk {i}"),
                            "size differs from the chunk list",
                        ));
                    }
                    Ok(data)
                },
                |data| {
                    hasher.update(&data);
                    total += data.len() as u64;
                    Ok(())
                },
            );
            match result {
                Ok(()) if total == d.size && hasher.finish() == d.digest => {}
                Ok(()) => problem(
                    where_.clone(),
                    format!("chunks do not reassemble into `{}`", d.digest.short()),
                ),
                Err(e) => problem(where_.clone(), e.to_string()),
            }
            bytes_read.fetch_add(total, Ordering::Relaxed);
        }
    }
    let checked = checked.into_inner().expect("poisoned");
    let remaining: Vec<(&Digest, &(u64, String))> = work
        .blobs
        .iter()
        .filter(|(d, _)| !checked.contains(*d))
        .collect();
    let store = archive.store();
    ordered_map(
        threads,
        threads * 4,
        remaining.into_iter().map(Ok::<_, Error>),
        |(digest, (size, where_))| {
            let key = Key::Blob(*digest);
            let blob_at = format!("{where_}: blob `{}`", digest.short());
            if options.read_data {
                match archive.read_blob(digest) {
                    Ok(data) if *size != u64::MAX && data.len() as u64 != *size => {
                        problem(
                            blob_at,
                            format!("holds {} bytes, the manifest says {size}", data.len()),
                        );
                    }
                    Ok(data) => {
                        bytes_read.fetch_add(data.len() as u64, Ordering::Relaxed);
                    }
                    Err(e) => problem(blob_at, strip_location(&e, "")),
                }
            } else {
                match store.get_prefix(&key, 32) {
                    Ok((prefix, stored)) => match blob::content_size(&prefix, stored) {
                        Ok(n) if *size != u64::MAX && n != *size => {
                            problem(
                                blob_at,
                                format!("holds {n} bytes, the manifest says {size}"),
                            );
                        }
                        Ok(_) => {}
                        Err(reason) => problem(blob_at, reason),
                    },
                    Err(e) => problem(blob_at, strip_location(&e, "")),
                }
            }
            Ok(())
        },
        |()| Ok(()),
    )?;
    if let Ok(manifests) = store.list(ListKind::Snapshots) {
        let listed: HashSet<Digest> = archive.index().snapshots.iter().map(|e| e.id).collect();
        let uncommitted = manifests
            .iter()
            .filter(|l| matches!(l.key, Key::Snapshot(d) if !listed.contains(&d)))
            .count();
        if uncommitted > 0 {
            report.warnings.push(format!(
                "{uncommitted} snapshot manifests were never committed (left by interrupted writers; `orgpack prune` removes them)"
            ));
        }
    }
    let all_loaded = report.snapshots == archive.index().snapshots.len() as u64;
    match store.list(ListKind::Blobs) {
        Ok(_) if !all_loaded => {}
        Ok(all) => {
            let unreferenced = all
                .iter()
                .filter(|l| matches!(l.key, Key::Blob(d) if !work.blobs.contains_key(&d)))
                .count();
            if unreferenced > 0 {
                report.warnings.push(format!("{unreferenced} blobs are not used by any snapshot (`orgpack prune` removes them)"));
            }
        }
        Err(e) => problem(archive_at, e.to_string()),
    }
    report.bytes_read = bytes_read.into_inner();
    report.problems = problems.into_inner().expect("poisoned");
    Ok(report)
}

fn summary_mismatch(entry: &IndexEntry, snapshot: &crate::manifest::Snapshot) -> Option<String> {
    let expected = IndexEntry::new(entry.id, snapshot);
    (&expected != entry).then(|| "its summary does not match the manifest".to_owned())
}

/// The message of an error without a location prefix the caller already shows.
fn strip_location(e: &Error, prefix: &str) -> String {
    match e {
        Error::Corrupt { location, reason } if location == prefix || prefix.is_empty() => {
            if prefix.is_empty() && !location.starts_with("blob `") {
                format!("{location}: {reason}")
            } else {
                reason.clone()
            }
        }
        Error::Missing { key, .. } => format!("`{key}` is missing"),
        other => {
            let s = other.to_string();
            s.strip_prefix(&format!("{prefix}: "))
                .map_or(s.clone(), str::to_owned)
        }
    }
}
