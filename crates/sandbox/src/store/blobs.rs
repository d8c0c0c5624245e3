//! Files kept beside the database. Item data, upload parts and published payloads larger than
//! [`INLINE_LIMIT`] live as files under `<data>/blobs/`, each named by a random key; smaller ones
//! stay in SQLite. A file is never copied inside the sandbox: a service and the item it was
//! published from refer to one file (exports are new files, written from the features). SQL triggers count the rows that
//! refer to each file (`blobs.refs`); a file nothing refers to any more is removed.
//!
//! Uploads arrive through a [`Spool`]: the first [`INLINE_LIMIT`] bytes in memory, the rest
//! streamed to a temporary file under `<data>/blobs/tmp/`, which becomes the blob by a rename. A
//! multi-gigabyte upload or download therefore costs a buffer of memory, not its size.

use std::io::{self, Read, Seek, Write as _};
use std::path::{Path, PathBuf};

use tempfile::TempPath;

/// Data up to this size is kept in the database; larger data as a file.
pub const INLINE_LIMIT: usize = 1 << 20;

/// The blob directory: `<data>/blobs/` (a temporary directory for an in-memory sandbox).
#[derive(Debug)]
pub struct BlobDir {
    root: PathBuf,
    spool: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl BlobDir {
    /// Open (creating) the directory beside the database, or a temporary one; temporary files a
    /// stopped sandbox left behind are removed.
    ///
    /// # Errors
    /// When the directory cannot be made.
    pub fn open(data_dir: Option<&Path>) -> io::Result<Self> {
        let (root, temp) = if let Some(dir) = data_dir {
            (dir.join("blobs"), None)
        } else {
            let temp = tempfile::Builder::new()
                .prefix("orgpack-sandbox-blobs-")
                .tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        };
        let spool = root.join("tmp");
        if spool.exists() {
            std::fs::remove_dir_all(&spool)?;
        }
        std::fs::create_dir_all(&spool)?;
        Ok(Self {
            root,
            spool,
            _temp: temp,
        })
    }

    /// Where uploads are spooled.
    pub fn spool_dir(&self) -> &Path {
        &self.spool
    }

    /// The file of a blob.
    pub fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// The keys of every blob file present (temporary files excluded).
    pub(super) fn keys(&self) -> io::Result<Vec<String>> {
        let mut keys = Vec::new();
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                keys.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(keys)
    }

    /// Turn a body into what is stored: small data inline, large data as a blob file (renamed
    /// into place when it is spooled already, written once when it is in memory).
    ///
    /// # Errors
    /// When the file cannot be written or moved.
    pub fn stash(&self, body: Body) -> io::Result<Stored> {
        match body {
            Body::Memory(bytes) if bytes.len() <= INLINE_LIMIT => Ok(Stored::Inline(bytes)),
            Body::Memory(bytes) => self.write_new(|file| file.write_all(&bytes)),
            Body::File { path, size } if size <= INLINE_LIMIT as u64 => {
                Ok(Stored::Inline(std::fs::read(&path)?))
            }
            Body::File { path, size } => self.keep(path, size),
            Body::Stored(stored) => Ok(stored),
        }
    }

    /// New data written by `write` into a spooled file, then stashed (small data read back
    /// inline, large data renamed into place, not copied).
    ///
    /// # Errors
    /// `write`'s errors, and when the file cannot be made or moved.
    pub fn write_new(
        &self,
        write: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
    ) -> io::Result<Stored> {
        let mut file = tempfile::NamedTempFile::new_in(&self.spool)?;
        write(file.as_file_mut())?;
        let size = file.as_file().metadata()?.len();
        self.stash(Body::File {
            path: file.into_temp_path(),
            size,
        })
    }

    fn keep(&self, path: TempPath, size: u64) -> io::Result<Stored> {
        let key = crate::new_id();
        path.persist(self.path(&key)).map_err(|e| e.error)?;
        Ok(Stored::Blob { key, size })
    }

    /// Read stored data from its start.
    ///
    /// # Errors
    /// When a blob file cannot be opened.
    pub fn reader(&self, stored: &Stored) -> io::Result<Box<dyn ReadSeek + Send>> {
        Ok(match stored {
            Stored::Inline(bytes) => Box::new(io::Cursor::new(bytes.clone())),
            Stored::Blob { key, .. } => Box::new(std::fs::File::open(self.path(key))?),
        })
    }

    /// Read small stored data whole (thumbnails, resources, JSON).
    ///
    /// # Errors
    /// When a blob file cannot be read.
    pub fn read_all(&self, stored: &Stored) -> io::Result<Vec<u8>> {
        match stored {
            Stored::Inline(bytes) => Ok(bytes.clone()),
            Stored::Blob { key, .. } => std::fs::read(self.path(key)),
        }
    }
}

/// `Read + Seek`, boxable.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Bytes to store: received in memory, spooled to a file, or already stored (shared, not copied).
#[derive(Debug)]
pub enum Body {
    /// In memory.
    Memory(Vec<u8>),
    /// A spooled file, deleted when dropped unless stored.
    File {
        /// The temporary file.
        path: TempPath,
        /// Its size.
        size: u64,
    },
    /// Data the sandbox holds already.
    Stored(Stored),
}

impl Body {
    /// The size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Memory(b) => b.len() as u64,
            Body::File { size, .. } => *size,
            Body::Stored(s) => s.len(),
        }
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, read whole: for the small parts of a request (thumbnails, metadata, resources).
    ///
    /// # Errors
    /// When a spooled file cannot be read; a stored body must be read through its [`BlobDir`].
    pub fn to_vec(&self) -> io::Result<Vec<u8>> {
        match self {
            Body::Memory(b) | Body::Stored(Stored::Inline(b)) => Ok(b.clone()),
            Body::File { path, .. } => std::fs::read(path),
            Body::Stored(Stored::Blob { .. }) => Err(io::Error::other("a stored blob")),
        }
    }
}

