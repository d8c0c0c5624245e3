//! Hosted feature services: their definitions (service and layers, stored whole), and the file
//! each was published from (kept with the service, as its source; exports are written from the
//! features, not from it).

use rusqlite::{OptionalExtension as _, params};
use serde_json::Value;

use super::{Store, Stored};

/// A hosted feature service.
#[derive(Debug, Clone)]
pub struct Service {
    /// Its name, as in its URL.
    pub name: String,
    /// Its item.
    pub item: String,
    /// The fileType it was published from (`fileGeodatabase`, `shapefile`, `csv`, `geojson`).
    pub kind: String,
    /// Its layers and tables, each the whole layer JSON as defined (what the layer resource
    /// serves, less what is computed when served: `editingInfo`, `currentVersion`, …); a view's
    /// also name their `source` (`{service, layer}`) and `joins`.
    pub layers: Value,
    /// The service's own properties as defined (`capabilities`, `maxRecordCount`,
    /// `editorTrackingInfo`, `syncEnabled`, `spatialReference`, …).
    pub definition: Value,
}

impl Store {
    /// Record a service; `false` when the organization already has one by that name.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_service(
        &self,
        org: &str,
        service: &Service,
        payload: &Stored,
    ) -> rusqlite::Result<bool> {
        let (inline, key) = payload.columns();
        self.with(|c| {
            self.register(c, payload)?;
            let added = c.execute(
                "INSERT OR IGNORE INTO services (org, name, item, kind, layers, payload, payload_blob, payload_size, definition) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![org, service.name, service.item, service.kind, service.layers.to_string(), inline, key, i64::try_from(payload.len()).unwrap_or(i64::MAX), service.definition.to_string()],
            )? == 1;
            self.sweep(c)?;
            Ok(added)
        })
    }

    /// Replace a service's layers (`addToDefinition`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_service_layers(
        &self,
        org: &str,
        name: &str,
        layers: &Value,
    ) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE services SET layers = ?3 WHERE org = ?1 AND name = ?2",
                params![org, name, layers.to_string()],
            )
            .map(|_| ())
        })
    }

    /// Replace a service's own properties (`updateDefinition` at the service level).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_service_definition(
        &self,
        org: &str,
        name: &str,
        definition: &Value,
    ) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE services SET definition = ?3 WHERE org = ?1 AND name = ?2",
                params![org, name, definition.to_string()],
            )
            .map(|_| ())
        })
    }

    /// Whether the organization has a service by this name (case-insensitive).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn service_named(&self, org: &str, name: &str) -> rusqlite::Result<Option<Service>> {
        self.service_where("org = ?1 AND name = ?2", [org, name])
    }

    /// The service behind an item.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn service_of(&self, org: &str, item: &str) -> rusqlite::Result<Option<Service>> {
        self.service_where("org = ?1 AND item = ?2", [org, item])
    }

    fn service_where(&self, filter: &str, args: [&str; 2]) -> rusqlite::Result<Option<Service>> {
        self.with(|c| {
            c.query_row(
                &format!(
                    "SELECT name, item, kind, layers, definition FROM services WHERE {filter}"
                ),
                args,
                |r| {
                    let layers: String = r.get(3)?;
                    let definition: String = r.get(4)?;
                    Ok(Service {
                        name: r.get(0)?,
                        item: r.get(1)?,
                        kind: r.get(2)?,
                        layers: serde_json::from_str(&layers).unwrap_or(Value::Null),
                        definition: serde_json::from_str(&definition).unwrap_or(Value::Null),
                    })
                },
            )
            .optional()
        })
    }
}
