//! `export` of a hosted feature service (spec/portal-api.md, "…/export"): a new item holding a
//! file written from the service's features as they are now — a File Geodatabase of every layer
//! (with attachment tables and domains), or one layer as CSV, GeoJSON or a zipped shapefile.

use serde_json::{Value, json};

use super::auth::internal;
use super::content::{list, new_item_json, owner_or_admin, readable};
use super::{Call, FORBIDDEN, error};
use crate::store::{Service, Stored};
use axum::response::Response;

/// Export formats, with the item type and file extension of the export.
const EXPORTS: &[(&str, &str, &str)] = &[
    ("File Geodatabase", "File Geodatabase", "zip"),
    ("Shapefile", "Shapefile", "zip"),
    ("CSV", "CSV", "csv"),
    ("GeoJson", "GeoJson", "geojson"),
];

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
    let Some(&(format, export_type, extension)) = EXPORTS
        .iter()
        .find(|(f, _, _)| f.eq_ignore_ascii_case(format))
    else {
        return Err(error(
            400,
            &format!("Export format '{format}' is not supported by the sandbox."),
            &[],
        ));
    };
    let payload = match format {
        "CSV" => written(call, &service, orgpack_payload::Format::Csv)?,
        "GeoJson" => written(call, &service, orgpack_payload::Format::GeoJson)?,
        "Shapefile" => written(call, &service, orgpack_payload::Format::Shapefile)?,
        _ => geodatabase(call, &service)?,
    };
    let id = crate::new_id();
    let now = crate::now_ms();
    let title = p.get("title").unwrap_or(&service.name).to_owned();
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
    store
        .set_status_until(&id, "processing", super::jobs::ready_at(call))
        .map_err(internal)?;
    Ok(call.reply(&json!({
        "type": export_type, "size": payload.len(), "jobId": crate::new_id(), "exportItemId": id,
        "serviceItemId": item_id, "exportFormat": format,
    })))
}

/// A layer or table an export writes, with the `where` of its `exportLayerInfo`.
struct Chosen<'a> {
    layer: &'a Value,
    clause: Option<super::sql::Expr>,
}

/// The layers and tables an export writes: every one when `exportParameters` is absent or empty
/// ("it is assumed that all layers should be exported"), else those its `layers` names, in the
/// service's order, each with its `where`. What the sandbox does not implement (`targetSR`,
/// `includeGeometry: false`, other x/y column names) is refused, never ignored.
fn chosen_layers<'a>(call: &Call, service: &'a Service) -> Result<Vec<Chosen<'a>>, Response> {
    let all = service
        .layers
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let text = call
        .params
        .get("exportParameters")
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let Some(text) = text else {
        return Ok(all
            .iter()
            .map(|layer| Chosen {
                layer,
                clause: None,
            })
            .collect());
    };
    let parameters: Value = serde_json::from_str(text)
        .map_err(|_| error(400, "Invalid 'exportParameters' JSON.", &[]))?;
    let Some(object) = parameters.as_object() else {
        return Err(error(400, "Invalid 'exportParameters' JSON.", &[]));
    };
    if object.is_empty() {
        return Ok(all
            .iter()
            .map(|layer| Chosen {
                layer,
                clause: None,
            })
            .collect());
    }
    for key in object.keys() {
        if key != "layers" {
            return Err(error(
                400,
                &format!("'{key}' of exportParameters is not supported by the sandbox."),
                &[],
            ));
        }
    }
    let Some(infos) = object["layers"].as_array().filter(|l| !l.is_empty()) else {
        return Err(error(
            400,
            "'layers' of exportParameters must list the layers to export.",
            &[],
        ));
    };
    let mut out: Vec<Chosen> = Vec::new();
    for info in infos {
        let Some(id) = info["id"].as_i64() else {
            return Err(error(400, "Each exported layer needs an 'id'.", &[]));
        };
        let Some(layer) = all.iter().find(|l| super::layers::id_of(l) == id) else {
            return Err(error(
                400,
                &format!("Layer {id} does not exist in '{}'.", service.name),
                &[],
            ));
        };
        for (key, value) in info.as_object().into_iter().flatten() {
            let default = match key.as_str() {
                "id" | "where" => true,
                "includeGeometry" => value == &json!(true),
                "xColumnName" => value == &json!("x"),
                "yColumnName" => value == &json!("y"),
                _ => false,
            };
            if !default {
                return Err(error(
                    400,
                    &format!(
                        "'{key}: {value}' of an exported layer is not supported by the sandbox."
                    ),
                    &[],
                ));
            }
        }
        let clause = match info["where"].as_str().filter(|w| !w.trim().is_empty()) {
            Some(w) => super::query::where_clause(w, &super::query::field_names(layer))?,
            None => None,
        };
        out.push(Chosen { layer, clause });
    }
    // The service's order, as the server writes them.
    out.sort_by_key(|c| all.iter().position(|l| std::ptr::eq(l, c.layer)));
    Ok(out)
}

