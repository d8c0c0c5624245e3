//! Edits of hosted layers (spec/portal-api.md, "applyEdits"): `applyEdits` on a layer and on the
//! service, `addFeatures`, `updateFeatures` and `deleteFeatures` (by ids, `where` or geometry),
//! with the per-feature results the server returns. Each request is one SQLite transaction:
//! with `rollbackOnFailure` (the default) one failed edit undoes them all, and the others answer
//! `1003 Operation rolled back.` A data edit moves the layer's `editingInfo` dates and the
//! service's `serverGen`, never the item's `modified`. Editor tracking fills its four fields
//! when the service enables it. An updatable view's edits reach its source.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::auth::internal;
use super::layers::{capabilities, global_id_field, id_of, is_table, object_id_field};
use super::{Call, error};
use crate::store::{Edit, Service};

fn bad(message: &str, detail: &str) -> Response {
    error(400, message, &[detail])
}

/// One feature's edit result.
fn ok(oid: i64, global: Option<&str>) -> Value {
    json!({"objectId": oid, "globalId": global, "success": true})
}

fn failed(oid: i64, global: Option<&str>, code: i64, description: &str) -> Value {
    json!({"objectId": oid, "globalId": global, "success": false, "error": {"code": code, "description": description}})
}

/// A new GlobalID, `{8-4-4-4-12}` in capitals as hosted layers write them.
pub(super) fn new_global_id() -> String {
    let h = crate::new_id().to_ascii_uppercase();
    format!(
        "{{{}-{}-{}-{}-{}}}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// What one layer's edits are made against: the layer whose data changes (a view's source), its
/// fields, and what the layer edited through (the view itself) allows.
pub(super) struct Target {
    pub service: Service,
    pub layer: Value,
    allowed: Vec<String>,
    visible: Option<Vec<String>>,
    tracking: Option<Value>,
    geometry_updates: bool,
}

impl Target {
    pub(super) fn of(call: &Call, service: &Service, layer: &Value) -> Result<Self, Response> {
        let (data_service, data_layer) = super::query::data_of(call, service, layer)?;
        let is_view = service.kind == super::views::VIEW_KIND;
        if is_view && service.definition["isUpdatableView"].as_bool() == Some(false) {
            return Err(bad(
                "Requested operation is not supported by this service.",
                "The view is not updatable.",
            ));
        }
        let tracking = data_service.definition["editorTrackingInfo"]["enableEditorTracking"]
            .as_bool()
            .unwrap_or(false)
            .then(|| data_layer["editFieldsInfo"].clone())
            .filter(Value::is_object);
        Ok(Self {
            allowed: capabilities(service, layer),
            visible: is_view.then(|| super::query::field_names(layer)),
            tracking,
            geometry_updates: layer["allowGeometryUpdates"].as_bool().unwrap_or(true)
                && service.definition["allowGeometryUpdates"]
                    .as_bool()
                    .unwrap_or(true),
            service: data_service,
            layer: data_layer,
        })
    }

    /// Refuse the whole request when the layer does not allow an operation.
    pub(super) fn require(&self, capability: &str) -> Result<(), Response> {
        if self
            .allowed
            .iter()
            .any(|c| c == &capability.to_ascii_lowercase())
        {
            Ok(())
        } else {
            Err(bad(
                "Requested operation is not supported by this service.",
                &format!(
                    "The layer's capabilities ({}) do not include {capability}.",
                    self.allowed.join(",")
                ),
            ))
        }
    }

    fn field(&self, name: &str) -> Option<&Value> {
        let visible = self
            .visible
            .as_ref()
            .is_none_or(|v| v.iter().any(|f| f.eq_ignore_ascii_case(name)));
        self.layer["fields"]
            .as_array()?
            .iter()
            .find(|f| {
                f["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .filter(|_| visible)
    }

    fn tracking_field(&self, key: &str) -> Option<&str> {
        self.tracking.as_ref()?.get(key)?.as_str()
    }

    /// The attributes an edit gives, checked against the fields and keyed by their names:
    /// unknown fields, values of the wrong type, over-long text and nulls in fields that take
    /// none fail with the server's codes. System fields (object id, GlobalID unless kept,
    /// editor tracking) are left out.
    fn checked_attributes(
        &self,
        given: &Map<String, Value>,
        keep_global: bool,
    ) -> Result<Map<String, Value>, (i64, String)> {
        let oid = object_id_field(&self.layer);
        let global = global_id_field(&self.layer);
        let tracked: Vec<&str> = [
            "creationDateField",
            "creatorField",
            "editDateField",
            "editorField",
        ]
        .iter()
        .filter_map(|k| self.tracking_field(k))
        .collect();
        let mut out = Map::new();
        for (name, value) in given {
            if name.eq_ignore_ascii_case(oid) {
                continue;
            }
            let Some(field) = self.field(name) else {
                return Err((1000, format!("Field '{name}' does not exist in the layer.")));
            };
            let field_name = field["name"].as_str().unwrap_or(name);
            if global.is_some_and(|g| g.eq_ignore_ascii_case(field_name)) && !keep_global {
                continue;
            }
            if tracked.iter().any(|t| t.eq_ignore_ascii_case(field_name)) {
                continue;
            }
            if field["editable"] == json!(false)
                && !global.is_some_and(|g| g.eq_ignore_ascii_case(field_name))
            {
                return Err((1023, format!("Field: {field_name} is not editable.")));
            }
            let kind = field["type"].as_str().unwrap_or_default();
            let value = match (kind, value) {
                (_, Value::Null) => {
                    if field["nullable"] == json!(false) {
                        return Err((
                            1001,
                            format!("Field: {field_name} is not nullable. Cannot set null value."),
                        ));
                    }
                    Value::Null
                }
                (
                    "esriFieldTypeString"
                    | "esriFieldTypeGUID"
                    | "esriFieldTypeGlobalID"
                    | "esriFieldTypeXML",
                    Value::String(s),
                ) => {
                    if let Some(max) = field["length"].as_u64()
                        && s.chars().count() as u64 > max
                    {
                        return Err((
                            1016,
                            format!(
                                "Setting of value for {field_name} failed: {} characters, the field holds {max}.",
                                s.chars().count()
                            ),
                        ));
                    }
                    Value::String(s.clone())
                }
                ("esriFieldTypeString", Value::Number(n)) => Value::String(n.to_string()),
                (
                    "esriFieldTypeSmallInteger"
                    | "esriFieldTypeInteger"
                    | "esriFieldTypeBigInteger",
                    v,
                ) => {
                    match v
                        .as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    {
                        Some(n) => json!(n),
                        None => {
                            return Err((
                                1016,
                                format!(
                                    "Setting of value for {field_name} failed: {v} is not an integer."
                                ),
                            ));
                        }
                    }
                }
                ("esriFieldTypeDouble" | "esriFieldTypeSingle" | "esriFieldTypeDate", v) => match v
                    .as_f64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                {
                    // Epoch milliseconds fit an i64; the cast saturates otherwise.
                    #[allow(clippy::cast_possible_truncation)]
                    Some(n) if kind == "esriFieldTypeDate" => json!(n.round() as i64),
                    Some(n) => json!(n),
                    None => {
                        return Err((
                            1016,
                            format!(
                                "Setting of value for {field_name} failed: {v} is not a number."
                            ),
                        ));
                    }
                },
                (_, v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => v.clone(),
                (_, v) => {
                    return Err((
                        1016,
                        format!("Setting of value for {field_name} failed: {v} is not a value."),
                    ));
                }
            };
            out.insert(field_name.to_owned(), value);
        }
        Ok(out)
    }

    /// The geometry an edit gives, checked against the layer (tables take none).
    fn checked_geometry(&self, feature: &Value) -> Result<Option<Value>, (i64, String)> {
        let Some(g) = feature.get("geometry").filter(|g| !g.is_null()) else {
            return Ok(None);
        };
        if is_table(&self.layer) {
            return Ok(None);
        }
        let kind = self.layer["geometryType"].as_str().unwrap_or_default();
        super::geometry::checked(g, kind)
            .map(Some)
            .map_err(|e| (1015, format!("Geometry could not be set: {e}.")))
    }

    fn stamp(&self, attributes: &mut Map<String, Value>, who: &str, now: i64, creating: bool) {
        let mut set = |key: &str, value: Value| {
            if let Some(f) = self.tracking_field(key) {
                attributes.insert(f.to_owned(), value);
            }
        };
        if creating {
            set("creationDateField", json!(now));
            set("creatorField", json!(who));
        }
        set("editDateField", json!(now));
        set("editorField", json!(who));
    }
}

/// One layer's edits as a request gives them.
pub(super) struct Edits {
    pub adds: Vec<Value>,
    pub updates: Vec<Value>,
    pub deletes: Vec<Value>,
}

/// The results of one layer's edits.
#[derive(Default)]
pub(super) struct Results {
    pub adds: Vec<Value>,
    pub updates: Vec<Value>,
    pub deletes: Vec<Value>,
    pub failed: bool,
    pub changed: bool,
}

/// A JSON array parameter (or a single object, as clients also send).
pub(super) fn json_list(text: Option<&str>, name: &str) -> Result<Vec<Value>, Response> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(list)) => Ok(list),
        Ok(v @ Value::Object(_)) => Ok(vec![v]),
        _ => Err(bad(
            "Unable to complete operation.",
            &format!("'{name}' is not a JSON array of features."),
        )),
    }
}

/// `deletes`: a comma list or a JSON array of object ids (or GlobalIDs with `useGlobalIds`).
fn delete_list(text: Option<&str>) -> Vec<Value> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Vec::new();
    };
    if let Ok(Value::Array(list)) = serde_json::from_str::<Value>(text) {
        return list;
    }
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>().map_or_else(|_| json!(s), |n| json!(n)))
        .collect()
}

