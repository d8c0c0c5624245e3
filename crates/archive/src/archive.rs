//! Reading an archive of either form (spec/archive-format.md §6, read order).
//!
//! [`Archive::open`] reads `orgpack-layout` (rejecting unknown major versions), then `index.json`.
//! Snapshots are read on demand and checked against their names; blobs are decoded and re-hashed
//! on every read, so corrupt content is never returned as good.

use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use crate::blob;
use crate::chunk::ChunkList;
use crate::crypt::{Crypt, KeyDoc, Unlock};
use crate::digest::{Digest, Hasher};
use crate::error::{Error, Result};
use crate::index::Index;
use crate::layout::{
    FORMAT_MAJOR, FORMAT_NAME, Key, LAYOUT_MAJOR, Layout, major_version, reads_layout_version,
    reads_version,
};
use crate::location::Location;
use crate::manifest::{Descriptor, Snapshot};
use crate::store::ListKind;
use crate::store::dir::DirStore;
use crate::store::remote::RemoteStore;
use crate::store::sealed::Sealed;
use crate::store::zip_read::ZipStore;
use crate::store::{Form, Store};

/// An archive opened for reading: a repository directory or a single-file archive.
#[derive(Clone)]
pub struct Archive {
    /// Shared: a clone (for a worker thread) reads the same store.
    store: std::sync::Arc<dyn Store>,
    /// The master key of an encrypted archive.
    crypt: Option<Arc<Crypt>>,
    layout: Layout,
    index: Index,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("location", &self.location())
            .finish_non_exhaustive()
    }
}

impl Archive {
    /// Open the archive at `path`, a repository directory or a `.orgpack` file.
    ///
    /// # Errors
    /// [`Error::ArchiveNotFound`], [`Error::NotAnArchive`], [`Error::UnsupportedVersion`], and
    /// [`Error::Corrupt`] when the layout or index is damaged.
    pub fn open(path: &Path) -> Result<Self> {
        Self::from_store(Self::local_store(path)?)
    }