/// The layers written as CSV or GeoJSON: one (the sandbox writes no zip of several).
fn only_one<'a>(service: &Service, chosen: Vec<Chosen<'a>>) -> Result<Chosen<'a>, Response> {
    let n = chosen.len();
    let mut it = chosen.into_iter();
    match (it.next(), n) {
        (Some(one), 1) => Ok(one),
        _ => Err(error(
            400,
            &format!(
                "'{}' has {n} layers and tables: the sandbox exports one at a time to CSV or GeoJSON; name it in exportParameters ({{\"layers\": [{{\"id\": N}}]}}).",
                service.name
            ),
            &[],
        )),
    }
}

/// The features of one chosen layer, ready for a writer: name, field names, WKT, features.
fn features_of(
    call: &Call,
    service: &Service,
    chosen: &Chosen,
) -> Result<orgpack_payload::ShapefileLayer, Response> {
    let layer = chosen.layer;
    let (_, data_layer) = super::query::data_of(call, service, layer)?;
    let oid_field = super::layers::object_id_field(layer).to_owned();
    let rows = super::query::matching(call, service, layer, chosen.clause.as_ref(), None, None)?;
    let wkt = data_layer["sourceWkt"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| {
            (data_layer
                .pointer("/spatialReference/wkid")
                .and_then(Value::as_i64)
                == Some(4326))
            .then(|| orgpack_payload::WGS84_WKT.to_owned())
        });
    let features = rows
        .iter()
        .map(|f| {
            let mut feature = json!({"attributes": super::query::attributes_of(f, &oid_field)});
            if let Some(g) = &f.geometry {
                feature["geometry"] = g.clone();
            }
            feature
        })
        .collect();
    Ok(orgpack_payload::ShapefileLayer {
        name: layer["name"].as_str().unwrap_or(&service.name).to_owned(),
        fields: super::query::field_names(layer),
        features,
        srs_wkt: wkt,
    })
}

/// The chosen layers as CSV or GeoJSON (one), or a zip of shapefiles (one per layer), as they
/// are now (a view's through its definition query), in a new blob.
fn written(
    call: &Call,
    service: &Service,
    to: orgpack_payload::Format,
) -> Result<Stored, Response> {
    let chosen = chosen_layers(call, service)?;
    let blobs = call.shared.store.blobs();
    let failed = |e: std::io::Error| error(500, &format!("Unable to export: {e}"), &[]);
    if to == orgpack_payload::Format::Shapefile {
        let layers = chosen
            .iter()
            .map(|c| features_of(call, service, c))
            .collect::<Result<Vec<_>, _>>()?;
        return blobs
            .write_new(|file| {
                orgpack_payload::write_shapefiles(&layers, file).map_err(std::io::Error::other)
            })
            .map_err(failed);
    }
    let one = features_of(call, service, &only_one(service, chosen)?)?;
    blobs
        .write_new(|file| {
            let mut w = orgpack_payload::FeatureWriter::new(
                &one.name,
                &one.fields,
                one.srs_wkt.as_deref(),
                to,
                file,
            )
            .map_err(std::io::Error::other)?;
            for f in &one.features {
                w.feature(f).map_err(std::io::Error::other)?;
            }
            w.finish().map(|_| ()).map_err(std::io::Error::other)
        })
        .map_err(failed)
}

