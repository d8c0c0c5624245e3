//! Definitions of hosted feature services and their layers, as ArcGIS Online keeps them: the
//! service's own properties and each layer's whole JSON are stored as defined (by publishing, by
//! `createService` and `addToDefinition`, changed by `updateDefinition`), and served back with
//! what is computed when asked: `currentVersion`, `serviceItemId`, `editingInfo`,
//! `serverGens`, extents and a view's flags (spec/portal-api.md, "Hosted services").

use serde_json::{Map, Value, json};

use super::auth::internal;
use super::{Call, error};
use crate::store::Service;
use axum::response::Response;

/// The ArcGIS Server version the FeatureServer documents report.
pub(super) const SERVER_VERSION: f64 = 11.3;

/// The most features one query answers by default (a layer's `maxRecordCount`).
pub(super) const MAX_RECORD_COUNT: u64 = 2000;

/// The object id field of layers the sandbox makes.
pub(super) const OBJECT_ID: &str = "OBJECTID";

/// Keys of a stored layer that are the sandbox's own, never served.
const INTERNAL: &[&str] = &["source", "joins", "sourceWkt"];

/// Keys computed when a layer is served; a definition given with them has them dropped.
const COMPUTED: &[&str] = &[
    "currentVersion",
    "serviceItemId",
    "editingInfo",
    "isView",
    "isUpdatableView",
    "sourceSchemaChangesAllowed",
    "extent",
];

/// A service's own properties when it is made: what ArcGIS Online gives a new hosted service,
/// over which `given` (createParameters, or nothing) is laid.
pub(super) fn new_service(given: &Value, spatial_reference: &Value) -> Value {
    let mut d = json!({
        "serviceDescription": "", "description": "", "copyrightText": "",
        "hasVersionedData": false, "supportsDisconnectedEditing": false, "hasStaticData": false,
        "hasSharedDomains": false, "maxRecordCount": MAX_RECORD_COUNT,
        "supportedQueryFormats": "JSON", "supportsVCSProjection": false,
        "supportedExportFormats": "csv,shapefile,geojson,filegdb",
        "capabilities": "Query", "spatialReference": spatial_reference,
        "allowGeometryUpdates": true, "units": units_of(spatial_reference),
        "syncEnabled": false, "supportsApplyEditsWithGlobalIds": true,
        "editorTrackingInfo": {
            "enableEditorTracking": false, "enableOwnershipAccessControl": false,
            "allowOthersToQuery": true, "allowOthersToUpdate": true, "allowOthersToDelete": true,
            "allowAnonymousToQuery": true, "allowAnonymousToUpdate": true, "allowAnonymousToDelete": true,
        },
        "xssPreventionInfo": {"xssPreventionEnabled": true, "xssPreventionRule": "InputOnly", "xssInputRule": "rejectInvalid"},
    });
    if let (Some(d), Some(given)) = (d.as_object_mut(), given.as_object()) {
        for (k, v) in given {
            if !matches!(
                k.as_str(),
                "name" | "layers" | "tables" | "serviceItemId" | "currentVersion"
            ) {
                d.insert(k.clone(), v.clone());
            }
        }
    }
    d
}

fn units_of(sr: &Value) -> &'static str {
    match sr.get("wkid").and_then(Value::as_i64) {
        Some(4326) | None => "esriDecimalDegrees",
        _ => "esriMeters",
    }
}

/// The spatial reference a file's WKT names: WGS 84 and Web Mercator by their ids, anything else
/// as its WKT; WGS 84 when the file says nothing.
pub(super) fn spatial_reference(wkt: Option<&str>) -> Value {
    let Some(wkt) = wkt.map(str::trim).filter(|w| !w.is_empty()) else {
        return json!({"wkid": 4326, "latestWkid": 4326});
    };
    let upper = wkt.to_ascii_uppercase();
    if upper.starts_with("PROJCS") && upper.contains("WEB_MERCATOR")
        || upper.contains("PSEUDO-MERCATOR")
    {
        json!({"wkid": 102_100, "latestWkid": 3857})
    } else if upper.starts_with("GEOGCS")
        && (upper.contains("WGS_1984") || upper.contains("WGS 84"))
    {
        json!({"wkid": 4326, "latestWkid": 4326})
    } else {
        json!({"wkt": wkt})
    }
}

/// `Point` (as orgpack-payload names it) → `esriGeometryPoint`.
pub(super) fn esri_geometry(g: &str) -> String {
    match g {
        "Point" => "esriGeometryPoint",
        "Multipoint" => "esriGeometryMultipoint",
        "Polyline" => "esriGeometryPolyline",
        "Polygon" => "esriGeometryPolygon",
        "MultiPatch" => "esriGeometryMultiPatch",
        other if other.starts_with("esriGeometry") => return other.to_owned(),
        other => return format!("esriGeometry{other}"),
    }
    .to_owned()
}

