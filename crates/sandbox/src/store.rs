//! The sandbox's state: one SQLite database per data directory, so a sandbox survives restarts
//! and a rehearsal can be inspected with any SQLite client.

mod blobs;
mod features;
mod hub;
mod listing;
mod people;
mod services;
mod tiles;
pub use blobs::{BlobDir, Body, INLINE_LIMIT, ReadSeek, Spool, Stored};
pub use features::{Attachment, Edit, EditDates, Feature, NewAttachment, Selection, envelope};
pub use people::{NewUser, Role, User};
pub use services::Service;
pub use tiles::TileService;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

fn schema() -> String {
    String::from(
        "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;       -- a stand-in, not a store of record: no fsync per commit (the WAL still survives a killed process)
PRAGMA foreign_keys = ON;
PRAGMA recursive_triggers = ON;
CREATE TABLE IF NOT EXISTS orgs (
    key TEXT PRIMARY KEY,            -- the path segment: /<key>/sharing/rest
    id TEXT NOT NULL UNIQUE,         -- portals/self id
    name TEXT NOT NULL,
    is_portal INTEGER NOT NULL       -- 1: answers as ArcGIS Enterprise
);
CREATE TABLE IF NOT EXISTS users (
    org TEXT NOT NULL REFERENCES orgs(key),
    username TEXT NOT NULL,
    password_sha256 TEXT NOT NULL,
    role TEXT NOT NULL,              -- org_admin | org_publisher | org_user (a custom role's base)
    full_name TEXT NOT NULL,
    created INTEGER NOT NULL,
    role_id TEXT,                    -- a custom role's id (roles.id), NULL for the three built-in roles
    user_type TEXT NOT NULL DEFAULT 'creatorUT',
    disabled INTEGER NOT NULL DEFAULT 0,
    profile TEXT NOT NULL DEFAULT '{}', -- JSON: email, firstName, lastName, description, tags, culture, region, thumbnail
    modified INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org, username)
);
-- Thumbnails of groups (key: the group id) and users (key: '<org>/<username>').
CREATE TABLE IF NOT EXISTS portraits (
    kind TEXT NOT NULL,              -- group | user
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (kind, key)
);
-- Custom roles (portals/self/roles): a base role and the privileges they grant.
CREATE TABLE IF NOT EXISTS roles (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    description TEXT NOT NULL DEFAULT '',
    privileges TEXT NOT NULL DEFAULT '[]', -- JSON array of privilege names
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    PRIMARY KEY (org, id),
    UNIQUE (org, name)
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    org TEXT NOT NULL,
    username TEXT NOT NULL,
    expires INTEGER NOT NULL         -- epoch ms
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token TEXT PRIMARY KEY,          -- OAuth refresh tokens (authorization-code grant)
    org TEXT NOT NULL,
    username TEXT NOT NULL,
    client_id TEXT NOT NULL,
    expires INTEGER NOT NULL         -- epoch ms
);
CREATE TABLE IF NOT EXISTS folders (
    id TEXT PRIMARY KEY,
    org TEXT NOT NULL,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created INTEGER NOT NULL,
    UNIQUE (org, owner, title)
);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    org TEXT NOT NULL,
    owner TEXT NOT NULL,
    folder TEXT,
    json TEXT NOT NULL,              -- the item JSON as served (every field kept)
    data BLOB,                       -- data up to 1 MiB; larger data is a file in blobs/
    data_blob TEXT,                  -- that file's key
    data_size INTEGER,
    data_name TEXT,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    recycled INTEGER                 -- epoch ms: in the recycle bin since then (ArcGIS Online); NULL: live
);
-- Live items only (every listing's query asks for them): a page of a listing walks this index
-- alone, without reading each skipped row to test `recycled` (at 100,000 items that made every
-- page read them all). It replaces `items_listed`, which held recycled items too.
DROP INDEX IF EXISTS items_listed;
CREATE INDEX IF NOT EXISTS items_listed_live ON items (org, owner, folder, json_extract(json, '$.created'), id)
    WHERE recycled IS NULL;
CREATE TABLE IF NOT EXISTS item_groups (
    item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    grp TEXT NOT NULL,
    PRIMARY KEY (item, grp)
);
CREATE INDEX IF NOT EXISTS item_groups_grp ON item_groups (grp, item);
CREATE TABLE IF NOT EXISTS resources (
    item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    path TEXT NOT NULL,              -- full path with folders: images/legend/x.png
    data BLOB NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (item, path)
);
CREATE TABLE IF NOT EXISTS relationships (
    origin TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    destination TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    PRIMARY KEY (origin, destination, type)
);
CREATE TABLE IF NOT EXISTS item_files (
    item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,              -- thumbnail | metadata
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (item, kind)
);
CREATE TABLE IF NOT EXISTS upload_parts (
    item TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    part INTEGER NOT NULL,           -- 1 ..= 10000; sending a number again replaces the part
    data BLOB,
    blob TEXT,
    size INTEGER NOT NULL,
    PRIMARY KEY (item, part)
);
CREATE TABLE IF NOT EXISTS item_status (
    item TEXT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    status TEXT NOT NULL,            -- partial | processing | completed | failed
    ready INTEGER NOT NULL DEFAULT 0 -- epoch ms: processing is reported until then (--job-latency)
);
CREATE TABLE IF NOT EXISTS groups (
    id TEXT PRIMARY KEY,
    org TEXT NOT NULL,
    json TEXT NOT NULL,
    category_schema TEXT             -- JSON: the group's content categories (assignCategorySchema)
);
CREATE TABLE IF NOT EXISTS services (
    org TEXT NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE, -- /<org>/server/rest/services/Hosted/<name>/FeatureServer
    item TEXT NOT NULL UNIQUE REFERENCES items(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,              -- what it was published from (fileGeodatabase | shapefile | csv | geojson | serviceDefinition), or empty | view
    layers TEXT NOT NULL,            -- JSON: every layer's and table's definition, stored whole
    payload BLOB,                    -- the file published (kept as the service's source; exports are written from the features)
    payload_blob TEXT,               -- (the same file as the source item's data, not a copy)
    payload_size INTEGER NOT NULL,
    definition TEXT NOT NULL DEFAULT '{}', -- JSON: the service's own properties (capabilities, editorTrackingInfo, …)
    server_gen INTEGER NOT NULL DEFAULT 1,  -- serverGens.serverGen: moved by every edit
    PRIMARY KEY (org, name)
);
-- Hosted tile and vector tile layers published from a hosted feature layer (`publish` with
-- `fileType=featureService`, `outputType=Tiles|VectorTiles`): their tiles are drawn from the
-- source's features.
CREATE TABLE IF NOT EXISTS tile_services (
    org TEXT NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE, -- /<org>/server/rest/services/Hosted/<name>/<kind>
    kind TEXT NOT NULL,              -- MapServer | VectorTileServer
    item TEXT NOT NULL UNIQUE REFERENCES items(id) ON DELETE CASCADE,
    source TEXT NOT NULL,            -- the hosted feature layer's or the package's item (it may be deleted since)
    definition TEXT NOT NULL,        -- JSON: minScale, maxScale, the levels and extent; for a package its root.json
    payload BLOB,                    -- a package published: its file, kept as the service's cache
    payload_blob TEXT,
    payload_size INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org, name, kind)
);
-- The features of every layer and table of hosted services (views read their source's).
CREATE TABLE IF NOT EXISTS features (
    service TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    layer INTEGER NOT NULL,
    oid INTEGER NOT NULL,
    attributes TEXT NOT NULL,        -- JSON object: every field but the object id
    geometry TEXT,                   -- Esri JSON, no spatial reference
    xmin REAL, ymin REAL, xmax REAL, ymax REAL, -- the geometry's envelope, for spatial filters
    PRIMARY KEY (service, layer, oid)
);
-- Files attached to features (layers with hasAttachments).
CREATE TABLE IF NOT EXISTS attachments (
    service TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    layer INTEGER NOT NULL,
    id INTEGER NOT NULL,             -- the attachment's object id, unique in its layer
    parent INTEGER NOT NULL,         -- the feature's object id
    globalid TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    keywords TEXT NOT NULL DEFAULT '',
    data BLOB,                       -- up to 1 MiB; larger in blobs/
    blob TEXT,
    size INTEGER NOT NULL,
    PRIMARY KEY (service, layer, id)
);
CREATE INDEX IF NOT EXISTS attachments_of ON attachments (service, layer, parent);
CREATE TABLE IF NOT EXISTS layer_state (
    service TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    layer INTEGER NOT NULL,
    next_oid INTEGER NOT NULL,       -- object ids are never reused
    next_attachment INTEGER NOT NULL DEFAULT 1,
    data_edited INTEGER NOT NULL,    -- editingInfo.dataLastEditDate (epoch ms)
    schema_edited INTEGER NOT NULL,  -- editingInfo.schemaLastEditDate
    PRIMARY KEY (service, layer)
);
CREATE TABLE IF NOT EXISTS group_members (
    grp TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    member_type TEXT NOT NULL,       -- owner | admin | member
    PRIMARY KEY (grp, username)
);
-- The organization's settings `portals/self/update` changes (featured groups, gallery group
-- queries) and its content category schema (key `categorySchema`): JSON values by key.
CREATE TABLE IF NOT EXISTS org_settings (
    org TEXT NOT NULL REFERENCES orgs(key),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (org, key)
);
-- Items registered as applications (oauth2/registerApp).
CREATE TABLE IF NOT EXISTS registered_apps (
    item TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    json TEXT NOT NULL
);
-- ArcGIS Hub's domain service: one registry of hostnames for every organization.
CREATE TABLE IF NOT EXISTS hub_domains (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hostname TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL,
    site TEXT NOT NULL,
    json TEXT NOT NULL
);
-- Files in blobs/ and how many rows refer to each; kept by the triggers below.
CREATE TABLE IF NOT EXISTS blobs (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    refs INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS blobs_unreferenced ON blobs (refs) WHERE refs <= 0;
",
    ) + &blob_triggers("items", "data_blob")
        + &blob_triggers("services", "payload_blob")
        + &blob_triggers("tile_services", "payload_blob")
        + &blob_triggers("upload_parts", "blob")
        + &blob_triggers("attachments", "blob")
}

/// The schema's version (`PRAGMA user_version`): a data directory made by an earlier sandbox is
/// refused with a clear error rather than read wrongly.
const SCHEMA_VERSION: i64 = 6;

/// Triggers counting the rows of `table` whose `column` names a blob.
fn blob_triggers(table: &str, column: &str) -> String {
    format!(
        "CREATE TRIGGER IF NOT EXISTS {table}_blob_add AFTER INSERT ON {table} WHEN NEW.{column} IS NOT NULL
BEGIN UPDATE blobs SET refs = refs + 1 WHERE key = NEW.{column}; END;
CREATE TRIGGER IF NOT EXISTS {table}_blob_drop AFTER DELETE ON {table} WHEN OLD.{column} IS NOT NULL
BEGIN UPDATE blobs SET refs = refs - 1 WHERE key = OLD.{column}; END;
CREATE TRIGGER IF NOT EXISTS {table}_blob_change AFTER UPDATE OF {column} ON {table}
BEGIN UPDATE blobs SET refs = refs + 1 WHERE key = NEW.{column};
      UPDATE blobs SET refs = refs - 1 WHERE key = OLD.{column}; END;
"
    )
}

/// The database, behind a mutex: SQLite serializes writers anyway, and the sandbox's load is a
/// test's or one administrator's. Large data lives beside it as files ([`BlobDir`]).
pub struct Store {
    conn: Mutex<Connection>,
    blobs: BlobDir,
    /// Where recent pages of owners' listings ended (`listing`).
    cursors: listing::Cursors,
    /// Listings computed whole, while nothing is written (`listing`).
    listings: listing::Listings,
}

/// An item's data (when it has any) and its file name.
pub type DataRow = (Option<Stored>, Option<String>);

/// A stored item.
#[derive(Debug, Clone)]
pub struct StoredItem {
    /// The item JSON.
    pub json: Value,
    /// The owner.
    pub owner: String,
    /// The folder id, `None` for the root.
    pub folder: Option<String>,
    /// The groups it is shared with.
    pub groups: Vec<String>,
}

impl Store {
    /// Open (creating) `sandbox.sqlite` and `blobs/` in `data_dir`, or an in-memory database
    /// with a temporary blob directory for `None`. Blob files nothing refers to (left by a
    /// sandbox stopped mid-upload) are removed.
    ///
    /// # Errors
    /// SQLite and file errors; [`crate::Error::Invalid`] for a database an earlier, incompatible
    /// sandbox made.
    pub fn open(data_dir: Option<&Path>) -> Result<Self, crate::Error> {
        let conn = match data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                Connection::open(dir.join("sandbox.sqlite"))?
            }
            None => Connection::open_in_memory()?,
        };
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let has_tables: bool = conn.query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if has_tables && version != SCHEMA_VERSION {
            return Err(crate::Error::Invalid(format!(
                "the sandbox database in {} was made by another orgpack version (schema {version}, this one reads {SCHEMA_VERSION}): start the sandbox with an empty --data directory",
                data_dir.map_or_else(String::new, |d| d.display().to_string())
            )));
        }
        conn.execute_batch(&schema())?;
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))?;
        let store = Self {
            conn: Mutex::new(conn),
            blobs: BlobDir::open(data_dir)?,
            cursors: listing::Cursors::default(),
            listings: listing::Listings::default(),
        };
        store.with(|c| store.sweep(c))?;
        let known: std::collections::HashSet<String> = store.with(|c| {
            let mut stmt = c.prepare("SELECT key FROM blobs")?;
            stmt.query_map([], |r| r.get(0))?.collect()
        })?;
        for key in store.blobs.keys()? {
            if !known.contains(&key) {
                std::fs::remove_file(store.blobs.path(&key))?;
            }
        }
        Ok(store)
    }

    /// The blob directory: where uploads spool and large data lives.
    pub fn blobs(&self) -> &BlobDir {
        &self.blobs
    }

    /// Record a blob about to be referred to (inside the same lock as the row that refers to it,
    /// so no sweep can come between).
    fn register(&self, c: &Connection, stored: &Stored) -> rusqlite::Result<()> {
        if let Stored::Blob { key, size } = stored {
            if !self.blobs.path(key).is_file() {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
            c.execute(
                "INSERT OR IGNORE INTO blobs (key, size, refs) VALUES (?1, ?2, 0)",
                params![key, i64::try_from(*size).unwrap_or(i64::MAX)],
            )?;
        }
        Ok(())
    }

    /// Remove the blobs no row refers to any more.
    fn sweep(&self, c: &Connection) -> rusqlite::Result<()> {
        let gone: Vec<String> = {
            let mut stmt = c.prepare("DELETE FROM blobs WHERE refs <= 0 RETURNING key")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for key in gone {
            // Already gone is as good as removed; anything else is left for the next start.
            let _ = std::fs::remove_file(self.blobs.path(&key));
        }
        Ok(())
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        f(&self.conn.lock().expect("store lock poisoned"))
    }

    /// Add an organization (no-op when it exists).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_org(
        &self,
        key: &str,
        id: &str,
        name: &str,
        is_portal: bool,
    ) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO orgs (key, id, name, is_portal) VALUES (?1, ?2, ?3, ?4)",
                params![key, id, name, is_portal],
            )
            .map(|_| ())
        })
    }

    /// An organization by its path key: (id, name, is_portal).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn org(&self, key: &str) -> rusqlite::Result<Option<(String, String, bool)>> {
        self.with(|c| {
            c.query_row(
                "SELECT id, name, is_portal FROM orgs WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
        })
    }

    /// Record a token.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_token(
        &self,
        token: &str,
        org: &str,
        username: &str,
        expires: i64,
    ) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO tokens (token, org, username, expires) VALUES (?1, ?2, ?3, ?4)",
                params![token, org, username, expires],
            )
            .map(|_| ())
        })
    }

    /// Keep an OAuth refresh token.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_refresh_token(
        &self,
        token: &str,
        org: &str,
        username: &str,
        client_id: &str,
        expires: i64,
    ) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO refresh_tokens (token, org, username, client_id, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token, org, username, client_id, expires],
            )
            .map(|_| ())
        })
    }

    /// A refresh token's (org, username, client id, expires).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn refresh_token(
        &self,
        token: &str,
    ) -> rusqlite::Result<Option<(String, String, String, i64)>> {
        self.with(|c| {
            c.query_row(
                "SELECT org, username, client_id, expires FROM refresh_tokens WHERE token = ?1",
                [token],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
        })
    }

    /// A token's (org, username, expires).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn token(&self, token: &str) -> rusqlite::Result<Option<(String, String, i64)>> {
        self.with(|c| {
            c.query_row(
                "SELECT org, username, expires FROM tokens WHERE token = ?1",
                [token],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
        })
    }

    /// Make a token expired (fault injection: a run that outlives its token).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn expire_token(&self, token: &str) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute("UPDATE tokens SET expires = 0 WHERE token = ?1", [token])
                .map(|_| ())
        })
    }

    /// Create a folder; `None` when the owner has one with that title.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_folder(
        &self,
        id: &str,
        org: &str,
        owner: &str,
        title: &str,
        now: i64,
    ) -> rusqlite::Result<bool> {
        self.with(|c| {
            c.execute("INSERT OR IGNORE INTO folders (id, org, owner, title, created) VALUES (?1, ?2, ?3, ?4, ?5)", params![id, org, owner, title, now])
                .map(|n| n == 1)
        })
    }

    /// A user's folders: (id, title, created).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn folders(&self, org: &str, owner: &str) -> rusqlite::Result<Vec<(String, String, i64)>> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT id, title, created FROM folders WHERE org = ?1 AND owner = ?2 ORDER BY title")?;
            stmt.query_map([org, owner], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect()
        })
    }

    /// Delete a folder and the items in it, in one transaction. `Ok(None)` when the owner has
    /// no such folder; `Ok(Some(ids))` with the protected items in it, deleting nothing, when
    /// some are protected; `Ok(Some([]))` when done.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_folder(
        &self,
        org: &str,
        owner: &str,
        folder: &str,
    ) -> rusqlite::Result<Option<Vec<String>>> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let exists: bool = tx.query_row(
                "SELECT COUNT(*) FROM folders WHERE id = ?1 AND org = ?2 AND owner = ?3",
                params![folder, org, owner],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )?;
            if !exists {
                return Ok(None);
            }
            let protected: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT id FROM items WHERE folder = ?1 AND json_extract(json, '$.protected') = 1",
                )?;
                stmt.query_map([folder], |r| r.get(0))?.collect::<Result<_, _>>()?
            };
            if !protected.is_empty() {
                return Ok(Some(protected));
            }
            tx.execute("DELETE FROM items WHERE folder = ?1", [folder])?;
            tx.execute("DELETE FROM folders WHERE id = ?1", [folder])?;
            tx.commit()?;
            self.sweep(c)?;
            Ok(Some(Vec::new()))
        })
    }

    /// Store a new item.
    ///
    /// # Errors
    /// SQLite errors (a duplicate id among them).
    pub fn add_item(
        &self,
        org: &str,
        owner: &str,
        folder: Option<&str>,
        json: &Value,
        data: Option<(&Stored, Option<&str>)>,
        now: i64,
    ) -> rusqlite::Result<()> {
        let id = json.get("id").and_then(Value::as_str).unwrap_or_default();
        let (inline, key) = data.map_or((None, None), |d| d.0.columns());
        let size = data.map(|d| i64::try_from(d.0.len()).unwrap_or(i64::MAX));
        self.with(|c| {
            let added = data
                .map_or(Ok(()), |d| self.register(c, d.0))
                .and_then(|()| c.execute(
                    "INSERT INTO items (id, org, owner, folder, json, data, data_blob, data_size, data_name, created, modified) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
                    params![id, org, owner, folder, json.to_string(), inline, key, size, data.and_then(|d| d.1), now],
                ));
            if added.is_err() {
                self.sweep(c)?;
            }
            added.map(|_| ())
        })
    }

    /// An item of an organization (not one in the recycle bin).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn item(&self, org: &str, id: &str) -> rusqlite::Result<Option<StoredItem>> {
        Ok(self
            .item_anywhere(org, id)?
            .filter(|(_, recycled)| recycled.is_none())
            .map(|(item, _)| item))
    }

    /// An item's data and its file name.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn item_data(&self, org: &str, id: &str) -> rusqlite::Result<Option<DataRow>> {
        self.with(|c| {
            c.query_row(
                "SELECT data, data_blob, data_size, data_name FROM items WHERE org = ?1 AND id = ?2 AND recycled IS NULL",
                [org, id],
                |r| Ok((Stored::from_columns(r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?)),
            )
            .optional()
        })
    }

    /// Replace an item's JSON (and data when given).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn update_item(
        &self,
        id: &str,
        json: &Value,
        data: Option<(&Stored, Option<&str>)>,
        now: i64,
    ) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE items SET json = ?2, modified = ?3 WHERE id = ?1",
                params![id, json.to_string(), now],
            )?;
            if let Some((stored, name)) = data {
                self.register(c, stored)?;
                let (inline, key) = stored.columns();
                c.execute(
                    "UPDATE items SET data = ?2, data_blob = ?3, data_size = ?4, data_name = COALESCE(?5, data_name) WHERE id = ?1",
                    params![id, inline, key, i64::try_from(stored.len()).unwrap_or(i64::MAX), name],
                )?;
                self.sweep(c)?;
            }
            Ok(())
        })
    }

    /// Set the groups an item is shared with.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_item_groups(&self, id: &str, groups: &[String]) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM item_groups WHERE item = ?1", [id])?;
            for g in groups {
                c.execute(
                    "INSERT OR IGNORE INTO item_groups (item, grp) VALUES (?1, ?2)",
                    [id, g],
                )?;
            }
            Ok(())
        })
    }

    /// Delete an item.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_item(&self, id: &str) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM items WHERE id = ?1", [id])?;
            self.sweep(c)
        })
    }

    /// Every item of an organization with its owner, folder and groups.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn items(&self, org: &str) -> rusqlite::Result<Vec<StoredItem>> {
        // One query, not one per item: listings and searches read every item of the org. No
        // column after `data` is read (not even to sort): each would walk the data's overflow
        // pages, megabytes an item.
        self.items_where(
            "SELECT id, json, owner, folder FROM items WHERE org = ?1 AND recycled IS NULL",
            "SELECT g.item, g.grp FROM item_groups g JOIN items i ON i.id = g.item WHERE i.org = ?1 AND i.recycled IS NULL ORDER BY g.grp",
            &[org],
        )
    }

    /// The items of `org` shared with `group`, in listing order (`created`, then id): read through
    /// the group's rows, not the whole organization, so a group's content costs what it holds.
    pub fn group_items(&self, org: &str, group: &str) -> rusqlite::Result<Vec<StoredItem>> {
        self.items_where(
            "SELECT i.id, i.json, i.owner, i.folder FROM item_groups g JOIN items i ON i.id = g.item \
             WHERE i.org = ?1 AND g.grp = ?2 AND i.recycled IS NULL",
            "SELECT o.item, o.grp FROM item_groups g JOIN item_groups o ON o.item = g.item \
             JOIN items i ON i.id = g.item WHERE i.org = ?1 AND g.grp = ?2 ORDER BY o.grp",
            &[org, group],
        )
    }

    /// The items `items_sql` selects (`id, json, owner, folder`) with the groups `groups_sql`
    /// gives them (`item, grp` rows, in group order), in listing order (`created`, then id); both
    /// take `params`.
    fn items_where(
        &self,
        items_sql: &str,
        groups_sql: &str,
        params: &[&str],
    ) -> rusqlite::Result<Vec<StoredItem>> {
        let params = rusqlite::params_from_iter(params);
        let rows: Vec<(String, String, String, Option<String>)> = self.with(|c| {
            let mut stmt = c.prepare(items_sql)?;
            stmt.query_map(params.clone(), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect()
        })?;
        let mut groups: std::collections::HashMap<String, Vec<String>> = self.with(|c| {
            let mut stmt = c.prepare(groups_sql)?;
            let mut out: std::collections::HashMap<String, Vec<String>> =
                std::collections::HashMap::new();
            for row in stmt.query_map(params, |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
                let (item, grp) = row?;
                out.entry(item).or_default().push(grp);
            }
            Ok(out)
        })?;
        let mut items: Vec<StoredItem> = rows
            .into_iter()
            .map(|(id, json, owner, folder)| StoredItem {
                json: serde_json::from_str(&json).unwrap_or(Value::Null),
                owner,
                folder,
                groups: groups.remove(&id).unwrap_or_default(),
            })
            .collect();
        items.sort_by_cached_key(|i| {
            (
                i.json.get("created").and_then(Value::as_i64).unwrap_or(0),
                i.json
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            )
        });
        Ok(items)
    }

    /// Store a group and its owner's membership.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_group(&self, org: &str, json: &Value, owner: &str) -> rusqlite::Result<()> {
        let id = json.get("id").and_then(Value::as_str).unwrap_or_default();
        self.with(|c| {
            c.execute(
                "INSERT INTO groups (id, org, json) VALUES (?1, ?2, ?3)",
                params![id, org, json.to_string()],
            )?;
            c.execute(
                "INSERT INTO group_members (grp, username, member_type) VALUES (?1, ?2, 'owner')",
                params![id, owner],
            )?;
            Ok(())
        })
    }

    /// A group's JSON.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn group(&self, org: &str, id: &str) -> rusqlite::Result<Option<Value>> {
        let json: Option<String> = self.with(|c| {
            c.query_row(
                "SELECT json FROM groups WHERE org = ?1 AND id = ?2",
                [org, id],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(json.map(|j| serde_json::from_str(&j).unwrap_or(Value::Null)))
    }

    /// Every group of an organization, by id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn groups(&self, org: &str) -> rusqlite::Result<Vec<Value>> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT json FROM groups WHERE org = ?1 ORDER BY id")?;
            let rows = stmt.query_map([org], |r| r.get::<_, String>(0))?;
            rows.map(|j| j.map(|j| serde_json::from_str(&j).unwrap_or(Value::Null)))
                .collect()
        })
    }

    /// A group's members: (username, member type).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn group_members(&self, id: &str) -> rusqlite::Result<Vec<(String, String)>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT username, member_type FROM group_members WHERE grp = ?1 ORDER BY username",
            )?;
            stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
    }
}

