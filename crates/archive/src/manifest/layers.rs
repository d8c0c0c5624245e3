//! Item layers: how a 2.x manifest stores its items (spec/archive-format.md §4.6).
//!
//! A manifest names its items through layers of **item pages**, blobs each holding up to
//! [`PAGE_ENTRIES`] item entries in id order. A backup taken against a parent reuses the parent's
//! layers as they are and adds one layer holding only what changed (items new or different, ids
//! removed), so an unchanged nightly adds no page at all and a nightly with 1 % changed adds about
//! 1 % of the items' bytes. Reading applies the layers oldest first: the newest entry for an id
//! wins, a removal drops it. Writers compact (write one fresh layer) when the layers hold much
//! more than the snapshot's items.
//!
//! This module holds the types and the pure decisions; the crate's `pages` module reads and writes them.

use serde::{Deserialize, Serialize};

use super::{Descriptor, Item};

/// The most entries (items and removals) a writer puts in one page.
pub const PAGE_ENTRIES: usize = 1000;
/// The most bytes of serialized entries a writer puts in one page (before compression); a page
/// is written as one blob, so a longer item is a page of its own, up to the 16 MiB of a blob.
pub const PAGE_BYTES: usize = 4 << 20;
/// The largest page content a reader accepts.
pub const MAX_PAGE_SIZE: u64 = 64 << 20;
/// The most layers a writer keeps before compacting, and a reader accepts.
pub const MAX_LAYERS: usize = 64;

/// One layer of a snapshot's items: pages in id order, their id ranges disjoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemLayer {
    /// The layer's pages, in increasing id order.
    pub pages: Vec<ItemPage>,
}

/// A page of item entries: a blob holding an [`ItemPageDoc`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemPage {
    /// The page's content.
    #[serde(flatten)]
    pub content: Descriptor,
    /// How many entries (items and removals) the page holds.
    pub entries: u64,
    /// The smallest id among its entries.
    pub first: String,
    /// The largest id among its entries.
    pub last: String,
}

/// The content of an item page.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemPageDoc {
    /// Items, in increasing id order: each replaces the entry of an older layer with its id.
    #[serde(default)]
    pub items: Vec<Item>,
    /// Ids, in increasing order, of items an older layer holds that this snapshot does not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

impl ItemLayer {
    /// How many entries the layer's pages hold.
    #[must_use]
    pub fn entries(&self) -> u64 {
        self.pages.iter().map(|p| p.entries).sum()
    }
}

/// What changed between a parent's items and a new snapshot's (both sorted by id).
#[derive(Debug, Default)]
pub struct Changes<'a> {
    /// Items new, or different from the parent's entry.
    pub changed: Vec<&'a Item>,
    /// Ids the parent holds and the new snapshot does not.
    pub removed: Vec<&'a str>,
}

impl Changes<'_> {
    /// Whether nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }

    /// How many entries a layer of these changes holds.
    #[must_use]
    pub fn entries(&self) -> u64 {
        (self.changed.len() + self.removed.len()) as u64
    }
}

/// Compare `new` with `old`, both in increasing id order.
#[must_use]
pub fn changes<'a>(old: &'a [Item], new: &[&'a Item]) -> Changes<'a> {
    let mut out = Changes::default();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j).copied()) {
            (Some(o), Some(n)) if o.id == n.id => {
                if o != n {
                    out.changed.push(n);
                }
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if o.id < n.id => {
                out.removed.push(&o.id);
                i += 1;
            }
            (Some(o), None) => {
                out.removed.push(&o.id);
                i += 1;
            }
            (_, Some(n)) => {
                out.changed.push(n);
                j += 1;
            }
            (None, None) => unreachable!("the loop runs while one side has items"),
        }
    }
    out
}

/// Whether layers holding `stored` entries in `layers` layers should be compacted into one for a
/// snapshot of `live` items: when there are too many layers to read, or the layers hold half again
/// as many entries as the snapshot has items (reading it would read that much more).
#[must_use]
pub fn should_compact(layers: usize, stored: u64, live: u64) -> bool {
    layers > MAX_LAYERS || stored > live + live / 2
}
