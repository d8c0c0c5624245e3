//! Writing and reading the item pages of 2.x manifests (spec/archive-format.md §4.6); the types
//! and the decisions live in [`crate::manifest::layers`].

use crate::archive::Archive;
use crate::error::{Error, Result};
use crate::layout::Key;
use crate::manifest::layers::{
    Changes, ItemLayer, ItemPage, ItemPageDoc, MAX_LAYERS, MAX_PAGE_SIZE, PAGE_BYTES, PAGE_ENTRIES,
    changes, should_compact,
};
use crate::manifest::{Item, is_portal_id};
use crate::store::Sink;
use crate::writer::BlobWriter;

/// The layers that store `items`: the parent's layers and one of what changed, when `parent` (a
/// snapshot read with its layers, whose pages `blobs` can reach) is a good base; else one layer
/// of every item. Writes the new pages.
///
/// # Errors
/// Errors of the sink; [`Error::InvalidInput`] when an item cannot be serialized.
pub(crate) fn write_layers(
    blobs: &BlobWriter<'_>,
    items: &[Item],
    parent: Option<(&[ItemLayer], &[Item])>,
) -> Result<Vec<ItemLayer>> {
    let mut sorted: Vec<&Item> = items.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some((layers, old)) = parent
        && !layers.is_empty()
        && old.windows(2).all(|w| w[0].id < w[1].id)
    {
        let delta = changes(old, &sorted);
        if delta.is_empty() {
            return Ok(layers.to_vec());
        }
        let stored: u64 = layers.iter().map(ItemLayer::entries).sum::<u64>() + delta.entries();
        if !should_compact(layers.len() + 1, stored, items.len() as u64) {
            let mut out = layers.to_vec();
            out.push(write_layer(blobs, &delta)?);
            return Ok(out);
        }
    }
    if sorted.is_empty() {
        return Ok(Vec::new());
    }
    let all = Changes {
        changed: sorted,
        removed: Vec::new(),
    };
    Ok(vec![write_layer(blobs, &all)?])
}