impl Store {
    /// Add or replace a resource.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn put_resource(
        &self,
        item: &str,
        path: &str,
        data: &[u8],
        now: i64,
    ) -> rusqlite::Result<()> {
        self.with(|c| c.execute("INSERT OR REPLACE INTO resources (item, path, data, created) VALUES (?1, ?2, ?3, ?4)", params![item, path, data, now]).map(|_| ()))
    }

    /// An item's resources: (path, size, created), by path.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn resources(&self, item: &str) -> rusqlite::Result<Vec<(String, i64, i64)>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT path, length(data), created FROM resources WHERE item = ?1 ORDER BY path",
            )?;
            stmt.query_map([item], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
    }

    /// One resource's bytes.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn resource(&self, item: &str, path: &str) -> rusqlite::Result<Option<Vec<u8>>> {
        self.with(|c| {
            c.query_row(
                "SELECT data FROM resources WHERE item = ?1 AND path = ?2",
                [item, path],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// Remove one resource (`Some`) or all (`None`); returns how many went.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn remove_resources(&self, item: &str, path: Option<&str>) -> rusqlite::Result<usize> {
        self.with(|c| match path {
            Some(p) => c.execute(
                "DELETE FROM resources WHERE item = ?1 AND path = ?2",
                [item, p],
            ),
            None => c.execute("DELETE FROM resources WHERE item = ?1", [item]),
        })
    }

    /// Relate two items.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_relationship(
        &self,
        origin: &str,
        destination: &str,
        kind: &str,
    ) -> rusqlite::Result<()> {
        self.with(|c| c.execute("INSERT OR IGNORE INTO relationships (origin, destination, type) VALUES (?1, ?2, ?3)", [origin, destination, kind]).map(|_| ()))
    }

    /// Remove a relationship; whether there was one.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_relationship(
        &self,
        origin: &str,
        destination: &str,
        kind: &str,
    ) -> rusqlite::Result<bool> {
        self.with(|c| {
            c.execute(
                "DELETE FROM relationships WHERE origin = ?1 AND destination = ?2 AND type = ?3",
                [origin, destination, kind],
            )
            .map(|n| n > 0)
        })
    }

    /// The items related to `id` by `kind`: destinations when `forward`, origins otherwise.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn related(&self, id: &str, kind: &str, forward: bool) -> rusqlite::Result<Vec<String>> {
        let sql = if forward {
            "SELECT destination FROM relationships WHERE origin = ?1 AND type = ?2 ORDER BY destination"
        } else {
            "SELECT origin FROM relationships WHERE destination = ?1 AND type = ?2 ORDER BY origin"
        };
        self.with(|c| {
            let mut stmt = c.prepare(sql)?;
            stmt.query_map([id, kind], |r| r.get(0))?.collect()
        })
    }

    /// Set an item's thumbnail or metadata file.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn put_file(
        &self,
        item: &str,
        kind: &str,
        name: &str,
        data: &[u8],
    ) -> rusqlite::Result<()> {
        self.with(|c| c.execute("INSERT OR REPLACE INTO item_files (item, kind, name, data) VALUES (?1, ?2, ?3, ?4)", params![item, kind, name, data]).map(|_| ()))
    }

    /// An item's thumbnail or metadata file: (name, bytes).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn file(&self, item: &str, kind: &str) -> rusqlite::Result<Option<(String, Vec<u8>)>> {
        self.with(|c| {
            c.query_row(
                "SELECT name, data FROM item_files WHERE item = ?1 AND kind = ?2",
                [item, kind],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
    }

    /// Change an item's owner and folder.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_owner_folder(
        &self,
        id: &str,
        owner: &str,
        folder: Option<&str>,
    ) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE items SET owner = ?2, folder = ?3 WHERE id = ?1",
                params![id, owner, folder],
            )
            .map(|_| ())
        })
    }

    /// Add a member to a group (kept when already there).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_member(
        &self,
        group: &str,
        username: &str,
        member_type: &str,
    ) -> rusqlite::Result<()> {
        self.with(|c| c.execute("INSERT OR IGNORE INTO group_members (grp, username, member_type) VALUES (?1, ?2, ?3)", [group, username, member_type]).map(|_| ()))
    }

    /// Replace a group's JSON.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn update_group(&self, id: &str, json: &Value) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE groups SET json = ?2 WHERE id = ?1",
                params![id, json.to_string()],
            )
            .map(|_| ())
        })
    }

    /// Delete a group: its members go, items shared with it stop being, and items that were
    /// shared with it alone (access `shared`) become private.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_group(&self, id: &str) -> rusqlite::Result<()> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute(
                "UPDATE items SET json = json_set(json, '$.access', 'private')
                 WHERE json_extract(json, '$.access') = 'shared'
                   AND id IN (SELECT item FROM item_groups WHERE grp = ?1)
                   AND (SELECT COUNT(*) FROM item_groups g WHERE g.item = items.id) = 1",
                [id],
            )?;
            tx.execute("DELETE FROM item_groups WHERE grp = ?1", [id])?;
            tx.execute("DELETE FROM groups WHERE id = ?1", [id])?;
            tx.execute(
                "DELETE FROM portraits WHERE kind = 'group' AND key = ?1",
                [id],
            )?;
            tx.commit()
        })
    }

    /// Remove a member from a group.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn remove_member(&self, group: &str, username: &str) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM group_members WHERE grp = ?1 AND username = ?2",
                [group, username],
            )
            .map(|_| ())
        })
    }
}

