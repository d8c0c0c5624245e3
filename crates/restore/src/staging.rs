//! Files staged for upload, shared by every target of one restore.
//!
//! A file item's data, a service's payload, a thumbnail or metadata is streamed out of the archive
//! (decompressed, every chunk re-hashed) into a file the portal client uploads from. Restoring into
//! three organizations at once would do that three times; here the first target to need a part
//! stages it and the others, asking while it is still in use, upload the same file. A staged file
//! is removed when the last target holding it lets go, so the disk used stays that of the parts
//! being uploaded at the moment, not the archive's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use orgpack_archive::Archive;
use orgpack_archive::manifest::Descriptor;

/// The staging area of one restore.
#[derive(Debug)]
pub struct Stager {
    dir: tempfile::TempDir,
    files: Mutex<HashMap<(String, u64), Weak<StagedFile>>>,
    next: AtomicU64,
    staged: AtomicU64,
}

/// A part of the archive on disk, removed when the last holder drops it.
#[derive(Debug)]
pub struct StagedFile {
    path: PathBuf,
    ready: tokio::sync::OnceCell<Result<(), String>>,
}

impl StagedFile {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        // Never staged, or already gone: nothing to remove.
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Stager {
    /// A staging area in a new directory under `parent`.
    ///
    /// # Errors
    /// When the directory cannot be made.
    pub fn new(parent: &Path) -> std::io::Result<Self> {
        Ok(Self {
            dir: tempfile::Builder::new()
                .prefix("orgpack-restore-")
                .tempdir_in(parent)?,
            files: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            staged: AtomicU64::new(0),
        })
    }

    /// The part `d` of `archive` as a file: staged now, or shared with a target that staged it
    /// and still holds it.
    ///
    /// # Errors
    /// When the part cannot be read from the archive or written.
    pub async fn stage(
        &self,
        archive: &Archive,
        d: &Descriptor,
    ) -> Result<Arc<StagedFile>, String> {
        let file = {
            let mut files = self.files.lock().expect("staging lock poisoned");
            files.retain(|_, f| f.strong_count() > 0);
            let key = (d.digest.to_string(), d.size);
            if let Some(file) = files.get(&key).and_then(Weak::upgrade) {
                file
            } else {
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                let file = Arc::new(StagedFile {
                    path: self.dir.path().join(n.to_string()),
                    ready: tokio::sync::OnceCell::new(),
                });
                files.insert(key, Arc::downgrade(&file));
                file
            }
        };
        file.ready
            .get_or_init(|| async {
                self.staged.fetch_add(1, Ordering::Relaxed);
                // On the blocking pool, so this target's other items and the other targets go
                // on meanwhile (the archive is shared, not copied, by the clone).
                let (archive, d, path) = (archive.clone(), *d, file.path.clone());
                tokio::task::spawn_blocking(move || write(&archive, &d, &path))
                    .await
                    .unwrap_or_else(|e| Err(format!("staging stopped: {e}")))
            })
            .await
            .clone()?;
        Ok(file)
    }

    /// How many parts were written to disk (for tests: fewer than asked for when targets share).
    pub fn staged(&self) -> u64 {
        self.staged.load(Ordering::Relaxed)
    }
}

/// Stream a part of the archive into a file. The restore validated it whole before; its blobs are
/// checked against their names again as they are read.
fn write(archive: &Archive, d: &Descriptor, path: &Path) -> Result<(), String> {
    let mut reader = archive.open_checked_part(d).map_err(|e| e.to_string())?;
    let mut file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    std::io::copy(&mut reader, &mut file)
        .map_err(|e| format!("staging {}: {e}", path.display()))?;
    Ok(())
}
