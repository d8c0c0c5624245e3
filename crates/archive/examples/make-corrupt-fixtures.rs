//! Regenerate `fixtures/corrupt/`: one small single-file archive per way an archive can be
//! damaged or hostile, each described in `fixtures/corrupt/README.md`.
//!
//! `cargo run -p orgpack-archive --example make-corrupt-fixtures -- fixtures/corrupt`
//!
//! The `zip` crate refuses to write most of these (duplicate names, lying sizes), so they are built
//! with the small raw zip writer below, from the entries of one valid archive.

#![allow(clippy::print_stdout)]

use std::io::Write;
use std::path::{Path, PathBuf};

use orgpack_archive::layout::{ChunkerAlgorithm, Key, Layout};
use orgpack_archive::manifest::ItemPageDoc;
use orgpack_archive::sample::{SERVICE_ID, write_sample};
use orgpack_archive::store::zip_read::ZipStore;
use orgpack_archive::store::{ListKind, Store};
use orgpack_archive::{ChunkerParams, Digest, Repository, Snapshot};

struct Entry {
    name: String,
    data: Vec<u8>,
    /// Compression method written in the headers (the data is never actually compressed).
    method: u16,
    /// Size written in the headers, when it should lie.
    declared: Option<u32>,
    /// Keep the CRC of the original data even though `data` was damaged.
    stale_crc: Option<u32>,
}

impl Entry {
    fn new(name: impl Into<String>, data: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            data,
            method: 0,
            declared: None,
            stale_crc: None,
        }
    }
}