    fn local_store(path: &Path) -> Result<Box<dyn Store>> {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::ArchiveNotFound {
                path: path.to_owned(),
            },
            _ => Error::io("opening", path, e),
        })?;
        let store: Box<dyn Store> = if meta.is_dir() {
            if !path.join(crate::layout::LAYOUT_FILE).is_file() {
                return Err(Error::NotAnArchive {
                    path: path.to_owned(),
                    reason: "the directory has no `orgpack-layout` file".into(),
                });
            }
            Box::new(DirStore::new(path))
        } else {
            Box::new(ZipStore::open(path)?)
        };
        Ok(store)
    }

    /// Open the archive at `location`: a path as [`Archive::open`], or a repository on object
    /// storage. Nothing is copied: objects are read when asked for. `unlock` opens an encrypted
    /// archive.
    ///
    /// # Errors
    /// [`Error::KeyNeeded`], [`Error::WrongKey`] for an encrypted archive without its key;
    /// As [`Archive::open`]; [`Error::ArchiveNotFound`] when the prefix holds no
    /// `orgpack-layout`; [`Error::Storage`] when the service refuses (credentials, a missing
    /// bucket).
    pub fn open_at(location: &Location, unlock: Option<&Unlock>) -> Result<Self> {
        match location {
            Location::Local(path) => Self::from_store_unlocked(Self::local_store(path)?, unlock),
            Location::Remote(remote) => {
                let store = RemoteStore::connect(remote)?;
                match store.size(&crate::layout::Key::Layout)? {
                    Some(_) => Self::from_store_unlocked(Box::new(store), unlock),
                    None => Err(Error::ArchiveNotFound {
                        path: remote.to_string().into(),
                    }),
                }
            }
        }
    }

    /// Open an archive from any store (not an encrypted one: [`Archive::from_store_unlocked`]).
    ///
    /// # Errors
    /// As [`Archive::open`]; [`Error::KeyNeeded`] for an encrypted archive.
    pub fn from_store(store: Box<dyn Store>) -> Result<Self> {
        Self::from_store_unlocked(store, None)
    }

    /// Open an archive from any store; `unlock` opens an encrypted one (and is not used for a
    /// plain one).
    ///
    /// # Errors
    /// As [`Archive::open`]; [`Error::KeyNeeded`] when the archive is encrypted and `unlock` is
    /// `None`; [`Error::WrongKey`] when no key of it opens with `unlock`.
    pub fn from_store_unlocked(store: Box<dyn Store>, unlock: Option<&Unlock>) -> Result<Self> {
        let path = store.location().to_owned();
        let layout = layout_of(&*store)?;
        let crypt = match (&layout.encryption, unlock) {
            (None, _) => None,
            (Some(_), None) => return Err(Error::KeyNeeded { path }),
            (Some(_), Some(unlock)) => Some(Arc::new(unlock_with(&*store, unlock)?)),
        };
        Self::from_sealed(Sealed::new(store, crypt), layout)
    }

    /// Open a store whose key is known already (a repository being written).
    pub(crate) fn from_sealed(store: Sealed<Box<dyn Store>>, layout: Layout) -> Result<Self> {
        let path = store.location().to_owned();
        let index_bytes = store.get(&Key::Index).map_err(|e| match e {
            Error::Missing { .. } => Error::corrupt(
                format!("archive `{}`", path.display()),
                "`index.json` is missing (for a single-file archive: it was not finished)",
            ),
            other => other,
        })?;
        let index: Index = serde_json::from_slice(&index_bytes).map_err(|e| {
            Error::corrupt(
                format!("archive `{}`", path.display()),
                format!("`index.json` is not a valid index: {e}"),
            )
        })?;
        check_version(&path, &index.format_version)?;
        Ok(Self {
            crypt: store.crypt().cloned(),
            store: Arc::new(store),
            layout,
            index,
        })
    }

    /// Whether the archive is encrypted.
    #[must_use]
    pub fn is_encrypted(&self) -> bool {
        self.layout.encryption.is_some()
    }

    /// The master key of an encrypted archive, opened.
    pub(crate) fn crypt(&self) -> Option<&Arc<Crypt>> {
        self.crypt.as_ref()
    }

    /// The layout document.
    #[must_use]
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The committed snapshots.
    #[must_use]
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The underlying store.
    #[must_use]
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Where the archive is.
    #[must_use]
    pub fn location(&self) -> &Path {
        self.store.location()
    }

    /// Which form the archive has.
    #[must_use]
    pub fn form(&self) -> Form {
        self.store.form()
    }

    /// Resolve `latest`, a full `sha256:` id, or a hex prefix of at least 4 digits to a snapshot id.
    ///
    /// # Errors
    /// [`Error::SnapshotNotFound`] or [`Error::AmbiguousSnapshot`].
    pub fn resolve(&self, spec: &str) -> Result<Digest> {
        self.resolve_skipping(spec, None)
    }

    /// [`Archive::resolve`], where `latest` and dates pass over snapshots tagged `skip` (a restore
    /// passes over the `pre-restore` snapshots it takes itself); an id names any snapshot.
    ///
    /// # Errors
    /// As [`Archive::resolve`].
    pub fn resolve_skipping(&self, spec: &str, skip: Option<&str>) -> Result<Digest> {
        let kept =
            |e: &&crate::index::IndexEntry| skip.is_none_or(|t| !e.tags.iter().any(|x| x == t));
        let archive = self.location().display().to_string();
        let not_found = || Error::SnapshotNotFound {
            id: spec.to_owned(),
            archive: archive.clone(),
        };
        if spec == "latest" {
            return self
                .index
                .snapshots
                .iter()
                .rev()
                .find(kept)
                .map(|e| e.id)
                .ok_or_else(not_found);
        }
        // A date (`2026-11-20`): the last snapshot created on or before that day (UTC).
        if let Some(day) = as_date(spec) {
            return self
                .index
                .snapshots
                .iter()
                .rev()
                .filter(kept)
                .find(|e| e.created.get(..10).is_some_and(|d| d <= day))
                .map(|e| e.id)
                .ok_or_else(not_found);
        }
        let prefix = spec
            .strip_prefix("sha256:")
            .unwrap_or(spec)
            .to_ascii_lowercase();
        if prefix.len() < 4 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let matches: Vec<Digest> = self
            .index
            .snapshots
            .iter()
            .map(|e| e.id)
            .filter(|id| id.hex().starts_with(&prefix))
            .collect();
        match matches.as_slice() {
            [] => Err(not_found()),
            [one] => Ok(*one),
            many => Err(Error::AmbiguousSnapshot {
                id: spec.to_owned(),
                archive,
                matches: many
                    .iter()
                    .map(Digest::short)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Read and check a snapshot manifest.
    ///
    /// # Errors
    /// [`Error::Missing`], [`Error::Corrupt`] (wrong hash, invalid JSON, broken invariants) or
    /// [`Error::UnsupportedVersion`].
    pub fn snapshot(&self, id: &Digest) -> Result<Snapshot> {
        Ok(self.snapshot_with_bytes(id)?.0)
    }

    /// Read a snapshot manifest and return it with its exact bytes, its items read (from its
    /// item pages, for a 2.x manifest) and every invariant checked.
    ///
    /// # Errors
    /// As [`Archive::snapshot`].
    pub fn snapshot_with_bytes(&self, id: &Digest) -> Result<(Snapshot, Vec<u8>)> {
        let (mut snapshot, bytes) = self.manifest_with_bytes(id)?;
        if !snapshot.item_layers.is_empty() {
            // Each item is checked as it is read; the rest was checked with the manifest.
            let at = format!("snapshot `{}`", id.short());
            snapshot.items = crate::pages::read_layers(self, &snapshot.item_layers, &at)?;
        }
        Ok((snapshot, bytes))
    }

    /// Read a snapshot manifest as stored, with its exact bytes: a 2.x manifest without its items
    /// (read them one by one with [`Archive::items`]), a 1.x one with its inline items. Checked:
    /// the hash, the version, and the invariants of what the file holds.
    ///
    /// # Errors
    /// As [`Archive::snapshot`].
    pub fn manifest_with_bytes(&self, id: &Digest) -> Result<(Snapshot, Vec<u8>)> {
        let at = format!("snapshot `{}`", id.short());
        let bytes = self
            .store
            .get(&Key::Snapshot(*id))
            .map_err(|e| e.within(&at))?;
        let actual = Digest::of(&bytes);
        if &actual != id {
            return Err(Error::corrupt(
                at,
                format!("manifest hashes to `{}`, not to its name", actual.short()),
            ));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::corrupt(&at, format!("manifest is not JSON: {e}")))?;
        if let Some(v) = value
            .get("formatVersion")
            .and_then(serde_json::Value::as_str)
        {
            check_version(self.location(), v)?;
        }
        let snapshot: Snapshot = serde_json::from_value(value)
            .map_err(|e| Error::corrupt(&at, format!("manifest is invalid: {e}")))?;
        let layered = major_version(&snapshot.format_version).is_some_and(|m| m >= 2);
        if layered && !snapshot.items.is_empty() {
            return Err(Error::corrupt(
                at,
                "a 2.x manifest holds its items in `itemLayers`, not inline in `items`",
            ));
        }
        if !layered && !snapshot.item_layers.is_empty() {
            return Err(Error::corrupt(
                at,
                "a 1.x manifest holds its items inline; it cannot have `itemLayers`",
            ));
        }
        check_problems(&snapshot, at)?;
        Ok((snapshot, bytes))
    }

    /// The items of `manifest` (snapshot `id`, read with [`Archive::manifest_with_bytes`]) in
    /// id order, each checked as it is read: a 2.x snapshot's read page by page, in memory
    /// bounded by a page per layer however many items it has (`pages::LiveItems`); a 1.x
    /// manifest's from the manifest itself.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for more layers than a reader accepts; each item is `Err` for a page
    /// that is missing or corrupt, or an item that breaks an invariant (the iterator ends there).
    pub fn items<'a>(
        &'a self,
        id: &Digest,
        manifest: &'a Snapshot,
    ) -> Result<Box<dyn Iterator<Item = Result<crate::manifest::Item>> + 'a>> {
        if manifest.item_layers.is_empty() {
            return Ok(Box::new(manifest.items.iter().cloned().map(Ok)));
        }
        let at = format!("snapshot `{}`", id.short());
        Ok(Box::new(crate::pages::LiveItems::new(
            self,
            &manifest.item_layers,
            &at,
        )?))
    }

    /// Read one blob, decoded and checked against its name.
    ///
    /// # Errors
    /// [`Error::Missing`] or [`Error::Corrupt`].
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let key = Key::Blob(*digest);
        let stored = self.store.get(&key)?;
        blob::decode(stored, digest)
            .map_err(|reason| Error::corrupt(format!("blob `{}`", digest.short()), reason))
    }

    /// Read and check the chunk list of a chunked descriptor.
    ///
    /// # Errors
    /// [`Error::Missing`] or [`Error::Corrupt`].
    pub fn chunk_list(&self, descriptor: &Descriptor) -> Result<Option<ChunkList>> {
        let Some(list_digest) = descriptor.chunks else {
            return Ok(None);
        };
        let bytes = self.read_blob(&list_digest)?;
        let list: ChunkList = serde_json::from_slice(&bytes).map_err(|e| {
            Error::corrupt(
                format!("chunk list `{}`", list_digest.short()),
                format!("not a chunk list: {e}"),
            )
        })?;
        list.check(&descriptor.digest, descriptor.size)
            .map_err(|reason| {
                Error::corrupt(format!("chunk list `{}`", list_digest.short()), reason)
            })?;
        Ok(Some(list))
    }

    /// Stream the content a descriptor points at. Every chunk is checked as it is read, and the
    /// whole content against the descriptor's digest at the end: a reader that reaches EOF without
    /// an error has returned exactly the content that was backed up.
    ///
    /// # Errors
    /// [`Error::Missing`] or [`Error::Corrupt`] for the chunk list.
    pub fn open_part(&self, descriptor: &Descriptor) -> Result<PartReader<'_>> {
        self.part_reader(descriptor, true)
    }

    /// Like [`Archive::open_part`], for content read whole and checked before (a restore's
    /// validation): every blob is still checked against its name, so any byte changed since fails
    /// the read, but the whole content is not hashed a second time — the chunk list it was checked
    /// with is itself a blob checked against its name.
    ///
    /// # Errors
    /// As [`Archive::open_part`].
    pub fn open_checked_part(&self, descriptor: &Descriptor) -> Result<PartReader<'_>> {
        self.part_reader(descriptor, false)
    }

    fn part_reader(&self, descriptor: &Descriptor, whole: bool) -> Result<PartReader<'_>> {
        let chunks = match self.chunk_list(descriptor)? {
            Some(list) => list
                .chunks
                .into_iter()
                .map(|c| (c.digest, c.size))
                .collect(),
            None => vec![(descriptor.digest, descriptor.size)],
        };
        Ok(PartReader {
            archive: self,
            expected: *descriptor,
            chunks,
            next: 0,
            buf: Vec::new(),
            pos: 0,
            hasher: whole.then(Hasher::new),
            read: 0,
        })
    }

    /// Read the whole content a descriptor points at into memory.
    ///
    /// # Errors
    /// As [`Archive::open_part`], and [`Error::Corrupt`] when the content does not match.
    pub fn read_part(&self, descriptor: &Descriptor) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.open_part(descriptor)?
            .read_to_end(&mut out)
            .map_err(unwrap_io)?;
        Ok(out)
    }
}

