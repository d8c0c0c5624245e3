//! Hosted feature services: `publish` from a file item, `export` back to a file, and the
//! FeatureServer's root, layer and count-query documents under
//! `/<org>/server/rest/services/Hosted/<name>/FeatureServer` (spec/portal-api.md, "Hosted
//! services").
//!
//! The sandbox keeps no features: a service remembers the file it was published from and what
//! orgpack-payload read from it (layers, geometry types, fields, feature counts). Queries answer
//! counts; an export hands back the published file when the format asked for is the one it was
//! published from, and says plainly that it cannot convert otherwise.

use serde_json::{Value, json};

use super::auth::internal;
use super::content::{can_read, folder_id, list, new_item_json, owner_or_admin, readable};
use super::{Call, FORBIDDEN, error};
use crate::store::{Service, Stored};
use axum::response::Response;

/// The extent the FeatureServer documents report: the world in WGS 84 (the sandbox does not
/// compute extents from the data).
fn world() -> Value {
    json!({"xmin": -180.0, "ymin": -90.0, "xmax": 180.0, "ymax": 90.0, "spatialReference": {"wkid": 4326, "latestWkid": 4326}})
}

/// The ArcGIS Server version the FeatureServer documents report.
const SERVER_VERSION: f64 = 11.3;

/// fileType values publish accepts, with the payload kind each must be and the item types it
/// comes from.
const FILE_TYPES: &[(&str, orgpack_payload::Kind)] = &[
    ("fileGeodatabase", orgpack_payload::Kind::FileGeodatabase),
    ("shapefile", orgpack_payload::Kind::Shapefile),
    ("csv", orgpack_payload::Kind::Csv),
    ("geojson", orgpack_payload::Kind::GeoJson),
    (
        "serviceDefinition",
        orgpack_payload::Kind::ServiceDefinition,
    ),
];

/// Export formats, with the fileType a service must have been published from to serve each, and
/// the item type of the export.
const EXPORTS: &[(&str, &str, &str)] = &[
    ("File Geodatabase", "fileGeodatabase", "File Geodatabase"),
    ("Shapefile", "shapefile", "Shapefile"),
    ("CSV", "csv", "CSV"),
    ("GeoJson", "geojson", "GeoJson"),
];

/// `content/users/<u>[/<folder>]/publish`: `itemId` (or `itemid`/`itemID`), `fileType`
/// (or `filetype`), `publishParameters` with `name`.
pub(super) fn publish(
    call: &Call,
    owner: &str,
    folder: Option<&str>,
) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    let p = &call.params;
    let Some(source_id) = p.get("itemId").or(p.get("itemid")).or(p.get("itemID")) else {
        return Err(error(400, "'itemId' must be specified.", &[]));
    };
    let Some(file_type) = p.get("fileType").or(p.get("filetype")) else {
        return Err(error(400, "'fileType' must be specified.", &[]));
    };
    let Some(&(_, expected)) = FILE_TYPES
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(file_type))
    else {
        return Err(error(
            400,
            &format!("Publishing from fileType '{file_type}' is not supported by the sandbox."),
            &["Supported: fileGeodatabase, shapefile, csv, geojson, serviceDefinition."],
        ));
    };
    let parameters: Value = p
        .get("publishParameters")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    let given_name = parameters
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty());
    let source = readable(call, source_id)?;
    let store = &call.shared.store;
    let (data, data_name) = store
        .item_data(&call.org, source_id)
        .map_err(internal)?
        .unwrap_or((None, None));
    let Some(payload) = data else {
        return Err(error(400, "Item does not have a file.", &[]));
    };
    let file_name = data_name.unwrap_or_else(|| format!("{source_id}.zip"));
    let reader = store.blobs().reader(&payload).map_err(internal)?;
    let summary = orgpack_payload::inspect(reader, &file_name).map_err(|e| {
        error(
            400,
            &format!("Unable to read the file to publish: {e}"),
            &[],
        )
    })?;
    if summary.kind != expected {
        return Err(error(
            400,
            &format!(
                "The item's file is not a {file_type} (it reads as {:?}).",
                summary.kind
            ),
            &[],
        ));
    }
    // A service definition names its service; publishParameters may rename it.
    let Some(name) = given_name.or(summary.service.as_ref().map(|s| s.name.as_str())) else {
        return Err(error(
            400,
            "'name' must be specified in publishParameters.",
            &[],
        ));
    };
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(error(
            400,
            &format!("Service name '{name}' is invalid: use letters, digits and underscores."),
            &[],
        ));
    }
    if expected == orgpack_payload::Kind::ServiceDefinition && summary.layers.is_empty() {
        return Err(error(
            400,
            "The service definition holds no data (it references a registered data store): only services whose data is copied in can be published as hosted services.",
            &[],
        ));
    }
    let layers: Vec<Value> = summary
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "id": i, "name": l.name, "geometryType": l.geometry_type.as_deref().map(esri_geometry),
                "count": l.feature_count,
                "fields": l.fields.iter().map(|f| json!({"name": f.name, "type": f.field_type})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let title = source
        .json
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or(name);
    let (id, url) = claim_service(
        call,
        owner,
        folder,
        Service {
            name: name.to_owned(),
            item: String::new(),
            kind: expected_file_type(expected).to_owned(),
            layers: Value::Array(layers),
        },
        &payload,
        json!({
            "title": title,
            "typeKeywords": ["ArcGIS Server", "Data", "Feature Access", "Feature Service", "Service", "Singlelayer", "Hosted Service"],
            "tags": list(p, "tags"), "size": payload.len(),
        }),
    )?;
    store
        .add_relationship(&id, source_id, "Service2Data")
        .map_err(internal)?;
    store.set_status(&id, "processing").map_err(internal)?;
    let job = crate::new_id();
    Ok(call.reply(&json!({"services": [{
        "type": "Feature Service", "serviceurl": url, "encodedServiceURL": url, "size": payload.len(),
        "jobId": job, "serviceItemId": id,
    }]})))
}

