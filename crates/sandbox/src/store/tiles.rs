//! Hosted tile and vector tile layers: which feature layer each was published from, and the
//! tiling it was published with. Their tiles are drawn from that layer's features when asked
//! (`api/tiles.rs`).

use rusqlite::{OptionalExtension as _, params};
use serde_json::Value;

use super::Store;

/// A hosted tile layer (`MapServer`) or vector tile layer (`VectorTileServer`).
#[derive(Debug, Clone)]
pub struct TileService {
    /// Its name, as in its URL.
    pub name: String,
    /// `MapServer` or `VectorTileServer`.
    pub kind: String,
    /// Its item.
    pub item: String,
    /// The hosted feature layer item it was published from.
    pub source: String,
    /// The tiling: `minScale`, `maxScale` and the service's extent.
    pub definition: Value,
}

impl Store {
    /// Record a tile service; `false` when the organization has one of that kind by that name.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_tile_service(&self, org: &str, service: &TileService) -> rusqlite::Result<bool> {
        self.with(|c| {
            Ok(c.execute(
                "INSERT OR IGNORE INTO tile_services (org, name, kind, item, source, definition) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![org, service.name, service.kind, service.item, service.source, service.definition.to_string()],
            )? == 1)
        })
    }

    /// The organization's tile service of `kind` named `name` (any case).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn tile_service(
        &self,
        org: &str,
        name: &str,
        kind: &str,
    ) -> rusqlite::Result<Option<TileService>> {
        self.with(|c| {
            c.query_row(
                "SELECT name, kind, item, source, definition FROM tile_services WHERE org = ?1 AND name = ?2 AND kind = ?3",
                [org, name, kind],
                |r| {
                    let definition: String = r.get(4)?;
                    Ok(TileService {
                        name: r.get(0)?,
                        kind: r.get(1)?,
                        item: r.get(2)?,
                        source: r.get(3)?,
                        definition: serde_json::from_str(&definition).unwrap_or(Value::Null),
                    })
                },
            )
            .optional()
        })
    }
}
