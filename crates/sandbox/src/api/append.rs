//! Loading and emptying hosted layers (spec/portal-api.md, "append", "truncate"): `append` adds
//! (or, with `upsert`, updates) features from an uploaded File Geodatabase, shapefile, CSV or
//! GeoJSON item, attachments included, as a job; the admin `truncate` deletes every feature (or
//! only attachments). Both move the layer's `editingInfo` as any data edit does.

use std::collections::HashMap;

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::auth::internal;
use super::edits::{Edits, Target};
use super::layers::{find, global_id_field, id_of, object_id_field};
use super::views::VIEW_KIND;
use super::{Call, error};
use crate::store::Service;

fn bad(detail: &str) -> Response {
    error(400, "Unable to complete operation.", &[detail])
}

/// The upload formats `append` takes, with the payload kind each must read as.
const FORMATS: &[(&str, orgpack_payload::Kind)] = &[
    ("filegdb", orgpack_payload::Kind::FileGeodatabase),
    ("shapefile", orgpack_payload::Kind::Shapefile),
    ("csv", orgpack_payload::Kind::Csv),
    ("geojson", orgpack_payload::Kind::GeoJson),
];

/// `…/FeatureServer/<layer>/append` and (with `layerMappings`) `…/FeatureServer/append`.
pub(super) fn append(
    call: &Call,
    service: &Service,
    layer: Option<&Value>,
) -> Result<Response, Response> {
    super::admin::owned_service(call, &service.name)?;
    let p = &call.params;
    for key in ["appendUploadId", "sourceInfo", "editsUploadFormat"] {
        if p.get(key).is_some() {
            return Err(bad(&format!(
                "'{key}' is not supported by the sandbox: upload the data as an item and give its appendItemId."
            )));
        }
    }
    if service.kind == VIEW_KIND {
        return Err(bad("Append is not supported on views."));
    }
    let item_id = p
        .get("appendItemId")
        .ok_or_else(|| bad("'appendItemId' must be specified."))?;
    let format = p
        .get("appendUploadFormat")
        .ok_or_else(|| bad("'appendUploadFormat' must be specified."))?;
    let Some(&(_, kind)) = FORMATS.iter().find(|(f, _)| f.eq_ignore_ascii_case(format)) else {
        return Err(bad(&format!(
            "appendUploadFormat '{format}' is not supported by the sandbox (filegdb, shapefile, csv, geojson are)."
        )));
    };
    super::content::readable(call, item_id)?;
    let store = &call.shared.store;
    let (data, name) = store
        .item_data(&call.org, item_id)
        .map_err(internal)?
        .unwrap_or((None, None));
    let payload = data.ok_or_else(|| bad("The append item has no file."))?;
    let file_name = name.unwrap_or_else(|| format!("{item_id}.zip"));
    let summary = orgpack_payload::inspect(
        store.blobs().reader(&payload).map_err(internal)?,
        &file_name,
    )
    .map_err(|e| bad(&format!("Unable to read the append item: {e}")))?;
    if summary.kind != kind {
        return Err(bad(&format!(
            "The append item is not {format} (it reads as {:?}).",
            summary.kind
        )));
    }
    // (target layer, source table)
    let mappings: Vec<(Value, String)> = if let Some(layer) = layer {
        let table = match p.get("sourceTableName") {
            Some(t) => t.to_owned(),
            None => only_table(&summary)?,
        };
        vec![(layer.clone(), table)]
    } else {
        {
            let given: Vec<Value> = p
                .get("layerMappings")
                .and_then(|m| serde_json::from_str(m).ok())
                .ok_or_else(|| bad("'layerMappings' must be specified as a JSON array for a service-level append."))?;
            given
                .iter()
                .map(|m| {
                    let id = m["id"].as_i64().map(|i| i.to_string()).unwrap_or_default();
                    let target = find(service, &id)
                        .ok_or_else(|| bad(&format!("Layer {} not found.", m["id"])))?;
                    let table = m["sourceTableName"]
                        .as_str()
                        .map(str::to_owned)
                        .map_or_else(|| only_table(&summary), Ok)?;
                    Ok((target.clone(), table))
                })
                .collect::<Result<_, Response>>()?
        }
    };
    for (_, table) in &mappings {
        if !summary.layers.iter().any(|l| &l.name == table) {
            return Err(bad(&format!("The append item has no table '{table}'.")));
        }
    }
    let outcome = run(call, service, &mappings, &payload, &file_name, &summary);
    if !call.params.flag("async", true) {
        return match outcome {
            Ok(answer) => Ok(call.reply(&answer)),
            Err(e) => Ok(call.reply(&json!({"error": e}))),
        };
    }
    let status = super::jobs::submit(call, &service.name, outcome);
    Ok(call.reply(&json!({"statusUrl": status})))
}