/// Whether every page of `layers` is in `sink` (a parent's pages must be, to be built on).
///
/// # Errors
/// Errors of the sink.
pub(crate) fn pages_present(sink: &dyn Sink, layers: &[ItemLayer]) -> Result<bool> {
    for page in layers.iter().flat_map(|l| &l.pages) {
        if !sink.contains(&Key::Blob(
            page.content.chunks.unwrap_or(page.content.digest),
        ))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One entry of a layer: an item or a removed id (borrowed while writing, owned while reading).
#[derive(Clone, Copy)]
enum Entry<I, R> {
    Item(I),
    Removed(R),
}

/// The id an entry is about.
trait Keyed {
    fn key(&self) -> &str;
}

impl Keyed for &Item {
    fn key(&self) -> &str {
        &self.id
    }
}

impl Keyed for Item {
    fn key(&self) -> &str {
        &self.id
    }
}

impl Keyed for &str {
    fn key(&self) -> &str {
        self
    }
}

impl Keyed for String {
    fn key(&self) -> &str {
        self
    }
}

impl<I: Keyed, R: Keyed> Entry<I, R> {
    fn key(&self) -> &str {
        match self {
            Self::Item(item) => item.key(),
            Self::Removed(id) => id.key(),
        }
    }
}

/// An entry being written: borrowed from the snapshot, for as long as the page being filled.
type Written<'a> = Entry<&'a Item, &'a str>;

impl<'a> Written<'a> {
    fn id(self) -> &'a str {
        match self {
            Self::Item(item) => &item.id,
            Self::Removed(id) => id,
        }
    }
}

/// A layer's or a page's items and removals, each list in id order, merged into one list of
/// entries in id order (the same order pages store them in).
fn merged<I: Keyed, R: Keyed>(
    items: impl IntoIterator<Item = I>,
    removed: impl IntoIterator<Item = R>,
) -> Vec<Entry<I, R>> {
    let (mut items, mut removed) = (items.into_iter().peekable(), removed.into_iter().peekable());
    let mut out = Vec::new();
    loop {
        let take_item = match (items.peek(), removed.peek()) {
            (Some(i), Some(r)) => i.key() < r.key(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.push(if take_item {
            Entry::Item(items.next().expect("peeked"))
        } else {
            Entry::Removed(removed.next().expect("peeked"))
        });
    }
}

/// Write `delta` as pages, cut as they fill: each entry is serialized into the page being
/// filled, so a layer of every item is never held serialized whole.
fn write_layer(blobs: &BlobWriter<'_>, delta: &Changes<'_>) -> Result<ItemLayer> {
    let entries = merged(delta.changed.iter().copied(), delta.removed.iter().copied());
    let mut pages = Vec::new();
    let mut page = Page::default();
    for entry in entries {
        let json = match entry {
            Entry::Item(item) => Some(serde_json::to_vec(item).map_err(|e| {
                Error::InvalidInput(format!("serializing item `{}`: {e}", item.id))
            })?),
            Entry::Removed(_) => None,
        };
        let len = json.as_ref().map_or(entry.id().len() + 3, Vec::len);
        if page.entries > 0 && (page.entries == PAGE_ENTRIES || page.bytes + len > PAGE_BYTES) {
            pages.push(std::mem::take(&mut page).write(blobs)?);
        }
        page.add(entry, json, len);
    }
    if page.entries > 0 {
        pages.push(page.write(blobs)?);
    }
    Ok(ItemLayer { pages })
}

/// A page being filled: `{"items":[…],"removed":[…]}`, each list in id order, the items as the
/// bytes of their own JSON (no second serialization).
#[derive(Default)]
struct Page<'a> {
    items: Vec<u8>,
    removed: Vec<&'a str>,
    entries: usize,
    bytes: usize,
    first: Option<&'a str>,
    last: Option<&'a str>,
}

impl<'a> Page<'a> {
    fn add(&mut self, entry: Written<'a>, json: Option<Vec<u8>>, len: usize) {
        match json {
            Some(json) => {
                if !self.items.is_empty() {
                    self.items.push(b',');
                }
                self.items.extend_from_slice(&json);
            }
            None => self.removed.push(entry.id()),
        }
        self.first = self.first.or(Some(entry.id()));
        self.last = Some(entry.id());
        self.entries += 1;
        self.bytes += len;
    }

    fn write(self, blobs: &BlobWriter<'_>) -> Result<ItemPage> {
        let mut doc = b"{\"items\":[".to_vec();
        doc.extend_from_slice(&self.items);
        doc.push(b']');
        if !self.removed.is_empty() {
            doc.extend_from_slice(b",\"removed\":");
            doc.extend_from_slice(&serde_json::to_vec(&self.removed).expect("strings serialize"));
        }
        doc.push(b'}');
        // One blob, read whole; an entry past a blob's 16 MiB (an item with tens of thousands of
        // resources) is chunked as any content is.
        let content = if doc.len() as u64 <= crate::layout::MAX_BLOB_SIZE {
            blobs.put_single(&doc)?
        } else {
            blobs.put_bytes(&doc)?
        };
        Ok(ItemPage {
            content,
            entries: self.entries as u64,
            first: self.first.unwrap_or_default().to_owned(),
            last: self.last.unwrap_or_default().to_owned(),
        })
    }
}

/// The items `layers` hold, in id order: every page and item read and checked, layers applied
/// oldest first. `at` names the snapshot in errors.
///
/// # Errors
/// [`Error::Missing`] for a page that is not in the archive, [`Error::Corrupt`] for a page that
/// does not parse or breaks §4.6.
pub(crate) fn read_layers(archive: &Archive, layers: &[ItemLayer], at: &str) -> Result<Vec<Item>> {
    LiveItems::new(archive, layers, at)?.collect()
}

/// The live items of a snapshot's layers, in id order, read page by page: a merge of the
/// layers holding at most one page of each in memory (64 pages of 1,000 entries at most), so a
/// snapshot of any size is read in bounded memory. Each page and each live item is checked as it
/// is read; after an error the iterator ends.
pub struct LiveItems<'a> {
    archive: &'a Archive,
    at: String,
    layers: Vec<LayerCursor<'a>>,
    failed: bool,
}

/// One layer being read: its pages still to read, and the entries of the page at hand.
struct LayerCursor<'a> {
    pages: std::slice::Iter<'a, ItemPage>,
    page: usize,
    /// The last id of the page read before, to check that pages do not overlap.
    previous: Option<&'a str>,
    /// The page's entries in id order, front first.
    entries: std::collections::VecDeque<Entry<Item, String>>,
}

impl<'a> LiveItems<'a> {
    /// Read `layers` (oldest first); `at` names the snapshot in errors.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when there are more layers than a reader accepts.
    pub fn new(archive: &'a Archive, layers: &'a [ItemLayer], at: &str) -> Result<Self> {
        if layers.len() > MAX_LAYERS {
            return Err(Error::corrupt(
                at,
                format!(
                    "the manifest has {} item layers; at most {MAX_LAYERS} are allowed",
                    layers.len()
                ),
            ));
        }
        Ok(Self {
            archive,
            at: at.to_owned(),
            layers: layers
                .iter()
                .map(|l| LayerCursor {
                    pages: l.pages.iter(),
                    page: 0,
                    previous: None,
                    entries: std::collections::VecDeque::new(),
                })
                .collect(),
            failed: false,
        })
    }

