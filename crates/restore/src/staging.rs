//! Files staged for upload, shared by every target of one restore.
//!
//! A file item's data, a service's payload, a thumbnail or metadata is streamed out of the archive
//! (decompressed, every chunk re-hashed) into a file the portal client uploads from. Restoring into
//! three organizations at once would do that three times; here the first target to need a part
//! stages it and the others upload the same file.
//!
//! Targets do not move in step: one may reach a payload seconds after another has uploaded it. So
//! a staged file is kept, after its holders let go, until every target still running has asked for
//! it (or finished), within a byte budget ([`Stager::with_budget`]); beyond the budget a file lives
//! only while held, and a target asking later stages it again. A file is removed when the last
//! holder lets go and no target is waiting for it, so the disk used stays bounded by the budget
//! plus the parts being uploaded at the moment, not the archive's size.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use orgpack_archive::Archive;
use orgpack_archive::manifest::Descriptor;

/// Bytes of staged files kept for targets that have not asked for them yet, by default.
pub const DEFAULT_BUDGET: u64 = 1 << 30;

/// The staging area of one restore.
#[derive(Debug)]
pub struct Stager {
    dir: tempfile::TempDir,
    budget: u64,
    state: Mutex<State>,
    next: AtomicU64,
    staged: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    parts: HashMap<(String, u64), Entry>,
    /// Targets still running.
    running: BTreeSet<usize>,
    targets: usize,
    /// Bytes of the files in `Entry::kept`.
    kept_bytes: u64,
}

#[derive(Debug, Default)]
struct Entry {
    file: Weak<StagedFile>,
    /// Held for targets that have not asked yet.
    kept: Option<Arc<StagedFile>>,
    /// Targets that have asked for this part.
    asked: BTreeSet<usize>,
}

impl Entry {
    /// Whether a target still `running` has not asked for this part yet.
    fn awaited_by(&self, running: &BTreeSet<usize>) -> bool {
        running.iter().any(|t| !self.asked.contains(t))
    }
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

/// One target's use of the [`Stager`]; dropping it says the target is done, releasing the files
/// kept for it.
#[derive(Debug)]
pub struct TargetStaging<'a> {
    stager: &'a Stager,
    id: usize,
}

impl Stager {
    /// A staging area in a new directory under `parent`, keeping up to [`DEFAULT_BUDGET`] bytes
    /// for targets that have not asked yet.
    ///
    /// # Errors
    /// When the directory cannot be made.
    pub fn new(parent: &Path) -> std::io::Result<Self> {
        Self::with_budget(parent, DEFAULT_BUDGET)
    }

    /// A staging area keeping up to `budget` bytes of files for targets that have not asked yet
    /// (0: a file lives only while held).
    ///
    /// # Errors
    /// When the directory cannot be made.
    pub fn with_budget(parent: &Path, budget: u64) -> std::io::Result<Self> {
        Ok(Self {
            dir: tempfile::Builder::new()
                .prefix("orgpack-restore-")
                .tempdir_in(parent)?,
            budget,
            state: Mutex::new(State::default()),
            next: AtomicU64::new(0),
            staged: AtomicU64::new(0),
        })
    }

    /// A new target. Register every target before any of them stages: a file is kept only for
    /// targets registered when it is asked for.
    pub fn target(&self) -> TargetStaging<'_> {
        let mut state = self.lock();
        let id = state.targets;
        state.targets += 1;
        state.running.insert(id);
        TargetStaging { stager: self, id }
    }

    /// How many parts were written to disk (for tests: fewer than asked for when targets share).
    pub fn staged(&self) -> u64 {
        self.staged.load(Ordering::Relaxed)
    }

    /// Bytes of staged files kept for targets that have not asked for them yet.
    pub fn kept_bytes(&self) -> u64 {
        self.lock().kept_bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("staging lock poisoned")
    }

    /// The file for `d` asked for by target `id`: the one already staged, or a new one to stage.
    fn claim(&self, id: usize, d: &Descriptor) -> Arc<StagedFile> {
        let mut state = self.lock();
        let state = &mut *state;
        let entry = state
            .parts
            .entry((d.digest.to_string(), d.size))
            .or_default();
        entry.asked.insert(id);
        let file = entry.file.upgrade().unwrap_or_else(|| {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let file = Arc::new(StagedFile {
                path: self.dir.path().join(n.to_string()),
                ready: tokio::sync::OnceCell::new(),
            });
            entry.file = Arc::downgrade(&file);
            file
        });
        let waiting = entry.awaited_by(&state.running);
        if !waiting {
            // Not the last holder (the caller has `file`): nothing is removed under the lock.
            if entry.kept.take().is_some() {
                state.kept_bytes -= d.size;
            }
        } else if entry.kept.is_none() && state.kept_bytes + d.size <= self.budget {
            state.kept_bytes += d.size;
            entry.kept = Some(Arc::clone(&file));
        }
        file
    }

    /// Stop keeping `d`'s file (its staging failed: a target asking later tries again).
    fn forget(&self, d: &Descriptor) {
        let released = {
            let mut state = self.lock();
            let state = &mut *state;
            let entry = state.parts.get_mut(&(d.digest.to_string(), d.size));
            let kept = entry.and_then(|e| {
                e.file = Weak::new();
                e.kept.take()
            });
            if kept.is_some() {
                state.kept_bytes -= d.size;
            }
            kept
        };
        drop(released);
    }

    /// Target `id` is done: release the files kept only for it (removed outside the lock).
    fn finish(&self, id: usize) {
        let mut released = Vec::new();
        {
            let mut state = self.lock();
            let state = &mut *state;
            state.running.remove(&id);
            for ((_, size), entry) in &mut state.parts {
                if entry.kept.is_some() && !entry.awaited_by(&state.running) {
                    state.kept_bytes -= *size;
                    released.extend(entry.kept.take());
                }
            }
        }
        drop(released);
    }
}

impl TargetStaging<'_> {
    /// The part `d` of `archive` as a file: staged now, or shared with a target that staged it.
    ///
    /// # Errors
    /// When the part cannot be read from the archive or written.
    pub async fn stage(
        &self,
        archive: &Archive,
        d: &Descriptor,
    ) -> Result<Arc<StagedFile>, String> {
        let stager = self.stager;
        let file = stager.claim(self.id, d);
        let ready = file
            .ready
            .get_or_init(|| async {
                stager.staged.fetch_add(1, Ordering::Relaxed);
                // On the blocking pool, so this target's other items and the other targets go
                // on meanwhile (the archive is shared, not copied, by the clone).
                let (archive, d, path) = (archive.clone(), *d, file.path.clone());
                tokio::task::spawn_blocking(move || write(&archive, &d, &path))
                    .await
                    .unwrap_or_else(|e| Err(format!("staging stopped: {e}")))
            })
            .await
            .clone();
        if let Err(e) = ready {
            stager.forget(d);
            return Err(e);
        }
        Ok(file)
    }
}

impl Drop for TargetStaging<'_> {
    fn drop(&mut self) {
        self.stager.finish(self.id);
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