/// [`Error::Corrupt`] naming the first of a manifest's problems (and how many more), if any.
fn check_problems(snapshot: &Snapshot, at: String) -> Result<()> {
    let problems = snapshot.problems();
    if let Some(first) = problems.first() {
        let more = if problems.len() > 1 {
            format!(" (and {} more problems)", problems.len() - 1)
        } else {
            String::new()
        };
        return Err(Error::corrupt(at, format!("{first}{more}")));
    }
    Ok(())
}

/// Turn an I/O error from [`PartReader`] back into the archive error it carries.
#[must_use]
pub fn unwrap_io(e: io::Error) -> Error {
    match e.downcast::<Error>() {
        Ok(inner) => inner,
        Err(e) => Error::Stream {
            context: "reading archive content".into(),
            source: e,
        },
    }
}

/// A streaming reader of one part's content, checked chunk by chunk and as a whole.
pub struct PartReader<'a> {
    archive: &'a Archive,
    expected: Descriptor,
    chunks: Vec<(Digest, u64)>,
    next: usize,
    buf: Vec<u8>,
    pos: usize,
    /// The whole content's hash, when it is checked.
    hasher: Option<Hasher>,
    read: u64,
}

impl Read for PartReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.next == self.chunks.len() {
                let whole_differs = self
                    .hasher
                    .take()
                    .is_some_and(|h| h.finish() != self.expected.digest);
                if self.read != self.expected.size || whole_differs {
                    return Err(io::Error::other(Error::corrupt(
                        format!("content `{}`", self.expected.digest.short()),
                        "the chunks do not add up to the recorded content",
                    )));
                }
                self.next += 1;
                return Ok(0);
            }
            if self.next > self.chunks.len() {
                return Ok(0);
            }
            let (digest, size) = self.chunks[self.next];
            let data = self.archive.read_blob(&digest).map_err(io::Error::other)?;
            if data.len() as u64 != size {
                return Err(io::Error::other(Error::corrupt(
                    format!("blob `{}`", digest.short()),
                    "size differs from the chunk list",
                )));
            }
            if let Some(h) = &mut self.hasher {
                h.update(&data);
            }
            self.read += size;
            self.buf = data;
            self.pos = 0;
            self.next += 1;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The layout document of the archive in `store`.