/// A new hosted service: its `Feature Service` item (`fields` over the item defaults; name, type,
/// URL and folder filled in) and the service's record (`service`, its item filled in), made
/// together. The name is checked first and again, against a concurrent claim, when the record is
/// added: `409 Service name '…' already exists.` Returns the item id and the service URL.
pub(super) fn claim_service(
    call: &Call,
    owner: &str,
    folder: Option<&str>,
    mut service: Service,
    payload: &Stored,
    mut fields: Value,
) -> Result<(String, String), Response> {
    let store = &call.shared.store;
    let name = service.name.clone();
    let taken = || error(409, &format!("Service name '{name}' already exists."), &[]);
    if store
        .service_named(&call.org, &name)
        .map_err(internal)?
        .is_some()
    {
        return Err(taken());
    }
    let folder = match folder {
        Some(f) => folder_id(call, owner, f)?,
        None => None,
    };
    let id = crate::new_id();
    let now = crate::now_ms();
    let url = service_url(call, &name);
    for (key, value) in [
        ("name", json!(name)),
        ("type", json!("Feature Service")),
        ("url", json!(url)),
        ("ownerFolder", json!(folder)),
    ] {
        fields[key] = value;
    }
    let item = new_item_json(call, &id, owner, now, fields);
    store
        .add_item(&call.org, owner, folder.as_deref(), &item, None, now)
        .map_err(internal)?;
    service.item.clone_from(&id);
    if !store
        .add_service(&call.org, &service, payload)
        .map_err(internal)?
    {
        store.delete_item(&id).map_err(internal)?;
        return Err(taken());
    }
    Ok((id, url))
}

