//! Hosted feature services: `publish` from a file item (its layers' definitions made from what
//! orgpack-payload reads, and every feature loaded into the store), and the FeatureServer's
//! resources under `/<org>/server/rest/services/Hosted/<name>/FeatureServer` (spec/portal-api.md,
//! "Hosted services"): the service and layer JSON, `query`, the edit operations and attachments.
//! Exports are in `export`.

use serde_json::{Value, json};

use super::auth::internal;
use super::content::{can_read, folder_id, list, new_item_json, owner_or_admin, readable};
use super::{Call, FORBIDDEN, error};
use crate::store::{Service, Stored};
use axum::response::Response;

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

/// `content/users/<u>[/<folder>]/publish`: `itemId` (or `itemid`/`itemID`), `fileType`
/// (or `filetype`), `publishParameters` with `name`.
pub(super) fn publish(
    call: &Call,
    owner: &str,
    folder: Option<&str>,
) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    call.require("portal:publisher:publishFeatures")?;
    let p = &call.params;
    let Some(source_id) = p.get("itemId").or(p.get("itemid")).or(p.get("itemID")) else {
        return Err(error(400, "'itemId' must be specified.", &[]));
    };
    let Some(file_type) = p.get("fileType").or(p.get("filetype")) else {
        return Err(error(400, "'fileType' must be specified.", &[]));
    };
    if file_type.eq_ignore_ascii_case("featureService") {
        return super::tiles::publish(call, owner, folder, source_id);
    }
    if super::tile_packages::is_package(file_type) {
        return super::tile_packages::publish(call, owner, folder, source_id, file_type);
    }
    if let Some(output) = p
        .get("outputType")
        .filter(|o| !o.eq_ignore_ascii_case("featureService"))
    {
        return Err(error(
            400,
            &format!(
                "The sandbox publishes fileType '{file_type}' as a feature service only: outputType '{output}' is not supported."
            ),
            &[],
        ));
    }
    let Some(&(_, expected)) = FILE_TYPES
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(file_type))
    else {
        return Err(error(
            400,
            &format!("Publishing from fileType '{file_type}' is not supported by the sandbox."),
            &[
                "Supported: fileGeodatabase, shapefile, csv, geojson, serviceDefinition, and featureService with outputType Tiles, VectorTiles or sceneService.",
            ],
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
    check_name(name)?;
    if expected == orgpack_payload::Kind::ServiceDefinition && summary.layers.is_empty() {
        return Err(error(
            400,
            "The service definition holds no data (it references a registered data store): only services whose data is copied in can be published as hosted services.",
            &[],
        ));
    }
    let spatial_reference = super::layers::spatial_reference(None);
    // A File Geodatabase's attachment tables (`<layer>__ATTACH`) become their layer's
    // attachments, as publishing does, not tables of their own.
    let attachment_tables = super::attachments::tables_of(&summary.layers);
    let layers: Vec<Value> = summary
        .layers
        .iter()
        .filter(|l| !attachment_tables.iter().any(|(_, t)| *t == l.name))
        .enumerate()
        .map(|(i, l)| {
            let mut def = super::layers::from_payload(i as u64, l, &spatial_reference, false);
            if attachment_tables.iter().any(|(p, _)| *p == l.name) {
                def["hasAttachments"] = json!(true);
            }
            def
        })
        .collect();
    // Attachment tables load into their layer, numbered as the layers are.
    let attachment_layers: Vec<(i64, String)> = attachment_tables
        .iter()
        .filter_map(|(parent, table)| {
            layers
                .iter()
                .find(|l| l["name"] == parent.as_str())
                .map(|l| (super::layers::id_of(l), table.clone()))
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
            definition: super::layers::new_service(&json!({}), &spatial_reference),
        },
        &payload,
        json!({
            "title": title,
            "typeKeywords": ["ArcGIS Server", "Data", "Feature Access", "Feature Service", "Service", "Singlelayer", "Hosted Service"],
            "tags": list(p, "tags"), "size": payload.len(),
        }),
    )?;
    if let Err(e) = load_features(call, &id, &payload, &file_name).and_then(|()| {
        super::attachments::load(call, &id, &payload, &file_name, &attachment_layers, None)
    }) {
        store.delete_item(&id).map_err(internal)?;
        return Err(error(400, &format!("Unable to publish: {e}"), &[]));
    }
    store
        .add_relationship(&id, source_id, "Service2Data")
        .map_err(internal)?;
    store
        .set_status_until(&id, "processing", super::jobs::ready_at(call))
        .map_err(internal)?;
    let job = crate::new_id();
    Ok(call.reply(&json!({"services": [{
        "type": "Feature Service", "serviceurl": url, "encodedServiceURL": url, "size": payload.len(),
        "jobId": job, "serviceItemId": id,
    }]})))
}

/// Store a new service's item `item` (id `id`): `409 Item with id '…' already exists.` when the id
/// is taken (`itemIdToCreate`).
pub(super) fn add_service_item(
    call: &Call,
    owner: &str,
    folder: Option<&str>,
    id: &str,
    item: &Value,
    now: i64,
) -> Result<(), Response> {
    call.shared
        .store
        .add_item(&call.org, owner, folder, item, None, now)
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => {
                error(409, &format!("Item with id '{id}' already exists."), &[])
            }
            _ => internal(e),
        })
}