pub(crate) fn layout_of(store: &dyn Store) -> Result<Layout> {
    let path = store.location().to_owned();
    let layout_bytes = store.get(&Key::Layout).map_err(|e| match e {
        Error::Missing { .. } => Error::NotAnArchive {
            path: path.clone(),
            reason: "it has no `orgpack-layout` entry".into(),
        },
        other => other,
    })?;
    read_layout(&path, &layout_bytes)
}

/// Every key file of the archive in `store`, by id.
///
/// # Errors
/// Listing and reading errors; [`Error::Corrupt`] for a key file that does not parse.
pub fn key_files(store: &dyn Store) -> Result<Vec<(Digest, KeyDoc)>> {
    let mut out = Vec::new();
    for listed in store.list(ListKind::Keys)? {
        let Key::KeyFile(id) = listed.key else {
            continue;
        };
        let bytes = store.get(&listed.key)?;
        let doc = serde_json::from_slice(&bytes).map_err(|e| {
            Error::corrupt(
                format!("archive `{}`", store.location().display()),
                format!("`{}` is not a key file: {e}", listed.key),
            )
        })?;
        out.push((id, doc));
    }
    Ok(out)
}

/// The master key of the encrypted archive in `store`, from the first key file `unlock` opens.
pub(crate) fn unlock_with(store: &dyn Store, unlock: &Unlock) -> Result<Crypt> {
    let keys = key_files(store)?;
    let path = store.location().to_owned();
    if keys.is_empty() {
        return Err(Error::corrupt(
            format!("archive `{}`", path.display()),
            "it is encrypted and has no key file under `keys/`",
        ));
    }
    keys.iter()
        .find_map(|(_, doc)| Crypt::unwrap(doc, unlock))
        .ok_or(Error::WrongKey {
            path,
            given: match unlock {
                Unlock::Passphrase(_) => "passphrase",
                Unlock::KeyFile(_) => "key file",
            },
        })
}

