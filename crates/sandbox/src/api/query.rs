//! A hosted feature layer's `query`: counts for every service, and for services published from a
//! File Geodatabase, a service definition, a shapefile, CSV or GeoJSON the features themselves, read from the
//! published file a page at a time
//! (orgpack-payload), with `resultOffset`/`resultRecordCount` paging, `outFields`,
//! `returnGeometry` and `returnIdsOnly`. Only `where=1=1` is understood.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::auth::internal;
use super::{Call, error};
use crate::store::Service;

/// The most features one query answers, as the layer JSON's `maxRecordCount` says.
pub(super) const MAX_RECORD_COUNT: usize = 2000;

pub(super) fn query(call: &Call, service: &Service, layer: &Value) -> Result<Response, Response> {
    let p = &call.params;
    let flag = |key: &str, default: bool| {
        p.get(key)
            .map_or(default, |v| v.eq_ignore_ascii_case("true"))
    };
    let filter = p.get("where").unwrap_or("1=1").replace(' ', "");
    if filter != "1=1" {
        return Err(error(
            400,
            "The sandbox answers only where=1=1.",
            &["Unable to perform query operation."],
        ));
    }
    if flag("returnCountOnly", false) {
        return Ok(call.reply(&json!({"count": layer["count"]})));
    }
    let Some(extension) = feature_source(&service.kind) else {
        return Err(error(
            400,
            &format!(
                "The sandbox answers feature queries of services published from files (File Geodatabases, service definitions, shapefiles, CSV, GeoJSON); '{}' was published from {}: ask for returnCountOnly.",
                service.name, service.kind
            ),
            &[],
        ));
    };
    let number = |key: &str| -> Result<Option<usize>, Response> {
        p.get(key)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    error(
                        400,
                        &format!("'{key}' must be a non-negative integer."),
                        &[],
                    )
                })
            })
            .transpose()
    };
    let ids_only = flag("returnIdsOnly", false);
    // `objectIds`: those rows only (the official client fetches large layers so, 200 at a time).
    let object_ids: Option<std::collections::BTreeSet<u64>> = p
        .get("objectIds")
        .map(|list| {
            list.split(',')
                .map(|id| {
                    id.trim().parse::<u64>().map_err(|_| {
                        error(
                            400,
                            "'objectIds' must be a comma-separated list of integers.",
                            &[],
                        )
                    })
                })
                .collect()
        })
        .transpose()?;
    let offset = number("resultOffset")?.unwrap_or(0);
    let limit = if ids_only || object_ids.is_some() {
        usize::MAX
    } else {
        number("resultRecordCount")?
            .unwrap_or(MAX_RECORD_COUNT)
            .min(MAX_RECORD_COUNT)
    };
    let store = &call.shared.store;
    let payload = store
        .service_payload(&service.item)
        .map_err(internal)?
        .ok_or_else(|| error(500, "Unable to complete operation.", &["no published file"]))?;
    let reader = store.blobs().reader(&payload).map_err(internal)?;
    let name = layer["name"].as_str().unwrap_or_default();
    let (start, count) = if object_ids.is_some() {
        (0, usize::MAX)
    } else {
        (offset, limit)
    };
    let mut page = orgpack_payload::features(
        std::io::BufReader::new(reader),
        &format!("{}.{extension}", service.name),
        name,
        start,
        count,
    )
    .map_err(|e| error(500, "Unable to complete operation.", &[&e.to_string()]))?;
    if let Some(ids) = &object_ids {
        page.features.retain(|f| {
            f["attributes"]["OBJECTID"]
                .as_u64()
                .is_some_and(|id| ids.contains(&id))
        });
        if !ids_only {
            page.more = page.features.len() > offset + limit;
            page.features = page.features.into_iter().skip(offset).take(limit).collect();
        }
    }
    if ids_only {
        let ids: Vec<Value> = page
            .features
            .iter()
            .map(|f| f["attributes"]["OBJECTID"].clone())
            .collect();
        return Ok(call.reply(&json!({"objectIdFieldName": "OBJECTID", "objectIds": ids})));
    }
    let wanted: Option<Vec<String>> = match p.get("outFields").map(str::trim) {
        None | Some("*") => None,
        Some(list) => Some(
            list.split(',')
                .map(|f| f.trim().to_ascii_lowercase())
                .filter(|f| !f.is_empty())
                .collect(),
        ),
    };
    let with_geometry = flag("returnGeometry", true);
    let features: Vec<Value> = page
        .features
        .into_iter()
        .map(|mut f| {
            if let Some(wanted) = &wanted
                && let Some(attributes) = f.get_mut("attributes").and_then(Value::as_object_mut)
            {
                let kept: Map<String, Value> = std::mem::take(attributes)
                    .into_iter()
                    .filter(|(k, _)| {
                        k.eq_ignore_ascii_case("OBJECTID")
                            || wanted.contains(&k.to_ascii_lowercase())
                    })
                    .collect();
                *attributes = kept;
            }
            if !with_geometry && let Some(o) = f.as_object_mut() {
                o.remove("geometry");
            }
            f
        })
        .collect();
    let layer_doc = super::services::layer_json(service, layer);
    Ok(call.reply(&json!({
        "objectIdFieldName": "OBJECTID",
        "uniqueIdField": {"name": "OBJECTID", "isSystemMaintained": true},
        "globalIdFieldName": "",
        "geometryType": layer_doc["geometryType"],
        "fields": layer_doc["fields"].as_array().into_iter().flatten()
            .filter(|f| f["type"] != "esriFieldTypeGeometry").cloned().collect::<Vec<_>>(),
        "features": features,
        "exceededTransferLimit": page.more,
    })))
}

/// The file extension features are read under, for the kinds of file whose features the sandbox
/// reads.
pub(super) fn feature_source(kind: &str) -> Option<&'static str> {
    match kind {
        "fileGeodatabase" => Some("gdb.zip"),
        "serviceDefinition" => Some("sd"),
        "csv" => Some("csv"),
        "geojson" => Some("geojson"),
        "shapefile" => Some("zip"),
        _ => None,
    }
}
