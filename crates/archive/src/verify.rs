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
use crate::layout::Key;
use crate::manifest::Descriptor;
use crate::parallel::{default_threads, ordered_map};
use crate::progress::{NoProgress, Progress, Unit};
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
    /// Blob → (expected content size, where it is first used); `u64::MAX` for chunk lists.
    blobs: BTreeMap<Digest, (u64, String)>,
    /// Chunked contents: (descriptor, chunks, where).
    chunked: Vec<Chunked>,
}

/// Collects problems from any thread.
struct Problems(Mutex<Vec<Problem>>);

impl Problems {
    fn add(&self, location: String, message: String) {
        self.0
            .lock()
            .expect("poisoned")
            .push(Problem { location, message });
    }
}

/// Verify `archive`.
///
/// # Errors
/// Only for failures to run at all; everything wrong with the archive is a [`Problem`].
pub fn verify(archive: &Archive, options: VerifyOptions) -> Result<VerifyReport> {
    verify_with(archive, options, &NoProgress)
}

/// Verify `archive`, reporting progress: manifests read, then blobs checked (in content bytes
/// with `read_data`, in blobs without).
///
/// # Errors
/// As [`verify`].
pub fn verify_with(
    archive: &Archive,
    options: VerifyOptions,
    progress: &dyn Progress,
) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        read_data: options.read_data,
        ..VerifyReport::default()
    };
    let problems = Problems(Mutex::new(Vec::new()));
    let archive_at = format!("archive `{}`", archive.location().display());
    for p in archive.index().problems() {
        problems.add(format!("{archive_at}: index.json"), p);
    }
    for name in archive.store().unknown_entries() {
        report
            .warnings
            .push(format!("unknown entry `{name}` ignored"));
    }
    let work = read_manifests(archive, &mut report, &problems, progress);
    report.blobs = work.blobs.len() as u64;
    let threads = options.threads.max(1);
    let bytes_read = AtomicU64::new(0);
    if options.read_data {
        let total = work
            .blobs
            .values()
            .map(|(size, _)| *size)
            .filter(|s| *s != u64::MAX)
            .sum();
        progress.start("verifying content", Some(total), Unit::Bytes);
    } else {
        progress.start("checking blobs", Some(report.blobs), Unit::Objects);
    }
    let checked = if options.read_data {
        reassemble_chunked(archive, &work, threads, &problems, &bytes_read, progress)
    } else {
        HashSet::new()
    };
    check_blobs(
        archive,
        &work,
        &checked,
        options,
        &problems,
        &bytes_read,
        progress,
    )?;
    progress.finish();
    housekeeping(archive, &work, &mut report, &problems, &archive_at);
    report.bytes_read = bytes_read.into_inner();
    report.problems = problems.0.into_inner().expect("poisoned");
    Ok(report)
}

/// Read every listed manifest; note what each references.
fn read_manifests(
    archive: &Archive,
    report: &mut VerifyReport,
    problems: &Problems,
    progress: &dyn Progress,
) -> Work {
    let mut work = Work {
        blobs: BTreeMap::new(),
        chunked: Vec::new(),
    };
    progress.start(
        "reading manifests",
        Some(archive.index().snapshots.len() as u64),
        Unit::Objects,
    );
    for entry in &archive.index().snapshots {
        progress.advance(1);
        let at = format!("snapshot `{}`", entry.id.short());
        // The manifest, then its items page by page (`walk`): a snapshot of any size is
        // verified in bounded memory.
        let manifest = match archive.manifest_with_bytes(&entry.id) {
            Ok((m, _)) => m,
            Err(e) => {
                problems.add(at.clone(), strip_location(&e, &at));
                continue;
            }
        };
        let walked = crate::walk::for_each_part(archive, &entry.id, &manifest, |part| {
            note_part(archive, &mut work, problems, &at, &part);
            Ok(())
        });
        match walked {
            Ok(walked) => {
                report.snapshots += 1;
                report.items += walked.items;
                if walked.entry(entry.id, &manifest) != *entry {
                    problems.add(
                        format!("{at}: index.json"),
                        "its summary does not match the manifest".to_owned(),
                    );
                }
            }
            Err(e) => problems.add(at.clone(), strip_location(&e, &at)),
        }
    }
    progress.finish();
    work
}

