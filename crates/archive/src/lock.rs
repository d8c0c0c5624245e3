//! Repository locks (spec/archive-format.md §6.3).
//!
//! Two OS file locks under `locks/`: `repository` is held shared by every writer that adds content
//! (backup, import) and exclusively by `prune`, so content is never deleted while a writer may be
//! relying on it; `commit` is held exclusively for the short read-modify-write of `index.json`.
//! OS locks vanish with their process, so a crashed writer never leaves a stale lock behind.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct RepoLock {
    _file: File,
}

/// Which lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Shared hold of `locks/repository`: adding content.
    Writer,
    /// Exclusive hold of `locks/repository`: deleting content.
    Exclusive,
    /// Exclusive hold of `locks/commit`, waiting for it: updating `index.json`.
    Commit,
}

/// Take a lock on the repository at `root`.
///
/// # Errors
/// [`Error::Locked`] when another process holds a conflicting lock.
pub fn lock(root: &Path, kind: LockKind, purpose: &str) -> Result<RepoLock> {
    let dir = root.join("locks");
    fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
    let path = dir.join(if kind == LockKind::Commit {
        "commit"
    } else {
        "repository"
    });
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io("opening", &path, e))?;
    let taken = match kind {
        LockKind::Writer => file.try_lock_shared(),
        LockKind::Exclusive => file.try_lock(),
        LockKind::Commit => file.lock().map_err(TryLockError::Error),
    };
    match taken {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(Error::Locked {
                path: root.to_owned(),
                holder: if holder.is_empty() {
                    "a backup, import or prune".to_owned()
                } else {
                    holder.to_owned()
                },
            });
        }
        Err(TryLockError::Error(e)) => return Err(Error::io("locking", &path, e)),
    }
    if kind == LockKind::Exclusive {
        // Only the exclusive holder writes its name; shared holders would race each other.
        let note = format!("{purpose}, process {}", std::process::id());
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(note.as_bytes()));
    }
    Ok(RepoLock { _file: file })
}
