//! The features of hosted layers and tables: one row per feature in `features` (its object id,
//! its attributes as a JSON object, its geometry as Esri JSON with its envelope in four columns
//! for spatial filters), and per layer in `layer_state` the next object id and the times its
//! data and its schema were last edited (what `editingInfo` reports). A service's `server_gen`
//! moves with every edit. Views keep no features: they read their source's.
//!
//! Edits go through [`Store::edit`]: one SQLite transaction, rolled back whole when the closure
//! fails, so `rollbackOnFailure` is what SQLite gives.

use rusqlite::{OptionalExtension as _, Transaction, params};
use serde_json::{Map, Value};

use super::Store;

/// One feature (or table row) as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Its object id.
    pub oid: i64,
    /// Every attribute but the object id.
    pub attributes: Map<String, Value>,
    /// Its geometry (Esri JSON, no spatial reference); `None` for table rows and null shapes.
    pub geometry: Option<Value>,
}

/// What selects rows before the `where` clause: object ids and an envelope (`[xmin, ymin, xmax,
/// ymax]`) their geometry's envelope must meet.
#[derive(Debug, Default, Clone)]
pub struct Selection<'a> {
    /// Only these object ids.
    pub object_ids: Option<&'a [i64]>,
    /// Only features whose envelope meets this one.
    pub envelope: Option<[f64; 4]>,
}

/// When a layer's data and schema were last edited (epoch ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditDates {
    /// Last change of features or attachments.
    pub data: i64,
    /// Last change of the layer's definition.
    pub schema: i64,
}

/// The envelope of an Esri JSON geometry, `[xmin, ymin, xmax, ymax]`.
#[must_use]
pub fn envelope(geometry: &Value) -> Option<[f64; 4]> {
    let mut env: Option<[f64; 4]> = None;
    let mut add = |x: f64, y: f64| {
        let e = env.get_or_insert([x, y, x, y]);
        e[0] = e[0].min(x);
        e[1] = e[1].min(y);
        e[2] = e[2].max(x);
        e[3] = e[3].max(y);
    };
    if let (Some(x), Some(y)) = (
        geometry.get("x").and_then(Value::as_f64),
        geometry.get("y").and_then(Value::as_f64),
    ) {
        add(x, y);
    }
    if let (Some(x0), Some(y0), Some(x1), Some(y1)) = (
        geometry.get("xmin").and_then(Value::as_f64),
        geometry.get("ymin").and_then(Value::as_f64),
        geometry.get("xmax").and_then(Value::as_f64),
        geometry.get("ymax").and_then(Value::as_f64),
    ) {
        add(x0, y0);
        add(x1, y1);
    }
    let point = |p: &Value| {
        let a = p.as_array()?;
        Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?))
    };
    for key in ["points"] {
        for p in geometry
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some((x, y)) = point(p) {
                add(x, y);
            }
        }
    }
    for key in ["paths", "rings"] {
        for part in geometry
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for p in part.as_array().into_iter().flatten() {
                if let Some((x, y)) = point(p) {
                    add(x, y);
                }
            }
        }
    }
    env
}

/// Edits of one service inside one transaction (see [`Store::edit`]).
pub struct Edit<'a> {
    tx: &'a Transaction<'a>,
    service: &'a str,
    now: i64,
}

/// The ids a layer hands out, never reused.
#[derive(Clone, Copy)]
enum Counter {
    ObjectId,
    Attachment,
}