#[derive(Clone, Copy)]
enum Kind {
    Add,
    Update,
    Delete,
}

/// Apply one layer's edits inside `edit`.
fn apply(
    target: &Target,
    edits: &Edits,
    use_global_ids: bool,
    who: &str,
    now: i64,
    edit: &Edit<'_>,
) -> rusqlite::Result<Results> {
    let layer = id_of(&target.layer);
    let global_field = global_id_field(&target.layer).map(str::to_owned);
    let oid_field = object_id_field(&target.layer).to_owned();
    let mut results = Results::default();
    let fail = |results: &mut Results, kind: Kind, v: Value| {
        results.failed = true;
        match kind {
            Kind::Add => results.adds.push(v),
            Kind::Update => results.updates.push(v),
            Kind::Delete => results.deletes.push(v),
        }
    };
    for feature in &edits.adds {
        let given = feature["attributes"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let checked = target
            .checked_attributes(&given, use_global_ids)
            .and_then(|a| target.checked_geometry(feature).map(|g| (a, g)));
        let (mut attributes, geometry) = match checked {
            Ok(x) => x,
            Err((code, description)) => {
                fail(
                    &mut results,
                    Kind::Add,
                    failed(-1, None, code, &description),
                );
                continue;
            }
        };
        let mut global = None;
        if let Some(field) = &global_field {
            let given = attributes
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_owned);
            let id = match given {
                Some(g) if use_global_ids => {
                    if edit.find(layer, field, &g)?.is_some() {
                        fail(
                            &mut results,
                            Kind::Add,
                            failed(
                                -1,
                                Some(&g),
                                1022,
                                "Unique constraint violation error on inserting the value.",
                            ),
                        );
                        continue;
                    }
                    g
                }
                _ => new_global_id(),
            };
            attributes.insert(field.clone(), json!(id));
            global = Some(id);
        }
        // A field not given takes its default, else null: every row has every field, as a
        // table's columns do.
        for f in target.layer["fields"].as_array().into_iter().flatten() {
            if let Some(name) = f["name"].as_str()
                && name != oid_field
                && !attributes.contains_key(name)
            {
                attributes.insert(name.to_owned(), f["defaultValue"].clone());
            }
        }
        target.stamp(&mut attributes, who, now, true);
        let oid = edit.insert(layer, &attributes, geometry.as_ref())?;
        results.changed = true;
        results.adds.push(ok(oid, global.as_deref()));
    }
    for feature in &edits.updates {
        let given = feature["attributes"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let key = if use_global_ids {
            global_field.as_deref()
        } else {
            None
        };
        let (oid, global) = match key {
            Some(field) => {
                let g = given
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(field))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_owned);
                let Some(g) = g else {
                    fail(
                        &mut results,
                        Kind::Update,
                        failed(-1, None, 1020, "Missing GlobalID."),
                    );
                    continue;
                };
                (edit.find(layer, field, &g)?, Some(g))
            }
            None => (
                given
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&oid_field))
                    .and_then(|(_, v)| v.as_i64()),
                None,
            ),
        };
        let Some(current) = oid.map(|o| edit.get(layer, o)).transpose()?.flatten() else {
            fail(
                &mut results,
                Kind::Update,
                failed(
                    oid.unwrap_or(-1),
                    global.as_deref(),
                    1011,
                    "Object is missing.",
                ),
            );
            continue;
        };
        let mut given = given;
        if let Some(field) = &global_field {
            given.retain(|k, _| !k.eq_ignore_ascii_case(field));
        }
        let checked = target.checked_attributes(&given, false).and_then(|a| {
            let g = target.checked_geometry(feature)?;
            if g.is_some() && !target.geometry_updates {
                return Err((1004, "Geometry update not allowed.".to_owned()));
            }
            Ok((a, g))
        });
        let (changes, geometry) = match checked {
            Ok(x) => x,
            Err((code, description)) => {
                fail(
                    &mut results,
                    Kind::Update,
                    failed(current.oid, global.as_deref(), code, &description),
                );
                continue;
            }
        };
        let mut attributes = current.attributes.clone();
        attributes.extend(changes);
        target.stamp(&mut attributes, who, now, false);
        let geometry = geometry.or(current.geometry);
        edit.update(layer, current.oid, &attributes, geometry.as_ref())?;
        let global = global_field
            .as_ref()
            .and_then(|f| attributes.get(f))
            .and_then(Value::as_str)
            .map(str::to_owned);
        results.changed = true;
        results.updates.push(ok(current.oid, global.as_deref()));
    }
    for id in &edits.deletes {
        let (oid, global) = match (&global_field, use_global_ids, id) {
            (Some(field), true, Value::String(g)) => (edit.find(layer, field, g)?, Some(g.clone())),
            (_, _, v) => (
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok())),
                None,
            ),
        };
        let removed = match oid {
            Some(o) => {
                let global = global.clone().or_else(|| {
                    global_field.as_ref().and_then(|f| {
                        edit.get(layer, o).ok().flatten().and_then(|c| {
                            c.attributes
                                .get(f)
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                        })
                    })
                });
                let removed = edit.delete(layer, o)?;
                if removed {
                    edit.detach_all(layer, o)?;
                }
                removed.then_some((o, global))
            }
            None => None,
        };
        match removed {
            Some((o, g)) => {
                results.changed = true;
                results.deletes.push(ok(o, g.as_deref()));
            }
            None => fail(
                &mut results,
                Kind::Delete,
                failed(
                    oid.unwrap_or(-1),
                    global.as_deref(),
                    1011,
                    "Object is missing.",
                ),
            ),
        }
    }
    if results.changed {
        edit.touch(layer, false)?;
    }
    Ok(results)
}