/// Data as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// In the row.
    Inline(Vec<u8>),
    /// In `<data>/blobs/<key>`.
    Blob {
        /// The file name.
        key: String,
        /// Its size.
        size: u64,
    },
}

impl Stored {
    /// The size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Stored::Inline(b) => b.len() as u64,
            Stored::Blob { size, .. } => *size,
        }
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The row's values: (inline bytes, blob key).
    pub(super) fn columns(&self) -> (Option<&[u8]>, Option<&str>) {
        match self {
            Stored::Inline(b) => (Some(b), None),
            Stored::Blob { key, .. } => (None, Some(key)),
        }
    }

    /// From a row's values: inline bytes, or a blob key with its size.
    pub(super) fn from_columns(
        inline: Option<Vec<u8>>,
        key: Option<String>,
        size: Option<i64>,
    ) -> Option<Self> {
        match (inline, key) {
            (_, Some(key)) => Some(Stored::Blob {
                key,
                size: size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
            }),
            (Some(b), None) => Some(Stored::Inline(b)),
            (None, None) => None,
        }
    }
}

/// An upload being received: memory first, a temporary file once it outgrows [`INLINE_LIMIT`].
/// Bytes are gathered in memory and written a megabyte at a time on the blocking pool: one copy
/// into the buffer, one into the file, and a thread hop per megabyte rather than per chunk.
pub struct Spool {
    dir: PathBuf,
    memory: Vec<u8>,
    file: Option<(std::fs::File, TempPath)>,
    size: u64,
}

impl Spool {
    /// A new spool writing its file (if it needs one) into `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            memory: Vec::new(),
            file: None,
            size: 0,
        }
    }

    /// Add bytes.
    ///
    /// # Errors
    /// When the temporary file cannot be made or written.
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.size += chunk.len() as u64;
        self.memory.extend_from_slice(chunk);
        if self.memory.len() > INLINE_LIMIT {
            self.write_out().await?;
        }
        Ok(())
    }

    /// Write what is in memory to the file, making it first if need be.
    async fn write_out(&mut self) -> io::Result<()> {
        let file = self.file.take();
        let dir = self.dir.clone();
        let mut memory = std::mem::take(&mut self.memory);
        let (file, mut memory) = tokio::task::spawn_blocking(move || {
            let (mut file, path) = match file {
                Some(f) => f,
                None => tempfile::NamedTempFile::new_in(&dir)?.into_parts(),
            };
            file.write_all(&memory)?;
            memory.clear();
            Ok::<_, io::Error>(((file, path), memory))
        })
        .await
        .map_err(io::Error::other)??;
        self.file = Some(file);
        // The buffer is reused (its capacity kept) for the next megabyte.
        memory.reserve(INLINE_LIMIT);
        self.memory = memory;
        Ok(())
    }

    /// The body received.
    ///
    /// # Errors
    /// When the temporary file cannot be written.
    pub async fn finish(mut self) -> io::Result<Body> {
        if self.file.is_none() {
            return Ok(Body::Memory(self.memory));
        }
        if !self.memory.is_empty() {
            self.write_out().await?;
        }
        let (_, path) = self.file.expect("made by write_out");
        // Written, not synced: the sandbox is a stand-in for a portal, not a store of record,
        // and syncing every upload would slow every test that restores.
        Ok(Body::File {
            path,
            size: self.size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn spooled(dir: &Path, data: &[u8], chunk: usize) -> Body {
        let mut spool = Spool::new(dir);
        for piece in data.chunks(chunk) {
            spool.write(piece).await.unwrap();
        }
        spool.finish().await.unwrap()
    }

    #[tokio::test]
    async fn a_spool_keeps_small_bodies_in_memory_and_writes_large_ones_whole() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3 * INLINE_LIMIT + 12_345)
            .map(|i| u8::try_from(i * 31 % 251).unwrap())
            .collect();
        for (len, chunk) in [
            (0, 1),
            (INLINE_LIMIT, 7_000),
            (INLINE_LIMIT + 1, 7_000),
            (INLINE_LIMIT + 1, INLINE_LIMIT + 1),
            (data.len(), 65_536),
            (data.len(), 1_000_003),
        ] {
            match spooled(dir.path(), &data[..len], chunk).await {
                Body::Memory(bytes) => {
                    assert!(len <= INLINE_LIMIT, "{len} bytes kept in memory");
                    assert!(bytes == data[..len]);
                }
                Body::File { path, size } => {
                    assert!(len > INLINE_LIMIT, "{len} bytes went to a file");
                    assert_eq!(size, len as u64);
                    assert!(
                        std::fs::read(&path).unwrap() == data[..len],
                        "{len} in {chunk}s"
                    );
                }
                Body::Stored(_) => panic!("a spool makes new bodies"),
            }
        }
    }
}