fn read_layout(path: &Path, bytes: &[u8]) -> Result<Layout> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Error::NotAnArchive {
            path: path.to_owned(),
            reason: format!("`orgpack-layout` is not JSON ({e})"),
        })?;
    if value.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT_NAME) {
        return Err(Error::NotAnArchive {
            path: path.to_owned(),
            reason: "`orgpack-layout` does not say `\"format\": \"orgpack\"`".into(),
        });
    }
    let version = value
        .get("formatVersion")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    if !reads_layout_version(version) {
        return Err(Error::UnsupportedVersion {
            path: path.to_owned(),
            found: version.chars().take(40).collect(),
            supported: LAYOUT_MAJOR,
        });
    }
    let layout: Layout = serde_json::from_value(value).map_err(|e| {
        Error::corrupt(
            format!("archive `{}`", path.display()),
            format!("`orgpack-layout` is invalid: {e}"),
        )
    })?;
    // 3.x layouts are exactly the encrypted ones (spec/archive-format.md §3.7).
    let encrypted_version = major_version(&layout.format_version) == Some(3);
    if encrypted_version != layout.encryption.is_some() {
        return Err(Error::corrupt(
            format!("archive `{}`", path.display()),
            if encrypted_version {
                "`orgpack-layout`: format 3.0.0 is for encrypted archives, and it has no \
                 `encryption`"
            } else {
                "`orgpack-layout` has `encryption` but a format version before 3.0.0"
            },
        ));
    }
    if let Some(e) = &layout.encryption
        && (e.cipher != crate::crypt::CIPHER || e.names != crate::crypt::NAMES)
    {
        return Err(Error::corrupt(
            format!("archive `{}`", path.display()),
            format!(
                "`orgpack-layout`: encryption `{}` with `{}` names is not one this build knows",
                e.cipher, e.names
            ),
        ));
    }
    layout.chunker.validate().map_err(|reason| {
        Error::corrupt(
            format!("archive `{}`", path.display()),
            format!("`orgpack-layout`: {reason}"),
        )
    })?;
    Ok(layout)
}

fn check_version(path: &Path, version: &str) -> Result<()> {
    if reads_version(version) {
        Ok(())
    } else {
        Err(Error::UnsupportedVersion {
            path: path.to_owned(),
            found: version.chars().take(40).collect(),
            supported: FORMAT_MAJOR,
        })
    }
}

/// `YYYY-MM-DD`, as written (RFC 3339's full-date).
fn as_date(spec: &str) -> Option<&str> {
    let b = spec.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    (b.len() == 10 && b[4] == b'-' && b[7] == b'-' && digits(0..4) && digits(5..7) && digits(8..10))
        .then_some(spec)
}