impl Edit<'_> {
    /// The layer's next id of `counter`, taken.
    fn take_next(&self, layer: i64, counter: Counter) -> rusqlite::Result<i64> {
        let column = match counter {
            Counter::ObjectId => "next_oid",
            Counter::Attachment => "next_attachment",
        };
        self.tx.query_row(
            &format!("UPDATE layer_state SET {column} = {column} + 1 WHERE service = ?1 AND layer = ?2 RETURNING {column} - 1"),
            params![self.service, layer],
            |r| r.get(0),
        )
    }

    /// Add a feature under the layer's next object id; returns that id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn insert(
        &self,
        layer: i64,
        attributes: &Map<String, Value>,
        geometry: Option<&Value>,
    ) -> rusqlite::Result<i64> {
        let oid = self.take_next(layer, Counter::ObjectId)?;
        self.put(layer, oid, attributes, geometry)?;
        Ok(oid)
    }

    /// Add a feature under a given object id (loading a published file), keeping the layer's
    /// next object id past it.
    ///
    /// # Errors
    /// SQLite errors (the id taken among them).
    pub fn insert_as(
        &self,
        layer: i64,
        oid: i64,
        attributes: &Map<String, Value>,
        geometry: Option<&Value>,
    ) -> rusqlite::Result<()> {
        self.tx.execute(
            "UPDATE layer_state SET next_oid = MAX(next_oid, ?3 + 1) WHERE service = ?1 AND layer = ?2",
            params![self.service, layer, oid],
        )?;
        self.put(layer, oid, attributes, geometry)
    }

    fn put(
        &self,
        layer: i64,
        oid: i64,
        attributes: &Map<String, Value>,
        geometry: Option<&Value>,
    ) -> rusqlite::Result<()> {
        let env = geometry.and_then(envelope);
        self.tx.execute(
            "INSERT INTO features (service, layer, oid, attributes, geometry, xmin, ymin, xmax, ymax) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                self.service, layer, oid,
                Value::Object(attributes.clone()).to_string(),
                geometry.map(Value::to_string),
                env.map(|e| e[0]), env.map(|e| e[1]), env.map(|e| e[2]), env.map(|e| e[3]),
            ],
        )?;
        Ok(())
    }

    /// Replace a feature's attributes and geometry; `false` when there is no such feature.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn update(
        &self,
        layer: i64,
        oid: i64,
        attributes: &Map<String, Value>,
        geometry: Option<&Value>,
    ) -> rusqlite::Result<bool> {
        let env = geometry.and_then(envelope);
        Ok(self.tx.execute(
            "UPDATE features SET attributes = ?4, geometry = ?5, xmin = ?6, ymin = ?7, xmax = ?8, ymax = ?9 WHERE service = ?1 AND layer = ?2 AND oid = ?3",
            params![
                self.service, layer, oid,
                Value::Object(attributes.clone()).to_string(),
                geometry.map(Value::to_string),
                env.map(|e| e[0]), env.map(|e| e[1]), env.map(|e| e[2]), env.map(|e| e[3]),
            ],
        )? == 1)
    }

    /// Delete a feature; `false` when there is no such feature.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete(&self, layer: i64, oid: i64) -> rusqlite::Result<bool> {
        Ok(self.tx.execute(
            "DELETE FROM features WHERE service = ?1 AND layer = ?2 AND oid = ?3",
            params![self.service, layer, oid],
        )? == 1)
    }

    /// Delete every feature of a layer, with their attachments; how many there were.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_all(&self, layer: i64) -> rusqlite::Result<usize> {
        self.detach_layer(layer)?;
        self.tx.execute(
            "DELETE FROM features WHERE service = ?1 AND layer = ?2",
            params![self.service, layer],
        )
    }

    /// Remove every attachment of a layer; how many there were.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn detach_layer(&self, layer: i64) -> rusqlite::Result<usize> {
        self.tx.execute(
            "DELETE FROM attachments WHERE service = ?1 AND layer = ?2",
            params![self.service, layer],
        )
    }

    /// One feature.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn get(&self, layer: i64, oid: i64) -> rusqlite::Result<Option<Feature>> {
        self.tx
            .query_row(
                "SELECT oid, attributes, geometry FROM features WHERE service = ?1 AND layer = ?2 AND oid = ?3",
                params![self.service, layer, oid],
                row,
            )
            .optional()
    }

    /// The object id of the feature whose `field` holds `value` (GlobalIDs, compared
    /// case-insensitively as GUIDs are).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn find(&self, layer: i64, field: &str, value: &str) -> rusqlite::Result<Option<i64>> {
        self.tx
            .query_row(
                "SELECT oid FROM features WHERE service = ?1 AND layer = ?2 AND upper(json_extract(attributes, '$.' || json_quote(?3))) = upper(?4)",
                params![self.service, layer, field, value],
                |r| r.get(0),
            )
            .optional()
    }

    /// Record that a layer's data (or, with `schema`, its definition) changed now, and move the
    /// service's `serverGen`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn touch(&self, layer: i64, schema: bool) -> rusqlite::Result<()> {
        self.tx.execute(
            "UPDATE layer_state SET data_edited = CASE WHEN ?4 THEN data_edited ELSE ?3 END, schema_edited = CASE WHEN ?4 THEN ?3 ELSE schema_edited END WHERE service = ?1 AND layer = ?2",
            params![self.service, layer, self.now, schema],
        )?;
        self.tx.execute(
            "UPDATE services SET server_gen = server_gen + 1 WHERE item = ?1",
            [self.service],
        )?;
        Ok(())
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Feature> {
    let attributes: String = r.get(1)?;
    let geometry: Option<String> = r.get(2)?;
    Ok(Feature {
        oid: r.get(0)?,
        attributes: serde_json::from_str(&attributes).unwrap_or_default(),
        geometry: geometry.and_then(|g| serde_json::from_str(&g).ok()),
    })
}

