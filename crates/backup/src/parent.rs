//! Finding the parent of an incremental backup: the repository's newest snapshot of the same
//! organization taken with the same selection.

use std::sync::Arc;

use orgpack_archive::Archive;
use orgpack_archive::digest::Digest;
use orgpack_archive::manifest::{Selection, Snapshot};

/// Manifests read at most while looking for a parent.
const LOOK_BACK: usize = 32;

/// The newest snapshot in `archive` from `org_id` at `portal_url` whose selection equals
/// `selection`, shared: the plan and the run hold it without copying its items.
///
/// # Errors
/// Errors reading a manifest.
pub fn find_parent(
    archive: &Archive,
    portal_url: &str,
    org_id: &str,
    selection: &Selection,
) -> orgpack_archive::Result<Option<(Digest, Arc<Snapshot>)>> {
    let candidates = archive
        .index()
        .snapshots
        .iter()
        .rev()
        .filter(|e| e.org_id == org_id && e.portal_url == portal_url)
        .take(LOOK_BACK);
    for entry in candidates {
        let snapshot = archive.snapshot(&entry.id)?;
        if &snapshot.selection == selection {
            return Ok(Some((entry.id, Arc::new(snapshot))));
        }
    }
    Ok(None)
}