/// Note what one descriptor of snapshot `at` references: its blob, or its chunk list and chunks.
fn note_part(
    archive: &Archive,
    work: &mut Work,
    problems: &Problems,
    at: &str,
    part: &crate::manifest::PartRef<'_>,
) {
    // Where it is used, named for the first use of each blob only (a part per item's content).
    let where_ = || format!("{at}: {part}");
    let d = part.descriptor;
    let Some(list_digest) = d.chunks else {
        work.blobs
            .entry(d.digest)
            .or_insert_with(|| (d.size, where_()));
        return;
    };
    let where_ = where_();
    match archive.chunk_list(d) {
        Ok(Some(list)) => {
            work.blobs
                .entry(list_digest)
                .or_insert((u64::MAX, format!("{where_} (chunk list)")));
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
        Err(e) => problems.add(where_, e.to_string()),
    }
}

/// Decode every chunk of every chunked content in parallel and check the whole digest in order.
/// Returns the blobs decoded (or reported) on the way, which need no second look.
fn reassemble_chunked(
    archive: &Archive,
    work: &Work,
    threads: usize,
    problems: &Problems,
    bytes_read: &AtomicU64,
    progress: &dyn Progress,
) -> HashSet<Digest> {
    let checked: Mutex<HashSet<Digest>> = Mutex::new(HashSet::new());
    for (d, chunks, where_) in &work.chunked {
        let mut hasher = Hasher::new();
        let mut total = 0u64;
        let result = ordered_map(
            threads,
            threads * 2,
            chunks.iter().enumerate().map(Ok::<_, Error>),
            |(i, (digest, size))| {
                let data = archive.read_blob(digest);
                let first_time = checked.lock().expect("poisoned").insert(*digest);
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
                if first_time {
                    progress.advance(*size);
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
            Ok(()) => problems.add(
                where_.clone(),
                format!("chunks do not reassemble into `{}`", d.digest.short()),
            ),
            Err(e) => problems.add(where_.clone(), e.to_string()),
        }
        bytes_read.fetch_add(total, Ordering::Relaxed);
    }
    checked.into_inner().expect("poisoned")
}

/// Check every blob not checked yet: decode and re-hash with `read_data`, else presence and the
/// recorded content size.
fn check_blobs(
    archive: &Archive,
    work: &Work,
    checked: &HashSet<Digest>,
    options: VerifyOptions,
    problems: &Problems,
    bytes_read: &AtomicU64,
    progress: &dyn Progress,
) -> Result<()> {
    let remaining = work.blobs.iter().filter(|(d, _)| !checked.contains(*d));
    let threads = options.threads.max(1);
    let store = archive.store();
    ordered_map(
        threads,
        threads * 4,
        remaining.map(Ok::<_, Error>),
        |(digest, (size, where_))| {
            let blob_at = format!("{where_}: blob `{}`", digest.short());
            let known = *size != u64::MAX;
            if options.read_data {
                match archive.read_blob(digest) {
                    Ok(data) if known && data.len() as u64 != *size => {
                        problems.add(
                            blob_at,
                            format!("holds {} bytes, the manifest says {size}", data.len()),
                        );
                    }
                    Ok(data) => {
                        bytes_read.fetch_add(data.len() as u64, Ordering::Relaxed);
                        if known {
                            progress.advance(*size);
                        }
                    }
                    Err(e) => problems.add(blob_at, strip_location(&e, "")),
                }
            } else {
                match store.get_prefix(&Key::Blob(*digest), 32) {
                    Ok((prefix, stored)) => match blob::content_size(&prefix, stored) {
                        Ok(n) if known && n != *size => {
                            problems.add(
                                blob_at,
                                format!("holds {n} bytes, the manifest says {size}"),
                            );
                        }
                        Ok(_) => {}
                        Err(reason) => problems.add(blob_at, reason),
                    },
                    Err(e) => problems.add(blob_at, strip_location(&e, "")),
                }
                progress.advance(1);
            }
            Ok(())
        },
        |()| Ok(()),
    )
}

/// Warnings about leftovers: manifests never committed, blobs no snapshot uses.
fn housekeeping(
    archive: &Archive,
    work: &Work,
    report: &mut VerifyReport,
    problems: &Problems,
    archive_at: &str,
) {
    let store = archive.store();
    if let Ok(manifests) = store.list(ListKind::Snapshots) {
        // Listings give stored names (keyed in an encrypted archive).
        let listed: HashSet<Key> = archive
            .index()
            .snapshots
            .iter()
            .map(|e| store.stored_key(&Key::Snapshot(e.id)))
            .collect();
        let uncommitted = manifests
            .iter()
            .filter(|l| matches!(l.key, Key::Snapshot(_)) && !listed.contains(&l.key))
            .count();
        if uncommitted > 0 {
            report.warnings.push(format!(
                "{uncommitted} snapshot manifests were never committed (left by interrupted writers; `orgpack prune` removes them)"
            ));
        }
    }
    // With a manifest unreadable, "unreferenced" would be wrong: its blobs look unused.
    if report.snapshots != archive.index().snapshots.len() as u64 {
        return;
    }
    match store.list(ListKind::Blobs) {
        Ok(all) => {
            let used: HashSet<Key> = work
                .blobs
                .keys()
                .map(|d| store.stored_key(&Key::Blob(*d)))
                .collect();
            let unreferenced = all
                .iter()
                .filter(|l| matches!(l.key, Key::Blob(_)) && !used.contains(&l.key))
                .count();
            if unreferenced > 0 {
                report.warnings.push(format!(
                    "{unreferenced} blobs are not used by any snapshot (`orgpack prune` removes them)"
                ));
            }
        }
        Err(e) => problems.add(archive_at.to_owned(), e.to_string()),
    }
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