/// The successful results of a rolled-back request, each now `1003 Operation rolled back.`
fn rolled_back(results: &mut Results) {
    for list in [
        &mut results.adds,
        &mut results.updates,
        &mut results.deletes,
    ] {
        for r in list.iter_mut() {
            if r["success"] == json!(true) {
                *r = failed(
                    r["objectId"].as_i64().unwrap_or(-1),
                    r["globalId"].as_str(),
                    1003,
                    "Operation rolled back.",
                );
            }
        }
    }
}

enum Abort {
    Db(rusqlite::Error),
    RolledBack(Vec<Results>),
}

impl From<rusqlite::Error> for Abort {
    fn from(e: rusqlite::Error) -> Self {
        Self::Db(e)
    }
}

/// Apply several layers' edits of one service in one transaction.
pub(super) fn apply_all(
    call: &Call,
    work: &[(Target, Edits)],
    rollback: bool,
    use_global_ids: bool,
) -> Result<Vec<Results>, Response> {
    let who = call
        .user
        .as_ref()
        .map_or("", |u| u.username.as_str())
        .to_owned();
    let now = crate::now_ms();
    let Some(first) = work.first() else {
        return Ok(Vec::new());
    };
    let service = first.0.service.item.clone();
    if work.iter().any(|(t, _)| t.service.item != service) {
        return Err(bad(
            "Unable to complete operation.",
            "The edits reach layers of more than one service.",
        ));
    }
    let outcome = call.shared.store.edit(&service, now, |edit| {
        let mut all = Vec::with_capacity(work.len());
        for (target, edits) in work {
            all.push(apply(target, edits, use_global_ids, &who, now, edit)?);
        }
        if rollback && all.iter().any(|r| r.failed) {
            return Err(Abort::RolledBack(all));
        }
        Ok(all)
    });
    // Attachments of deleted features leave their files behind until swept.
    call.shared.store.sweep_data().map_err(internal)?;
    match outcome {
        Ok(all) => Ok(all),
        Err(Abort::RolledBack(mut all)) => {
            all.iter_mut().for_each(rolled_back);
            Ok(all)
        }
        Err(Abort::Db(e)) => Err(internal(e)),
    }
}

