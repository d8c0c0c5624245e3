//! Hosted tile and vector tile layers: which feature layer each was published from, and the
//! tiling it was published with. Their tiles are drawn from that layer's features when asked
//! (`api/tiles.rs`).

use rusqlite::{OptionalExtension as _, params};
use serde_json::Value;

use super::{Store, Stored};

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
    /// The tiling: `minScale`, `maxScale` and the service's extent; for one published from a
    /// package, the package's `root.json` under `root`.
    pub definition: Value,
    /// The package published, kept as the service's cache (`None` for one drawn from a feature
    /// layer).
    pub payload: Option<Stored>,
}

impl Store {
    /// Record a tile service; `false` when the organization has one of that kind by that name.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_tile_service(&self, org: &str, service: &TileService) -> rusqlite::Result<bool> {
        let (inline, key) = service
            .payload
            .as_ref()
            .map_or((None, None), |p| p.columns());
        let size = service
            .payload
            .as_ref()
            .map_or(0, |p| i64::try_from(p.len()).unwrap_or(i64::MAX));
        self.with(|c| {
            if let Some(payload) = &service.payload {
                self.register(c, payload)?;
            }
            let added = c.execute(
                "INSERT OR IGNORE INTO tile_services (org, name, kind, item, source, definition, payload, payload_blob, payload_size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![org, service.name, service.kind, service.item, service.source, service.definition.to_string(), inline, key, size],
            )? == 1;
            self.sweep(c)?;
            Ok(added)
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
                "SELECT name, kind, item, source, definition, payload, payload_blob, payload_size FROM tile_services WHERE org = ?1 AND name = ?2 AND kind = ?3",
                [org, name, kind],
                |r| {
                    let definition: String = r.get(4)?;
                    let payload = Stored::from_columns(r.get(5)?, r.get(6)?, r.get(7)?);
                    Ok(TileService {
                        name: r.get(0)?,
                        kind: r.get(1)?,
                        item: r.get(2)?,
                        source: r.get(3)?,
                        definition: serde_json::from_str(&definition).unwrap_or(Value::Null),
                        payload,
                    })
                },
            )
            .optional()
        })
    }
}