/// A field's JSON as a hosted layer describes it.
fn field(name: &str, kind: &str) -> Value {
    let system = matches!(kind, "esriFieldTypeOID" | "esriFieldTypeGlobalID");
    let mut f = json!({
        "name": name, "type": kind, "alias": name, "sqlType": "sqlTypeOther",
        "nullable": !system, "editable": !system, "domain": null, "defaultValue": null,
    });
    match kind {
        "esriFieldTypeString" => f["length"] = json!(256),
        "esriFieldTypeGlobalID" | "esriFieldTypeGUID" => f["length"] = json!(38),
        _ => {}
    }
    f
}

/// The renderer a new layer draws with: one symbol for its geometry type.
fn default_drawing_info(geometry_type: &str) -> Value {
    let symbol = match geometry_type {
        "esriGeometryPoint" | "esriGeometryMultipoint" => json!({
            "type": "esriSMS", "style": "esriSMSCircle", "color": [227, 139, 79, 255], "size": 6,
            "angle": 0, "xoffset": 0, "yoffset": 0,
            "outline": {"type": "esriSLS", "style": "esriSLSSolid", "color": [255, 255, 255, 255], "width": 0.75},
        }),
        "esriGeometryPolyline" => {
            json!({"type": "esriSLS", "style": "esriSLSSolid", "color": [227, 139, 79, 255], "width": 1.5})
        }
        _ => json!({
            "type": "esriSFS", "style": "esriSFSSolid", "color": [227, 139, 79, 128],
            "outline": {"type": "esriSLS", "style": "esriSLSSolid", "color": [110, 110, 110, 255], "width": 0.75},
        }),
    };
    json!({"renderer": {"type": "simple", "symbol": symbol, "label": "", "description": ""}, "transparency": 0, "labelingInfo": null})
}

/// A layer or table as publishing makes it from what orgpack-payload read from a file: the
/// file's fields (its object id field becoming `OBJECTID`, geometry fields left to the shape),
/// the first text field as display field, a simple renderer, editing off (`Query`) as ArcGIS
/// Online publishes.
pub(super) fn from_payload(
    id: u64,
    layer: &orgpack_payload::Layer,
    spatial_reference: &Value,
    has_z: bool,
) -> Value {
    let geometry = layer.geometry_type.as_deref().map(esri_geometry);
    let mut fields = vec![field(OBJECT_ID, "esriFieldTypeOID")];
    let mut global_id = "";
    for f in &layer.fields {
        if matches!(
            f.field_type.as_str(),
            "esriFieldTypeOID" | "esriFieldTypeGeometry"
        ) || f.name.eq_ignore_ascii_case(OBJECT_ID)
        {
            continue;
        }
        if f.field_type == "esriFieldTypeGlobalID" && global_id.is_empty() {
            global_id = &f.name;
        }
        fields.push(field(&f.name, &f.field_type));
    }
    let display = layer
        .fields
        .iter()
        .find(|f| f.field_type == "esriFieldTypeString")
        .map_or(OBJECT_ID, |f| f.name.as_str());
    let mut def = json!({
        "id": id, "name": layer.name,
        "type": if geometry.is_some() { "Feature Layer" } else { "Table" },
        "displayField": display, "description": "", "copyrightText": "", "defaultVisibility": true,
        "objectIdField": OBJECT_ID, "globalIdField": global_id, "typeIdField": "",
        "fields": fields, "types": [], "templates": [], "relationships": [], "indexes": [],
        "hasAttachments": false, "htmlPopupType": "esriServerHTMLPopupTypeAsHTMLText",
        "capabilities": "Query", "maxRecordCount": MAX_RECORD_COUNT,
        "supportedQueryFormats": "JSON, geoJSON", "isDataVersioned": false,
        "supportsRollbackOnFailureParameter": true, "supportsStatistics": true,
        "supportsAdvancedQueries": true, "useStandardizedQueries": true,
        "allowGeometryUpdates": true, "minScale": 0, "maxScale": 0,
    });
    if let Some(g) = geometry {
        def["geometryType"] = json!(g);
        def["hasZ"] = json!(has_z);
        def["hasM"] = json!(false);
        def["drawingInfo"] = default_drawing_info(&g);
        def["spatialReference"] = spatial_reference.clone();
    }
    def
}