fn use_global_ids(call: &Call) -> bool {
    call.params.flag("useGlobalIds", false)
}

fn rollback(call: &Call) -> bool {
    call.params
        .get("rollbackOnFailure")
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"))
}

fn refuse_unserved(call: &Call) -> Result<(), Response> {
    for key in [
        "gdbVersion",
        "sessionID",
        "attachments",
        "editsUploadId",
        "datumTransformation",
    ] {
        if call.params.get(key).is_some() {
            return Err(bad(
                "Unable to complete operation.",
                &format!("'{key}' is not supported by the sandbox."),
            ));
        }
    }
    Ok(())
}

/// `…/FeatureServer/<layer>/applyEdits`: `adds`, `updates`, `deletes`.
pub(super) fn apply_edits(
    call: &Call,
    service: &Service,
    layer: &Value,
) -> Result<Response, Response> {
    refuse_unserved(call)?;
    let p = &call.params;
    let edits = Edits {
        adds: json_list(p.get("adds"), "adds")?,
        updates: json_list(p.get("updates"), "updates")?,
        deletes: delete_list(p.get("deletes")),
    };
    let r = apply_one(call, service, layer, edits, use_global_ids(call))?;
    Ok(call.reply(
        &json!({"addResults": r.adds, "updateResults": r.updates, "deleteResults": r.deletes}),
    ))
}

