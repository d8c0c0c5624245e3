//! Writing snapshots: into a repository directory ([`Repository`]) or a new single-file archive
//! ([`SingleFileWriter`]), both behind [`SnapshotWriter`] (spec/archive-format.md §6, write order).
//!
//! Write order, for both forms: blobs, then (after a flush that makes them durable) the snapshot
//! manifest, then `index.json`, the single commit point.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::archive::Archive;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::index::{Index, IndexEntry};
use crate::layout::{ChunkerParams, Key, Layout};
use crate::lock::{LockKind, RepoLock, lock};
use crate::manifest::Snapshot;
use crate::store::dir::DirStore;
use crate::store::zip_write::ZipSink;
use crate::store::{Sink, Store};
use crate::writer::{BlobWriter, WriteOptions};

/// Something snapshots can be written into.
pub trait SnapshotWriter {
    /// The sink blobs go to.
    fn sink(&self) -> &dyn Sink;

    /// The layout of the archive being written.
    fn layout(&self) -> &Layout;

    /// Commit a manifest given as its exact bytes. The blobs it references must have been put.
    ///
    /// # Errors
    /// I/O errors; [`Error::InvalidInput`] when `bytes` is not `snapshot` serialized.
    fn commit_manifest(&mut self, bytes: Vec<u8>, snapshot: &Snapshot) -> Result<Digest>;

    /// A blob writer into this archive.
    fn blob_writer(&self, options: WriteOptions) -> BlobWriter<'_> {
        BlobWriter::new(self.sink(), self.layout().chunker, options)
    }

    /// Store and commit a snapshot; returns its id. Its items are written as one layer of item
    /// pages (spec/archive-format.md §4.6), recorded in `snapshot.item_layers`, and the manifest
    /// gets this writer's format version.
    ///
    /// # Errors
    /// As [`SnapshotWriter::commit_manifest`], and [`Error::InvalidInput`] when the manifest
    /// breaks an invariant.
    fn commit(&mut self, snapshot: &mut Snapshot) -> Result<Digest> {
        self.commit_on(snapshot, None)
    }

    /// [`SnapshotWriter::commit`] against `parent`, a snapshot read from this archive: the
    /// parent's item layers are reused and only what changed is written (a new layer), unless the
    /// layers would be better compacted into one. A parent whose pages this archive lacks (or a
    /// 1.x parent) is not used.
    ///
    /// # Errors
    /// As [`SnapshotWriter::commit`].
    fn commit_on(&mut self, snapshot: &mut Snapshot, parent: Option<&Snapshot>) -> Result<Digest> {
        crate::layout::FORMAT_VERSION.clone_into(&mut snapshot.format_version);
        snapshot.item_layers = Vec::new();
        if let Some(problem) = snapshot.problems().first() {
            return Err(Error::InvalidInput(format!(
                "refusing to commit an invalid snapshot: {problem}"
            )));
        }
        let base = match parent {
            Some(p) if crate::pages::pages_present(self.sink(), &p.item_layers)? => {
                Some((p.item_layers.as_slice(), p.items.as_slice()))
            }
            _ => None,
        };
        let blobs = self.blob_writer(WriteOptions::default());
        let layers = crate::pages::write_layers(&blobs, &snapshot.items, base)?;
        drop(blobs);
        snapshot.item_layers = layers;
        let bytes = serde_json::to_vec(&snapshot.without_items())
            .map_err(|e| Error::InvalidInput(format!("serializing the manifest: {e}")))?;
        self.commit_manifest(bytes, snapshot)
    }
}

/// A repository directory opened for writing.
///
/// Holds the shared writer lock for as long as it lives, so `prune` cannot delete content that
/// this writer found already stored and decided not to write again.
#[derive(Debug)]
pub struct Repository {
    store: DirStore,
    layout: Layout,
    exclusive: bool,
    _lock: RepoLock,
}

impl Repository {
    /// Create a repository in `path`, which must not exist or be an empty directory.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `path` holds something else; I/O errors.
    pub fn init(path: &Path, chunker: ChunkerParams) -> Result<Self> {
        chunker.validate().map_err(Error::InvalidInput)?;
        if path.exists() {
            let mut entries = std::fs::read_dir(path).map_err(|e| Error::io("listing", path, e))?;
            if entries.next().is_some() {
                return Err(Error::InvalidInput(format!(
                    "`{}` exists and is not empty",
                    path.display()
                )));
            }
        }
        std::fs::create_dir_all(path).map_err(|e| Error::io("creating", path, e))?;
        let store = DirStore::new(path);
        let lock = lock(path, LockKind::Writer, "init")?;
        let layout = Layout::new(random_id(), chunker);
        store.put(&Key::Index, &to_json(&Index::default()))?;
        // The layout marker goes last: a directory without it is not a repository yet.
        store.put(&Key::Layout, &to_json(&layout))?;
        store.flush()?;
        crate::store::dir::sync_dir(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )?;
        Ok(Self {
            store,
            layout,
            exclusive: false,
            _lock: lock,
        })
    }

