//! Writing snapshots: into a repository directory ([`Repository`]) or a new single-file archive
//! ([`SingleFileWriter`]), both behind [`SnapshotWriter`] (spec/archive-format.md §6, write order).
//!
//! Write order, for both forms: blobs, then (after a flush that makes them durable) the snapshot
//! manifest, then `index.json`, the single commit point.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::archive::Archive;
use crate::backend::Backend;
use crate::crypt::{Crypt, KeyDoc, Unlock};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::index::{Index, IndexEntry};
use crate::layout::{ChunkerParams, Key, Layout};
use crate::location::Location;
use crate::lock::{LockKind, RepoLock, lock, lock_remote};
use crate::manifest::Snapshot;
use crate::store::dir::DirStore;
use crate::store::remote::RemoteStore;
use crate::store::sealed::Sealed;
use crate::store::zip_write::ZipSink;
use crate::store::{Sink, Store};
use crate::writer::{BlobWriter, WriteOptions};
use std::sync::Arc;

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

/// A repository opened for writing: a directory, or a prefix of a bucket on object storage.
///
/// Holds the shared writer lock for as long as it lives, so `prune` cannot delete content that
/// this writer found already stored and decided not to write again.
#[derive(Debug)]
pub struct Repository {
    store: Backend,
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
        Self::init_at(&Location::Local(path.to_owned()), chunker, None)
    }

    /// Create a repository at `location`: a missing or empty directory, or a bucket prefix that
    /// holds no object yet. With `encrypt`, an encrypted one (format 3.0.0) whose first key is
    /// `encrypt`'s passphrase or key file.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the place holds something else; I/O and storage errors.
    pub fn init_at(
        location: &Location,
        chunker: ChunkerParams,
        encrypt: Option<&Unlock>,
    ) -> Result<Self> {
        chunker.validate().map_err(Error::InvalidInput)?;
        let crypt = encrypt.map(|_| Arc::new(Crypt::generate()));
        let layout = match encrypt {
            Some(_) => Layout::encrypted(random_id(), chunker),
            None => Layout::new(random_id(), chunker),
        };
        let keys: Vec<(Digest, KeyDoc)> = crypt
            .as_ref()
            .zip(encrypt)
            .map(|(c, u)| (Digest::of(random_id().as_bytes()), c.wrap(u)))
            .into_iter()
            .collect();
        Self::create(location, layout, crypt, &keys)
    }

    /// Create a repository at `location` like `archive`: its layout (chunker, repository id),
    /// and when it is encrypted its master key and key files, so the new repository opens with
    /// the same passphrases and its copies of the snapshots need no re-encryption (a mirror).
    ///
    /// # Errors
    /// As [`Repository::init_at`].
    pub fn init_like(location: &Location, archive: &Archive) -> Result<Self> {
        let keys = crate::archive::key_files(archive.store())?;
        Self::create(
            location,
            archive.layout().clone(),
            archive.crypt().cloned(),
            &keys,
        )
    }

    fn create(
        location: &Location,
        layout: Layout,
        crypt: Option<Arc<Crypt>>,
        keys: &[(Digest, KeyDoc)],
    ) -> Result<Self> {
        let index = to_json(&Index::default());
        match location {
            Location::Local(path) => {
                if path.exists() {
                    let mut entries =
                        std::fs::read_dir(path).map_err(|e| Error::io("listing", path, e))?;
                    if entries.next().is_some() {
                        return Err(Error::InvalidInput(format!(
                            "`{}` exists and is not empty",
                            path.display()
                        )));
                    }
                }
                std::fs::create_dir_all(path).map_err(|e| Error::io("creating", path, e))?;
                let store = Sealed::new(DirStore::new(path), crypt);
                let lock = lock(path, LockKind::Writer, "init")?;
                for (id, doc) in keys {
                    store.put(&Key::KeyFile(*id), &to_json(doc))?;
                }
                store.put(&Key::Index, &index)?;
                // The layout marker goes last: a directory without it is not a repository yet.
                store.put(&Key::Layout, &to_json(&layout))?;
                store.flush()?;
                crate::store::dir::sync_dir(
                    path.parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or(Path::new(".")),
                )?;
                Ok(Self {
                    store: Backend::Dir(store),
                    layout,
                    exclusive: false,
                    _lock: lock,
                })
            }
            Location::Remote(remote) => {
                let raw = RemoteStore::connect(remote)?;
                // Lock objects of another first backup starting at the same moment are no
                // content.
                if let Some((name, _)) = raw
                    .list_named("")?
                    .into_iter()
                    .find(|(name, _)| !name.starts_with("locks/"))
                {
                    return Err(Error::InvalidInput(format!(
                        "`{remote}` is not empty (it holds `{name}`): a new repository needs a \
                         prefix of its own"
                    )));
                }
                let lock = lock_remote(&raw, LockKind::Writer, "init")?;
                let store = Sealed::new(raw, crypt);
                for (id, doc) in keys {
                    store.put(&Key::KeyFile(*id), &to_json(doc))?;
                }
                // Both only if absent: of two inits racing, the second changes nothing (its
                // caller opens what the first made), and never empties an index the first
                // committed to.
                let raw = store.inner();
                let made = raw
                    .create_named(&Key::Index.path(), &store.seal(&Key::Index, &index))?
                    && raw.create_named(&Key::Layout.path(), &to_json(&layout))?;
                if !made {
                    return Err(Error::InvalidInput(format!(
                        "`{remote}` became a repository while this one was being made there"
                    )));
                }
                Ok(Self {
                    store: Backend::Remote(store),
                    layout,
                    exclusive: false,
                    _lock: lock,
                })
            }
        }
    }

    /// Open an existing repository for writing.
    ///
    /// # Errors
    /// As [`Archive::open`], [`Error::NotARepository`] for single-file archives, and
    /// [`Error::Locked`] while `prune` runs.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_at(&Location::Local(path.to_owned()), None)
    }

    /// [`Repository::open`] at any location; `unlock` opens an encrypted one.
    ///
    /// # Errors
    /// As [`Repository::open`]; [`Error::KeyNeeded`], [`Error::WrongKey`], [`Error::Storage`].
    pub fn open_at(location: &Location, unlock: Option<&Unlock>) -> Result<Self> {
        Self::open_with(location, LockKind::Writer, "backup", unlock)
    }

    /// Open an existing repository alone, for deleting content (`prune`): no other process may
    /// hold it.
    ///
    /// # Errors
    /// As [`Repository::open`], and [`Error::Locked`] while any other writer runs.
    pub fn open_exclusive(path: &Path, purpose: &str) -> Result<Self> {
        Self::open_with(
            &Location::Local(path.to_owned()),
            LockKind::Exclusive,
            purpose,
            None,
        )
    }

    /// [`Repository::open_exclusive`] at any location.
    ///
    /// # Errors
    /// As [`Repository::open_exclusive`] and [`Repository::open_at`].
    pub fn open_exclusive_at(
        location: &Location,
        purpose: &str,
        unlock: Option<&Unlock>,
    ) -> Result<Self> {
        Self::open_with(location, LockKind::Exclusive, purpose, unlock)
    }

    fn open_with(
        location: &Location,
        kind: LockKind,
        purpose: &str,
        unlock: Option<&Unlock>,
    ) -> Result<Self> {
        // Opening the archive unlocked its key (an Argon2id derivation): use that one.
        let archive = Archive::open_at(location, unlock)?;
        let crypt = archive.crypt().cloned();
        let (store, lock) = match location {
            Location::Local(path) => {
                if !path.is_dir() {
                    return Err(Error::NotARepository {
                        path: path.to_owned(),
                    });
                }
                (
                    Backend::Dir(Sealed::new(DirStore::new(path), crypt)),
                    lock(path, kind, purpose)?,
                )
            }
            Location::Remote(remote) => {
                let raw = RemoteStore::connect(remote)?;
                let lock = lock_remote(&raw, kind, purpose)?;
                (Backend::Remote(Sealed::new(raw, crypt)), lock)
            }
        };
        Ok(Self {
            store,
            layout: archive.layout().clone(),
            exclusive: kind == LockKind::Exclusive,
            _lock: lock,
        })
    }

    /// Remove the stale locks of the repository at `location` (on object storage: lock objects
    /// not refreshed for [`crate::lock::STALE_AFTER`], left by killed runs) and say what they
    /// were. A directory's OS locks never outlive their process: nothing to remove there.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn break_stale_locks(location: &Location) -> Result<Vec<String>> {
        match location {
            Location::Local(_) => Ok(Vec::new()),
            Location::Remote(remote) => {
                crate::lock::break_stale_locks(&RemoteStore::connect(remote)?)
            }
        }
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
        Self::open_or_init_at(&Location::Local(path.to_owned()), None)
    }

    /// [`Repository::open_or_init`] at any location: on object storage, a prefix without an
    /// `orgpack-layout` object becomes a new repository (a plain one: `orgpack init --encrypt`
    /// makes encrypted ones).
    ///
    /// # Errors
    /// As [`Repository::open_at`] and [`Repository::init_at`].
    pub fn open_or_init_at(location: &Location, unlock: Option<&Unlock>) -> Result<Self> {
        let exists = match location {
            Location::Local(path) => path.join(crate::layout::LAYOUT_FILE).exists(),
            Location::Remote(remote) => RemoteStore::connect(remote)?.size(&Key::Layout)?.is_some(),
        };
        if exists {
            return Self::open_at(location, unlock);
        }
        match Self::init_at(location, ChunkerParams::default(), None) {
            // Another first backup made it a moment ago: use it.
            Err(Error::InvalidInput(_)) if racing_init(location) => Self::open_at(location, unlock),
            other => other,
        }
    }

    /// A read view of the repository as committed now.
    ///
    /// # Errors
    /// As [`Archive::open`].
    pub fn archive(&self) -> Result<Archive> {
        self.store.archive(&self.layout)
    }

    /// Where the repository is: its directory, or its URL as a path (for messages).
    #[must_use]
    pub fn root(&self) -> &Path {
        self.store.store().location()
    }

    /// Where the repository is.
    #[must_use]
    pub fn location(&self) -> Location {
        self.store.location()
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.store
    }

    /// The key files of an encrypted repository, by id.
    ///
    /// # Errors
    /// Reading errors.
    pub fn keys(&self) -> Result<Vec<(Digest, KeyDoc)>> {
        crate::archive::key_files(self.store.store())
    }

    /// Add a key to an encrypted repository: the master key wrapped for `unlock`. Returns its id.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a plain repository; writing errors.
    pub fn add_key(&self, unlock: &Unlock) -> Result<Digest> {
        let crypt = self.store.crypt().ok_or_else(|| {
            Error::InvalidInput(format!("`{}` is not encrypted", self.root().display()))
        })?;
        let id = Digest::of(random_id().as_bytes());
        self.store
            .sink()
            .put(&Key::KeyFile(id), &to_json(&crypt.wrap(unlock)))?;
        self.store.sink().flush()?;
        Ok(id)
    }

    /// Remove a key (by id or unique id prefix) from an encrypted repository; never its last.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when no key or several match, or it is the last one.
    pub fn remove_key(&self, prefix: &str) -> Result<Digest> {
        let keys = self.keys()?;
        let matching: Vec<Digest> = keys
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| id.hex().starts_with(prefix) && !prefix.is_empty())
            .collect();
        let id = match matching.as_slice() {
            [one] => *one,
            [] => {
                return Err(Error::InvalidInput(format!(
                    "no key `{prefix}` in `{}`",
                    self.root().display()
                )));
            }
            _ => {
                return Err(Error::InvalidInput(format!(
                    "key id `{prefix}` is ambiguous in `{}`",
                    self.root().display()
                )));
            }
        };
        if keys.len() == 1 {
            return Err(Error::InvalidInput(format!(
                "`{}` has no other key: removing its last would lock everyone out",
                self.root().display()
            )));
        }
        self.store.delete(&Key::KeyFile(id))?;
        Ok(id)
    }

    /// Replace the index, applying `change` to the current one: under the commit lock in a
    /// directory; on object storage by a conditional replacement, read again and retried when
    /// another writer committed in between.
    pub(crate) fn update_index(&self, change: impl Fn(&mut Index)) -> Result<Index> {
        match &self.store {
            Backend::Dir(store) => {
                let _commit = lock(store.inner().root(), LockKind::Commit, "commit")?;
                let mut index = self.archive()?.index().clone();
                change(&mut index);
                store
                    .inner()
                    .replace(&Key::Index, &store.seal(&Key::Index, &to_json(&index)))?;
                Ok(index)
            }
            Backend::Remote(store) => {
                let raw = store.inner();
                for attempt in 0u32..64 {
                    let (bytes, version) =
                        raw.get_named(&Key::Index.path(), Key::Index.size_limit())?;
                    let bytes = store.open(&Key::Index, bytes)?;
                    let mut index: Index = serde_json::from_slice(&bytes).map_err(|e| {
                        Error::corrupt(
                            format!("archive `{}`", raw.remote()),
                            format!("`index.json` is not a valid index: {e}"),
                        )
                    })?;
                    change(&mut index);
                    let sealed = store.seal(&Key::Index, &to_json(&index));
                    if raw.replace_if(&Key::Index, &sealed, &version)? {
                        return Ok(index);
                    }
                    // Another writer committed: read its index and apply ours again.
                    std::thread::sleep(std::time::Duration::from_millis(
                        20 + u64::from(attempt.min(10)) * 30 + u64::from(std::process::id() % 17),
                    ));
                }
                Err(Error::Storage {
                    repository: raw.remote().to_string(),
                    action: "replacing",
                    key: Key::Index.path(),
                    reason: "it kept changing under 64 attempts to commit".into(),
                })
            }
        }
    }
}