impl Store {
    /// Run `f` on a service's features in one transaction: committed when it returns `Ok`,
    /// rolled back whole otherwise. `now` is the edit time recorded by [`Edit::touch`].
    ///
    /// # Errors
    /// What `f` returns; SQLite errors converted by `E: From<rusqlite::Error>`.
    pub fn edit<T, E: From<rusqlite::Error>>(
        &self,
        service: &str,
        now: i64,
        f: impl FnOnce(&Edit<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn.lock().expect("store lock poisoned");
        let tx = conn.transaction()?;
        let out = f(&Edit {
            tx: &tx,
            service,
            now,
        })?;
        tx.commit()?;
        Ok(out)
    }

    /// Make (or keep) the bookkeeping row of a service's layer, dated `now`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_layer_state(&self, service: &str, layer: i64, now: i64) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO layer_state (service, layer, next_oid, data_edited, schema_edited) VALUES (?1, ?2, 1, ?3, ?3)",
                params![service, layer, now],
            )
            .map(|_| ())
        })
    }

    /// Drop a layer: its features, attachments and bookkeeping (`deleteFromDefinition`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn drop_layer(&self, service: &str, layer: i64) -> rusqlite::Result<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM features WHERE service = ?1 AND layer = ?2",
                params![service, layer],
            )?;
            c.execute(
                "DELETE FROM layer_state WHERE service = ?1 AND layer = ?2",
                params![service, layer],
            )?;
            c.execute(
                "DELETE FROM attachments WHERE service = ?1 AND layer = ?2",
                params![service, layer],
            )?;
            self.sweep(c)
        })
    }

    /// When a layer's data and schema were last edited; `None` for a layer with no bookkeeping
    /// (a view's).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn edit_dates(&self, service: &str, layer: i64) -> rusqlite::Result<Option<EditDates>> {
        self.with(|c| {
            c.query_row(
                "SELECT data_edited, schema_edited FROM layer_state WHERE service = ?1 AND layer = ?2",
                params![service, layer],
                |r| {
                    Ok(EditDates {
                        data: r.get(0)?,
                        schema: r.get(1)?,
                    })
                },
            )
            .optional()
        })
    }

    /// A service's generation, moved by every edit (`serverGens`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn server_gen(&self, service: &str) -> rusqlite::Result<i64> {
        self.with(|c| {
            c.query_row(
                "SELECT server_gen FROM services WHERE item = ?1",
                [service],
                |r| r.get(0),
            )
        })
    }

    /// A layer's features in object id order, narrowed by `selection`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn features(
        &self,
        service: &str,
        layer: i64,
        selection: &Selection<'_>,
    ) -> rusqlite::Result<Vec<Feature>> {
        let mut sql = String::from(
            "SELECT oid, attributes, geometry FROM features WHERE service = ?1 AND layer = ?2",
        );
        if selection.object_ids.is_some() {
            sql.push_str(" AND oid IN (SELECT value FROM json_each(?3))");
        } else {
            sql.push_str(" AND ?3 IS NULL");
        }
        if selection.envelope.is_some() {
            sql.push_str(" AND xmax >= ?4 AND xmin <= ?6 AND ymax >= ?5 AND ymin <= ?7");
        } else {
            sql.push_str(" AND ?4 IS NULL AND ?5 IS NULL AND ?6 IS NULL AND ?7 IS NULL");
        }
        sql.push_str(" ORDER BY oid");
        let ids = selection
            .object_ids
            .map(|ids| Value::from(ids.to_vec()).to_string());
        let env = selection.envelope;
        self.with(|c| {
            let mut stmt = c.prepare(&sql)?;
            stmt.query_map(
                params![
                    service,
                    layer,
                    ids,
                    env.map(|e| e[0]),
                    env.map(|e| e[1]),
                    env.map(|e| e[2]),
                    env.map(|e| e[3]),
                ],
                row,
            )?
            .collect()
        })
    }
}

impl Store {
    /// The envelope of a layer's features (`None` when none has a geometry).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn layer_extent(&self, service: &str, layer: i64) -> rusqlite::Result<Option<[f64; 4]>> {
        self.with(|c| {
            c.query_row(
                "SELECT MIN(xmin), MIN(ymin), MAX(xmax), MAX(ymax) FROM features WHERE service = ?1 AND layer = ?2 AND xmin IS NOT NULL",
                params![service, layer],
                |r| {
                    Ok(match (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?) {
                        (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
                        _ => None,
                    })
                },
            )
        })
    }
}

/// A file attached to a feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Its id, unique in its layer.
    pub id: i64,
    /// The feature's object id.
    pub parent: i64,
    /// Its GlobalID.
    pub global_id: String,
    /// Its file name.
    pub name: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its keywords.
    pub keywords: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A file being attached to feature `parent`.
