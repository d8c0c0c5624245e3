//! Paging a user's items (`content/users/<u>[/<folder>]`) without walking the items before the
//! page: a client pages a listing with `start` (1-based offsets), and at 100,000 items each page
//! as `OFFSET` plus a `COUNT(*)` walked tens of thousands of index entries (about 30 ms a page
//! at the end, half a minute per walk of one listing). The store remembers where recent pages
//! ended (the listing key of their last row, and the total); a request for the page that starts
//! there reads on from that key with the index, as long as nothing was written since (SQLite's
//! count of changed rows on the store's one connection says so). Any other page is an `OFFSET`
//! read, as before. The REST API is unchanged: `start`, `num`, `total`, `nextStart`.
//!
//! Listings computed whole (a group's content, filtered by what the caller may read) are
//! remembered the same way: [`Store::remembered`] keeps the last few while nothing is written, so
//! paging a group of 5,000 items reads its rows once, not once per page.

use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};
use serde_json::Value;

use super::Store;

/// A few recent values, each good while nothing is written to the store (SQLite's
/// `total_changes` on its one connection is what it was), newest last, at most `CAP`.
#[derive(Debug)]
pub(super) struct Recent<T, const CAP: usize>(Mutex<Vec<(u64, T)>>);

impl<T, const CAP: usize> Default for Recent<T, CAP> {
    fn default() -> Self {
        Self(Mutex::new(Vec::new()))
    }
}

impl<T, const CAP: usize> Recent<T, CAP> {
    /// The values still good at `changes`, the stale ones dropped.
    fn fresh(&self, changes: u64) -> std::sync::MutexGuard<'_, Vec<(u64, T)>> {
        let mut all = self.0.lock().expect("recent values lock poisoned");
        all.retain(|(at, _)| *at == changes);
        all
    }

    /// Remove and return the first good value `matches`.
    fn take(&self, changes: u64, matches: impl Fn(&T) -> bool) -> Option<T> {
        let mut all = self.fresh(changes);
        let at = all.iter().position(|(_, v)| matches(v))?;
        Some(all.remove(at).1)
    }

    /// A copy of the first good value `matches`.
    fn find(&self, changes: u64, matches: impl Fn(&T) -> bool) -> Option<T>
    where
        T: Clone,
    {
        self.fresh(changes)
            .iter()
            .find(|(_, v)| matches(v))
            .map(|(_, v)| v.clone())
    }

    /// Remember `value`, computed when the store was at `changes`; the oldest goes past `CAP`.
    fn keep(&self, changes: u64, value: T) {
        let mut all = self.0.lock().expect("recent values lock poisoned");
        if all.len() >= CAP {
            all.remove(0);
        }
        all.push((changes, value));
    }
}

/// Where a page of a listing ended.
#[derive(Debug, Clone)]
pub(super) struct Cursor {
    org: String,
    owner: String,
    folder: Option<String>,
    /// The offset of the row after the page: the next page's `start - 1`.
    next: usize,
    /// The page's last row's listing key.
    created: i64,
    id: String,
    /// The listing's length when the page was read.
    total: usize,
}

/// Where recent pages ended (listings walked concurrently, by several clients).
pub(super) type Cursors = Recent<Cursor, 32>;

/// Listings computed whole, by key (the listing shared by the pages cut from it).
pub(super) type Listings = Recent<(String, Arc<Vec<Value>>), 8>;

const COLUMNS: &str = "SELECT json, json_extract(json, '$.created'), id FROM items \
     WHERE org = ?1 AND owner = ?2 AND folder IS ?3 AND recycled IS NULL";
const ORDER: &str = "ORDER BY json_extract(json, '$.created'), id";

impl Store {
    /// The listing `key` names, as `compute` makes it, remembered until the next write to the
    /// store: the pages of one listing are cut from one computation. `key` must name everything
    /// the listing depends on besides the stored rows (the caller, the URL it used).
    ///
    /// # Errors
    /// `compute`'s.
    pub fn remembered<E>(
        &self,
        key: &str,
        compute: impl FnOnce() -> Result<Vec<Value>, E>,
    ) -> Result<Arc<Vec<Value>>, E> {
        // Read before computing: a write while computing leaves the listing under an older
        // count, which no later lookup asks for.
        let changes = self
            .conn
            .lock()
            .expect("store lock poisoned")
            .total_changes();
        if let Some((_, found)) = self.listings.find(changes, |(k, _)| k == key) {
            return Ok(found);
        }
        let listing = Arc::new(compute()?);
        self.listings
            .keep(changes, (key.to_owned(), Arc::clone(&listing)));
        Ok(listing)
    }