impl SnapshotWriter for Repository {
    fn sink(&self) -> &dyn Sink {
        self.store.sink()
    }

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn commit_manifest(&mut self, bytes: Vec<u8>, snapshot: &Snapshot) -> Result<Digest> {
        check_manifest_bytes(&bytes, snapshot)?;
        check_blobs_present(self.store.sink(), snapshot)?;
        let sink = self.store.sink();
        sink.flush()?;
        let id = Digest::of(&bytes);
        sink.put(&Key::Snapshot(id), &bytes)?;
        sink.flush()?;
        let entry = IndexEntry::new(id, snapshot);
        self.update_index(|index| {
            index.insert(entry.clone());
        })?;
        Ok(id)
    }
}

/// Whether another process is making a repository at `location` right now: its index is there,
/// its layout not yet (written a moment later). Waits up to five seconds for the layout.
fn racing_init(location: &Location) -> bool {
    for _ in 0..50 {
        if matches!(
            Archive::open_at(location, None),
            Ok(_) | Err(Error::KeyNeeded { .. })
        ) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// A new single-file archive being written. Nothing is visible under its name until
/// [`SingleFileWriter::finish`].
#[derive(Debug)]
pub struct SingleFileWriter {
    sink: Sealed<ZipSink>,
    layout: Layout,
    index: Index,
}

impl SingleFileWriter {
    /// Start a single-file archive at `path` with `layout` (a new one; for a copy of a
    /// repository's snapshots, [`SingleFileWriter::create_like`]).
    ///
    /// # Errors
    /// When `path` exists or cannot be created; [`Error::InvalidInput`] for an encrypted layout
    /// (its key is needed: [`SingleFileWriter::create_like`]).
    pub fn create(path: &Path, layout: Layout) -> Result<Self> {
        if layout.encryption.is_some() {
            return Err(Error::InvalidInput(
                "an encrypted single-file archive is written from an opened encrypted archive"
                    .into(),
            ));
        }
        let sink = Sealed::new(ZipSink::create(path)?, None);
        sink.put(&Key::Layout, &to_json(&layout))?;
        Ok(Self {
            sink,
            layout,
            index: Index::default(),
        })
    }

    /// Start a single-file archive at `path` like `archive`: its layout, and when it is
    /// encrypted its key files and master key, so the file opens with the same passphrases.
    ///
    /// # Errors
    /// As [`SingleFileWriter::create`]; reading `archive`'s key files.
    pub fn create_like(path: &Path, archive: &Archive) -> Result<Self> {
        let layout = archive.layout().clone();
        let keys = crate::archive::key_files(archive.store())?;
        let sink = Sealed::new(ZipSink::create(path)?, archive.crypt().cloned());
        for (id, doc) in &keys {
            sink.put(&Key::KeyFile(*id), &to_json(doc))?;
        }
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
        self.sink.into_inner().finish()
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
        check_blobs_present(&self.sink, snapshot)?;
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

/// Every blob `snapshot` references is in `sink`. Asked of the sink, not with a request per blob:
/// on object storage the writer knows what it listed and put (one listing per thousand objects),
/// where a `HEAD` per blob, one at a time, took most of a backup into a bucket 20 ms away.
fn check_blobs_present(sink: &dyn Sink, snapshot: &Snapshot) -> Result<()> {
    for key in referenced_keys_shallow(snapshot) {
        if !sink.contains(&key)? {
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
pub(crate) fn random_id() -> String {
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