    /// Read the next page of layer `l` when its entries are used up.
    fn fill(&mut self, l: usize) -> Result<()> {
        let cursor = &mut self.layers[l];
        if !cursor.entries.is_empty() {
            return Ok(());
        }
        let Some(page) = cursor.pages.next() else {
            return Ok(());
        };
        let here = format!("{}, item layer {l} page {}", self.at, cursor.page);
        cursor.page += 1;
        if cursor
            .previous
            .is_some_and(|last| page.first.as_str() <= last)
        {
            return Err(Error::corrupt(
                here,
                "its ids overlap those of the page before it",
            ));
        }
        cursor.previous = Some(&page.last);
        let doc = read_page(self.archive, page, &here)?;
        // Both lists are in id order (checked): merged into one.
        cursor.entries = merged(doc.items, doc.removed).into();
        Ok(())
    }

    fn step(&mut self) -> Result<Option<Item>> {
        loop {
            for l in 0..self.layers.len() {
                self.fill(l)?;
            }
            let Some(id) = self
                .layers
                .iter()
                .filter_map(|c| c.entries.front().map(Entry::key))
                .min()
                .map(str::to_owned)
            else {
                return Ok(None);
            };
            // The entries for `id`, oldest layer first: the newest wins, a removal drops it.
            let mut live: Option<Item> = None;
            for (l, cursor) in self.layers.iter_mut().enumerate() {
                if cursor.entries.front().map(Entry::key) != Some(id.as_str()) {
                    continue;
                }
                match cursor.entries.pop_front().expect("a front entry") {
                    Entry::Item(item) => live = Some(item),
                    Entry::Removed(removed) if live.is_none() => {
                        return Err(Error::corrupt(
                            format!("{}, item layer {l} page {}", self.at, cursor.page - 1),
                            format!("it removes item `{removed}`, which no older layer holds"),
                        ));
                    }
                    Entry::Removed(_) => live = None,
                }
            }
            if let Some(item) = live {
                // Each live item checked as it is read (§5.1); ids are unique by the merge.
                let problems = item.problems();
                if let Some(first) = problems.first() {
                    let more = match problems.len() {
                        1 => String::new(),
                        n => format!(" (and {} more problems)", n - 1),
                    };
                    return Err(Error::corrupt(&self.at, format!("{first}{more}")));
                }
                return Ok(Some(item));
            }
        }
    }
}

impl Iterator for LiveItems<'_> {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Result<Item>> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(item) => item.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn read_page(archive: &Archive, page: &ItemPage, at: &str) -> Result<ItemPageDoc> {
    if page.content.size > MAX_PAGE_SIZE {
        return Err(Error::corrupt(
            at,
            format!(
                "the page is {} bytes; at most {MAX_PAGE_SIZE} are allowed",
                page.content.size
            ),
        ));
    }
    let bytes = archive.read_part(&page.content).map_err(|e| e.within(at))?;
    let doc: ItemPageDoc = serde_json::from_slice(&bytes)
        .map_err(|e| Error::corrupt(at, format!("the page is not an item page: {e}")))?;
    // Each list strictly increasing; with its smallest and largest ids the manifest's `first`
    // and `last`, every id is in the page's range.
    let ids = |v: &mut dyn Iterator<Item = &str>| -> std::result::Result<(), String> {
        let mut last: Option<&str> = None;
        for id in v {
            if !is_portal_id(id) {
                return Err(format!(
                    "`{}` is not an item id",
                    id.chars().take(40).collect::<String>()
                ));
            }
            if last.is_some_and(|l| l >= id) {
                return Err(format!(
                    "its entries are not in increasing id order at `{id}`"
                ));
            }
            last = Some(id);
        }
        Ok(())
    };
    ids(&mut doc.items.iter().map(|i| i.id.as_str()))
        .and_then(|()| ids(&mut doc.removed.iter().map(String::as_str)))
        .map_err(|why| Error::corrupt(at, why))?;
    let count = (doc.items.len() + doc.removed.len()) as u64;
    if count != page.entries {
        return Err(Error::corrupt(
            at,
            format!(
                "the page holds {count} entries, not the {} the manifest says",
                page.entries
            ),
        ));
    }
    if doc.removed.iter().any(|id| {
        doc.items
            .binary_search_by(|i| i.id.as_str().cmp(id))
            .is_ok()
    }) {
        return Err(Error::corrupt(at, "an id is both an item and removed"));
    }
    // Both lists are in order: the page's ends are their ends.
    let first = [
        doc.items.first().map(|i| i.id.as_str()),
        doc.removed.first().map(String::as_str),
    ]
    .into_iter()
    .flatten()
    .min();
    let last = [
        doc.items.last().map(|i| i.id.as_str()),
        doc.removed.last().map(String::as_str),
    ]
    .into_iter()
    .flatten()
    .max();
    if first != Some(page.first.as_str()) || last != Some(page.last.as_str()) {
        return Err(Error::corrupt(
            at,
            "the page's first or last id is not what it holds",
        ));
    }
    Ok(doc)
}
