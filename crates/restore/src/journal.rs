//! The journal of one target: the id map and each item's finished steps, in SQLite, written as
//! each step completes. A restore killed at any point and started again reads it and continues:
//! nothing is created twice and nothing done is done again.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension as _, params};

use crate::error::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ids (
    kind TEXT NOT NULL,     -- item | group | folder | service | user | role
    source TEXT NOT NULL,   -- the id (or URL) in the source organization
    target TEXT NOT NULL,   -- the id (or URL) in the target
    run INTEGER NOT NULL,   -- the run that created it
    created INTEGER NOT NULL, -- 1: created by orgpack, 0: found there (never deleted by rollback)
    PRIMARY KEY (kind, source)
);
CREATE TABLE IF NOT EXISTS prior (
    run INTEGER NOT NULL,   -- the run that read it, before changing the item
    item TEXT NOT NULL,     -- the source id
    target TEXT NOT NULL,   -- the item in the target
    owner TEXT NOT NULL,
    dir TEXT NOT NULL,      -- where its parts are kept (prior.rs)
    PRIMARY KEY (run, item)
);
CREATE TABLE IF NOT EXISTS steps (
    item TEXT NOT NULL,
    step TEXT NOT NULL,     -- content | shared | patched | related
    PRIMARY KEY (item, step)
);
";

/// What one id of the map is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An item.
    Item,
    /// A group.
    Group,
    /// A folder, keyed `owner/title`.
    Folder,
    /// A service URL.
    Service,
    /// A member, by source username (created by `--people create`).
    User,
    /// A custom role, by source role id.
    Role,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Item => "item",
            Kind::Group => "group",
            Kind::Folder => "folder",
            Kind::Service => "service",
            Kind::User => "user",
            Kind::Role => "role",
        }
    }
}

/// An open journal.
pub struct Journal {
    conn: Mutex<Connection>,
    path: PathBuf,
    run: i64,
}