impl Store {
    /// Store (or replace) one part of a multipart upload.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn put_part(&self, item: &str, part: u32, data: &Stored) -> rusqlite::Result<()> {
        let (inline, key) = data.columns();
        self.with(|c| {
            self.register(c, data)?;
            c.execute(
                "DELETE FROM upload_parts WHERE item = ?1 AND part = ?2",
                params![item, part],
            )?;
            c.execute(
                "INSERT INTO upload_parts (item, part, data, blob, size) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![item, part, inline, key, i64::try_from(data.len()).unwrap_or(i64::MAX)],
            )?;
            self.sweep(c)
        })
    }

    /// The part numbers received.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn parts(&self, item: &str) -> rusqlite::Result<Vec<u32>> {
        self.with(|c| {
            let mut stmt =
                c.prepare("SELECT part FROM upload_parts WHERE item = ?1 ORDER BY part")?;
            stmt.query_map([item], |r| r.get(0))?.collect()
        })
    }

    /// The parts received, in order.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn part_data(&self, item: &str) -> rusqlite::Result<Vec<Stored>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT data, blob, size FROM upload_parts WHERE item = ?1 ORDER BY part",
            )?;
            stmt.query_map([item], |r| {
                Ok(Stored::from_columns(r.get(0)?, r.get(1)?, r.get(2)?)
                    .unwrap_or(Stored::Inline(Vec::new())))
            })?
            .collect()
        })
    }

    /// Make `data` (the parts joined) the item's data and drop the parts.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn complete_parts(&self, item: &str, data: &Stored) -> rusqlite::Result<()> {
        let (inline, key) = data.columns();
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            self.register(&tx, data)?;
            tx.execute(
                "UPDATE items SET data = ?2, data_blob = ?3, data_size = ?4 WHERE id = ?1",
                params![
                    item,
                    inline,
                    key,
                    i64::try_from(data.len()).unwrap_or(i64::MAX)
                ],
            )?;
            tx.execute("DELETE FROM upload_parts WHERE item = ?1", [item])?;
            tx.commit()?;
            self.sweep(c)
        })
    }

    /// Set an item's asynchronous status.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_status(&self, item: &str, status: &str) -> rusqlite::Result<()> {
        self.set_status_until(item, status, 0)
    }

    /// Set an item's asynchronous status, to be reported as it is until `ready` (epoch ms).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_status_until(&self, item: &str, status: &str, ready: i64) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO item_status (item, status, ready) VALUES (?1, ?2, ?3)",
                params![item, status, ready],
            )
            .map(|_| ())
        })
    }

    /// When an item's asynchronous status may move on (epoch ms; 0 when it may at once).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn status_ready(&self, item: &str) -> rusqlite::Result<i64> {
        self.with(|c| {
            c.query_row(
                "SELECT ready FROM item_status WHERE item = ?1",
                [item],
                |r| r.get(0),
            )
            .optional()
            .map(Option::unwrap_or_default)
        })
    }

    /// An item's asynchronous status, `None` when it never had one.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn status(&self, item: &str) -> rusqlite::Result<Option<String>> {
        self.with(|c| {
            c.query_row(
                "SELECT status FROM item_status WHERE item = ?1",
                [item],
                |r| r.get(0),
            )
            .optional()
        })
    }
}

/// Passwords are kept salted and hashed, never as given: a sandbox's database may be shared.
fn password_hash(org: &str, username: &str, password: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(format!(
        "orgpack-sandbox\0{org}\0{username}\0{password}"
    )))
}
