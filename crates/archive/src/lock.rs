//! Repository locks (spec/archive-format.md §6.3, §6.6).
//!
//! In a directory: two OS file locks under `locks/`: `repository` is held shared by every writer
//! that adds content (backup, import) and exclusively by `prune`, so content is never deleted while
//! a writer may be relying on it; `commit` is held exclusively for the short read-modify-write of
//! `index.json`. OS locks vanish with their process, so a crashed writer never leaves a stale lock
//! behind.
//!
//! On object storage ([`lock_remote`]): one object per holder, `locks/<random>.json`, created with
//! `If-None-Match: *` and refreshed every five minutes while held; after creating its own, a
//! holder lists the others and withdraws when one conflicts (a writer meets `prune`'s, `prune`
//! meets anyone's). Two that start at once may both withdraw; neither can miss the other. A lock
//! not refreshed for [`STALE_AFTER`] belongs to a process that died: it still blocks, and the
//! error says so; [`break_stale_locks`] removes such locks (`--break-stale-lock`).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::remote::RemoteStore;

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct RepoLock {
    _held: Held,
}

#[derive(Debug)]
#[allow(dead_code)] // each is held for what dropping it releases
enum Held {
    Os(File),
    Object(ObjectLock),
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
    Ok(RepoLock {
        _held: Held::Os(file),
    })
}

/// A lock object not refreshed for this long belongs to a process that is gone.
pub const STALE_AFTER: Duration = Duration::from_mins(30);
/// How often a held lock object is refreshed.
const REFRESH_EVERY: Duration = Duration::from_mins(5);

/// What a lock object says (spec/archive-format.md §6.6).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LockInfo {
    /// `writer` (adds content) or `exclusive` (deletes content).
    pub kind: String,
    /// The command holding it.
    pub purpose: String,
    /// The machine.
    pub host: String,
    /// The process id on that machine.
    pub pid: u32,
    /// When it was taken (RFC 3339).
    pub created: String,
    /// When it was last refreshed (RFC 3339).
    pub refreshed: String,
}

impl LockInfo {
    fn new(kind: LockKind, purpose: &str) -> Self {
        let now = jiff::Timestamp::now();
        Self {
            kind: if kind == LockKind::Exclusive {
                "exclusive"
            } else {
                "writer"
            }
            .to_owned(),
            purpose: purpose.to_owned(),
            host: host_name(),
            pid: std::process::id(),
            created: now.to_string(),
            refreshed: now.to_string(),
        }
    }

    /// Whether its holder is gone: it stopped refreshing the lock [`STALE_AFTER`] ago, or it
    /// ran on this machine and its process no longer exists (Linux: `/proc`).
    #[must_use]
    pub fn is_stale(&self, now: jiff::Timestamp) -> bool {
        #[allow(clippy::cast_possible_wrap)] // thirty minutes
        let stale = jiff::SignedDuration::from_secs(STALE_AFTER.as_secs() as i64);
        let old = self
            .refreshed
            .parse::<jiff::Timestamp>()
            .is_ok_and(|t| now.duration_since(t) >= stale);
        let proc = Path::new("/proc");
        let gone_here = self.host == host_name()
            && proc.join("self").exists()
            && !proc.join(self.pid.to_string()).exists();
        old || gone_here
    }

    fn describe(&self, now: jiff::Timestamp) -> String {
        let minutes = self
            .refreshed
            .parse::<jiff::Timestamp>()
            .map_or(0, |t| now.duration_since(t).as_secs().max(0) / 60);
        let mut out = format!(
            "{} on host `{}`, process {}, refreshed {minutes} min ago",
            self.purpose, self.host, self.pid
        );
        if self.is_stale(now) {
            out.push_str(
                ": stale, its process is gone; remove it with --break-stale-lock once sure",
            );
        }
        out
    }
}

pub(crate) fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A lock object this process holds, refreshed by a thread until dropped.
#[derive(Debug)]
struct ObjectLock {
    store: RemoteStore,
    name: String,
    stop: Arc<(Mutex<bool>, Condvar)>,
    refresher: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ObjectLock {
    fn drop(&mut self) {
        let (flag, wake) = &*self.stop;
        *flag.lock().expect("lock poisoned") = true;
        wake.notify_all();
        if let Some(t) = self.refresher.take() {
            let _ = t.join();
        }
        // Best effort: a lock left behind turns stale and is reported as such.
        let _ = self.store.delete_named(&self.name);
    }
}

fn lock_objects(store: &RemoteStore) -> Result<Vec<(String, Option<LockInfo>)>> {
    let mut out = Vec::new();
    for (name, _) in store.list_named("locks")? {
        match store.get_named(&name, 64 * 1024) {
            Ok((bytes, _)) => out.push((name, serde_json::from_slice(&bytes).ok())),
            // Released between the listing and the read.
            Err(Error::Missing { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Take a lock on the repository in `store` ([`LockKind::Writer`] or [`LockKind::Exclusive`];
/// commits need none there: `index.json` is replaced conditionally).
///
/// # Errors
/// [`Error::Locked`] when another holder conflicts (stale ones included, said so);
/// [`Error::Storage`].
pub fn lock_remote(store: &RemoteStore, kind: LockKind, purpose: &str) -> Result<RepoLock> {
    let info = LockInfo::new(kind, purpose);
    let name = format!("locks/{}.json", crate::repository::random_id());
    let body = serde_json::to_vec(&info).expect("lock documents serialize");
    store.create_named(&name, &body)?;
    let taken = ObjectLock {
        store: store.clone(),
        name: name.clone(),
        stop: Arc::new((Mutex::new(false), Condvar::new())),
        refresher: None,
    };
    let now = jiff::Timestamp::now();
    for (other, found) in lock_objects(store)? {
        if other == name {
            continue;
        }
        let conflicts = match &found {
            Some(o) => kind == LockKind::Exclusive || o.kind == "exclusive",
            None => true,
        };
        if conflicts {
            // `taken` is dropped on return: our own lock object is removed.
            return Err(Error::Locked {
                path: store.remote().to_string().into(),
                holder: found.map_or_else(
                    || format!("an unreadable lock `{other}`"),
                    |o| o.describe(now),
                ),
            });
        }
    }
    let mut taken = taken;
    let stop = Arc::clone(&taken.stop);
    let refresh_store = store.clone();
    taken.refresher = Some(std::thread::spawn(move || {
        let mut info = info;
        let (flag, wake) = &*stop;
        let mut stopped = flag.lock().expect("lock poisoned");
        while !*stopped {
            let (guard, timeout) = wake
                .wait_timeout(stopped, REFRESH_EVERY)
                .expect("lock poisoned");
            stopped = guard;
            if !*stopped && timeout.timed_out() {
                info.refreshed = jiff::Timestamp::now().to_string();
                let body = serde_json::to_vec(&info).expect("lock documents serialize");
                let _ = refresh_store.overwrite_named(&name, &body);
            }
        }
    }));
    Ok(RepoLock {
        _held: Held::Object(taken),
    })
}

/// Remove the stale lock objects of a repository on object storage; returns what they said.
///
/// # Errors
/// [`Error::Storage`].
pub fn break_stale_locks(store: &RemoteStore) -> Result<Vec<String>> {
    let now = jiff::Timestamp::now();
    let mut removed = Vec::new();
    for (name, found) in lock_objects(store)? {
        if let Some(info) = found.filter(|i| i.is_stale(now)) {
            store.delete_named(&name)?;
            removed.push(info.describe(now));
        }
    }
    Ok(removed)
}