    /// Open an existing repository for writing.
    ///
    /// # Errors
    /// As [`Archive::open`], [`Error::NotARepository`] for single-file archives, and
    /// [`Error::Locked`] while `prune` runs.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, LockKind::Writer, "backup")
    }

    /// Open an existing repository alone, for deleting content (`prune`): no other process may
    /// hold it.
    ///
    /// # Errors
    /// As [`Repository::open`], and [`Error::Locked`] while any other writer runs.
    pub fn open_exclusive(path: &Path, purpose: &str) -> Result<Self> {
        Self::open_with(path, LockKind::Exclusive, purpose)
    }

    fn open_with(path: &Path, kind: LockKind, purpose: &str) -> Result<Self> {
        let archive = Archive::open(path)?;
        if !path.is_dir() {
            return Err(Error::NotARepository {
                path: path.to_owned(),
            });
        }
        let lock = lock(path, kind, purpose)?;
        Ok(Self {
            store: DirStore::new(path),
            layout: archive.layout().clone(),
            exclusive: kind == LockKind::Exclusive,
            _lock: lock,
        })
    }

    /// Whether this handle holds the repository alone.
    #[must_use]
    pub fn is_exclusive(&self) -> bool {
        self.exclusive
    }

    /// Open the repository at `path`, creating it when `path` does not exist.
    ///
    /// # Errors
    /// As [`Repository::open`] and [`Repository::init`].
    pub fn open_or_init(path: &Path) -> Result<Self> {
        if path.join(crate::layout::LAYOUT_FILE).exists() {
            Self::open(path)
        } else {
            Self::init(path, ChunkerParams::default())
        }
    }

    /// A read view of the repository as committed now.
    ///
    /// # Errors
    /// As [`Archive::open`].
    pub fn archive(&self) -> Result<Archive> {
        Archive::open(self.store.root())
    }

    /// The repository directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        self.store.root()
    }

    pub(crate) fn dir_store(&self) -> &DirStore {
        &self.store
    }

    /// Replace the index under the commit lock, applying `change` to the current one.
    pub(crate) fn update_index(&self, change: impl FnOnce(&mut Index)) -> Result<Index> {
        let _commit = lock(self.root(), LockKind::Commit, "commit")?;
        let mut index = self.archive()?.index().clone();
        change(&mut index);
        self.store.replace(&Key::Index, &to_json(&index))?;
        Ok(index)
    }
}

impl SnapshotWriter for Repository {
    fn sink(&self) -> &dyn Sink {
        &self.store
    }

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn commit_manifest(&mut self, bytes: Vec<u8>, snapshot: &Snapshot) -> Result<Digest> {
        check_manifest_bytes(&bytes, snapshot)?;
        check_blobs_present(&self.store, snapshot)?;
        self.store.flush()?;
        let id = Digest::of(&bytes);
        self.store.put(&Key::Snapshot(id), &bytes)?;
        self.store.flush()?;
        let entry = IndexEntry::new(id, snapshot);
        self.update_index(|index| {
            index.insert(entry);
        })?;
        Ok(id)
    }
}

/// A new single-file archive being written. Nothing is visible under its name until
/// [`SingleFileWriter::finish`].
#[derive(Debug)]
pub struct SingleFileWriter {
    sink: ZipSink,
    layout: Layout,
    index: Index,
}

impl SingleFileWriter {
    /// Start a single-file archive at `path` with `layout` (a copy of the source repository's
    /// layout when exporting, a new one otherwise).
    ///
    /// # Errors
    /// When `path` exists or cannot be created.
    pub fn create(path: &Path, layout: Layout) -> Result<Self> {
        let sink = ZipSink::create(path)?;
        sink.put(&Key::Layout, &to_json(&layout))?;
        Ok(Self {
            sink,
            layout,
            index: Index::default(),
        })
    }

    /// A new single-file archive with a fresh layout.
    ///
    /// # Errors
    /// As [`SingleFileWriter::create`].
    pub fn create_new(path: &Path) -> Result<Self> {
        Self::create(path, Layout::new(random_id(), ChunkerParams::default()))
    }

    /// Write `index.json` and the central directory, and move the file to its name.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(self) -> Result<PathBuf> {
        self.sink.put(&Key::Index, &to_json(&self.index))?;
        self.sink.finish()
    }
}

impl SnapshotWriter for SingleFileWriter {
    fn sink(&self) -> &dyn Sink {
        &self.sink
    }

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn commit_manifest(&mut self, bytes: Vec<u8>, snapshot: &Snapshot) -> Result<Digest> {
        check_manifest_bytes(&bytes, snapshot)?;
        for key in referenced_keys_shallow(snapshot) {
            if !self.sink.contains(&key)? {
                return Err(Error::InvalidInput(format!(
                    "snapshot references `{key}`, which was not written"
                )));
            }
        }
        let id = Digest::of(&bytes);
        self.sink.put(&Key::Snapshot(id), &bytes)?;
        self.index.insert(IndexEntry::new(id, snapshot));
        Ok(id)
    }
}

fn check_manifest_bytes(bytes: &[u8], snapshot: &Snapshot) -> Result<()> {
    let parsed: Snapshot = serde_json::from_slice(bytes)
        .map_err(|e| Error::InvalidInput(format!("manifest bytes are not a snapshot: {e}")))?;
    if !snapshot.is_stored_as(&parsed) {
        return Err(Error::InvalidInput(
            "manifest bytes do not match the snapshot".into(),
        ));
    }
    Ok(())
}

/// The blobs a snapshot names directly (descriptor digests, or chunk lists for chunked content).
pub(crate) fn referenced_keys_shallow(snapshot: &Snapshot) -> HashSet<Key> {
    snapshot
        .parts()
        .iter()
        .map(|p| Key::Blob(p.descriptor.chunks.unwrap_or(p.descriptor.digest)))
        .collect()
}

fn check_blobs_present(store: &DirStore, snapshot: &Snapshot) -> Result<()> {
    for key in referenced_keys_shallow(snapshot) {
        if store.size(&key)?.is_none() {
            return Err(Error::InvalidInput(format!(
                "snapshot references `{key}`, which was not written"
            )));
        }
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(value).expect("layout documents serialize");
    v.push(b'\n');
    v
}

/// A random 256-bit id, from the OS's hasher keys, the time and the process.
fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher as _};
    let mut seed = Vec::new();
    for _ in 0..4 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        seed.extend_from_slice(&h.finish().to_le_bytes());
    }
    Digest::of(&seed).hex()
}
