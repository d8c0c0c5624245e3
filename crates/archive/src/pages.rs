//! Writing and reading the item pages of 2.x manifests (spec/archive-format.md §4.6); the types
//! and the decisions live in [`crate::manifest::layers`].

use std::collections::BTreeMap;

use crate::archive::Archive;
use crate::error::{Error, Result};
use crate::manifest::layers::{
    Changes, ItemLayer, ItemPage, ItemPageDoc, MAX_LAYERS, MAX_PAGE_SIZE, PAGE_BYTES, PAGE_ENTRIES,
    changes, should_compact,
};
use crate::manifest::{Item, is_portal_id};
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

/// One entry of a page being cut: an item's JSON or a removed id.
enum Entry<'a> {
    Item(&'a str, Vec<u8>),
    Removed(&'a str),
}

impl Entry<'_> {
    fn id(&self) -> &str {
        match self {
            Self::Item(id, _) | Self::Removed(id) => id,
        }
    }
}

fn write_layer(blobs: &BlobWriter<'_>, delta: &Changes<'_>) -> Result<ItemLayer> {
    let mut entries: Vec<Entry<'_>> = Vec::with_capacity(delta.changed.len() + delta.removed.len());
    for item in &delta.changed {
        let json = serde_json::to_vec(item)
            .map_err(|e| Error::InvalidInput(format!("serializing item `{}`: {e}", item.id)))?;
        entries.push(Entry::Item(&item.id, json));
    }
    entries.extend(delta.removed.iter().map(|id| Entry::Removed(id)));
    entries.sort_by(|a, b| a.id().cmp(b.id()));
    let mut pages = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < entries.len() && end - start < PAGE_ENTRIES {
            let len = match &entries[end] {
                Entry::Item(_, json) => json.len(),
                Entry::Removed(id) => id.len() + 3,
            };
            if end > start && bytes + len > PAGE_BYTES {
                break;
            }
            bytes += len;
            end += 1;
        }
        pages.push(write_page(blobs, &entries[start..end])?);
        start = end;
    }
    Ok(ItemLayer { pages })
}

/// `{"items":[…],"removed":[…]}`, each list in id order, written as the bytes of the entries'
/// own JSON (no second serialization of the items).
fn write_page(blobs: &BlobWriter<'_>, entries: &[Entry<'_>]) -> Result<ItemPage> {
    let mut doc = b"{\"items\":[".to_vec();
    let mut first = true;
    for e in entries {
        if let Entry::Item(_, json) = e {
            if !first {
                doc.push(b',');
            }
            first = false;
            doc.extend_from_slice(json);
        }
    }
    doc.extend_from_slice(b"]");
    let removed: Vec<&str> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Removed(id) => Some(*id),
            Entry::Item(..) => None,
        })
        .collect();
    if !removed.is_empty() {
        doc.extend_from_slice(b",\"removed\":");
        doc.extend_from_slice(&serde_json::to_vec(&removed).expect("strings serialize"));
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
        entries: entries.len() as u64,
        first: entries
            .first()
            .map_or_else(String::new, |e| e.id().to_owned()),
        last: entries
            .last()
            .map_or_else(String::new, |e| e.id().to_owned()),
    })
}

/// The items `layers` hold, in id order: every page read and checked, layers applied oldest
/// first. `at` names the snapshot in errors.
///
/// # Errors
/// [`Error::Missing`] for a page that is not in the archive, [`Error::Corrupt`] for a page that
/// does not parse or breaks §4.6.
pub(crate) fn read_layers(archive: &Archive, layers: &[ItemLayer], at: &str) -> Result<Vec<Item>> {
    if layers.len() > MAX_LAYERS {
        return Err(Error::corrupt(
            at,
            format!(
                "the manifest has {} item layers; at most {MAX_LAYERS} are allowed",
                layers.len()
            ),
        ));
    }
    let mut live: BTreeMap<String, Item> = BTreeMap::new();
    for (l, layer) in layers.iter().enumerate() {
        let mut previous: Option<&str> = None;
        for (p, page) in layer.pages.iter().enumerate() {
            let here = format!("{at}, item layer {l} page {p}");
            if previous.is_some_and(|last| page.first.as_str() <= last) {
                return Err(Error::corrupt(
                    here,
                    "its ids overlap those of the page before it",
                ));
            }
            previous = Some(&page.last);
            let doc = read_page(archive, page, &here)?;
            for item in doc.items {
                live.insert(item.id.clone(), item);
            }
            for id in doc.removed {
                if live.remove(&id).is_none() {
                    return Err(Error::corrupt(
                        here,
                        format!("it removes item `{id}`, which no older layer holds"),
                    ));
                }
            }
        }
    }
    Ok(live.into_values().collect())
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
            if id < page.first.as_str() || id > page.last.as_str() {
                return Err(format!("`{id}` is outside the page's range"));
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
    let all = doc
        .items
        .iter()
        .map(|i| i.id.as_str())
        .chain(doc.removed.iter().map(String::as_str));
    let (min, max) = all.fold((None::<&str>, None::<&str>), |(lo, hi), id| {
        (
            Some(lo.map_or(id, |l| l.min(id))),
            Some(hi.map_or(id, |h| h.max(id))),
        )
    });
    if min != Some(page.first.as_str()) || max != Some(page.last.as_str()) {
        return Err(Error::corrupt(
            at,
            "the page's first or last id is not what it holds",
        ));
    }
    Ok(doc)
}
