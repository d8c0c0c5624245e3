//! The admin side of hosted services, `…/rest/admin/services/Hosted/<name>/FeatureServer`
//! (spec/portal-api.md): the admin definition (the service with every layer's whole JSON, a
//! view's `adminLayerInfo`), and `addToDefinition`, `updateDefinition` and
//! `deleteFromDefinition` at service and at layer level. Definitions are stored as given and
//! served back so; a change of a layer's fields moves its `schemaLastEditDate`.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::auth::internal;
use super::layers::{self, id_of, is_table};
use super::views::VIEW_KIND;
use super::{Call, FORBIDDEN, error};
use crate::store::Service;

fn bad(message: &str) -> Response {
    error(400, message, &[])
}

/// The service `name` of this organization, when the caller owns it or is an administrator.
pub(super) fn owned_service(call: &Call, name: &str) -> Result<Service, Response> {
    let (service, item) = super::services::service_named(call, name)?;
    let user = call.require_user()?;
    if item.owner != user.username && !call.is_admin() {
        return Err(error(403, FORBIDDEN, &[]));
    }
    Ok(service)
}

fn json_param(call: &Call, key: &str) -> Result<Value, Response> {
    call.params
        .get(key)
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .filter(Value::is_object)
        .ok_or_else(|| bad(&format!("'{key}' must be specified as a JSON object.")))
}

fn save_layers(call: &Call, service: &Service) -> Result<(), Response> {
    call.shared
        .store
        .set_service_layers(&call.org, &service.name, &service.layers)
        .map_err(internal)
}

fn save_definition(call: &Call, service: &Service) -> Result<(), Response> {
    call.shared
        .store
        .set_service_definition(&call.org, &service.name, &service.definition)
        .map_err(internal)
}

/// Record a schema change of a layer (a view's: of nothing, it has no data of its own).
fn schema_changed(call: &Call, service: &Service, layer: i64) -> Result<(), Response> {
    if service.kind == VIEW_KIND {
        return Ok(());
    }
    call.shared
        .store
        .edit(&service.item, crate::now_ms(), |e| e.touch(layer, true))
        .map_err(internal)
}

fn success(call: &Call) -> Response {
    call.reply(&json!({"success": true}))
}

/// `GET …/admin/…/FeatureServer[/<layer>]`: the service's owner or an administrator reads the
/// definition: the service with every layer's whole JSON, and for a view's layers
/// `adminLayerInfo.viewLayerDefinition` naming their source.
pub(super) fn admin_service(
    call: &Call,
    name: &str,
    layer: Option<&str>,
) -> Result<Response, Response> {
    let service = owned_service(call, name)?;
    let full = |l: &Value| -> Result<Value, Response> {
        let mut json = layers::served_layer(call, &service, l)?;
        if let Some(source) = l.get("source") {
            json["adminLayerInfo"] = match l.get("joins").and_then(Value::as_array) {
                // A join view's definition has the `table` form, with its related tables.
                Some(joins) => json!({"viewLayerDefinition": {"table": {
                    "name": l["name"], "sourceServiceName": source["service"],
                    "sourceLayerId": source["layer"], "sourceLayerFields": "*",
                    "relatedTables": joins.iter().map(|j| json!({
                        "name": j["name"], "sourceServiceName": j["service"],
                        "sourceLayerId": j["layer"], "sourceLayerFields": "*",
                        "parentKeyFields": j["parentKeyFields"], "keyFields": j["keyFields"],
                        "type": j["type"],
                    })).collect::<Vec<_>>(),
                }}}),
                None => json!({"viewLayerDefinition": {
                    "sourceServiceName": source["service"], "sourceLayerId": source["layer"],
                    "sourceLayerFields": l["fields"].as_array().into_iter().flatten()
                        .map(|f| json!({"name": f["name"], "alias": f["alias"], "source": f["name"]}))
                        .collect::<Vec<_>>(),
                }}),
            };
        }
        Ok(json)
    };
    if let Some(index) = layer {
        let l = layers::find(&service, index).ok_or_else(layers::no_layer)?;
        return Ok(call.reply(&full(l)?));
    }
    let mut out = layers::served_service(call, &service)?;
    let all = service.layers.as_array().cloned().unwrap_or_default();
    let mut features = Vec::new();
    let mut tables = Vec::new();
    for l in &all {
        let json = full(l)?;
        if is_table(l) {
            tables.push(json);
        } else {
            features.push(json);
        }
    }
    out["adminServiceInfo"] =
        json!({"name": service.name, "type": "FeatureServer", "status": "Started"});
    out["layers"] = Value::Array(features);
    out["tables"] = Value::Array(tables);
    Ok(call.reply(&out))
}