/// A layer or table as `addToDefinition` (or `createService`'s `layers`) gives it: kept whole,
/// with what a real service fills in when missing (type, object id field and its field,
/// capabilities, record count); computed keys dropped.
pub(super) fn from_definition(id: u64, given: &Value, is_table: bool, service: &Value) -> Value {
    let mut def: Map<String, Value> = given.as_object().cloned().unwrap_or_default();
    for k in COMPUTED.iter().chain(INTERNAL) {
        def.remove(*k);
    }
    def.insert("id".into(), json!(id));
    def.entry("type")
        .or_insert_with(|| json!(if is_table { "Table" } else { "Feature Layer" }));
    let fields = def
        .entry("fields")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let oid = fields
        .iter()
        .find(|f| f["type"] == "esriFieldTypeOID")
        .and_then(|f| f["name"].as_str())
        .map(str::to_owned)
        .or_else(|| {
            def.get("objectIdField")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| OBJECT_ID.to_owned());
    let mut complete = Vec::with_capacity(fields.len() + 1);
    if !fields.iter().any(|f| {
        f["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(&oid))
    }) {
        complete.push(field(&oid, "esriFieldTypeOID"));
    }
    for f in fields {
        let mut full = field(
            f["name"].as_str().unwrap_or_default(),
            f["type"].as_str().unwrap_or("esriFieldTypeString"),
        );
        if let (Some(full), Some(given)) = (full.as_object_mut(), f.as_object()) {
            for (k, v) in given {
                full.insert(k.clone(), v.clone());
            }
        }
        complete.push(full);
    }
    if def.get("globalIdField").is_none_or(Value::is_null) {
        let global = complete
            .iter()
            .find(|f| f["type"] == "esriFieldTypeGlobalID")
            .and_then(|f| f["name"].as_str())
            .unwrap_or_default()
            .to_owned();
        def.insert("globalIdField".into(), json!(global));
    }
    def.insert("fields".into(), Value::Array(complete));
    def.insert("objectIdField".into(), json!(oid));
    for (k, v) in [
        (
            "capabilities",
            service
                .get("capabilities")
                .cloned()
                .unwrap_or(json!("Query")),
        ),
        ("maxRecordCount", json!(MAX_RECORD_COUNT)),
        ("supportedQueryFormats", json!("JSON, geoJSON")),
        ("hasAttachments", json!(false)),
        ("relationships", json!([])),
        ("types", json!([])),
        ("templates", json!([])),
        ("indexes", json!([])),
        ("allowGeometryUpdates", json!(true)),
        ("supportsRollbackOnFailureParameter", json!(true)),
        ("supportsStatistics", json!(true)),
        ("supportsAdvancedQueries", json!(true)),
        ("useStandardizedQueries", json!(true)),
        ("displayField", json!("")),
        ("description", json!("")),
        ("defaultVisibility", json!(true)),
    ] {
        def.entry(k).or_insert(v);
    }
    Value::Object(def)
}

/// A layer's id.
pub(super) fn id_of(layer: &Value) -> i64 {
    layer["id"].as_i64().unwrap_or(-1)
}

/// Whether a stored layer is a table (no geometry).
pub(super) fn is_table(layer: &Value) -> bool {
    layer.get("geometryType").is_none_or(Value::is_null)
}

/// The layer or table of a service with this id (a path segment).
pub(super) fn find<'a>(service: &'a Service, id: &str) -> Option<&'a Value> {
    let id = id.parse::<i64>().ok()?;
    service.layers.as_array()?.iter().find(|l| id_of(l) == id)
}