impl Journal {
    /// Open (or create) the journal at `path` for the target at `portal_url` with organization id
    /// `org_id`, and start a run. A journal written for another target is refused.
    ///
    /// # Errors
    /// [`Error::Journal`] when it cannot be opened or belongs to another target.
    pub fn open(path: &Path, portal_url: &str, org_id: &str) -> Result<Self> {
        let err = |e: rusqlite::Error| Error::Journal {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Journal {
                path: path.display().to_string(),
                message: format!("creating {}: {e}", dir.display()),
            })?;
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        let stored: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'org'", [], |r| r.get(0))
            .optional()
            .map_err(err)?;
        let me = format!("{org_id} {portal_url}");
        match stored {
            Some(s) if s != me => {
                return Err(Error::Journal {
                    path: path.display().to_string(),
                    message: format!("it belongs to another target ({s}), not {me}"),
                });
            }
            Some(_) => {}
            None => {
                conn.execute("INSERT INTO meta (key, value) VALUES ('org', ?1)", [&me])
                    .map_err(err)?;
            }
        }
        conn.execute(
            "INSERT INTO runs (started) VALUES (?1)",
            [jiff::Timestamp::now().to_string()],
        )
        .map_err(err)?;
        let run = conn.last_insert_rowid();
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_owned(),
            run,
        })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        f(&self.conn.lock().expect("journal lock poisoned")).map_err(|e| Error::Journal {
            path: self.path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// The target id mapped to `source`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn id(&self, kind: Kind, source: &str) -> Result<Option<String>> {
        self.with(|c| {
            c.query_row(
                "SELECT target FROM ids WHERE kind = ?1 AND source = ?2",
                [kind.as_str(), source],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// The target id mapped to `source` when orgpack created it (in any run), and whether that
    /// item was finished (`complete`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn created(&self, kind: Kind, source: &str) -> Result<Option<(String, bool)>> {
        let target: Option<String> = self.with(|c| {
            c.query_row(
                "SELECT target FROM ids WHERE kind = ?1 AND source = ?2 AND created = 1",
                [kind.as_str(), source],
                |r| r.get(0),
            )
            .optional()
        })?;
        match target {
            Some(t) => Ok(Some((t, self.done(source, "complete")?))),
            None => Ok(None),
        }
    }

    /// Record `source` → `target`; `created` when orgpack created it in this run.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_id(&self, kind: Kind, source: &str, target: &str, created: bool) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO ids (kind, source, target, run, created) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (kind, source) DO UPDATE SET target = excluded.target,
                     run = CASE WHEN excluded.created = 1 THEN excluded.run ELSE ids.run END,
                     created = MAX(ids.created, excluded.created)",
                params![kind.as_str(), source, target, self.run, i64::from(created)],
            )
            .map(|_| ())
        })
    }

    /// Forget a mapping (after its target was deleted by a rollback, or found gone).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn forget(&self, kind: Kind, source: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM ids WHERE kind = ?1 AND source = ?2",
                [kind.as_str(), source],
            )?;
            if kind == Kind::Item {
                c.execute("DELETE FROM steps WHERE item = ?1", [source])?;
            }
            Ok(())
        })
    }

    /// Whether `step` of `item` is done.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn done(&self, item: &str, step: &str) -> Result<bool> {
        self.with(|c| {
            c.query_row(
                "SELECT 1 FROM steps WHERE item = ?1 AND step = ?2",
                [item, step],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
        })
    }

    /// Mark `step` of `item` done.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn mark(&self, item: &str, step: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO steps (item, step) VALUES (?1, ?2)",
                [item, step],
            )
            .map(|_| ())
        })
    }

    /// Take back a step marked done (one that turned out not to have happened).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn unmark(&self, item: &str, step: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM steps WHERE item = ?1 AND step = ?2",
                [item, step],
            )
            .map(|_| ())
        })
    }

    /// Where this run keeps what items were before it changed them (`<journal>.prior/<run>`).
    pub fn prior_dir(&self) -> PathBuf {
        self.priors_root().join(self.run.to_string())
    }

    fn priors_root(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".prior");
        PathBuf::from(name)
    }

    /// Whether `item` as it was is kept already: by this run, or by a run that did not end (killed
    /// after changing it; what it kept is the item's state before either run).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn has_prior(&self, item: &str) -> Result<bool> {
        self.with(|c| {
            c.query_row("SELECT 1 FROM prior WHERE item = ?1", [item], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
        })
    }

    /// Record that `item` (`target`, owned by `owner`) as it was is kept complete in `dir`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn record_prior(&self, item: &str, target: &str, owner: &str, dir: &Path) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO prior (run, item, target, owner, dir) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![self.run, item, target, owner, dir.display().to_string()],
            )
            .map(|_| ())
        })
    }

    /// The items changed after being read, by this run and by runs that did not end, newest
    /// first: (source, target, owner, dir).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn priors(&self) -> Result<Vec<(String, String, String, PathBuf)>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT item, target, owner, dir FROM prior ORDER BY run DESC, rowid DESC",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    PathBuf::from(r.get::<_, String>(3)?),
                ))
            })?;
            rows.collect()
        })
    }

    /// Forget every kept state (a run ended: its items were put back, or its changes stand) and
    /// remove the kept parts.
    ///
    /// # Errors
    /// SQLite errors; a directory that cannot be removed is left.
    pub fn clear_priors(&self) -> Result<()> {
        self.with(|c| c.execute("DELETE FROM prior", []).map(|_| ()))?;
        let _ = std::fs::remove_dir_all(self.priors_root());
        Ok(())
    }

    /// What this run created, newest first: (kind, source, target).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn created_in_this_run(&self) -> Result<Vec<(Kind, String, String)>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT kind, source, target FROM ids WHERE run = ?1 AND created = 1 ORDER BY rowid DESC",
            )?;
            let rows = stmt.query_map([self.run], |r| {
                let kind: String = r.get(0)?;
                Ok((
                    match kind.as_str() {
                        "group" => Kind::Group,
                        "folder" => Kind::Folder,
                        "service" => Kind::Service,
                        "user" => Kind::User,
                        "role" => Kind::Role,
                        _ => Kind::Item,
                    },
                    r.get(1)?,
                    r.get(2)?,
                ))
            })?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_is_made_in_a_directory_that_does_not_exist_yet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journals/of/today/t.sqlite");
        let journal = Journal::open(&path, "https://t", "org").unwrap();
        journal.set_id(Kind::Item, "a", "b", true).unwrap();
        assert!(path.exists());
        assert!(
            Journal::open(&path, "https://other", "org").is_err(),
            "a journal of another target is refused"
        );
    }

    #[test]
    fn what_was_created_is_told_from_what_was_found_and_whether_it_was_finished() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("t.sqlite"), "https://t", "org").unwrap();
        journal.set_id(Kind::Item, "made", "t-made", true).unwrap();
        journal
            .set_id(Kind::Item, "found", "t-found", false)
            .unwrap();
        assert_eq!(
            journal.created(Kind::Item, "made").unwrap(),
            Some(("t-made".to_owned(), false))
        );
        assert_eq!(journal.created(Kind::Item, "found").unwrap(), None);
        assert_eq!(journal.created(Kind::Item, "unknown").unwrap(), None);
        journal.mark("made", "complete").unwrap();
        assert_eq!(
            journal.created(Kind::Item, "made").unwrap(),
            Some(("t-made".to_owned(), true))
        );
        // Found later by another run, it stays created.
        journal.set_id(Kind::Item, "made", "t-made", false).unwrap();
        assert!(journal.created(Kind::Item, "made").unwrap().is_some());
    }

    #[test]
    fn this_runs_creations_come_back_by_kind_newest_first_and_a_forgotten_one_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let earlier = Journal::open(&path, "https://t", "org").unwrap();
        earlier.set_id(Kind::Item, "old", "t-old", true).unwrap();
        drop(earlier);
        let journal = Journal::open(&path, "https://t", "org").unwrap();
        let kinds = [
            Kind::Item,
            Kind::Group,
            Kind::Folder,
            Kind::Service,
            Kind::User,
            Kind::Role,
        ];
        for (n, kind) in kinds.iter().enumerate() {
            journal
                .set_id(*kind, &format!("s{n}"), &format!("t{n}"), true)
                .unwrap();
        }
        journal
            .set_id(Kind::Item, "found", "t-found", false)
            .unwrap();
        let created = journal.created_in_this_run().unwrap();
        let expected: Vec<(Kind, String, String)> = kinds
            .iter()
            .enumerate()
            .rev()
            .map(|(n, k)| (*k, format!("s{n}"), format!("t{n}")))
            .collect();
        assert_eq!(
            created, expected,
            "only this run's, only what it made, newest first"
        );
        // Forgetting an item forgets its steps too; forgetting a group keeps an item's steps.
        journal.mark("s0", "content").unwrap();
        journal.set_id(Kind::Group, "s0", "g", true).unwrap();
        journal.forget(Kind::Group, "s0").unwrap();
        assert!(journal.done("s0", "content").unwrap());
        assert_eq!(journal.id(Kind::Item, "s0").unwrap().as_deref(), Some("t0"));
        journal.forget(Kind::Item, "s0").unwrap();
        assert_eq!(journal.id(Kind::Item, "s0").unwrap(), None);
        assert!(!journal.done("s0", "content").unwrap());
    }

    #[test]
    fn what_a_killed_run_kept_is_put_back_by_the_next_run_and_cleared_when_one_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.journal.sqlite");
        let first = Journal::open(&path, "https://t", "org").unwrap();
        let kept = first.prior_dir().join("a");
        std::fs::create_dir_all(&kept).unwrap();
        first.record_prior("a", "ta", "alice", &kept).unwrap();
        assert!(first.has_prior("a").unwrap());
        drop(first); // killed
        let second = Journal::open(&path, "https://t", "org").unwrap();
        assert!(
            second.has_prior("a").unwrap(),
            "the state before the killed run is the one to keep"
        );
        second
            .record_prior("b", "tb", "bob", &second.prior_dir().join("b"))
            .unwrap();
        let all: Vec<String> = second.priors().unwrap().into_iter().map(|p| p.0).collect();
        assert_eq!(all, ["b", "a"], "newest first, the killed run's too");
        second.clear_priors().unwrap();
        assert!(second.priors().unwrap().is_empty());
        assert!(!kept.exists());
    }
}
