//! Items registered as applications, and ArcGIS Hub's registry of site hostnames (`api/hub.rs`).

use rusqlite::{OptionalExtension as _, params};
use serde_json::Value;

use super::Store;

impl Store {
    /// Register `item` as an application (`json` the registration); `false` when it is one.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn register_app(
        &self,
        item: &str,
        client_id: &str,
        json: &Value,
    ) -> rusqlite::Result<bool> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO registered_apps (item, client_id, json) VALUES (?1, ?2, ?3)",
                params![item, client_id, json.to_string()],
            )
            .map(|n| n > 0)
        })
    }

    /// The application registration of `item`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn app_of(&self, item: &str) -> rusqlite::Result<Option<Value>> {
        self.with(|c| {
            c.query_row(
                "SELECT json FROM registered_apps WHERE item = ?1",
                [item],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map(|j| j.and_then(|j| serde_json::from_str(&j).ok()))
        })
    }

    /// Enter a domain (its `hostname`, `siteId`, `orgId` in `entry`); the entry with its `id`,
    /// or `None` when the hostname is taken.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_hub_domain(&self, entry: &Value) -> rusqlite::Result<Option<Value>> {
        let text = |k: &str| entry[k].as_str().unwrap_or_default().to_owned();
        self.with(|c| {
            let added = c.execute(
                "INSERT OR IGNORE INTO hub_domains (hostname, org_id, site, json) VALUES (?1, ?2, ?3, ?4)",
                params![text("hostname"), text("orgId"), text("siteId"), entry.to_string()],
            )?;
            if added == 0 {
                return Ok(None);
            }
            let mut made = entry.clone();
            made["id"] = Value::from(c.last_insert_rowid().to_string());
            c.execute(
                "UPDATE hub_domains SET json = ?2 WHERE id = ?1",
                params![c.last_insert_rowid(), made.to_string()],
            )?;
            Ok(Some(made))
        })
    }

    /// The entry of `hostname`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn hub_domain(&self, hostname: &str) -> rusqlite::Result<Option<Value>> {
        self.with(|c| {
            c.query_row(
                "SELECT json FROM hub_domains WHERE hostname = ?1",
                [hostname],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map(|j| j.and_then(|j| serde_json::from_str(&j).ok()))
        })
    }

    /// The entries of site `site`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn hub_domains_of_site(&self, site: &str) -> rusqlite::Result<Vec<Value>> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT json FROM hub_domains WHERE site = ?1 ORDER BY id")?;
            let rows = stmt.query_map([site], |r| r.get::<_, String>(0))?;
            rows.map(|r| r.map(|j| serde_json::from_str(&j).unwrap_or(Value::Null)))
                .collect()
        })
    }

    /// The organization id entry `id` belongs to, when it exists.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn hub_domain_org(&self, id: i64) -> rusqlite::Result<Option<String>> {
        self.with(|c| {
            c.query_row("SELECT org_id FROM hub_domains WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    /// Remove entry `id`; the organization id it belonged to, when it existed.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_hub_domain(&self, id: i64) -> rusqlite::Result<Option<String>> {
        self.with(|c| {
            let org: Option<String> = c
                .query_row("SELECT org_id FROM hub_domains WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            c.execute("DELETE FROM hub_domains WHERE id = ?1", [id])?;
            Ok(org)
        })
    }
}
