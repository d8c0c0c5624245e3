//! Where archive objects live: the two forms behind one pair of traits (spec/archive-format.md §2).
//!
//! [`Store`] reads objects by [`Key`]; [`Sink`] writes them. Both speak in whole objects named by
//! layout keys (at most 16 MiB for blobs, 256 MiB for manifests), never in files or seeks, so
//! the object-storage backend ([`remote`]: S3, Azure, GCS through `object_store`) maps onto
//! them one call for one request: `get`, `head`, `put`, `list` by prefix, `delete`. The commit
//! point (`index.json`) is the only object ever replaced; there it is replaced by a conditional
//! put.

mod aws_profile;
pub mod dir;
pub mod remote;
pub mod sealed;
pub mod zip_read;
pub mod zip_write;

use std::path::Path;

use crate::error::Result;
use crate::layout::Key;

/// The two forms of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A directory holding many snapshots that share blobs.
    Repository,
    /// A single zip file (`NAME.orgpack`).
    SingleFile,
}

/// An object found by listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The object, by its stored name ([`Store::stored_key`]).
    pub key: Key,
    /// Its stored size in bytes.
    pub size: u64,
}

/// What to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `blobs/`
    Blobs,
    /// `snapshots/`
    Snapshots,
    /// `keys/` (an encrypted archive's key files)
    Keys,
}

/// Read access to an archive's objects.
pub trait Store: Send + Sync {
    /// Where the archive is, for messages.
    fn location(&self) -> &Path;

    /// Which form this is.
    fn form(&self) -> Form;

    /// The stored bytes of an object.
    ///
    /// # Errors
    /// [`crate::Error::Missing`] when absent, [`crate::Error::Corrupt`] when larger than
    /// [`Key::size_limit`] or unreadable.
    fn get(&self, key: &Key) -> Result<Vec<u8>>;

    /// The first `len` stored bytes of an object (fewer if it is shorter) and its stored size.
    ///
    /// # Errors
    /// As [`Store::get`].
    fn get_prefix(&self, key: &Key, len: usize) -> Result<(Vec<u8>, u64)>;

    /// The stored size of an object, `None` when absent.
    ///
    /// # Errors
    /// I/O errors other than absence.
    fn size(&self, key: &Key) -> Result<Option<u64>>;

    /// Every object of one kind.
    ///
    /// # Errors
    /// I/O errors.
    fn list(&self, kind: ListKind) -> Result<Vec<Listed>>;

    /// The name `key` is stored under: itself, but for blobs and manifests of an encrypted
    /// archive (keyed names, [`sealed`]). Listings return stored names.
    fn stored_key(&self, key: &Key) -> Key {
        *key
    }

    /// Names found in the archive that are not part of the layout (ignored by readers). Each
    /// form says its own: there is no default that could hide them.
    fn unknown_entries(&self) -> Vec<String>;
}

/// Write access to an archive's objects.
pub trait Sink: Send + Sync {
    /// Whether an object is already stored (blobs are then not written again).
    ///
    /// # Errors
    /// I/O errors.
    fn contains(&self, key: &Key) -> Result<bool>;

    /// Store an object atomically: after a crash it is either absent or complete. Storing a
    /// blob or snapshot that exists is a no-op.
    ///
    /// # Errors
    /// I/O errors, a full disk.
    fn put(&self, key: &Key, bytes: &[u8]) -> Result<()>;

    /// Make everything put so far durable. Called before a snapshot is committed.
    ///
    /// # Errors
    /// I/O errors.
    fn flush(&self) -> Result<()>;
}