/// `content/users/<u>/export`: `itemId`, `exportFormat`, `title`; the new item is the caller's.
pub(super) fn export(call: &Call, owner: &str) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    let p = &call.params;
    let (Some(item_id), Some(format)) = (p.get("itemId"), p.get("exportFormat")) else {
        return Err(error(
            400,
            "'itemId' and 'exportFormat' must be specified.",
            &[],
        ));
    };
    let item = readable(call, item_id)?;
    let caller = call.require_user()?;
    if item.owner != caller.username && !call.is_admin() {
        return Err(error(403, FORBIDDEN, &[]));
    }
    let store = &call.shared.store;
    let Some(service) = store.service_of(&call.org, item_id).map_err(internal)? else {
        return Err(error(
            400,
            "Only hosted feature services can be exported.",
            &[],
        ));
    };
    if service.kind == super::views::VIEW_KIND || service.kind == "empty" {
        return Err(error(
            400,
            &format!(
                "The sandbox cannot export '{}': it keeps no features of views or of services made with createService.",
                service.name
            ),
            &[],
        ));
    }
    let Some(&(format, needs, export_type)) = EXPORTS
        .iter()
        .find(|(f, _, _)| f.eq_ignore_ascii_case(format))
    else {
        return Err(error(
            400,
            &format!("Export format '{format}' is not supported by the sandbox."),
            &[],
        ));
    };
    // A service published from a service definition exports the geodatabase copied into it.
    let from_sd = service.kind == "serviceDefinition" && needs == "fileGeodatabase";
    // CSV, GeoJSON and shapefiles are written from the features of any service whose features
    // are read.
    let convert_to = match needs {
        "csv" => Some(orgpack_payload::Format::Csv),
        "geojson" => Some(orgpack_payload::Format::GeoJson),
        "shapefile" => Some(orgpack_payload::Format::Shapefile),
        _ => None,
    }
    .filter(|_| needs != service.kind && super::query::feature_source(&service.kind).is_some());
    if needs != service.kind && !from_sd && convert_to.is_none() {
        return Err(error(
            400,
            &format!(
                "The sandbox cannot convert: service '{}' was published from {} and exports only to that format, not {format}.",
                service.name, service.kind
            ),
            &[],
        ));
    }
    let mut payload = store
        .service_payload(item_id)
        .map_err(internal)?
        .unwrap_or(Stored::Inline(Vec::new()));
    if from_sd {
        payload = geodatabase_of(call, &payload, &service.name)?;
    }
    if let Some(to) = convert_to {
        payload = converted(call, &service, &payload, to)?;
    }
    let id = crate::new_id();
    let now = crate::now_ms();
    let title = p.get("title").unwrap_or(&service.name).to_owned();
    let extension = match needs {
        "csv" => "csv",
        "geojson" => "geojson",
        _ => "zip",
    };
    let file_name = format!("{}.{extension}", service.name);
    let json = new_item_json(
        call,
        &id,
        owner,
        now,
        json!({
            "name": file_name, "title": title, "type": export_type, "tags": list(p, "tags"),
            "snippet": p.get("snippet"), "size": payload.len(),
        }),
    );
    store
        .add_item(
            &call.org,
            owner,
            None,
            &json,
            Some((&payload, Some(file_name.as_str()))),
            now,
        )
        .map_err(internal)?;
    store.set_status(&id, "processing").map_err(internal)?;
    Ok(call.reply(&json!({
        "type": export_type, "size": payload.len(), "jobId": crate::new_id(), "exportItemId": id,
        "serviceItemId": item_id, "exportFormat": format,
    })))
}

/// One layer of a service written as CSV, GeoJSON or a shapefile into a new blob: the only
/// layer, or the one
/// `exportParameters` names (`{"layers": [{"id": N}]}`).
fn converted(
    call: &Call,
    service: &Service,
    payload: &Stored,
    to: orgpack_payload::Format,
) -> Result<Stored, Response> {
    let layers = service.layers.as_array().cloned().unwrap_or_default();
    let chosen = call
        .params
        .get("exportParameters")
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| v["layers"][0]["id"].as_u64());
    let layer = match (chosen, layers.as_slice()) {
        (Some(id), _) => layers.iter().find(|l| l["id"].as_u64() == Some(id)),
        (None, [only]) => Some(only),
        (None, _) => None,
    }
    .ok_or_else(|| {
        error(
            400,
            &format!(
                "'{}' has {} layers: name the one to export in exportParameters ({{\"layers\": [{{\"id\": N}}]}}).",
                service.name,
                layers.len()
            ),
            &[],
        )
    })?;
    let extension = super::query::feature_source(&service.kind).unwrap_or("zip");
    let blobs = call.shared.store.blobs();
    blobs
        .write_new(|file| {
            orgpack_payload::convert(
                || blobs.reader(payload).map(std::io::BufReader::new),
                &format!("{}.{extension}", service.name),
                layer["name"].as_str().unwrap_or_default(),
                to,
                file,
            )
            .map(|_| ())
            .map_err(std::io::Error::other)
        })
        .map_err(|e| error(500, &format!("Unable to export: {e}"), &[]))
}

/// The geodatabase inside a service definition, zipped into a new blob.
fn geodatabase_of(call: &Call, sd: &Stored, name: &str) -> Result<Stored, Response> {
    let blobs = call.shared.store.blobs();
    let reader = blobs.reader(sd).map_err(internal)?;
    blobs
        .write_new(|file| {
            let mut out = std::io::BufWriter::new(file);
            orgpack_payload::sd::extract_geodatabase(
                std::io::BufReader::new(reader),
                &format!("{name}.sd"),
                &mut out,
            )
            .map_err(std::io::Error::other)?;
            std::io::Write::flush(&mut out)
        })
        .map_err(|e| error(500, &format!("Unable to export: {e}"), &[]))
}