/// The file's one layer or table (its attachment tables aside).
fn only_table(summary: &orgpack_payload::Summary) -> Result<String, Response> {
    let attachments = super::attachments::tables_of(&summary.layers);
    let tables: Vec<&orgpack_payload::Layer> = summary
        .layers
        .iter()
        .filter(|l| !attachments.iter().any(|(_, t)| *t == l.name))
        .collect();
    match tables.as_slice() {
        [one] => Ok(one.name.clone()),
        _ => Err(bad(&format!(
            "The append item has {} tables: name one with sourceTableName.",
            tables.len()
        ))),
    }
}

/// Do the append; the job's answer or its error.
fn run(
    call: &Call,
    service: &Service,
    mappings: &[(Value, String)],
    payload: &crate::store::Stored,
    file_name: &str,
    summary: &orgpack_payload::Summary,
) -> Result<Value, Value> {
    let fail = |message: String| json!({"code": 400, "message": message, "details": []});
    let p = &call.params;
    let upsert = call.params.flag("upsert", false);
    let skip_updates = call.params.flag("skipUpdates", false);
    let skip_inserts = call.params.flag("skipInserts", false);
    let use_global_ids = call.params.flag("useGlobalIds", false);
    let update_geometry = call.params.flag("updateGeometry", true);
    let field_mappings: Vec<(String, String)> = p
        .get("fieldMappings")
        .and_then(|m| serde_json::from_str::<Vec<Value>>(m).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| {
            Some((
                m["name"].as_str()?.to_owned(),
                m["source"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let append_fields: Option<Vec<String>> = p.get("appendFields").map(|f| {
        serde_json::from_str::<Vec<String>>(f)
            .unwrap_or_else(|_| f.split(',').map(|x| x.trim().to_owned()).collect())
    });
    let mut work = Vec::new();
    let mut sources = Vec::new();
    for (layer, table) in mappings {
        let target = Target::of(call, service, layer)
            .map_err(|_| fail("The target layer cannot be edited.".into()))?;
        let reader = call
            .shared
            .store
            .blobs()
            .reader(payload)
            .map_err(|e| fail(e.to_string()))?;
        let rows = orgpack_payload::features(
            std::io::BufReader::new(reader),
            file_name,
            table,
            0,
            usize::MAX,
        )
        .map_err(|e| fail(format!("Unable to read '{table}': {e}")))?
        .features;
        let fields = super::query::field_names(layer);
        let oid_field = object_id_field(layer).to_owned();
        let global = global_id_field(layer).map(str::to_owned);
        let matching = p
            .get("upsertMatchingField")
            .map(str::to_owned)
            .or_else(|| use_global_ids.then(|| global.clone()).flatten());
        if upsert && matching.is_none() {
            return Err(fail("'upsertMatchingField' must be specified for an upsert (or useGlobalIds with a GlobalID field).".into()));
        }
        let existing: HashMap<String, i64> = match &matching {
            Some(m) if upsert => super::query::matching(call, service, layer, None, None, None)
                .map_err(|_| fail("Unable to read the layer.".into()))?
                .iter()
                .filter_map(|f| {
                    let a = super::query::attributes_of(f, &oid_field);
                    let v = a
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(m))
                        .map(|(_, v)| v)?;
                    Some((super::query::match_key(v)?, f.oid))
                })
                .collect(),
            _ => HashMap::new(),
        };
        let mut edits = Edits {
            adds: Vec::new(),
            updates: Vec::new(),
            deletes: Vec::new(),
        };
        let mut added_sources = Vec::new();
        for row in &rows {
            let source = row["attributes"].as_object().cloned().unwrap_or_default();
            let source_oid = source
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("OBJECTID"))
                .and_then(|(_, v)| v.as_i64());
            let mut attributes = Map::new();
            for name in &fields {
                if name.eq_ignore_ascii_case(&oid_field) {
                    continue;
                }
                if append_fields
                    .as_ref()
                    .is_some_and(|f| !f.iter().any(|x| x.eq_ignore_ascii_case(name)))
                {
                    continue;
                }
                if global
                    .as_deref()
                    .is_some_and(|g| g.eq_ignore_ascii_case(name))
                    && !use_global_ids
                {
                    continue;
                }
                let from = field_mappings
                    .iter()
                    .find(|(t, _)| t.eq_ignore_ascii_case(name))
                    .map_or(name.as_str(), |(_, s)| s.as_str());
                if let Some((_, v)) = source.iter().find(|(k, _)| k.eq_ignore_ascii_case(from)) {
                    attributes.insert(name.clone(), v.clone());
                }
            }
            let geometry = row.get("geometry").cloned();
            let existing_oid = matching.as_ref().and_then(|m| {
                let v = source
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(m))
                    .map(|(_, v)| v)?;
                existing.get(&super::query::match_key(v)?).copied()
            });
            match existing_oid {
                Some(oid) => {
                    if skip_updates {
                        continue;
                    }
                    attributes.insert(oid_field.clone(), json!(oid));
                    if let Some(g) = &global {
                        attributes.remove(g);
                    }
                    let mut f = json!({"attributes": attributes});
                    if update_geometry && let Some(g) = geometry {
                        f["geometry"] = g;
                    }
                    edits.updates.push(f);
                }
                None if skip_inserts => {}
                None => {
                    let mut f = json!({"attributes": attributes});
                    if let Some(g) = geometry {
                        f["geometry"] = g;
                    }
                    edits.adds.push(f);
                    added_sources.push(source_oid);
                }
            }
        }
        sources.push((id_of(layer), table.clone(), added_sources));
        work.push((target, edits));
    }
    let results = super::edits::apply_all(
        call,
        &work,
        call.params.flag("rollbackOnFailure", true),
        use_global_ids,
    )
    .map_err(|_| fail("Unable to apply the append.".into()))?;
    if let Some(failure) = results
        .iter()
        .flat_map(|r| r.adds.iter().chain(&r.updates))
        .find(|r| r["success"] != json!(true))
    {
        return Err(fail(format!(
            "Append failed: {}",
            failure["error"]["description"]
                .as_str()
                .unwrap_or("an edit failed")
        )));
    }
    // Attachments of a File Geodatabase's tables follow their features.
    let attachment_tables = super::attachments::tables_of(&summary.layers);
    for ((layer_id, table, added_sources), result) in sources.iter().zip(&results) {
        let layer = find(service, &layer_id.to_string());
        if layer.is_none_or(|l| l["hasAttachments"] != json!(true)) {
            continue;
        }
        let Some((_, attach)) = attachment_tables.iter().find(|(parent, _)| parent == table) else {
            continue;
        };
        let oids: HashMap<i64, i64> = added_sources
            .iter()
            .zip(&result.adds)
            .filter_map(|(source, added)| Some(((*source)?, added["objectId"].as_i64()?)))
            .collect();
        super::attachments::load(
            call,
            &service.item,
            payload,
            file_name,
            &[(*layer_id, attach.clone())],
            Some(&oids),
        )
        .map_err(fail)?;
    }
    let added: usize = results.iter().map(|r| r.adds.len()).sum();
    let updated: usize = results.iter().map(|r| r.updates.len()).sum();
    Ok(json!({"recordCount": added + updated}))
}

/// `POST …/admin/…/FeatureServer/<layer>/truncate`: every feature and attachment deleted (only
/// attachments with `attachmentOnly`); `async` answers with a job's `statusURL`.
pub(super) fn truncate(call: &Call, name: &str, index: &str) -> Result<Response, Response> {
    let service = super::admin::owned_service(call, name)?;
    if service.kind == VIEW_KIND {
        return Err(bad("Truncate is not supported on views."));
    }
    if service.definition["syncEnabled"] == json!(true) {
        return Err(bad(
            "Truncate is not supported on services with sync enabled.",
        ));
    }
    let layer = find(&service, index).ok_or_else(super::layers::no_layer)?;
    let id = id_of(layer);
    let attachments_only = call.params.flag("attachmentOnly", false);
    let store = &call.shared.store;
    let done = store
        .edit(&service.item, crate::now_ms(), |e| {
            if attachments_only {
                e.detach_layer(id)?;
            } else {
                e.delete_all(id)?;
            }
            e.touch(id, false)
        })
        .map_err(internal);
    store.sweep_data().map_err(internal)?;
    if call.params.flag("async", false) {
        let outcome = done
            .map(|()| json!({}))
            .map_err(|_| json!({"code": 500, "message": "Unable to truncate.", "details": []}));
        let status = super::jobs::submit(call, &service.name, outcome);
        return Ok(call.reply(&json!({"statusURL": status})));
    }
    done?;
    Ok(call.reply(&json!({"success": true})))
}