/// Where field `name` (whatever its case) is among a layer's `fields`.
pub(super) fn field_index(fields: &[Value], name: &str) -> Option<usize> {
    fields.iter().position(|f| {
        f["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

/// The layer's object id field.
pub(super) fn object_id_field(layer: &Value) -> &str {
    layer["objectIdField"].as_str().unwrap_or(OBJECT_ID)
}

/// The layer's GlobalID field, when it has one.
pub(super) fn global_id_field(layer: &Value) -> Option<&str> {
    layer["globalIdField"].as_str().filter(|g| !g.is_empty())
}

/// The operations a layer allows: its own `capabilities`, else the service's.
pub(super) fn capabilities(service: &Service, layer: &Value) -> Vec<String> {
    layer["capabilities"]
        .as_str()
        .or(service.definition["capabilities"].as_str())
        .unwrap_or("Query")
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .collect()
}

/// `…/FeatureServer/layers`: every layer and table as its own resource serves it,
/// `{"layers": [...], "tables": [...]}`.
pub(super) fn served_all(call: &Call, service: &Service) -> Result<Response, Response> {
    let (mut layers, mut tables) = (Vec::new(), Vec::new());
    for layer in service.layers.as_array().into_iter().flatten() {
        let served = served_layer(call, service, layer)?;
        if is_table(layer) {
            tables.push(served);
        } else {
            layers.push(served);
        }
    }
    Ok(call.reply(&json!({"layers": layers, "tables": tables})))
}

/// A layer as its resource serves it: the stored definition, the sandbox's own keys removed,
/// with `currentVersion`, `serviceItemId`, the view flags, `editingInfo` (its data's and its
/// schema's last edit, of the source for a view) and its extent.
pub(super) fn served_layer(
    call: &Call,
    service: &Service,
    layer: &Value,
) -> Result<Value, Response> {
    let mut out = layer.clone();
    let (data_service, data_layer) = super::query::data_of(call, service, layer)?;
    if let Some(o) = out.as_object_mut() {
        for k in INTERNAL {
            o.remove(*k);
        }
    }
    let store = &call.shared.store;
    let is_view = service.kind == super::views::VIEW_KIND;
    out["currentVersion"] = json!(SERVER_VERSION);
    out["serviceItemId"] = json!(service.item);
    out["isView"] = json!(is_view);
    if is_view {
        view_flags(&mut out, service);
    }
    if let Some(dates) = store
        .edit_dates(&data_service.item, id_of(&data_layer))
        .map_err(internal)?
    {
        out["editingInfo"] = json!({
            "lastEditDate": dates.data.max(dates.schema),
            "schemaLastEditDate": dates.schema,
            "dataLastEditDate": dates.data,
        });
    }
    if !is_table(layer) {
        let sr = layer
            .get("spatialReference")
            .cloned()
            .unwrap_or_else(|| service.definition["spatialReference"].clone());
        out["extent"] = extent_json(
            store
                .layer_extent(&data_service.item, id_of(&data_layer))
                .map_err(internal)?,
            &sr,
        );
    }
    Ok(out)
}

/// A view's `isUpdatableView` and `sourceSchemaChangesAllowed`: as its properties set them,
/// true otherwise.
fn view_flags(out: &mut Value, service: &Service) {
    for flag in ["isUpdatableView", "sourceSchemaChangesAllowed"] {
        out[flag] = json!(service.definition[flag].as_bool().unwrap_or(true));
    }
}

/// An envelope as Esri JSON (an empty one when there is nothing to bound).
pub(super) fn extent_json(env: Option<[f64; 4]>, sr: &Value) -> Value {
    match env {
        Some([xmin, ymin, xmax, ymax]) => {
            json!({"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax, "spatialReference": sr})
        }
        None => {
            json!({"xmin": null, "ymin": null, "xmax": null, "ymax": null, "spatialReference": sr})
        }
    }
}

/// The FeatureServer root: the service's stored properties with its layers and tables listed,
/// `serverGens`, the extent of every layer, and the view flags.
pub(super) fn served_service(call: &Call, service: &Service) -> Result<Value, Response> {
    let store = &call.shared.store;
    let mut out = service.definition.clone();
    if !out.is_object() {
        out = json!({});
    }
    let layers = service.layers.as_array().cloned().unwrap_or_default();
    let (features, tables): (Vec<&Value>, Vec<&Value>) = layers.iter().partition(|l| !is_table(l));
    let entry = |l: &Value| {
        json!({
            "id": l["id"], "name": l["name"], "parentLayerId": -1, "defaultVisibility": true,
            "subLayerIds": null, "minScale": 0, "maxScale": 0, "geometryType": l["geometryType"],
        })
    };
    let sr = out
        .get("spatialReference")
        .cloned()
        .unwrap_or_else(|| json!({"wkid": 4326, "latestWkid": 4326}));
    let mut env: Option<[f64; 4]> = None;
    for l in &features {
        let (data_service, data_layer) = super::query::data_of(call, service, l)?;
        if let Some(e) = store
            .layer_extent(&data_service.item, id_of(&data_layer))
            .map_err(internal)?
        {
            env = Some(env.map_or(e, |a| {
                [
                    a[0].min(e[0]),
                    a[1].min(e[1]),
                    a[2].max(e[2]),
                    a[3].max(e[3]),
                ]
            }));
        }
    }
    let is_view = service.kind == super::views::VIEW_KIND;
    let generation = store.server_gen(&service.item).map_err(internal)?;
    out["currentVersion"] = json!(SERVER_VERSION);
    out["serviceItemId"] = json!(service.item);
    out["initialExtent"] = extent_json(env, &sr);
    out["fullExtent"] = extent_json(env, &sr);
    out["layers"] = json!(features.into_iter().map(entry).collect::<Vec<_>>());
    out["tables"] = json!(
        tables
            .into_iter()
            .map(|t| json!({"id": t["id"], "name": t["name"]}))
            .collect::<Vec<_>>()
    );
    out["isView"] = json!(is_view);
    if is_view {
        view_flags(&mut out, service);
    }
    out["serverGens"] = json!({"minServerGen": 1, "serverGen": generation});
    Ok(out)
}

/// `400` for a layer id the service does not have, as the server answers.
pub(super) fn no_layer() -> Response {
    error(400, "Invalid or missing input parameters.", &[])
}
