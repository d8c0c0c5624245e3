//! The directory form: a repository of many snapshots sharing blobs.
//!
//! Writes go to `tmp/`, are fsynced, then renamed into place; the directories that received new
//! names are fsynced by [`Sink::flush`] before any snapshot that needs them is committed, and
//! `index.json` is replaced last. A crash therefore leaves the old state or the new one, plus
//! files in `tmp/` and uncommitted manifests that `orgpack prune` removes.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Form, ListKind, Listed, Sink, Store};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layout::Key;

/// A repository directory.
#[derive(Debug)]
pub struct DirStore {
    root: PathBuf,
    /// Directories that got new entries since the last flush.
    dirty_dirs: Mutex<HashSet<PathBuf>>,
    counter: AtomicU64,
}

impl DirStore {
    /// Use `root` as a repository directory. Does not check that it is one.
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            dirty_dirs: Mutex::new(HashSet::new()),
            counter: AtomicU64::new(0),
        }
    }

    /// The repository's root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &Key) -> PathBuf {
        self.root.join(key.path())
    }

    /// An object that is a symbolic link is refused (spec/archive-format.md §2): reading through
    /// it would read whatever it points at, outside the archive.
    fn refuse_symlink(&self, path: &Path) -> Result<()> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => Err(self.symlink(path)),
            _ => Ok(()),
        }
    }

    fn symlink(&self, path: &Path) -> Error {
        Error::corrupt(
            format!("archive `{}`", self.root.display()),
            format!(
                "`{}` is a symbolic link, which the archive format does not allow",
                path.strip_prefix(&self.root).unwrap_or(path).display()
            ),
        )
    }

    /// The temp directory for partial writes.
    #[must_use]
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Replace an object that may already exist (only `index.json` is ever replaced), durably.
    ///
    /// # Errors
    /// I/O errors.
    pub fn replace(&self, key: &Key, bytes: &[u8]) -> Result<()> {
        self.write_atomic(key, bytes)?;
        self.flush()
    }

    /// Remove an object. Removing an absent object is not an error.
    ///
    /// # Errors
    /// I/O errors.
    pub fn delete(&self, key: &Key) -> Result<()> {
        let path = self.path_of(key);
        match fs::remove_file(&path) {
            Ok(()) => {
                self.mark_dirty(&path);
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("removing", path, e)),
        }
    }

    /// Files left in `tmp/` by interrupted writes.
    ///
    /// # Errors
    /// I/O errors.
    pub fn temp_files(&self) -> Result<Vec<PathBuf>> {
        let dir = self.tmp_dir();
        match fs::read_dir(&dir) {
            Ok(entries) => entries
                .map(|e| {
                    e.map(|e| e.path())
                        .map_err(|e| Error::io("listing", &dir, e))
                })
                .collect(),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io("listing", dir, e)),
        }
    }

    fn mark_dirty(&self, path: &Path) {
        if let Some(parent) = path.parent() {
            self.dirty_dirs
                .lock()
                .expect("lock poisoned")
                .insert(parent.to_owned());
        }
    }

    fn write_atomic(&self, key: &Key, bytes: &[u8]) -> Result<()> {
        let final_path = self.path_of(key);
        let tmp_dir = self.tmp_dir();
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp_name = format!(
            "{}.{}.{n}.tmp",
            key.path().rsplit('/').next().unwrap_or("object"),
            std::process::id()
        );
        let tmp_path = tmp_dir.join(tmp_name);
        let result = (|| {
            let mut f = match File::create(&tmp_path) {
                Ok(f) => f,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    fs::create_dir_all(&tmp_dir).map_err(|e| Error::io("creating", &tmp_dir, e))?;
                    File::create(&tmp_path).map_err(|e| Error::io("creating", &tmp_path, e))?
                }
                Err(e) => return Err(Error::io("creating", &tmp_path, e)),
            };
            f.write_all(bytes)
                .map_err(|e| Error::io("writing", &tmp_path, e))?;
            f.sync_all()
                .map_err(|e| Error::io("syncing", &tmp_path, e))?;
            drop(f);
            if let Some(parent) = final_path.parent()
                && !parent.is_dir()
            {
                fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
                if let Some(grand) = parent.parent() {
                    self.mark_dirty(&grand.join("x"));
                }
            }
            fs::rename(&tmp_path, &final_path)
                .map_err(|e| Error::io("renaming into", &final_path, e))?;
            self.mark_dirty(&final_path);
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp_path);
        }
        result
    }

    fn read_limited(&self, key: &Key, limit: u64) -> Result<(Vec<u8>, u64)> {
        let path = self.path_of(key);
        self.refuse_symlink(&path)?;
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::Missing {
                    location: format!("archive `{}`", self.root.display()),
                    key: key.path(),
                });
            }
            Err(e) => return Err(Error::io("opening", path, e)),
        };
        let size = f
            .metadata()
            .map_err(|e| Error::io("reading", &path, e))?
            .len();
        if size > key.size_limit() {
            return Err(Error::corrupt(
                format!("archive `{}`", self.root.display()),
                format!(
                    "`{key}` is {size} bytes, over the {}-byte limit",
                    key.size_limit()
                ),
            ));
        }
        #[allow(clippy::cast_possible_truncation)] // bounded by the size limit
        let want = limit.min(size) as usize;
        let mut buf = Vec::with_capacity(want);
        (&mut f)
            .take(want as u64)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("reading", &path, e))?;
        if buf.len() != want {
            return Err(Error::corrupt(
                format!("archive `{}`", self.root.display()),
                format!("`{key}` changed while being read"),
            ));
        }
        Ok((buf, size))
    }
}