/// A service name's check: letters, digits and underscores.
pub(super) fn check_name(name: &str) -> Result<(), Response> {
    if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(error(
            400,
            &format!("Service name '{name}' is invalid: use letters, digits and underscores."),
            &[],
        ))
    }
}

/// Rows read from a published file per pass while loading it.
const LOAD_PAGE: usize = 10_000;

/// Load every feature of a just-published service from its file into the store, object ids as
/// the file numbers them, and set on each layer the spatial reference and Z-awareness the file
/// shows (on the service too: its first layer's).
fn load_features(call: &Call, item: &str, payload: &Stored, file_name: &str) -> Result<(), String> {
    let store = &call.shared.store;
    let mut service = store
        .service_of(&call.org, item)
        .map_err(|e| e.to_string())?
        .ok_or("the service is gone")?;
    let now = crate::now_ms();
    let mut layers = service.layers.as_array().cloned().unwrap_or_default();
    let mut service_sr = None;
    for layer in &mut layers {
        let id = super::layers::id_of(layer);
        let table = super::layers::is_table(layer);
        store
            .add_layer_state(item, id, now)
            .map_err(|e| e.to_string())?;
        let name = layer["name"].as_str().unwrap_or_default().to_owned();
        let (mut offset, mut has_z) = (0, false);
        loop {
            let reader = store.blobs().reader(payload).map_err(|e| e.to_string())?;
            let page = orgpack_payload::features(
                std::io::BufReader::new(reader),
                file_name,
                &name,
                offset,
                LOAD_PAGE,
            )
            .map_err(|e| format!("layer '{name}': {e}"))?;
            if offset == 0
                && !table
                && let Some(wkt) = &page.spatial_reference
            {
                let sr = super::layers::spatial_reference(Some(wkt));
                layer["spatialReference"] = sr.clone();
                layer["sourceWkt"] = json!(wkt);
                service_sr.get_or_insert(sr);
            }
            store
                .edit(item, now, |e| {
                    for (n, f) in page.features.iter().enumerate() {
                        let mut attributes =
                            f["attributes"].as_object().cloned().unwrap_or_default();
                        let oid = attributes
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(super::layers::OBJECT_ID))
                            .and_then(|(_, v)| v.as_i64())
                            .unwrap_or_else(|| i64::try_from(offset + n + 1).unwrap_or(i64::MAX));
                        attributes.retain(|k, _| !k.eq_ignore_ascii_case(super::layers::OBJECT_ID));
                        let geometry =
                            f.get("geometry")
                                .filter(|g| !table && !g.is_null())
                                .map(|g| {
                                    let mut g = g.clone();
                                    if let Some(o) = g.as_object_mut() {
                                        o.remove("spatialReference");
                                    }
                                    g
                                });
                        has_z |= geometry
                            .as_ref()
                            .is_some_and(|g| g.get("z").is_some() || g["hasZ"] == json!(true));
                        e.insert_as(id, oid, &attributes, geometry.as_ref())?;
                    }
                    Ok::<_, rusqlite::Error>(())
                })
                .map_err(|e| e.to_string())?;
            offset += page.features.len();
            if !page.more {
                break;
            }
        }
        if !table {
            layer["hasZ"] = json!(has_z);
        }
    }
    service.layers = Value::Array(layers);
    store
        .set_service_layers(&call.org, &service.name, &service.layers)
        .map_err(|e| e.to_string())?;
    if let Some(sr) = service_sr {
        service.definition = super::layers::new_service(&json!({"spatialReference": sr}), &sr);
        store
            .set_service_definition(&call.org, &service.name, &service.definition)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
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
    // `itemIdToCreate`, as `addItem` takes it: ArcGIS Enterprise keeps a service's item id too.
    let id = super::content::id_to_create(call)?;
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
    add_service_item(call, owner, folder.as_deref(), &id, &item, now)?;
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

/// The service `name` of this organization and its item; `400 Service not found.` otherwise.
pub(super) fn service_named(
    call: &Call,
    name: &str,
) -> Result<(Service, crate::store::StoredItem), Response> {
    let store = &call.shared.store;
    let not_found = || error(400, "Service not found.", &[]);
    let service = store
        .service_named(&call.org, name)
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let item = store
        .item(&call.org, &service.item)
        .map_err(internal)?
        .ok_or_else(not_found)?;
    Ok((service, item))
}

/// Whether a service can be read by the caller: `Ok` with the service, or the answer a server
/// gives (`499` without a token, `498` with a bad one, `403` for another user's).
fn readable_service(call: &Call, name: &str) -> Result<Service, Response> {
    let (service, item) = service_named(call, name)?;
    may_read_service(call, &item)?;
    Ok(service)
}

/// Whether the caller may read the service behind `item`: the answer a server gives when not
/// (`499` without a token, `498` with a bad one, `403` for another user's).
pub(super) fn may_read_service(
    call: &Call,
    item: &crate::store::StoredItem,
) -> Result<(), Response> {
    if can_read(call, item)? {
        return Ok(());
    }
    Err(match &call.user {
        None if call.params.token().is_none() => error(499, "Token Required.", &[]),
        None => error(498, "Invalid token.", &[]),
        Some(_) => error(403, FORBIDDEN, &[]),
    })
}

/// `/<org>/server/rest/services/Hosted/<name>/FeatureServer[/…]`: the service and layer
/// resources, `query`, and the edit operations (POST).
pub(super) fn feature_server(
    call: &Call,
    name: &str,
    rest: &[&str],
    post: bool,
) -> Result<Response, Response> {
    let service = readable_service(call, name)?;
    let is_view = service.kind == super::views::VIEW_KIND;
    match rest {
        ["sources"] | [_, "sources"] if is_view => super::views::sources(call, &service),
        [] => Ok(call.reply(&super::layers::served_service(call, &service)?)),
        ["layers"] => super::layers::served_all(call, &service),
        ["applyEdits"] if post => super::edits::apply_service_edits(call, &service),
        ["append"] if post => super::append::append(call, &service, None),
        ["jobs", id] => super::jobs::status(call, id),
        [index, tail @ ..] => {
            let layer = super::layers::find(&service, index).ok_or_else(super::layers::no_layer)?;
            match tail {
                [] => Ok(call.reply(&super::layers::served_layer(call, &service, layer)?)),
                ["query"] => super::query::query(call, &service, layer),
                ["applyEdits"] if post => super::edits::apply_edits(call, &service, layer),
                ["addFeatures"] if post => super::edits::add_or_update(call, &service, layer, true),
                ["updateFeatures"] if post => {
                    super::edits::add_or_update(call, &service, layer, false)
                }
                ["deleteFeatures"] if post => super::edits::delete_features(call, &service, layer),
                ["queryAttachments"] => super::attachments::query(call, &service, layer),
                ["queryRelatedRecords"] => super::related::query(call, &service, layer),
                ["append"] if post => super::append::append(call, &service, Some(layer)),
                [oid, "attachments"] => super::attachments::list(call, &service, layer, oid),
                [oid, "attachments", id] => {
                    super::attachments::download(call, &service, layer, oid, id)
                }
                [oid, "addAttachment"] if post => {
                    super::attachments::add_or_update(call, &service, layer, oid, true)
                }
                [oid, "updateAttachment"] if post => {
                    super::attachments::add_or_update(call, &service, layer, oid, false)
                }
                [oid, "deleteAttachments"] if post => {
                    super::attachments::delete(call, &service, layer, oid)
                }
                _ => Err(error(400, "Invalid URL", &[])),
            }
        }
    }
}

/// `portals/<self|orgId>/isServiceNameAvailable`: `name`, `type` (`Feature Service`, `Map
/// Service`, `Vector Tile Service` or `Scene Service`; the sandbox hosts no other) → `{"available"}`: no service of the organization has the name,
/// whatever its case.
pub(super) fn name_available(call: &Call) -> Result<Response, Response> {
    call.require_user()?;
    let p = &call.params;
    let (Some(name), Some(kind)) = (p.get("name"), p.get("type")) else {
        return Err(error(400, "'name' and 'type' must be specified.", &[]));
    };
    let store = &call.shared.store;
    let tiles = [
        ("Map Service", "MapServer"),
        ("Vector Tile Service", "VectorTileServer"),
        ("Scene Service", "SceneServer"),
    ];
    let taken = if kind.eq_ignore_ascii_case("Feature Service") {
        store
            .service_named(&call.org, name)
            .map_err(internal)?
            .is_some()
    } else if let Some((_, server)) = tiles.iter().find(|(t, _)| t.eq_ignore_ascii_case(kind)) {
        store
            .tile_service(&call.org, name, server)
            .map_err(internal)?
            .is_some()
    } else {
        return Err(error(
            400,
            &format!(
                "The sandbox hosts feature services, tile layers, vector tile layers and scene layers only; type '{kind}' is not served."
            ),
            &[],
        ));
    };
    Ok(call.reply(&json!({"available": !taken})))
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
