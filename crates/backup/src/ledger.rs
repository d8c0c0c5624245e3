//! The export ledger: which temporary export items a run may have left in the source.
//!
//! A backup exports hosted services into temporary items of the source organization and deletes
//! each as soon as it is downloaded. A run killed in between (power cut, `kill -9`, a full disk)
//! cannot delete them, so before every export it appends the export's title to a ledger file
//! beside its spool directory, and after each deletion a line saying so, synced to disk each
//! time. The run holds an OS lock on its ledger while it lives. The next run that exports from
//! the same portal as the same user takes the locks of the ledgers it finds: a lock it gets
//! belongs to a run that has ended, and every title that run recorded and did not delete is
//! looked up among the user's root items and deleted. A ledger is removed once nothing in it is
//! left to delete.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use orgpack_portal::Client;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The file names of ledgers: `orgpack-exports-<pid>-<millis>-<n>.jsonl`.
const PREFIX: &str = "orgpack-exports-";
const SUFFIX: &str = ".jsonl";

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    Started {
        portal: String,
        user: String,
        title: String,
    },
    Deleted {
        deleted: String,
    },
}

/// Ledgers made by this process, for unique names.
static LEDGERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// This run's ledger, locked while it is alive.
pub struct Ledger {
    path: PathBuf,
    file: Mutex<File>,
    portal: String,
    user: String,
    open: Mutex<BTreeSet<String>>,
}

impl Ledger {
    /// Create and lock a ledger in `dir` for exports from `portal` as `user`.
    ///
    /// # Errors
    /// Creating, locking or writing the file.
    pub fn create(dir: &Path, portal: &str, user: &str) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        // pid, time and a count: unique even for several runs in one process in one millisecond.
        let n = LEDGERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stamp = jiff::Timestamp::now().as_millisecond();
        let path = dir.join(format!(
            "{PREFIX}{}-{stamp}-{n}{SUFFIX}",
            std::process::id()
        ));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        file.try_lock().map_err(std::io::Error::other)?;
        Ok(Ledger {
            path,
            file: Mutex::new(file),
            portal: portal.to_owned(),
            user: user.to_owned(),
            open: Mutex::new(BTreeSet::new()),
        })
    }

    fn append(&self, line: &Line) -> std::io::Result<()> {
        let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
        text.push('\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(text.as_bytes())?;
        file.sync_data()
    }

    /// Record, before asking for it, an export that will be titled `title`.
    ///
    /// # Errors
    /// Writing the ledger: the export must not be started then.
    pub fn started(&self, title: &str) -> std::io::Result<()> {
        self.append(&Line::Started {
            portal: self.portal.clone(),
            user: self.user.clone(),
            title: title.to_owned(),
        })?;
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(title.to_owned());
        Ok(())
    }

    /// Record that the export titled `title` was deleted (or never made).
    pub fn deleted(&self, title: &str) {
        if self
            .append(&Line::Deleted {
                deleted: title.to_owned(),
            })
            .is_ok()
        {
            self.open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(title);
        }
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // Kept (and unlocked) when something is left to delete: the next run deletes it.
        if self.open.lock().is_ok_and(|o| o.is_empty()) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// What a ledger says is left: `(portal, user, title)` of exports started and not deleted.
fn left_in(file: &File) -> Vec<(String, String, String)> {
    let mut started = Vec::new();
    let mut deleted = BTreeSet::new();
    for line in BufReader::new(file).lines() {
        // A line cut short by the crash is the last one, and its export was never asked for.
        let Ok(line) = line else { break };
        match serde_json::from_str::<Line>(&line) {
            Ok(Line::Started {
                portal,
                user,
                title,
            }) => started.push((portal, user, title)),
            Ok(Line::Deleted { deleted: t }) => {
                deleted.insert(t);
            }
            Err(_) => {}
        }
    }
    started.retain(|(_, _, t)| !deleted.contains(t));
    started
}

/// Delete the exports that ended runs recorded in ledgers under `dir` and left in `portal` as
/// `user`. Returns how many items were deleted. Ledgers of live runs (locked) and of other
/// portals or users are left alone; errors leave a ledger for the next run.
pub async fn recover(client: &Client, dir: &Path, portal: &str, user: &str) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut deleted = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(PREFIX) && name.ends_with(SUFFIX)) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = OpenOptions::new().read(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue; // a run that is still going
        }
        let left = left_in(&file);
        if left.iter().any(|(p, u, _)| p != portal || u != user) {
            continue; // another portal's or user's: only a run signed in there can clean it
        }
        let titles: BTreeSet<&str> = left.iter().map(|(_, _, t)| t.as_str()).collect();
        if titles.is_empty() {
            let _ = fs::remove_file(&path);
            continue;
        }
        // The root folder listed keeping only the titles looked for (it can hold most of a
        // large organization). A listing, not a search: these exports can be minutes old.
        let keep = |item: Value| {
            let title = item.get("title").and_then(Value::as_str)?;
            if !titles.contains(title) {
                return None;
            }
            item.get("id").and_then(Value::as_str).map(str::to_owned)
        };
        let Ok(found) = client.user_items_kept(user, None, keep).await else {
            continue;
        };
        let mut failed = false;
        for id in &found {
            match client.delete_item(user, id).await {
                Ok(()) => deleted += 1,
                Err(e) if e.is_not_found() => {}
                Err(_) => failed = true,
            }
        }
        if !failed {
            let _ = fs::remove_file(&path);
        }
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_keeps_what_was_not_deleted_and_goes_when_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::create(dir.path(), "https://p", "ann").unwrap();
        ledger.started("orgpack-export-a").unwrap();
        ledger.started("orgpack-export-b").unwrap();
        ledger.deleted("orgpack-export-a");
        let path = ledger.path.clone();
        // Locked while the run lives.
        let other = OpenOptions::new().read(true).open(&path).unwrap();
        assert!(other.try_lock().is_err());
        drop(ledger);
        assert!(path.exists(), "b is left, so the ledger stays");
        let file = OpenOptions::new().read(true).open(&path).unwrap();
        file.try_lock().unwrap();
        assert_eq!(
            left_in(&file),
            vec![("https://p".into(), "ann".into(), "orgpack-export-b".into())]
        );

        let clean = Ledger::create(dir.path(), "https://p", "ann").unwrap();
        clean.started("orgpack-export-c").unwrap();
        clean.deleted("orgpack-export-c");
        let clean_path = clean.path.clone();
        drop(clean);
        assert!(!clean_path.exists());
    }

    #[test]
    fn a_line_cut_short_by_a_crash_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orgpack-exports-1-2.jsonl");
        std::fs::write(
            &path,
            "{\"portal\":\"p\",\"user\":\"u\",\"title\":\"t1\"}\n{\"portal\":\"p\",\"us",
        )
        .unwrap();
        let file = File::open(&path).unwrap();
        assert_eq!(left_in(&file), vec![("p".into(), "u".into(), "t1".into())]);
    }
}