impl Store for DirStore {
    fn location(&self) -> &Path {
        &self.root
    }

    fn form(&self) -> Form {
        Form::Repository
    }

    fn get(&self, key: &Key) -> Result<Vec<u8>> {
        self.read_limited(key, u64::MAX).map(|(b, _)| b)
    }

    fn get_prefix(&self, key: &Key, len: usize) -> Result<(Vec<u8>, u64)> {
        self.read_limited(key, len as u64)
    }

    fn size(&self, key: &Key) -> Result<Option<u64>> {
        let path = self.path_of(key);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => Err(self.symlink(&path)),
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("reading", path, e)),
        }
    }

    fn list(&self, kind: ListKind) -> Result<Vec<Listed>> {
        let mut out = Vec::new();
        match kind {
            ListKind::Snapshots | ListKind::Keys => {
                let dir = if kind == ListKind::Keys {
                    "keys"
                } else {
                    "snapshots"
                };
                for (name, size) in read_dir_files(&self.root.join(dir))? {
                    if let Some(key) = Key::parse(&format!("{dir}/{name}")) {
                        out.push(Listed { key, size });
                    }
                }
            }
            ListKind::Blobs => {
                let base = self.root.join("blobs/sha256");
                for (fan, _) in read_dir_entries(&base, true)? {
                    for (name, size) in read_dir_files(&base.join(&fan))? {
                        if let Ok(d) = Digest::from_hex(&name)
                            && name.starts_with(&fan)
                        {
                            out.push(Listed {
                                key: Key::Blob(d),
                                size,
                            });
                        }
                    }
                }
            }
        }
        out.sort_by_key(|l| l.key);
        Ok(out)
    }

    fn unknown_entries(&self) -> Vec<String> {
        unknown_names(&self.root)
    }
}

/// Names in a repository directory that are not part of the layout (spec/archive-format.md §2):
/// reported, never read. `locks/` and `tmp/` are the repository form's own.
fn unknown_names(root: &Path) -> Vec<String> {
    let names = |dir: &Path| -> Vec<(String, bool)> {
        fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| {
                        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                        (e.file_name().to_string_lossy().into_owned(), is_dir)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let mut out = Vec::new();
    for (name, is_dir) in names(root) {
        let known = match name.as_str() {
            "orgpack-layout" | "index.json" => !is_dir,
            "blobs" | "snapshots" | "keys" | "locks" | "tmp" => is_dir,
            _ => false,
        };
        if !known {
            out.push(name);
        }
    }
    for (name, is_dir) in names(&root.join("snapshots")) {
        if is_dir || !name.strip_suffix(".json").is_some_and(|h| hex(h, 64)) {
            out.push(format!("snapshots/{name}"));
        }
    }
    for (name, is_dir) in names(&root.join("keys")) {
        if is_dir || !name.strip_suffix(".json").is_some_and(|h| hex(h, 64)) {
            out.push(format!("keys/{name}"));
        }
    }
    for (name, is_dir) in names(&root.join("blobs")) {
        if name != "sha256" || !is_dir {
            out.push(format!("blobs/{name}"));
        }
    }
    let sha = root.join("blobs/sha256");
    for (fan, is_dir) in names(&sha) {
        if !is_dir || !hex(&fan, 2) {
            out.push(format!("blobs/sha256/{fan}"));
            continue;
        }
        for (name, is_dir) in names(&sha.join(&fan)) {
            if is_dir || !hex(&name, 64) || !name.starts_with(&fan) {
                out.push(format!("blobs/sha256/{fan}/{name}"));
            }
        }
    }
    out.sort();
    out
}

impl Sink for DirStore {
    fn contains(&self, key: &Key) -> Result<bool> {
        Ok(self.size(key)?.is_some())
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<()> {
        if matches!(key, Key::Blob(_) | Key::Snapshot(_) | Key::KeyFile(_)) && self.contains(key)? {
            return Ok(());
        }
        self.write_atomic(key, bytes)
    }

    fn flush(&self) -> Result<()> {
        let dirs: Vec<PathBuf> = self
            .dirty_dirs
            .lock()
            .expect("lock poisoned")
            .drain()
            .collect();
        for dir in dirs {
            sync_dir(&dir)?;
        }
        Ok(())
    }
}

/// fsync a directory so that the names created in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        match File::open(dir) {
            Ok(f) => f.sync_all().map_err(|e| Error::io("syncing", dir, e))?,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("opening", dir, e)),
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn read_dir_entries(dir: &Path, dirs: bool) -> Result<Vec<(String, u64)>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("listing", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("listing", dir, e))?;
        let meta = entry
            .metadata()
            .map_err(|e| Error::io("reading", entry.path(), e))?;
        if meta.file_type().is_symlink() {
            return Err(Error::corrupt(
                format!("archive `{}`", dir.display()),
                format!(
                    "`{}` is a symbolic link, which the archive format does not allow",
                    entry.file_name().to_string_lossy()
                ),
            ));
        }
        if meta.is_dir() == dirs
            && let Ok(name) = entry.file_name().into_string()
        {
            out.push((name, meta.len()));
        }
    }
    Ok(out)
}

fn read_dir_files(dir: &Path) -> Result<Vec<(String, u64)>> {
    read_dir_entries(dir, false)
}
