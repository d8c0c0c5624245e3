//! Copying snapshots between archives without recompressing (spec/archive-format.md §6.4).
//!
//! Stored blob bytes are identical in both forms, so a copy moves them as they are. Each blob is
//! decoded and re-hashed on the way (unless disabled), so a damaged source never spreads into the
//! copy. The manifest is copied byte for byte and keeps its id.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::archive::Archive;
use crate::blob;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layout::Key;
use crate::parallel::{default_threads, ordered_map};
use crate::progress::{NoProgress, Progress, Unit};
use crate::repository::SnapshotWriter;

/// What a copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Snapshots copied.
    pub snapshots: u64,
    /// Blobs copied.
    pub blobs_copied: u64,
    /// Blobs the destination had already.
    pub blobs_present: u64,
    /// Stored bytes copied.
    pub bytes_copied: u64,
}

/// Every blob a snapshot needs: descriptor blobs, chunk lists and their chunks.
///
/// # Errors
/// [`Error::Missing`] or [`Error::Corrupt`] when a chunk list cannot be read.
pub fn snapshot_blobs(
    archive: &Archive,
    snapshot: &crate::manifest::Snapshot,
) -> Result<BTreeSet<Digest>> {
    let mut out = BTreeSet::new();
    for part in snapshot.parts() {
        add_blobs(archive, &part, &mut out)?;
    }
    Ok(out)
}

/// Add the blobs `part` needs to `out`: its blob, or its chunk list and chunks.
///
/// # Errors
/// [`Error::Missing`] or [`Error::Corrupt`] when a chunk list cannot be read.
pub(crate) fn add_blobs(
    archive: &Archive,
    part: &crate::manifest::PartRef<'_>,
    out: &mut impl Extend<Digest>,
) -> Result<()> {
    let d = part.descriptor;
    out.extend([d.chunks.unwrap_or(d.digest)]);
    if let Some(list) = archive
        .chunk_list(d)
        .map_err(|e| e.within(&part.to_string()))?
    {
        out.extend(list.chunks.iter().map(|c| c.digest));
    }
    Ok(())
}

/// Copy the snapshots `ids` of `source` into `dest`, checking every blob unless `check` is false.
///
/// # Errors
/// Errors reading `source` (naming the snapshot and blob) or writing `dest`. Nothing of a
/// snapshot is committed unless all its blobs were copied.
pub fn copy_snapshots(
    source: &Archive,
    ids: &[Digest],
    dest: &mut dyn SnapshotWriter,
    check: bool,
) -> Result<CopyStats> {
    copy_snapshots_with(source, ids, dest, check, &NoProgress)
}

/// [`copy_snapshots`], reporting the blobs of each snapshot as they are copied.
///
/// # Errors
/// As [`copy_snapshots`].
pub fn copy_snapshots_with(
    source: &Archive,
    ids: &[Digest],
    dest: &mut dyn SnapshotWriter,
    check: bool,
    progress: &dyn Progress,
) -> Result<CopyStats> {
    let mut stats = CopyStats::default();
    for id in ids {
        let at = format!("snapshot `{}`", id.short());
        let (snapshot, bytes) = source.snapshot_with_bytes(id)?;
        let blobs = snapshot_blobs(source, &snapshot).map_err(|e| e.within(&at))?;
        progress.start(
            &format!("copying {at}"),
            Some(blobs.len() as u64),
            Unit::Objects,
        );
        let copied = AtomicU64::new(0);
        let present = AtomicU64::new(0);
        let bytes_copied = AtomicU64::new(0);
        let sink = dest.sink();
        // Waiting on storage more than on the CPU (object storage: a request per blob).
        let threads = (default_threads() * 4).clamp(4, 16);
        ordered_map(
            threads,
            threads * 4,
            blobs.iter().map(Ok),
            |digest| {
                let key = Key::Blob(*digest);
                progress.advance(1);
                if sink.contains(&key)? {
                    present.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                let stored = source.store().get(&key).map_err(|e| e.within(&at))?;
                if check {
                    blob::decode(stored.clone(), digest).map_err(|reason| {
                        Error::corrupt(format!("{at}: blob `{}`", digest.short()), reason)
                    })?;
                }
                sink.put(&key, &stored)?;
                copied.fetch_add(1, Ordering::Relaxed);
                bytes_copied.fetch_add(stored.len() as u64, Ordering::Relaxed);
                Ok(())
            },
            |()| Ok(()),
        )?;
        progress.finish();
        dest.commit_manifest(bytes, &snapshot)?;
        stats.snapshots += 1;
        stats.blobs_copied += copied.into_inner();
        stats.blobs_present += present.into_inner();
        stats.bytes_copied += bytes_copied.into_inner();
    }
    Ok(stats)
}