/// `POST …/FeatureServer/addToDefinition`: `addToDefinition` with `layers` and `tables`.
pub(super) fn add_to_definition(call: &Call, name: &str) -> Result<Response, Response> {
    owned_service(call, name)?;
    let definition = json_param(call, "addToDefinition")?;
    add_layers(call, name, &definition)?;
    Ok(success(call))
}

/// Add the `layers` and `tables` of a definition to service `name`: each under its own `id`
/// (the next free one when it has none), kept whole. For a view each names its source
/// (`views::view_layer`) and each service it reads gets a `Service2Service` relationship to the
/// view (the source is the origin, as the REST reference's relationship types have it and Esri's
/// apps read it: `related_items("Service2Service", "forward")` of a layer lists its views).
pub(super) fn add_layers(call: &Call, name: &str, definition: &Value) -> Result<(), Response> {
    let store = &call.shared.store;
    let mut service = owned_service(call, name)?;
    let mut all = service.layers.as_array().cloned().unwrap_or_default();
    let mut sources = Vec::new();
    let now = crate::now_ms();
    let asked = ["layers", "tables"].into_iter().flat_map(|key| {
        definition[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(move |l| (key == "tables", l))
    });
    let mut added = Vec::new();
    for (in_tables, layer) in asked {
        let next = all
            .iter()
            .chain(&added)
            .map(id_of)
            .max()
            .map_or(0, |m| m + 1);
        let id = layer.get("id").and_then(Value::as_i64).unwrap_or(next);
        if id < 0 || all.iter().chain(&added).any(|l| id_of(l) == id) {
            return Err(bad(&format!(
                "A layer or table with id {id} already exists in '{name}'."
            )));
        }
        let id_u = u64::try_from(id).unwrap_or_default();
        let entry = if service.kind == VIEW_KIND {
            let (entry, read) = super::views::view_layer(call, id_u, layer)?;
            sources.extend(read);
            entry
        } else {
            let is_table = in_tables || layer.get("geometryType").is_none_or(Value::is_null);
            layers::from_definition(id_u, layer, is_table, &service.definition)
        };
        added.push(entry);
    }
    for entry in &added {
        if service.kind != VIEW_KIND {
            store
                .add_layer_state(&service.item, id_of(entry), now)
                .map_err(internal)?;
        }
    }
    all.extend(added);
    all.sort_by_key(id_of);
    service.layers = Value::Array(all);
    save_layers(call, &service)?;
    sources.sort();
    sources.dedup();
    for source in &sources {
        store
            .add_relationship(source, &service.item, "Service2Service")
            .map_err(internal)?;
    }
    Ok(())
}

/// `POST …/FeatureServer/updateDefinition`: the service's own properties. `capabilities` reach
/// every layer too; enabling editor tracking gives each layer its four fields and
/// `editFieldsInfo`; enabling sync gives each layer without one a GlobalID field.
/// The service properties a hosted feature service's `updateDefinition` takes.
const SERVICE_UPDATABLE: &[&str] = &[
    "allowGeometryUpdates",
    "allowTrueCurvesUpdates",
    "allowUpdateWithoutMValues",
    "capabilities",
    "copyrightText",
    "datumTransformations",
    "description",
    "editorTrackingInfo",
    "enableZDefaults",
    "fullExtent",
    "hasStaticData",
    "initialExtent",
    "isUpdatableView",
    "maxRecordCount",
    "onlyAllowTrueCurveUpdatesByTrueCurveClients",
    "preferredTimeReference",
    "serviceDescription",
    "sourceSchemaChangesAllowed",
    "supportsApplyEditsWithGlobalIds",
    "syncCapabilities",
    "syncEnabled",
    "units",
    "xssPreventionInfo",
    "zDefault",
];

pub(super) fn update_definition(call: &Call, name: &str) -> Result<Response, Response> {
    let mut service = owned_service(call, name)?;
    let update = json_param(call, "updateDefinition")?;
    for key in ["layers", "tables"] {
        if update.get(key).is_some() {
            return Err(bad(&format!(
                "'{key}' cannot be changed by updateDefinition: use addToDefinition or deleteFromDefinition."
            )));
        }
    }
    if let Some(k) = update
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .find(|k| !SERVICE_UPDATABLE.contains(&k.as_str()))
    {
        // As hosted servers answer a property they do not take (Esri/solution.js#424,
        // Esri/arcgis-python-api#2381); nothing changes.
        return Err(error(500, &format!("Field '{k}' cannot be updated."), &[]));
    }
    if !service.definition.is_object() {
        service.definition = json!({});
    }
    for (k, v) in update.as_object().into_iter().flatten() {
        if k == "editorTrackingInfo" && v.is_object() {
            let current = service.definition[k]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let mut merged = current;
            merged.extend(v.as_object().cloned().unwrap_or_default());
            service.definition[k] = Value::Object(merged);
        } else {
            service.definition[k] = v.clone();
        }
    }
    let tracking = service.definition["editorTrackingInfo"]["enableEditorTracking"] == json!(true);
    let sync = service.definition["syncEnabled"] == json!(true);
    let mut all = service.layers.as_array().cloned().unwrap_or_default();
    let mut schema = Vec::new();
    for layer in &mut all {
        if let Some(c) = update.get("capabilities") {
            layer["capabilities"] = c.clone();
        }
        if service.kind == VIEW_KIND {
            continue;
        }
        if tracking && !layer["editFieldsInfo"].is_object() {
            add_tracking_fields(layer);
            schema.push(id_of(layer));
        }
        if sync && layers::global_id_field(layer).is_none() {
            add_global_ids(call, &service, layer)?;
            schema.push(id_of(layer));
        }
    }
    service.layers = Value::Array(all);
    save_definition(call, &service)?;
    save_layers(call, &service)?;
    for layer in schema {
        schema_changed(call, &service, layer)?;
    }
    Ok(success(call))
}

/// The four editor-tracking fields and `editFieldsInfo`, as ArcGIS Online adds them.
fn add_tracking_fields(layer: &mut Value) {
    let names = [
        ("creationDateField", "CreationDate", "esriFieldTypeDate"),
        ("creatorField", "Creator", "esriFieldTypeString"),
        ("editDateField", "EditDate", "esriFieldTypeDate"),
        ("editorField", "Editor", "esriFieldTypeString"),
    ];
    let mut info = Map::new();
    if let Some(fields) = layer["fields"].as_array_mut() {
        for (key, name, kind) in names {
            // A field of that name already there becomes the tracking field, read-only.
            if let Some(f) = fields.iter_mut().find(|f| {
                f["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            }) {
                f["editable"] = json!(false);
            } else {
                let mut f = json!({"name": name, "type": kind, "alias": name, "sqlType": "sqlTypeOther",
                    "nullable": true, "editable": false, "domain": null, "defaultValue": null});
                if kind == "esriFieldTypeString" {
                    f["length"] = json!(128);
                }
                fields.push(f);
            }
            info.insert(key.to_owned(), json!(name));
        }
    }
    layer["editFieldsInfo"] = Value::Object(info);
}

/// A `GlobalID` field for a layer that has none, every existing row given a new id.
fn add_global_ids(call: &Call, service: &Service, layer: &mut Value) -> Result<(), Response> {
    let field = "GlobalID";
    if let Some(fields) = layer["fields"].as_array_mut() {
        fields.push(
            json!({"name": field, "type": "esriFieldTypeGlobalID", "alias": field,
            "sqlType": "sqlTypeOther", "length": 38, "nullable": false, "editable": false,
            "domain": null, "defaultValue": null}),
        );
    }
    layer["globalIdField"] = json!(field);
    rewrite_rows(call, service, id_of(layer), false, |f| {
        f.attributes
            .insert(field.to_owned(), json!(super::edits::new_global_id()));
    })
}

/// What a layer-level operation works on: the service (owned by the caller), the JSON parameter
/// `key`, the service's layers and the position of layer `index` among them.
fn layer_change(
    call: &Call,
    name: &str,
    index: &str,
    key: &str,
) -> Result<(Service, Value, Vec<Value>, usize), Response> {
    let service = owned_service(call, name)?;
    let update = json_param(call, key)?;
    let all = service.layers.as_array().cloned().unwrap_or_default();
    let at = all
        .iter()
        .position(|l| index.parse::<i64>().ok() == Some(id_of(l)))
        .ok_or_else(layers::no_layer)?;
    Ok((service, update, all, at))
}

/// Change every row of a layer in one transaction (a field added or removed); with `schema`, the
/// layer's schema date moves.
fn rewrite_rows(
    call: &Call,
    service: &Service,
    layer: i64,
    schema: bool,
    mut change: impl FnMut(&mut crate::store::Feature),
) -> Result<(), Response> {
    let store = &call.shared.store;
    let rows = store
        .features(&service.item, layer, &crate::store::Selection::default())
        .map_err(internal)?;
    store
        .edit(&service.item, crate::now_ms(), |e| {
            for mut f in rows {
                change(&mut f);
                e.update(layer, f.oid, &f.attributes, f.geometry.as_ref())?;
            }
            if schema {
                e.touch(layer, true)?;
            }
            Ok::<_, rusqlite::Error>(())
        })
        .map_err(internal)
}

/// `POST …/FeatureServer/<layer>/updateDefinition`: a layer's properties, kept whole. `fields`
/// change the named fields' properties (alias, domain, …); a view's field with `visible: false`
/// leaves the view.
pub(super) fn update_layer(call: &Call, name: &str, index: &str) -> Result<Response, Response> {
    let (mut service, update, mut all, at) = layer_change(call, name, index, "updateDefinition")?;
    let layer = &mut all[at];
    let id = id_of(layer);
    let mut schema = false;
    for (k, v) in update.as_object().into_iter().flatten() {
        match k.as_str() {
            "id" | "type" | "objectIdField" | "globalIdField" if v != &layer[k] => {
                return Err(bad(&format!("'{k}' of a layer cannot be changed.")));
            }
            "adminLayerInfo" | "source" | "joins" | "sourceWkt" => {
                return Err(bad(&format!(
                    "'{k}' cannot be changed by updateDefinition in the sandbox."
                )));
            }
            "fields" => {
                for given in v.as_array().into_iter().flatten() {
                    let field_name = given["name"].as_str().unwrap_or_default();
                    let fields = layer["fields"]
                        .as_array_mut()
                        .ok_or_else(layers::no_layer)?;
                    let Some(at) = layers::field_index(fields, field_name) else {
                        return Err(bad(&format!(
                            "Field '{field_name}' does not exist in the layer."
                        )));
                    };
                    if service.kind == VIEW_KIND && given["visible"] == json!(false) {
                        fields.remove(at);
                        continue;
                    }
                    if let (Some(f), Some(g)) = (fields[at].as_object_mut(), given.as_object()) {
                        for (fk, fv) in g {
                            if fk != "name" && fk != "type" {
                                f.insert(fk.clone(), fv.clone());
                            }
                        }
                    }
                }
                schema = true;
            }
            _ => layer[k] = v.clone(),
        }
    }
    service.layers = Value::Array(all);
    save_layers(call, &service)?;
    if schema {
        schema_changed(call, &service, id)?;
    }
    Ok(success(call))
}

/// `POST …/FeatureServer/<layer>/addToDefinition`: new `fields` (and `indexes`) of a layer.
pub(super) fn add_to_layer(call: &Call, name: &str, index: &str) -> Result<Response, Response> {
    let (mut service, update, mut all, at) = layer_change(call, name, index, "addToDefinition")?;
    if service.kind == VIEW_KIND {
        return Err(bad("Fields are added to a view's source, not to the view."));
    }
    let layer = &mut all[at];
    let id = id_of(layer);
    for given in update["fields"].as_array().into_iter().flatten() {
        let field_name = given["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad("Every field needs a name."))?;
        let fields = layer["fields"]
            .as_array_mut()
            .ok_or_else(layers::no_layer)?;
        if layers::field_index(fields, field_name).is_some() {
            return Err(bad(&format!(
                "Field '{field_name}' already exists in the layer."
            )));
        }
        let defined = layers::from_definition(0, &json!({"fields": [given]}), true, &json!({}));
        if let Some(f) = defined["fields"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["name"] == given["name"]))
        {
            fields.push(f.clone());
        }
    }
    for given in update["indexes"].as_array().into_iter().flatten() {
        if let Some(indexes) = layer["indexes"].as_array_mut() {
            indexes.push(given.clone());
        } else {
            layer["indexes"] = json!([given]);
        }
    }
    for key in update.as_object().into_iter().flatten().map(|(k, _)| k) {
        if key != "fields" && key != "indexes" {
            return Err(bad(&format!(
                "'{key}' cannot be added to a layer: use updateDefinition."
            )));
        }
    }
    service.layers = Value::Array(all);
    save_layers(call, &service)?;
    schema_changed(call, &service, id)?;
    Ok(success(call))
}

/// `POST …/FeatureServer/deleteFromDefinition`: `{"layers": [{"id"}], "tables": [...]}`
/// removes layers and tables with their features.
pub(super) fn delete_from_definition(call: &Call, name: &str) -> Result<Response, Response> {
    let mut service = owned_service(call, name)?;
    let update = json_param(call, "deleteFromDefinition")?;
    let mut all = service.layers.as_array().cloned().unwrap_or_default();
    for key in ["layers", "tables"] {
        for given in update[key].as_array().into_iter().flatten() {
            let id = given["id"]
                .as_i64()
                .ok_or_else(|| bad("Every layer to delete needs its id."))?;
            let before = all.len();
            all.retain(|l| id_of(l) != id);
            if all.len() == before {
                return Err(bad(&format!("Layer {id} does not exist in '{name}'.")));
            }
            call.shared
                .store
                .drop_layer(&service.item, id)
                .map_err(internal)?;
        }
    }
    service.layers = Value::Array(all);
    save_layers(call, &service)?;
    Ok(success(call))
}

/// `POST …/FeatureServer/<layer>/deleteFromDefinition`: `{"fields": [{"name"}]}` removes fields
/// and their values.
pub(super) fn delete_from_layer(
    call: &Call,
    name: &str,
    index: &str,
) -> Result<Response, Response> {
    let (mut service, update, mut all, at) =
        layer_change(call, name, index, "deleteFromDefinition")?;
    let layer = &mut all[at];
    let id = id_of(layer);
    let oid = layers::object_id_field(layer).to_owned();
    let global = layers::global_id_field(layer).map(str::to_owned);
    let mut removed = Vec::new();
    for given in update["fields"].as_array().into_iter().flatten() {
        let field_name = given["name"].as_str().unwrap_or_default();
        if field_name.eq_ignore_ascii_case(&oid)
            || global
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(field_name))
        {
            return Err(bad(&format!(
                "Field '{field_name}' is required by the layer and cannot be deleted."
            )));
        }
        let fields = layer["fields"]
            .as_array_mut()
            .ok_or_else(layers::no_layer)?;
        let Some(at) = layers::field_index(fields, field_name) else {
            return Err(bad(&format!(
                "Field '{field_name}' does not exist in the layer."
            )));
        };
        removed.push(
            fields.remove(at)["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    service.layers = Value::Array(all);
    save_layers(call, &service)?;
    if service.kind != VIEW_KIND && !removed.is_empty() {
        rewrite_rows(call, &service, id, true, |f| {
            f.attributes
                .retain(|k, _| !removed.iter().any(|r| r.eq_ignore_ascii_case(k)));
        })?;
    }
    Ok(success(call))
}