/// A File Geodatabase export: every layer and table of the service (or those `exportParameters`
/// names) with its features as they are now (a view's through its definition query and
/// fields), its fields' aliases, lengths and domains, and object ids as they are.
fn geodatabase(call: &Call, service: &Service) -> Result<Stored, Response> {
    let chosen = chosen_layers(call, service)?;
    let mut tables = Vec::new();
    let mut domains: Vec<Value> = Vec::new();
    let (mut attachment_tables, mut relationships) = (Vec::new(), Vec::new());
    for Chosen { layer, clause } in &chosen {
        let layer = *layer;
        let (data_service, data_layer) = super::query::data_of(call, service, layer)?;
        let oid_field = super::layers::object_id_field(layer).to_owned();
        let mut fields = Vec::new();
        for f in layer["fields"].as_array().into_iter().flatten() {
            let name = f["name"].as_str().unwrap_or_default();
            let kind = f["type"].as_str().unwrap_or("esriFieldTypeString");
            if name.eq_ignore_ascii_case(&oid_field)
                || matches!(kind, "esriFieldTypeOID" | "esriFieldTypeGeometry")
            {
                continue;
            }
            let domain = f.get("domain").filter(|d| d.is_object());
            if let Some(d) = domain
                && !domains.iter().any(|x| x["name"] == d["name"])
            {
                let mut d = d.clone();
                d["fieldType"] = json!(kind);
                domains.push(d);
            }
            fields.push(orgpack_payload::FieldSpec {
                name: name.to_owned(),
                alias: f["alias"].as_str().unwrap_or(name).to_owned(),
                field_type: kind.to_owned(),
                length: f["length"].as_u64().and_then(|l| u32::try_from(l).ok()),
                nullable: f["nullable"].as_bool().unwrap_or(true),
                domain: domain.and_then(|d| d["name"].as_str()).map(str::to_owned),
            });
        }
        let features = super::query::matching(call, service, layer, clause.as_ref(), None, None)?;
        if layer["hasAttachments"] == json!(true) && data_layer["hasAttachments"] == json!(true) {
            let (table, relationship) =
                attachment_table(call, layer, (&data_service, &data_layer), &features)?;
            attachment_tables.push(table);
            relationships.push(relationship);
        }
        let rows = features
            .into_iter()
            .map(|f| (f.oid, f.attributes, f.geometry))
            .collect();
        let geometry_type = layer["geometryType"].as_str().map(str::to_owned);
        let sr = data_layer
            .get("spatialReference")
            .unwrap_or(&service.definition["spatialReference"]);
        tables.push(orgpack_payload::TableSpec {
            name: layer["name"].as_str().unwrap_or_default().to_owned(),
            alias: None,
            has_z: geometry_type.is_some() && layer["hasZ"].as_bool().unwrap_or(false),
            geometry_type,
            srs_wkt: data_layer["sourceWkt"]
                .as_str()
                .or(sr["wkt"].as_str())
                .map(str::to_owned),
            wkid: sr["latestWkid"].as_i64().or(sr["wkid"].as_i64()),
            object_id_field: oid_field,
            fields,
            rows,
        });
    }
    // Relationship classes between the layers written, from their origin ends.
    for layer in service.layers.as_array().into_iter().flatten() {
        for r in layer["relationships"].as_array().into_iter().flatten() {
            if r["role"] != "esriRelRoleOrigin" {
                continue;
            }
            let Ok(relation) =
                super::related::relation(service, layer, r["id"].as_i64().unwrap_or(-1))
            else {
                continue;
            };
            let (origin, destination) = (
                layer["name"].as_str().unwrap_or_default(),
                relation.related["name"].as_str().unwrap_or_default(),
            );
            if !tables.iter().any(|t| t.name == origin)
                || !tables.iter().any(|t| t.name == destination)
            {
                continue;
            }
            relationships.push(orgpack_payload::RelationshipSpec {
                name: r["name"]
                    .as_str()
                    .map_or_else(|| format!("{origin}_{destination}"), str::to_owned),
                origin: origin.to_owned(),
                destination: destination.to_owned(),
                primary_key: relation.key,
                foreign_key: relation.related_key,
                cardinality: r["cardinality"]
                    .as_str()
                    .unwrap_or("esriRelCardinalityOneToMany")
                    .to_owned(),
                composite: r["composite"].as_bool().unwrap_or(false),
                attachment: false,
            });
        }
    }
    tables.extend(attachment_tables);
    let blobs = call.shared.store.blobs();
    blobs
        .write_new(|file| {
            orgpack_payload::write_geodatabase(
                &service.name,
                &tables,
                &domains,
                &relationships,
                file,
            )
            .map_err(std::io::Error::other)
        })
        .map_err(|e| {
            error(
                400,
                &format!(
                    "Unable to export '{}' to File Geodatabase: {e}",
                    service.name
                ),
                &[],
            )
        })
}