/// One layer's edits, once the layer allows each kind of them.
fn apply_one(
    call: &Call,
    service: &Service,
    layer: &Value,
    edits: Edits,
    use_global_ids: bool,
) -> Result<Results, Response> {
    let target = Target::of(call, service, layer)?;
    require_for(&target, &edits)?;
    let mut results = apply_all(call, &[(target, edits)], rollback(call), use_global_ids)?;
    Ok(results.pop().unwrap_or_default())
}

fn require_for(target: &Target, edits: &Edits) -> Result<(), Response> {
    if !edits.adds.is_empty() {
        target.require("Create")?;
    }
    if !edits.updates.is_empty() {
        target.require("Update")?;
    }
    if !edits.deletes.is_empty() {
        target.require("Delete")?;
    }
    Ok(())
}

/// `…/FeatureServer/applyEdits`: `edits`, a JSON array of `{id, adds, updates, deletes}`.
pub(super) fn apply_service_edits(call: &Call, service: &Service) -> Result<Response, Response> {
    refuse_unserved(call)?;
    let list = json_list(call.params.get("edits"), "edits")?;
    let mut work = Vec::with_capacity(list.len());
    for entry in &list {
        let id = entry["id"]
            .as_i64()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let layer = super::layers::find(service, &id).ok_or_else(|| {
            bad(
                "Unable to complete operation.",
                &format!("Layer not found: {}", entry["id"]),
            )
        })?;
        let list_of = |key: &str| entry[key].as_array().cloned().unwrap_or_default();
        let edits = Edits {
            adds: list_of("adds"),
            updates: list_of("updates"),
            deletes: list_of("deletes"),
        };
        let target = Target::of(call, service, layer)?;
        require_for(&target, &edits)?;
        work.push((target, edits));
    }
    let results = apply_all(call, &work, rollback(call), use_global_ids(call))?;
    let answer: Vec<Value> = list
        .iter()
        .zip(results)
        .map(|(entry, r)| json!({"id": entry["id"], "addResults": r.adds, "updateResults": r.updates, "deleteResults": r.deletes}))
        .collect();
    Ok(call.reply(&Value::Array(answer)))
}