/// A minimal zip writer: stored entries, no ZIP64, no extra fields.
fn write_zip(path: &Path, entries: &[Entry]) -> std::io::Result<()> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = u32::try_from(out.len()).expect("small fixtures");
        let crc = e.stale_crc.unwrap_or_else(|| crc32fast::hash(&e.data));
        let size = e
            .declared
            .unwrap_or(u32::try_from(e.data.len()).expect("small"));
        let name = e.name.as_bytes();
        let name_len = u16::try_from(name.len()).expect("short names");
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(20u16.to_le_bytes()); // version needed
        out.extend(0u16.to_le_bytes()); // flags
        out.extend(e.method.to_le_bytes());
        out.extend([0u8; 4]); // time, date
        out.extend(crc.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(name_len.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name);
        out.extend(&e.data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes()); // made by
        central.extend(20u16.to_le_bytes()); // needed
        central.extend(0u16.to_le_bytes());
        central.extend(e.method.to_le_bytes());
        central.extend([0u8; 4]);
        central.extend(crc.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend(name_len.to_le_bytes());
        central.extend([0u8; 8]); // extra len, comment len, disk, internal attrs
        central.extend(0u32.to_le_bytes()); // external attrs
        central.extend(offset.to_le_bytes());
        central.extend(name);
    }
    let cd_offset = u32::try_from(out.len()).expect("small");
    let count = u16::try_from(entries.len()).expect("few entries");
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend(count.to_le_bytes());
    out.extend(count.to_le_bytes());
    out.extend(u32::try_from(central.len()).expect("small").to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    std::fs::File::create(path)?.write_all(&out)
}

/// The entries of a valid archive, in layout order: layout, blobs, snapshots, index.
fn valid_entries(work: &Path) -> Result<Vec<Entry>, Box<dyn std::error::Error>> {
    let repo_dir = work.join("repo");
    let chunker = ChunkerParams {
        algorithm: ChunkerAlgorithm::FastCdc2020,
        min_size: 1024,
        avg_size: 4096,
        max_size: 16384,
        normalization: 1,
    };
    let mut repo = Repository::init(&repo_dir, chunker)?;
    write_sample(&mut repo, "2026-11-26T02:00:00Z", 40_000)?;
    let store = orgpack_archive::store::dir::DirStore::new(&repo_dir);
    let mut layout: Layout = serde_json::from_slice(&store.get(&Key::Layout)?)?;
    layout.repository_id = Digest::of(b"orgpack fixtures").hex();
    let mut entries = vec![Entry::new(
        "orgpack-layout",
        serde_json::to_vec_pretty(&layout)?,
    )];
    for kind in [ListKind::Blobs, ListKind::Snapshots] {
        for listed in store.list(kind)? {
            entries.push(Entry::new(listed.key.path(), store.get(&listed.key)?));
        }
    }
    entries.push(Entry::new("index.json", store.get(&Key::Index)?));
    Ok(entries)
}

fn find(entries: &[Entry], pred: impl Fn(&Entry) -> bool) -> usize {
    entries.iter().position(pred).expect("entry exists")
}

fn snapshot_index(entries: &[Entry]) -> usize {
    find(entries, |e| e.name.starts_with("snapshots/"))
}

/// The decoded content of the blob entry named by `digest`.
fn blob_content(entries: &[Entry], digest: &Digest) -> Vec<u8> {
    let name = Key::Blob(*digest).path();
    let stored = &entries[find(entries, |e| e.name == name)].data;
    orgpack_archive::blob::decode(stored.clone(), digest).expect("a valid blob")
}

/// Replace the manifest with `edit(manifest)`, renamed and re-indexed consistently. The items
/// are edited in the manifest's item page, stored again (raw) under its new digest.
fn rewrite_manifest(
    entries: &mut Vec<Entry>,
    edit: impl FnOnce(&mut Snapshot),
) -> Result<(), Box<dyn std::error::Error>> {
    let i = snapshot_index(entries);
    let mut snapshot: Snapshot = serde_json::from_slice(&entries[i].data)?;
    let page = snapshot.item_layers[0].pages[0].clone();
    let doc: ItemPageDoc = serde_json::from_slice(&blob_content(entries, &page.content.digest))?;
    snapshot.items = doc.items;
    edit(&mut snapshot);
    let doc = ItemPageDoc {
        items: std::mem::take(&mut snapshot.items),
        removed: Vec::new(),
    };
    let page_bytes = serde_json::to_vec(&doc)?;
    let page_digest = Digest::of(&page_bytes);
    entries.insert(
        i,
        Entry::new(Key::Blob(page_digest).path(), page_bytes.clone()),
    );
    let i = snapshot_index(entries);
    snapshot.item_layers[0].pages[0].content = orgpack_archive::Descriptor {
        digest: page_digest,
        size: page_bytes.len() as u64,
        chunks: None,
    };
    let bytes = serde_json::to_vec(&snapshot)?;
    let id = Digest::of(&bytes);
    entries[i] = Entry::new(Key::Snapshot(id).path(), bytes);
    snapshot.items = doc.items;
    let mut index = orgpack_archive::Index::default();
    index.insert(orgpack_archive::IndexEntry::new(id, &snapshot));
    let last = entries.len() - 1;
    entries[last] = Entry::new("index.json", serde_json::to_vec_pretty(&index)?);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: make-corrupt-fixtures OUT_DIR")?,
    );
    std::fs::create_dir_all(&out)?;
    let work = tempfile::tempdir()?;
    let fresh = || {
        valid_entries(work.path()).inspect(|_| {
            let _ = std::fs::remove_dir_all(work.path().join("repo"));
        })
    };
    let save = |name: &str, entries: &[Entry]| write_zip(&out.join(name), entries);

    let valid = fresh()?;
    save("valid.orgpack", &valid)?;
    // A big blob to damage: the largest one (a chunk of the payload).
    let big = |entries: &[Entry]| {
        (0..entries.len())
            .filter(|&i| entries[i].name.starts_with("blobs/"))
            .max_by_key(|&i| entries[i].data.len())
            .expect("blobs")
    };

    let bytes = std::fs::read(out.join("valid.orgpack"))?;
    std::fs::write(out.join("truncated.orgpack"), &bytes[..bytes.len() * 2 / 3])?;
    std::fs::write(
        out.join("not-an-archive.orgpack"),
        b"Parcels,Owner\n1,Ann\n2,Bob\n",
    )?;

    // A bit flipped on disk: the entry's CRC-32 no longer matches.
    let mut e = fresh()?;
    let i = big(&e);
    e[i].stale_crc = Some(crc32fast::hash(&e[i].data));
    e[i].data[100] ^= 0x04;
    save("flipped-bit-blob.orgpack", &e)?;

    // A bit flipped before the zip was written: the CRC matches, only the hash can tell.
    let mut e = fresh()?;
    let i = big(&e);
    e[i].data[100] ^= 0x04;
    save("flipped-bit-blob-crc-fixed.orgpack", &e)?;

    let mut e = fresh()?;
    let i = snapshot_index(&e);
    let pos = e[i]
        .data
        .iter()
        .position(|&b| b == b'P')
        .expect("a capital P in the titles");
    e[i].data[pos] ^= 0x20;
    save("flipped-bit-manifest.orgpack", &e)?;

    let mut e = fresh()?;
    let i = big(&e);
    e.remove(i);
    save("missing-blob.orgpack", &e)?;

    let mut e = fresh()?;
    rewrite_manifest(&mut e, |s| {
        let item = s
            .items
            .iter_mut()
            .find(|i| i.id == SERVICE_ID)
            .expect("service");
        item.item.digest = Digest::of(b"content that was never stored");
    })?;
    save("dangling-reference.orgpack", &e)?;

    let mut e = fresh()?;
    rewrite_manifest(&mut e, |s| {
        let item = s
            .items
            .iter_mut()
            .find(|i| i.id == SERVICE_ID)
            .expect("service");
        item.item.size += 1;
    })?;
    save("wrong-size.orgpack", &e)?;

    let mut e = fresh()?;
    e.remove(snapshot_index(&e));
    save("index-names-missing-snapshot.orgpack", &e)?;

    let mut e = fresh()?;
    let dup = Entry::new("index.json", e.last().expect("index").data.clone());
    e.push(dup);
    save("duplicate-entry.orgpack", &e)?;

    let mut e = fresh()?;
    e.insert(
        1,
        Entry::new("../../evil.sh", b"#!/bin/sh\necho owned\n".to_vec()),
    );
    save("path-traversal.orgpack", &e)?;

    let mut e = fresh()?;
    e.insert(
        1,
        Entry::new("/etc/cron.d/evil", b"* * * * * root true\n".to_vec()),
    );
    save("absolute-path.orgpack", &e)?;

    let mut e = fresh()?;
    let i = big(&e);
    e[i].declared = Some(0xFFFF_FFF0);
    save("declared-size-bomb.orgpack", &e)?;

    let mut e = fresh()?;
    let i = big(&e);
    let name = e[i].name.clone();
    // A 46-byte zstd frame that inflates to 64 MiB of zeros, stored under a blob's name.
    let bomb = zstd::bulk::compress(&vec![0u8; 64 << 20], 19)?;
    e[i] = Entry::new(name, bomb);
    save("zstd-bomb.orgpack", &e)?;

    let mut e = fresh()?;
    let i = find(&e, |x| x.name == "index.json");
    e[i].method = 8;
    save("compressed-entry.orgpack", &e)?;

    let mut e = fresh()?;
    let mut layout: serde_json::Value = serde_json::from_slice(&e[0].data)?;
    layout["formatVersion"] = "4.0.0".into();
    e[0] = Entry::new("orgpack-layout", serde_json::to_vec_pretty(&layout)?);
    save("unknown-major-version.orgpack", &e)?;

    let mut e = fresh()?;
    let mut layout: serde_json::Value = serde_json::from_slice(&e[0].data)?;
    layout["formatVersion"] = "3.0.0".into();
    e[0] = Entry::new("orgpack-layout", serde_json::to_vec_pretty(&layout)?);
    save("version-3-without-encryption.orgpack", &e)?;

    let mut e = fresh()?;
    e.pop();
    save("unfinished-no-index.orgpack", &e)?;

    let mut e = fresh()?;
    rewrite_manifest(&mut e, |s| {
        let item = s
            .items
            .iter_mut()
            .find(|i| i.id != SERVICE_ID)
            .expect("web map");
        item.resources[0].path = "../../../.ssh/authorized_keys".into();
    })?;
    save("resource-path-escapes.orgpack", &e)?;

    // An item page that holds fewer entries than the manifest says (one item dropped from it).
    let mut e = fresh()?;
    rewrite_manifest(&mut e, |s| {
        s.items.retain(|i| i.id == SERVICE_ID);
    })?;
    save("item-page-short.orgpack", &e)?;

    // The valid fixture must stay valid.
    ZipStore::open(&out.join("valid.orgpack"))?;
    Ok(())
}
