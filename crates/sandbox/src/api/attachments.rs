//! Attachments of a hosted layer's features (spec/portal-api.md, "Attachments"): the list and
//! the bytes of a feature's attachments, `addAttachment`, `updateAttachment`,
//! `deleteAttachments`, and the layer's `queryAttachments`. Only layers with `hasAttachments`
//! serve them; each change is a data edit (the layer's `editingInfo` moves). A view serves its
//! source's.

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::internal;
use super::layers::{capabilities, global_id_field, id_of};
use super::{Call, error};
use crate::store::{Attachment, Service, Stored};

fn unsupported(detail: &str) -> Response {
    error(
        400,
        "Requested operation is not supported by this service.",
        &[detail],
    )
}

/// The layer whose features hold the attachments (a view's source's), once it has them.
fn data_layer(call: &Call, service: &Service, layer: &Value) -> Result<(Service, Value), Response> {
    if layer["hasAttachments"] != json!(true) {
        return Err(unsupported(
            "The layer does not have attachments (hasAttachments is false).",
        ));
    }
    let (data_service, data_layer) = super::query::data_of(call, service, layer)?;
    if data_layer["hasAttachments"] != json!(true) {
        return Err(unsupported(
            "The view's source layer does not have attachments.",
        ));
    }
    Ok((data_service, data_layer))
}

fn parse_id(text: &str, what: &str) -> Result<i64, Response> {
    text.parse::<i64>().map_err(|_| {
        error(
            400,
            "Invalid or missing input parameters.",
            &[&format!("'{text}' is not a {what}.")],
        )
    })
}

/// The JSON a server describes an attachment with.
fn info(a: &Attachment, parent_global: Option<&str>) -> Value {
    let mut v = json!({
        "id": a.id, "globalId": a.global_id, "name": a.name, "contentType": a.content_type,
        "size": a.size, "keywords": a.keywords, "exifInfo": null,
    });
    if let Some(g) = parent_global {
        v["parentGlobalId"] = json!(g);
    }
    v
}