/// `addFeatures` (`features`) and `updateFeatures` (`features`).
pub(super) fn add_or_update(
    call: &Call,
    service: &Service,
    layer: &Value,
    adding: bool,
) -> Result<Response, Response> {
    refuse_unserved(call)?;
    let features = json_list(call.params.get("features"), "features")?;
    let edits = if adding {
        Edits {
            adds: features,
            updates: Vec::new(),
            deletes: Vec::new(),
        }
    } else {
        Edits {
            adds: Vec::new(),
            updates: features,
            deletes: Vec::new(),
        }
    };
    let r = apply_one(call, service, layer, edits, use_global_ids(call))?;
    Ok(call.reply(&if adding {
        json!({"addResults": r.adds})
    } else {
        json!({"updateResults": r.updates})
    }))
}

/// `deleteFeatures`: `objectIds`, `where` and/or a spatial filter, all of them narrowing.
pub(super) fn delete_features(
    call: &Call,
    service: &Service,
    layer: &Value,
) -> Result<Response, Response> {
    refuse_unserved(call)?;
    let p = &call.params;
    if p.get("objectIds").is_none() && p.get("where").is_none() && p.get("geometry").is_none() {
        return Err(bad(
            "Unable to complete operation.",
            "'objectIds', 'where' or 'geometry' must be specified.",
        ));
    }
    // Refused before the rows are looked for, as the server does.
    Target::of(call, service, layer)?.require("Delete")?;
    let fields = super::query::field_names(layer);
    let clause = super::query::where_clause(p.get("where").unwrap_or(""), &fields)?;
    let ids = p
        .get("objectIds")
        .map(|l| super::query::object_id_list(l, "objectIds"))
        .transpose()?;
    let spatial = p
        .get("geometry")
        .map(|g| super::geometry::parse_filter(g, p.get("geometryType")))
        .transpose()
        .map_err(|e| {
            bad(
                "Unable to complete operation.",
                &format!("Invalid geometry: {e}"),
            )
        })?;
    let rows = super::query::matching(
        call,
        service,
        layer,
        clause.as_ref(),
        ids.as_deref(),
        spatial.as_ref().map(|f| (f, false)),
    )?;
    let edits = Edits {
        adds: Vec::new(),
        updates: Vec::new(),
        deletes: rows.iter().map(|f| json!(f.oid)).collect(),
    };
    let r = apply_one(call, service, layer, edits, false)?;
    Ok(call.reply(&json!({"deleteResults": r.deletes})))
}