    /// One page of a user's items in the root (`folder` `None`) or a folder, in listing order
    /// (`created`, then id), with how many there are. `offset` counts from 0. A page that
    /// starts where a recent one ended is read on from that page's last row (see the module).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn user_items_page(
        &self,
        org: &str,
        owner: &str,
        folder: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> rusqlite::Result<(usize, Vec<Value>)> {
        let limit_sql = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            let changes = c.total_changes();
            let cursor = self.cursors.take(changes, |c| {
                c.next == offset
                    && c.org == org
                    && c.owner == owner
                    && c.folder.as_deref() == folder
            });
            let (total, rows) = if let Some(cursor) = cursor {
                // Past the last row's key: `>=` on the created column lets SQLite seek in the
                // index; the rows of equal `created` up to the last id are left out.
                let sql = format!(
                    "{COLUMNS} AND json_extract(json, '$.created') >= ?4 \
                     AND NOT (json_extract(json, '$.created') = ?4 AND id <= ?5) {ORDER} LIMIT ?6"
                );
                let rows = page_rows(
                    c,
                    &sql,
                    params![org, owner, folder, cursor.created, cursor.id, limit_sql],
                )?;
                (cursor.total, rows)
            } else {
                let total: i64 = c.query_row(
                    "SELECT COUNT(*) FROM items \
                     WHERE org = ?1 AND owner = ?2 AND folder IS ?3 AND recycled IS NULL",
                    params![org, owner, folder],
                    |r| r.get(0),
                )?;
                let offset_sql = i64::try_from(offset).unwrap_or(i64::MAX);
                let rows = page_rows(
                    c,
                    &format!("{COLUMNS} {ORDER} LIMIT ?4 OFFSET ?5"),
                    params![org, owner, folder, limit_sql, offset_sql],
                )?;
                (usize::try_from(total).unwrap_or(0), rows)
            };
            if let Some((_, created, id)) = rows.last() {
                self.cursors.keep(
                    changes,
                    Cursor {
                        org: org.to_owned(),
                        owner: owner.to_owned(),
                        folder: folder.map(str::to_owned),
                        next: offset + rows.len(),
                        created: *created,
                        id: id.clone(),
                        total,
                    },
                );
            }
            let items = rows
                .into_iter()
                .map(|(json, _, _)| serde_json::from_str(&json).unwrap_or(Value::Null))
                .collect();
            Ok((total, items))
        })
    }
}

fn page_rows(
    c: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<(String, i64, String)>> {
    let mut stmt = c.prepare_cached(sql)?;
    stmt.query_map(params, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::store::Store;

    fn add(store: &Store, n: usize, created: i64) -> String {
        let id = format!("{n:032x}");
        // Half the items share a `created`, so the cursor's tie on it is exercised.
        store
            .add_item(
                "o",
                "u",
                None,
                &json!({"id": id, "created": created}),
                None,
                created,
            )
            .unwrap();
        id
    }

    fn walk(store: &Store, pages: usize) -> Vec<String> {
        let mut out = Vec::new();
        for p in 0..pages {
            let (_, page) = store.user_items_page("o", "u", None, p * 7, 7).unwrap();
            out.extend(page.iter().map(|v| v["id"].as_str().unwrap().to_owned()));
        }
        out
    }

    fn ids(v: &[Value]) -> Vec<String> {
        v.iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn pages_read_on_from_the_last_one_agree_with_offsets_through_writes_and_other_walks() {
        let store = Store::open(None).unwrap();
        store.add_org("o", "orgid", "O", false).unwrap();
        let mut all: Vec<(i64, String)> = (0..50)
            .map(|n| {
                let created = 1000 + i64::try_from(n / 2).unwrap();
                (created, add(&store, n, created))
            })
            .collect();
        all.sort();
        let expected: Vec<String> = all.iter().map(|(_, id)| id.clone()).collect();
        let offsets = |store: &Store| {
            let (total, every) = store.user_items_page("o", "u", None, 0, 1000).unwrap();
            assert_eq!(total, every.len());
            ids(&every)
        };
        assert_eq!(offsets(&store), expected);
        // A walk page by page (each page after the first read on from a cursor).
        assert_eq!(walk(&store, 8), expected);
        store.user_items_page("o", "u", None, 0, 7).unwrap();
        let changes = store.with(|c| Ok(c.total_changes())).unwrap();
        let cursor = store
            .cursors
            .take(changes, |c| c.next == 7 && c.owner == "u")
            .expect("a cursor at 7");
        assert_eq!(
            (cursor.id.as_str(), cursor.total),
            (expected[6].as_str(), 50)
        );
        // Two walks interleaved: each finds its own cursor.
        let mut a = Vec::new();
        let mut b = Vec::new();
        for p in 0..8 {
            a.extend(ids(&store
                .user_items_page("o", "u", None, p * 7, 7)
                .unwrap()
                .1));
            b.extend(ids(&store
                .user_items_page("o", "u", None, p * 7, 7)
                .unwrap()
                .1));
        }
        assert_eq!((a.clone(), b), (expected.clone(), expected.clone()));
        // A write between pages: the next page is read by offset, as the listing now stands.
        let (total, first) = store.user_items_page("o", "u", None, 0, 7).unwrap();
        assert_eq!(total, 50);
        store.delete_item(&ids(&first)[0]).unwrap();
        let (total, second) = store.user_items_page("o", "u", None, 7, 7).unwrap();
        assert_eq!(total, 49, "the count is read again after a write");
        assert_eq!(
            ids(&second),
            expected[8..15].to_vec(),
            "offset 7 of the list without the first item"
        );
        let now: Vec<String> = expected[1..].to_vec();
        assert_eq!(offsets(&store), now);
        assert_eq!(walk(&store, 8), now);
    }

    #[test]
    fn a_remembered_listing_is_computed_once_until_a_write() {
        let store = Store::open(None).unwrap();
        store.add_org("o", "orgid", "O", false).unwrap();
        let computed = std::cell::Cell::new(0);
        let list = |store: &Store| {
            store
                .remembered::<rusqlite::Error>("k", || {
                    computed.set(computed.get() + 1);
                    let (_, items) = store.user_items_page("o", "u", None, 0, 100)?;
                    Ok(items)
                })
                .unwrap()
        };
        add(&store, 1, 5);
        assert_eq!(list(&store).len(), 1);
        assert_eq!(list(&store).len(), 1);
        assert_eq!(computed.get(), 1);
        add(&store, 2, 6);
        assert_eq!(list(&store).len(), 2, "a write makes it stale");
        assert_eq!(computed.get(), 2);
    }
}
