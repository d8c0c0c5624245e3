//! Walking a snapshot's content descriptors without holding its items: the manifest's own parts
//! (item pages, groups, users) and then each item's, as its page is read. `verify` and `prune`
//! walk every kept snapshot this way, so their memory does not grow with the organization (a
//! 100,000-item snapshot's items take about 100 MiB when read whole).

use std::collections::HashSet;

use crate::archive::Archive;
use crate::digest::Digest;
use crate::error::Result;
use crate::index::IndexEntry;
use crate::manifest::{PartRef, Snapshot};

/// What a walk counted: what a snapshot's index entry summarizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Walked {
    /// Live items.
    pub items: u64,
    /// The sum of the sizes of all distinct content ([`Snapshot::total_size`]).
    pub size: u64,
}

impl Walked {
    /// The index entry a snapshot with these counts has.
    #[must_use]
    pub fn entry(&self, id: Digest, manifest: &Snapshot) -> IndexEntry {
        IndexEntry {
            items: self.items,
            size: self.size,
            ..IndexEntry::new(id, manifest)
        }
    }
}

/// Call `f` with every descriptor of snapshot `id`, `manifest` as
/// [`Archive::manifest_with_bytes`] read it: the manifest's own first, then each item's in id
/// order, one page of items at a time. Stops at the first error, `f`'s or the walk's (a missing
/// or corrupt page, an invalid item).
///
/// # Errors
/// As [`Archive::items`], and `f`'s.
pub fn for_each_part(
    archive: &Archive,
    id: &Digest,
    manifest: &Snapshot,
    mut f: impl FnMut(PartRef<'_>) -> Result<()>,
) -> Result<Walked> {
    let mut seen: HashSet<Digest> = HashSet::new();
    let mut walked = Walked {
        items: manifest.items.len() as u64,
        size: 0,
    };
    let mut visit = |part: PartRef<'_>, walked: &mut Walked| {
        if seen.insert(part.descriptor.digest) {
            walked.size += part.descriptor.size;
        }
        f(part)
    };
    // A 1.x manifest's items are inline: its `parts` has them.
    for part in manifest.parts() {
        visit(part, &mut walked)?;
    }
    if !manifest.item_layers.is_empty() {
        for item in archive.items(id, manifest)? {
            let item = item?;
            walked.items += 1;
            let mut parts = Vec::new();
            item.push_parts(&mut parts);
            for part in parts {
                visit(part, &mut walked)?;
            }
        }
    }
    Ok(walked)
}