/// A layer's attachments as the attachment table ArcGIS writes beside it (`<layer>__ATTACH`:
/// `REL_GLOBALID` when the layer has GlobalIDs, else `REL_OBJECTID`, `CONTENT_TYPE`, `ATT_NAME`,
/// `DATA_SIZE`, `DATA`, `GLOBALID`, `KEYWORDS`) and the attachment relationship class tying them.
fn attachment_table(
    call: &Call,
    layer: &Value,
    (data_service, data_layer): (&Service, &Value),
    features: &[crate::store::Feature],
) -> Result<
    (
        orgpack_payload::TableSpec,
        orgpack_payload::RelationshipSpec,
    ),
    Response,
> {
    use base64::Engine as _;
    let store = &call.shared.store;
    let layer_name = layer["name"].as_str().unwrap_or_default().to_owned();
    let global_field = super::layers::global_id_field(data_layer).map(str::to_owned);
    let parents: Vec<i64> = features.iter().map(|f| f.oid).collect();
    let key = if global_field.is_some() {
        "REL_GLOBALID"
    } else {
        "REL_OBJECTID"
    };
    let spec = |name: &str, kind: &str, length: Option<u32>| orgpack_payload::FieldSpec {
        name: name.to_owned(),
        alias: name.to_owned(),
        field_type: kind.to_owned(),
        length,
        nullable: true,
        domain: None,
    };
    let mut rows = Vec::new();
    for a in store
        .attachments(
            &data_service.item,
            super::layers::id_of(data_layer),
            Some(&parents),
        )
        .map_err(internal)?
    {
        let Some((_, stored)) = store
            .attachment(
                &data_service.item,
                super::layers::id_of(data_layer),
                a.parent,
                a.id,
            )
            .map_err(internal)?
        else {
            continue;
        };
        let bytes = store.blobs().read_all(&stored).map_err(internal)?;
        let parent_key = match &global_field {
            Some(g) => features
                .iter()
                .find(|f| f.oid == a.parent)
                .and_then(|f| f.attributes.get(g).cloned())
                .unwrap_or(Value::Null),
            None => json!(a.parent),
        };
        let mut attributes = serde_json::Map::new();
        attributes.insert(key.to_owned(), parent_key);
        attributes.insert("CONTENT_TYPE".into(), json!(a.content_type));
        attributes.insert("ATT_NAME".into(), json!(a.name));
        attributes.insert("DATA_SIZE".into(), json!(a.size));
        attributes.insert(
            "DATA".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
        );
        attributes.insert("GLOBALID".into(), json!(a.global_id));
        attributes.insert("KEYWORDS".into(), json!(a.keywords));
        rows.push((a.id, attributes, None));
    }
    let table_name = format!("{layer_name}__ATTACH");
    let table = orgpack_payload::TableSpec {
        name: table_name.clone(),
        alias: None,
        geometry_type: None,
        has_z: false,
        srs_wkt: None,
        wkid: None,
        object_id_field: "ATTACHMENTID".into(),
        fields: vec![
            spec(
                key,
                if global_field.is_some() {
                    "esriFieldTypeGUID"
                } else {
                    "esriFieldTypeInteger"
                },
                None,
            ),
            spec("CONTENT_TYPE", "esriFieldTypeString", Some(150)),
            spec("ATT_NAME", "esriFieldTypeString", Some(250)),
            spec("DATA_SIZE", "esriFieldTypeInteger", None),
            spec("DATA", "esriFieldTypeBlob", None),
            spec("GLOBALID", "esriFieldTypeGlobalID", None),
            spec("KEYWORDS", "esriFieldTypeString", Some(250)),
        ],
        rows,
    };
    let relationship = orgpack_payload::RelationshipSpec {
        name: format!("{layer_name}__ATTACHREL"),
        origin: layer_name,
        destination: table_name,
        primary_key: global_field
            .unwrap_or_else(|| super::layers::object_id_field(data_layer).to_owned()),
        foreign_key: key.to_owned(),
        cardinality: "esriRelCardinalityOneToMany".into(),
        composite: true,
        attachment: true,
    };
    Ok((table, relationship))
}