#[derive(Debug, Clone, Copy)]
pub struct NewAttachment<'a> {
    /// The feature's object id.
    pub parent: i64,
    /// The attachment's GlobalID.
    pub global_id: &'a str,
    /// Its file name.
    pub name: &'a str,
    /// Its MIME type.
    pub content_type: &'a str,
    /// Its keywords.
    pub keywords: &'a str,
}

fn attachment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: r.get(0)?,
        parent: r.get(1)?,
        global_id: r.get(2)?,
        name: r.get(3)?,
        content_type: r.get(4)?,
        keywords: r.get(5)?,
        size: u64::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
    })
}

const ATTACHMENT_COLUMNS: &str = "id, parent, globalid, name, content_type, keywords, size";

impl Edit<'_> {
    /// Attach a file to a feature; returns the attachment's id. The data must have been
    /// registered ([`Store::register_data`]) in this transaction.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn attach(
        &self,
        layer: i64,
        file: &NewAttachment<'_>,
        data: &super::Stored,
    ) -> rusqlite::Result<i64> {
        let id = self.take_next(layer, Counter::Attachment)?;
        let (inline, key) = data.columns();
        self.tx.execute(
            "INSERT INTO attachments (service, layer, id, parent, globalid, name, content_type, keywords, data, blob, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![self.service, layer, id, file.parent, file.global_id, file.name, file.content_type, file.keywords, inline, key, i64::try_from(data.len()).unwrap_or(i64::MAX)],
        )?;
        Ok(id)
    }

    /// Replace an attachment's file; its GlobalID, `None` when feature `parent` has no such
    /// attachment.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn replace_attachment(
        &self,
        layer: i64,
        parent: i64,
        id: i64,
        name: &str,
        content_type: &str,
        data: &super::Stored,
    ) -> rusqlite::Result<Option<String>> {
        let (inline, key) = data.columns();
        self.tx
            .query_row(
                "UPDATE attachments SET name = ?5, content_type = ?6, data = ?7, blob = ?8, size = ?9 WHERE service = ?1 AND layer = ?2 AND parent = ?3 AND id = ?4 RETURNING globalid",
                params![self.service, layer, parent, id, name, content_type, inline, key, i64::try_from(data.len()).unwrap_or(i64::MAX)],
                |r| r.get(0),
            )
            .optional()
    }

    /// Remove an attachment of feature `parent`; `false` when there is none by that id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn detach(&self, layer: i64, parent: i64, id: i64) -> rusqlite::Result<bool> {
        Ok(self.tx.execute(
            "DELETE FROM attachments WHERE service = ?1 AND layer = ?2 AND parent = ?3 AND id = ?4",
            params![self.service, layer, parent, id],
        )? == 1)
    }

    /// Remove every attachment of a feature (it is being deleted).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn detach_all(&self, layer: i64, parent: i64) -> rusqlite::Result<usize> {
        self.tx.execute(
            "DELETE FROM attachments WHERE service = ?1 AND layer = ?2 AND parent = ?3",
            params![self.service, layer, parent],
        )
    }
}

impl Store {
    /// Record new data about to be referred to by an attachment (inside its transaction).
    ///
    /// # Errors
    /// SQLite errors, or the blob file missing.
    pub fn register_data(&self, edit: &Edit<'_>, data: &super::Stored) -> rusqlite::Result<()> {
        self.register(edit.tx, data)
    }

    /// Remove data files nothing refers to any more (after attachments were replaced or removed).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn sweep_data(&self) -> rusqlite::Result<()> {
        self.with(|c| self.sweep(c))
    }

    /// The attachments of a layer's features (`parents`: only those features'), by feature then id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn attachments(
        &self,
        service: &str,
        layer: i64,
        parents: Option<&[i64]>,
    ) -> rusqlite::Result<Vec<Attachment>> {
        let ids = parents.map(|p| Value::from(p.to_vec()).to_string());
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE service = ?1 AND layer = ?2 AND (?3 IS NULL OR parent IN (SELECT value FROM json_each(?3))) ORDER BY parent, id"
            ))?;
            stmt.query_map(params![service, layer, ids], attachment_row)?
                .collect()
        })
    }

    /// One attachment's description and data.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn attachment(
        &self,
        service: &str,
        layer: i64,
        parent: i64,
        id: i64,
    ) -> rusqlite::Result<Option<(Attachment, super::Stored)>> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {ATTACHMENT_COLUMNS}, data, blob FROM attachments WHERE service = ?1 AND layer = ?2 AND parent = ?3 AND id = ?4"),
                params![service, layer, parent, id],
                |r| {
                    let a = attachment_row(r)?;
                    let size = i64::try_from(a.size).unwrap_or(i64::MAX);
                    let stored = super::Stored::from_columns(r.get(7)?, r.get(8)?, Some(size))
                        .unwrap_or(super::Stored::Inline(Vec::new()));
                    Ok((a, stored))
                },
            )
            .optional()
        })
    }
}