/// The GlobalID of feature `oid`, when the layer has a GlobalID field.
fn parent_global(
    call: &Call,
    service: &Service,
    layer: &Value,
    oid: i64,
) -> Result<Option<String>, Response> {
    let Some(field) = global_id_field(layer) else {
        return Ok(None);
    };
    let rows = call
        .shared
        .store
        .features(
            &service.item,
            id_of(layer),
            &crate::store::Selection {
                object_ids: Some(&[oid]),
                envelope: None,
            },
        )
        .map_err(internal)?;
    Ok(rows
        .first()
        .and_then(|f| f.attributes.get(field))
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// `GET …/<layer>/<oid>/attachments`: `{"attachmentInfos": [...]}`.
pub(super) fn list(
    call: &Call,
    service: &Service,
    layer: &Value,
    oid: &str,
) -> Result<Response, Response> {
    let (data_service, data_layer) = data_layer(call, service, layer)?;
    let oid = parse_id(oid, "feature id")?;
    let global = parent_global(call, &data_service, &data_layer, oid)?;
    let found = call
        .shared
        .store
        .attachments(&data_service.item, id_of(&data_layer), Some(&[oid]))
        .map_err(internal)?;
    let infos: Vec<Value> = found.iter().map(|a| info(a, global.as_deref())).collect();
    Ok(call.reply(&json!({"attachmentInfos": infos})))
}

/// `GET …/<layer>/<oid>/attachments/<id>`: the file, with its content type.
pub(super) fn download(
    call: &Call,
    service: &Service,
    layer: &Value,
    oid: &str,
    id: &str,
) -> Result<Response, Response> {
    let (data_service, data_layer) = data_layer(call, service, layer)?;
    let (oid, id) = (parse_id(oid, "feature id")?, parse_id(id, "attachment id")?);
    let Some((a, stored)) = call
        .shared
        .store
        .attachment(&data_service.item, id_of(&data_layer), oid, id)
        .map_err(internal)?
    else {
        return Err(error(404, "Attachment not found.", &[]));
    };
    let reader = call
        .shared
        .store
        .blobs()
        .reader(&stored)
        .map_err(internal)?;
    let mut response = (
        [
            ("content-type", a.content_type.clone()),
            ("content-length", a.size.to_string()),
        ],
        super::stream_body(reader),
    )
        .into_response();
    if let Ok(d) = format!("inline; filename=\"{}\"", a.name.replace('"', "")).parse() {
        response.headers_mut().insert("content-disposition", d);
    }
    Ok(response)
}

/// A file's MIME type from its name, as servers record it.
fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "tif" | "tiff" => "image/tiff",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "xml" => "text/xml",
        "zip" => "application/zip",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

fn require_any(service: &Service, layer: &Value, any: &[&str]) -> Result<(), Response> {
    let allowed = capabilities(service, layer);
    if any
        .iter()
        .any(|c| allowed.contains(&c.to_ascii_lowercase()))
    {
        Ok(())
    } else {
        Err(unsupported(&format!(
            "The layer's capabilities ({}) do not include {}.",
            allowed.join(","),
            any.join(" or ")
        )))
    }
}

fn result(id: i64, global: Option<&str>, failure: Option<(i64, &str)>) -> Value {
    match failure {
        None => json!({"objectId": id, "globalId": global, "success": true}),
        Some((code, description)) => {
            json!({"objectId": id, "globalId": global, "success": false, "error": {"code": code, "description": description}})
        }
    }
}

/// The file a request uploads as `attachment`, stored.
fn uploaded(call: &Call) -> Result<(String, Stored), Response> {
    if call.params.get("uploadId").is_some() {
        return Err(error(
            400,
            "Unable to complete operation.",
            &["'uploadId' is not supported by the sandbox: send the file as 'attachment'."],
        ));
    }
    let upload = call.params.take_file("attachment").ok_or_else(|| {
        error(
            400,
            "Unable to complete operation.",
            &["'attachment' must be sent as a file."],
        )
    })?;
    let stored = call
        .shared
        .store
        .blobs()
        .stash(upload.body)
        .map_err(internal)?;
    Ok((upload.name, stored))
}

/// `POST …/<layer>/<oid>/addAttachment` (and `updateAttachment` with `attachmentId`).
pub(super) fn add_or_update(
    call: &Call,
    service: &Service,
    layer: &Value,
    oid: &str,
    adding: bool,
) -> Result<Response, Response> {
    let (data_service, data_layer) = data_layer(call, service, layer)?;
    require_any(
        service,
        layer,
        if adding {
            &["Create", "Update"]
        } else {
            &["Update"]
        },
    )?;
    let oid = parse_id(oid, "feature id")?;
    let id = match call.params.get("attachmentId") {
        Some(id) if !adding => Some(parse_id(id, "attachment id")?),
        None if !adding => {
            return Err(error(
                400,
                "Unable to complete operation.",
                &["'attachmentId' must be specified."],
            ));
        }
        _ => None,
    };
    let (name, stored) = uploaded(call)?;
    let kind = content_type(&name);
    let keywords = call.params.get("keywords").unwrap_or("").to_owned();
    let layer_id = id_of(&data_layer);
    let store = &call.shared.store;
    let outcome = store
        .edit(&data_service.item, crate::now_ms(), |e| {
            if e.get(layer_id, oid)?.is_none() {
                return Ok(Err((1011, "Object is missing.")));
            }
            store.register_data(e, &stored)?;
            let done = match id {
                None => {
                    let global = super::edits::new_global_id();
                    let file = crate::store::NewAttachment {
                        parent: oid,
                        global_id: &global,
                        name: &name,
                        content_type: kind,
                        keywords: &keywords,
                    };
                    let id = e.attach(layer_id, &file, &stored)?;
                    Some((id, global))
                }
                Some(id) => e
                    .replace_attachment(layer_id, oid, id, &name, kind, &stored)?
                    .map(|global| (id, global)),
            };
            let Some(done) = done else {
                return Ok(Err((
                    1009,
                    "Updating an attachment failed: no such attachment.",
                )));
            };
            e.touch(layer_id, false)?;
            Ok::<_, rusqlite::Error>(Ok(done))
        })
        .map_err(internal)?;
    store.sweep_data().map_err(internal)?;
    let key = if adding {
        "addAttachmentResult"
    } else {
        "updateAttachmentResult"
    };
    let answer = match outcome {
        Ok((id, global)) => result(id, Some(&global), None),
        Err((code, description)) => result(id.unwrap_or(-1), None, Some((code, description))),
    };
    Ok(call.reply(&json!({ key: answer })))
}

/// `POST …/<layer>/<oid>/deleteAttachments`: `attachmentIds`, a comma list.
pub(super) fn delete(
    call: &Call,
    service: &Service,
    layer: &Value,
    oid: &str,
) -> Result<Response, Response> {
    let (data_service, data_layer) = data_layer(call, service, layer)?;
    require_any(service, layer, &["Delete", "Update"])?;
    let oid = parse_id(oid, "feature id")?;
    let ids: Vec<i64> = call
        .params
        .get("attachmentIds")
        .ok_or_else(|| {
            error(
                400,
                "Unable to complete operation.",
                &["'attachmentIds' must be specified."],
            )
        })?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_id(s, "attachment id"))
        .collect::<Result<_, _>>()?;
    let layer_id = id_of(&data_layer);
    let store = &call.shared.store;
    let before = store
        .attachments(&data_service.item, layer_id, Some(&[oid]))
        .map_err(internal)?;
    let results = store
        .edit(&data_service.item, crate::now_ms(), |e| {
            let mut results = Vec::with_capacity(ids.len());
            let mut any = false;
            for id in &ids {
                let global = before
                    .iter()
                    .find(|a| a.id == *id)
                    .map(|a| a.global_id.as_str());
                if e.detach(layer_id, oid, *id)? {
                    any = true;
                    results.push(result(*id, global, None));
                } else {
                    results.push(result(
                        *id,
                        None,
                        Some((1010, "Deleting an attachment failed: no such attachment.")),
                    ));
                }
            }
            if any {
                e.touch(layer_id, false)?;
            }
            Ok::<_, rusqlite::Error>(results)
        })
        .map_err(internal)?;
    store.sweep_data().map_err(internal)?;
    Ok(call.reply(&json!({"deleteAttachmentResults": results})))
}

/// `…/<layer>/queryAttachments`: `objectIds`, `globalIds`, `definitionExpression` (over the
/// features), `attachmentTypes` (MIME types or their first part), `keywords`, `returnUrl`.
pub(super) fn query(call: &Call, service: &Service, layer: &Value) -> Result<Response, Response> {
    let (data_service, data_layer) = data_layer(call, service, layer)?;
    let p = &call.params;
    for key in [
        "attachmentsDefinitionExpression",
        "size",
        "returnMetadata",
        "resultOffset",
        "resultRecordCount",
        "orderByFields",
    ] {
        if p.get(key).is_some() {
            return Err(error(
                400,
                "Unable to perform query operation.",
                &[&format!("'{key}' is not supported by the sandbox.")],
            ));
        }
    }
    let fields = super::query::field_names(layer);
    let clause = super::query::where_clause(p.get("definitionExpression").unwrap_or(""), &fields)?;
    let ids = p
        .get("objectIds")
        .map(|l| super::query::object_id_list(l, "objectIds"))
        .transpose()?;
    let mut features =
        super::query::matching(call, service, layer, clause.as_ref(), ids.as_deref(), None)?;
    let global_field = global_id_field(&data_layer).map(str::to_owned);
    if let Some(globals) = p.get("globalIds") {
        let wanted: Vec<String> = globals
            .split(',')
            .map(|g| g.trim().to_ascii_uppercase())
            .collect();
        features.retain(|f| {
            global_field
                .as_ref()
                .and_then(|g| f.attributes.get(g))
                .and_then(Value::as_str)
                .is_some_and(|g| wanted.contains(&g.to_ascii_uppercase()))
        });
    }
    let types: Option<Vec<String>> = p.get("attachmentTypes").map(|t| {
        t.split(',')
            .map(|x| x.trim().to_ascii_lowercase())
            .collect()
    });
    let keywords: Option<Vec<String>> = p
        .get("keywords")
        .map(|k| k.split(',').map(|x| x.trim().to_owned()).collect());
    let parents: Vec<i64> = features.iter().map(|f| f.oid).collect();
    let all = call
        .shared
        .store
        .attachments(&data_service.item, id_of(&data_layer), Some(&parents))
        .map_err(internal)?;
    let return_url = p.flag("returnUrl", false);
    let layer_url = format!(
        "{}/{}",
        super::services::service_url(call, &service.name),
        id_of(layer)
    );
    let mut groups = Vec::new();
    for f in &features {
        let global = global_field
            .as_ref()
            .and_then(|g| f.attributes.get(g))
            .and_then(Value::as_str);
        let infos: Vec<Value> = all
            .iter()
            .filter(|a| a.parent == f.oid)
            .filter(|a| {
                types.as_ref().is_none_or(|t| {
                    let kind = a.content_type.to_ascii_lowercase();
                    t.iter()
                        .any(|x| kind == *x || kind.split('/').next() == Some(x.as_str()))
                })
            })
            .filter(|a| {
                keywords.as_ref().is_none_or(|k| {
                    k.iter()
                        .any(|x| a.keywords.split(',').any(|y| y.trim() == x))
                })
            })
            .map(|a| {
                let mut v = info(a, None);
                if return_url {
                    v["url"] = json!(format!("{layer_url}/{}/attachments/{}", f.oid, a.id));
                }
                v
            })
            .collect();
        if !infos.is_empty() {
            groups.push(json!({"parentObjectId": f.oid, "parentGlobalId": global, "attachmentInfos": infos}));
        }
    }
    Ok(call.reply(&json!({
        "fields": [
            {"name": "ATTACHMENTID", "type": "esriFieldTypeOID", "alias": "ATTACHMENTID"},
            {"name": "GLOBALID", "type": "esriFieldTypeGlobalID", "alias": "GLOBALID", "length": 38},
            {"name": "REL_OBJECTID", "type": "esriFieldTypeInteger", "alias": "REL_OBJECTID"},
            {"name": "CONTENT_TYPE", "type": "esriFieldTypeString", "alias": "CONTENT_TYPE", "length": 150},
            {"name": "ATT_NAME", "type": "esriFieldTypeString", "alias": "ATT_NAME", "length": 250},
            {"name": "DATA_SIZE", "type": "esriFieldTypeInteger", "alias": "DATA_SIZE"},
            {"name": "KEYWORDS", "type": "esriFieldTypeString", "alias": "KEYWORDS", "length": 250},
        ],
        "attachmentGroups": groups,
    })))
}

/// The attachment tables of a file's layers: `(layer, table)` for each `<layer>__ATTACH` table
/// with `ATT_NAME` and `DATA` fields whose layer the file has.
pub(super) fn tables_of(layers: &[orgpack_payload::Layer]) -> Vec<(String, String)> {
    layers
        .iter()
        .filter_map(|t| {
            let parent = t.name.strip_suffix("__ATTACH")?;
            let has = |f: &str| t.fields.iter().any(|x| x.name.eq_ignore_ascii_case(f));
            (has("ATT_NAME") && has("DATA") && layers.iter().any(|l| l.name == parent))
                .then(|| (parent.to_owned(), t.name.clone()))
        })
        .collect()
}

/// Load attachments into layers of a service from a file's attachment tables (`(layer id,
/// table)`): each row attached to the feature its `REL_OBJECTID` (through `oids`, the file's
/// object ids to the layer's, when they differ) or `REL_GLOBALID` names — rows naming no feature
/// are left out —, with its name, content type, keywords, GlobalID and bytes.
pub(super) fn load(
    call: &Call,
    item: &str,
    payload: &Stored,
    file_name: &str,
    tables: &[(i64, String)],
    oids: Option<&std::collections::HashMap<i64, i64>>,
) -> Result<(), String> {
    use base64::Engine as _;
    let store = &call.shared.store;
    let Some(service) = store
        .service_of(&call.org, item)
        .map_err(|e| e.to_string())?
    else {
        return Err("the service is gone".into());
    };
    for (layer_id, table) in tables {
        let Some(layer) = service
            .layers
            .as_array()
            .and_then(|l| l.iter().find(|l| id_of(l) == *layer_id))
        else {
            continue;
        };
        let layer_id = id_of(layer);
        let reader = store.blobs().reader(payload).map_err(|e| e.to_string())?;
        let rows = orgpack_payload::features(
            std::io::BufReader::new(reader),
            file_name,
            table,
            0,
            usize::MAX,
        )
        .map_err(|e| format!("attachments '{table}': {e}"))?
        .features;
        let by_global: std::collections::HashMap<String, i64> = match global_id_field(layer) {
            Some(g) => store
                .features(item, layer_id, &crate::store::Selection::default())
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter_map(|f| {
                    f.attributes
                        .get(g)
                        .and_then(Value::as_str)
                        .map(|v| (v.to_ascii_uppercase(), f.oid))
                })
                .collect(),
            None => std::collections::HashMap::new(),
        };
        let text = |a: &serde_json::Map<String, Value>, k: &str| {
            a.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .and_then(|(_, v)| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        store
            .edit(item, crate::now_ms(), |e| {
                for row in &rows {
                    let Some(a) = row["attributes"].as_object() else {
                        continue;
                    };
                    let parent_oid = a
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("REL_OBJECTID"))
                        .and_then(|(_, v)| v.as_i64())
                        .map(|o| oids.and_then(|m| m.get(&o).copied()).unwrap_or(o))
                        .or_else(|| {
                            by_global
                                .get(&text(a, "REL_GLOBALID").to_ascii_uppercase())
                                .copied()
                        });
                    let Some(parent_oid) =
                        parent_oid.filter(|o| e.get(layer_id, *o).ok().flatten().is_some())
                    else {
                        continue;
                    };
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(text(a, "DATA"))
                        .unwrap_or_default();
                    let stored = store
                        .blobs()
                        .stash(crate::store::Body::Memory(bytes))
                        .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
                    store.register_data(e, &stored)?;
                    let global = Some(text(a, "GLOBALID"))
                        .filter(|g| !g.is_empty())
                        .unwrap_or_else(super::edits::new_global_id);
                    let name = text(a, "ATT_NAME");
                    let given_type = text(a, "CONTENT_TYPE");
                    let file = crate::store::NewAttachment {
                        parent: parent_oid,
                        global_id: &global,
                        name: &name,
                        content_type: if given_type.is_empty() {
                            content_type(&name)
                        } else {
                            &given_type
                        },
                        keywords: &text(a, "KEYWORDS"),
                    };
                    e.attach(layer_id, &file, &stored)?;
                }
                Ok::<_, rusqlite::Error>(())
            })
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
