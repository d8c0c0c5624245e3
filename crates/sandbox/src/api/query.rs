//! A hosted feature layer's `query`: counts for every service, and for services published from a
//! File Geodatabase, a service definition, a shapefile, CSV or GeoJSON the features themselves, read from the
//! published file a page at a time
//! (orgpack-payload), with `resultOffset`/`resultRecordCount` paging, `outFields`,
//! `returnGeometry` and `returnIdsOnly`. Only `where=1=1` is understood.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::auth::internal;
use super::{Call, error};
use crate::store::{ReadSeek, Service};

/// The most features one query answers, as the layer JSON's `maxRecordCount` says.
pub(super) const MAX_RECORD_COUNT: usize = 2000;

pub(super) fn query(call: &Call, service: &Service, layer: &Value) -> Result<Response, Response> {
    let p = &call.params;
    let flag = |key: &str, default: bool| {
        p.get(key)
            .map_or(default, |v| v.eq_ignore_ascii_case("true"))
    };
    let clause = super::sql::parse(p.get("where").unwrap_or("")).map_err(|e| {
        error(
            400,
            "Unable to perform query operation.",
            &[&format!("Invalid where clause: {e}")],
        )
    })?;
    // A clause naming no field (`1=1`, `1=0`) is true or false for every row.
    let (filter, nothing) = match clause {
        Some(c) if super::sql::uses_fields(&c) => (Some(c), false),
        Some(c) => (None, !super::sql::matches(&c, &Map::new())),
        None => (None, false),
    };
    let count_only = flag("returnCountOnly", false);
    if count_only && filter.is_none() {
        let count = if nothing {
            json!(0)
        } else {
            layer["count"].clone()
        };
        return Ok(call.reply(&json!({ "count": count })));
    }
    if feature_source(&service.kind).is_none() {
        return Err(error(
            400,
            &format!(
                "The sandbox answers feature queries of services published from files (File Geodatabases, service definitions, shapefiles, CSV, GeoJSON); '{}' was published from {}: ask for returnCountOnly.",
                service.name, service.kind
            ),
            &["Without features, only where clauses naming no field (1=1) are answered."],
        ));
    }
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
    let (reader, file_name) = source_file(call, service)?
        .ok_or_else(|| error(500, "Unable to complete operation.", &["no published file"]))?;
    // Filtered queries read the whole layer, then page what is left.
    let whole = object_ids.is_some() || filter.is_some() || count_only;
    let (start, count) = if whole {
        (0, usize::MAX)
    } else {
        (offset, limit)
    };
    let mut page = orgpack_payload::features(
        std::io::BufReader::new(reader),
        &file_name,
        layer["name"].as_str().unwrap_or_default(),
        start,
        count,
    )
    .map_err(|e| error(500, "Unable to complete operation.", &[&e.to_string()]))?;
    if nothing {
        page.features.clear();
        page.more = false;
    }
    if whole {
        page.features.retain(|f| {
            let attributes = f["attributes"].as_object();
            object_ids.as_ref().is_none_or(|ids| {
                f["attributes"]["OBJECTID"]
                    .as_u64()
                    .is_some_and(|id| ids.contains(&id))
            }) && filter
                .as_ref()
                .is_none_or(|c| attributes.is_some_and(|a| super::sql::matches(c, a)))
        });
        if count_only {
            return Ok(call.reply(&json!({"count": page.features.len()})));
        }
        page.more = page.features.len() > offset.saturating_add(limit);
        page.features = page.features.into_iter().skip(offset).take(limit).collect();
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

/// An opened published file and the name it is read under.
pub(super) type SourceFile = (Box<dyn ReadSeek + Send>, String);

/// The file a service was published from, opened, and the name it is read under (its kind's
/// extension); `None` for services whose features the sandbox does not read (views, services
/// made with `createService`) or that hold no file.
pub(super) fn source_file(call: &Call, service: &Service) -> Result<Option<SourceFile>, Response> {
    let Some(extension) = feature_source(&service.kind) else {
        return Ok(None);
    };
    let store = &call.shared.store;
    let Some(payload) = store.service_payload(&service.item).map_err(internal)? else {
        return Ok(None);
    };
    let reader = store.blobs().reader(&payload).map_err(internal)?;
    Ok(Some((reader, format!("{}.{extension}", service.name))))
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