/// `/<org>/server/rest/services/Hosted/<name>/FeatureServer[/<layer>[/query]]`.
pub(super) fn feature_server(call: &Call, name: &str, rest: &[&str]) -> Result<Response, Response> {
    let store = &call.shared.store;
    let Some(service) = store.service_named(&call.org, name).map_err(internal)? else {
        return Err(error(400, "Service not found.", &[]));
    };
    let item = store
        .item(&call.org, &service.item)
        .map_err(internal)?
        .ok_or_else(|| error(400, "Service not found.", &[]))?;
    if !can_read(call, &item)? {
        return Err(match &call.user {
            None if call.params.token().is_none() => error(499, "Token Required.", &[]),
            None => error(498, "Invalid token.", &[]),
            Some(_) => error(403, FORBIDDEN, &[]),
        });
    }
    let layers = service.layers.as_array().cloned().unwrap_or_default();
    let is_view = service.kind == super::views::VIEW_KIND;
    match rest {
        ["sources"] | [_, "sources"] if is_view => super::views::sources(call, &service),
        [] => {
            let (features, tables): (Vec<&Value>, Vec<&Value>) = layers
                .iter()
                .partition(|l| l.get("geometryType").is_some_and(|g| !g.is_null()));
            let entry = |l: &Value| json!({"id": l["id"], "name": l["name"], "parentLayerId": -1, "defaultVisibility": true, "subLayerIds": null, "minScale": 0, "maxScale": 0, "geometryType": l["geometryType"]});
            Ok(call.reply(&json!({
                "currentVersion": SERVER_VERSION, "serviceItemId": service.item, "serviceDescription": "",
                "hasVersionedData": false, "supportsDisconnectedEditing": false, "hasStaticData": false,
                "maxRecordCount": 2000, "supportedQueryFormats": "JSON", "capabilities": "Query",
                "description": "", "copyrightText": "", "spatialReference": {"wkid": 4326, "latestWkid": 4326},
                "allowGeometryUpdates": true, "units": "esriDecimalDegrees",
                "initialExtent": world(), "fullExtent": world(),
                "layers": features.into_iter().map(entry).collect::<Vec<_>>(),
                "tables": tables.into_iter().map(|t| json!({"id": t["id"], "name": t["name"]})).collect::<Vec<_>>(),
                "isView": is_view,
            })))
        }
        [index, tail @ ..] => {
            let layer = index
                .parse::<u64>()
                .ok()
                .and_then(|i| layers.iter().find(|l| l["id"].as_u64() == Some(i)))
                .ok_or_else(|| error(400, "Invalid or missing input parameters.", &[]))?;
            match tail {
                [] => Ok(call.reply(&layer_json(&service, layer))),
                ["query"] if is_view => {
                    let mut live = layer.clone();
                    live["count"] = super::views::source_count(call, layer)?;
                    super::query::query(call, &service, &live)
                }
                ["query"] => super::query::query(call, &service, layer),
                _ => Err(error(400, "Invalid URL", &[])),
            }
        }
    }
}

pub(super) fn layer_json(service: &Service, layer: &Value) -> Value {
    let is_table = layer.get("geometryType").is_none_or(Value::is_null);
    let mut fields =
        vec![json!({"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"})];
    for f in layer["fields"].as_array().into_iter().flatten() {
        if f["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case("OBJECTID"))
        {
            continue;
        }
        fields.push(json!({"name": f["name"], "type": f["type"], "alias": f["name"]}));
    }
    json!({
        "currentVersion": SERVER_VERSION, "id": layer["id"], "name": layer["name"],
        "type": if is_table { "Table" } else { "Feature Layer" },
        "serviceItemId": service.item, "geometryType": layer["geometryType"],
        "objectIdField": "OBJECTID", "fields": fields, "maxRecordCount": super::query::MAX_RECORD_COUNT,
        "capabilities": "Query", "supportedQueryFormats": "JSON",
        "isView": service.kind == super::views::VIEW_KIND,
        "viewDefinitionQuery": layer.get("viewDefinitionQuery").cloned().unwrap_or(Value::Null),
    })
}

pub(super) fn service_url(call: &Call, name: &str) -> String {
    format!(
        "{}/server/rest/services/Hosted/{name}/FeatureServer",
        call.rest.trim_end_matches("/sharing/rest")
    )
}

fn expected_file_type(kind: orgpack_payload::Kind) -> &'static str {
    FILE_TYPES
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("unknown", |(t, _)| t)
}

/// `Point` → `esriGeometryPoint`.
fn esri_geometry(g: &str) -> String {
    match g {
        "Point" => "esriGeometryPoint",
        "Multipoint" => "esriGeometryMultipoint",
        "Polyline" => "esriGeometryPolyline",
        "Polygon" => "esriGeometryPolygon",
        "MultiPatch" => "esriGeometryMultiPatch",
        other => return format!("esriGeometry{other}"),
    }
    .to_owned()
}
