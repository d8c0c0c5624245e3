//! Hosted feature layer views (spec/portal-api.md, "Views"): `createService` with `isView`, the
//! admin `addToDefinition` that gives a view its layers (each naming a layer of a source service
//! by `adminLayerInfo.viewLayerDefinition`), and the `sources` of a view.
//!
//! A view keeps no features of its own, as a real one does not: its layers answer with the
//! source layers' counts. The sandbox does not apply a view's `viewDefinitionQuery` to counts
//! (it keeps no features to filter); it keeps and serves the query as given.

use serde_json::{Value, json};

use super::auth::internal;
use super::content::{list, owner_or_admin};
use super::{Call, FORBIDDEN, error};
use crate::store::Service;
use axum::response::Response;

/// The `kind` of a view in the services table.
pub(crate) const VIEW_KIND: &str = "view";

/// `content/users/<u>[/<folder>]/createService`: `createParameters` (JSON with `name`),
/// `outputType=featureService`, `isView`. An empty service or view, its layers to come from
/// `addToDefinition`.
pub(super) fn create_service(
    call: &Call,
    owner: &str,
    folder: Option<&str>,
) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    let p = &call.params;
    let parameters: Value = p
        .get("createParameters")
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| error(400, "'createParameters' must be specified.", &[]))?;
    let Some(name) = parameters.get("name").and_then(Value::as_str) else {
        return Err(error(
            400,
            "'name' must be specified in createParameters.",
            &[],
        ));
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(error(
            400,
            &format!("Service name '{name}' is not valid: letters, digits and '_' only."),
            &[],
        ));
    }
    if p.get("outputType")
        .is_some_and(|t| !t.eq_ignore_ascii_case("featureService"))
    {
        return Err(error(
            400,
            "The sandbox creates feature services only (outputType=featureService).",
            &[],
        ));
    }
    let is_view = p
        .get("isView")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut keywords = vec![
        "ArcGIS Server",
        "Data",
        "Feature Access",
        "Feature Service",
        "Service",
        "Hosted Service",
    ];
    if is_view {
        keywords.push("View Service");
    }
    let given = list(p, "typeKeywords");
    for k in &given {
        if !keywords.contains(&k.as_str()) {
            keywords.push(k);
        }
    }
    let (id, url) = super::services::claim_service(
        call,
        owner,
        folder,
        Service {
            name: name.to_owned(),
            item: String::new(),
            kind: if is_view { VIEW_KIND } else { "empty" }.to_owned(),
            layers: json!([]),
        },
        &crate::store::Stored::Inline(Vec::new()),
        json!({
            "title": p.get("title").unwrap_or(name), "typeKeywords": keywords,
            "tags": list(p, "tags"), "snippet": p.get("snippet"),
            "description": p.get("description"), "size": -1,
        }),
    )?;
    Ok(call.reply(&json!({
        "encodedServiceURL": url, "isView": is_view, "itemId": id, "name": name,
        "serviceItemId": id, "serviceurl": url, "size": -1, "success": true,
        "type": "Feature Service",
    })))
}

/// `/<org>/server/rest/admin/services/Hosted/<name>/FeatureServer/addToDefinition`: the owner or
/// an administrator adds layers. For a view, each layer names its source with
/// `adminLayerInfo.viewLayerDefinition` (`sourceServiceName`, `sourceLayerId`), which must exist
/// in this organization; the source's geometry type, fields and count come with it, and the
/// view gets a `Service2Service` relationship to its source.
pub(super) fn add_to_definition(call: &Call, name: &str) -> Result<Response, Response> {
    let store = &call.shared.store;
    let mut service = owned_service(call, name)?;
    let definition: Value = call
        .params
        .get("addToDefinition")
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| error(400, "'addToDefinition' must be specified as JSON.", &[]))?;
    let mut layers = service.layers.as_array().cloned().unwrap_or_default();
    let mut sources = Vec::new();
    let asked = definition
        .get("layers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            definition
                .get("tables")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
    for (n, layer) in asked.enumerate() {
        let id = layer
            .get("id")
            .and_then(Value::as_u64)
            .unwrap_or((layers.len() + n) as u64);
        let name = layer.get("name").and_then(Value::as_str).unwrap_or("layer");
        let mut entry = if service.kind == VIEW_KIND {
            let view = layer.pointer("/adminLayerInfo/viewLayerDefinition");
            let table = view.and_then(|v| v.get("table")).or(view);
            let source_name = table
                .and_then(|t| t.get("sourceServiceName"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    error(400, &format!("Layer '{name}': adminLayerInfo.viewLayerDefinition.sourceServiceName is required for a view."), &[])
                })?;
            let source_layer = table
                .and_then(|t| t.get("sourceLayerId"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let source = store
                .service_named(&call.org, source_name)
                .map_err(internal)?
                .filter(|s| s.kind != VIEW_KIND)
                .ok_or_else(|| {
                    error(
                        400,
                        &format!("Source service '{source_name}' not found."),
                        &[],
                    )
                })?;
            let from = source
                .layers
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["id"].as_u64() == Some(source_layer))
                .cloned()
                .ok_or_else(|| {
                    error(
                        400,
                        &format!("Source layer {source_layer} of '{source_name}' not found."),
                        &[],
                    )
                })?;
            sources.push(source.item.clone());
            let mut entry = from;
            entry["source"] = json!({"service": source.name, "layer": source_layer});
            // A join view: each related table must exist; its fields join the parent's.
            let mut joins = Vec::new();
            for related in table
                .and_then(|t| t.get("relatedTables"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (joined, layer_json) = related_source(call, name, related)?;
                sources.push(joined.item.clone());
                if let (Some(fields), Some(more)) = (
                    entry["fields"].as_array_mut(),
                    layer_json["fields"].as_array(),
                ) {
                    for f in more {
                        if !fields.iter().any(|x| x["name"] == f["name"]) {
                            fields.push(f.clone());
                        }
                    }
                }
                joins.push(json!({
                    "name": related.get("name").cloned().unwrap_or(json!(joined.name)),
                    "service": joined.name, "layer": layer_json["id"],
                    "parentKeyFields": related.get("parentKeyFields").cloned().unwrap_or(json!([])),
                    "keyFields": related.get("keyFields").cloned().unwrap_or(json!([])),
                    "type": related.get("type").and_then(Value::as_str).unwrap_or("LEFT").to_ascii_uppercase(),
                }));
            }
            if !joins.is_empty() {
                entry["joins"] = Value::Array(joins);
            }
            entry
        } else {
            json!({"geometryType": layer.get("geometryType"), "count": 0, "fields": layer.get("fields").cloned().unwrap_or(json!([]))})
        };
        entry["id"] = json!(id);
        entry["name"] = json!(name);
        if let Some(q) = layer.get("viewDefinitionQuery").and_then(Value::as_str) {
            entry["viewDefinitionQuery"] = json!(q);
        }
        layers.retain(|l| l["id"].as_u64() != Some(id));
        layers.push(entry);
    }
    layers.sort_by_key(|l| l["id"].as_u64());
    service.layers = Value::Array(layers);
    store
        .set_service_layers(&call.org, &service.name, &service.layers)
        .map_err(internal)?;
    sources.sort();
    sources.dedup();
    // The view is the origin: the official client follows a view's *forward* Service2Service
    // to its source (and drops that type for services that are not views).
    for source in &sources {
        store
            .add_relationship(&service.item, source, "Service2Service")
            .map_err(internal)?;
    }
    Ok(call.reply(&json!({"success": true})))
}

/// A join view's related table: its service (not a view) and layer, or `400` naming what is
/// missing.
fn related_source(call: &Call, layer: &str, related: &Value) -> Result<(Service, Value), Response> {
    let name = related
        .get("sourceServiceName")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            error(
                400,
                &format!("Layer '{layer}': every relatedTables entry needs a sourceServiceName."),
                &[],
            )
        })?;
    let id = related
        .get("sourceLayerId")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let service = call
        .shared
        .store
        .service_named(&call.org, name)
        .map_err(internal)?
        .filter(|s| s.kind != VIEW_KIND)
        .ok_or_else(|| error(400, &format!("Source service '{name}' not found."), &[]))?;
    let found = service
        .layers
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["id"].as_u64() == Some(id))
        .cloned()
        .ok_or_else(|| {
            error(
                400,
                &format!("Source layer {id} of '{name}' not found."),
                &[],
            )
        })?;
    Ok((service, found))
}

/// `…/FeatureServer/sources` (and a layer's): the services a view reads from.
pub(super) fn sources(call: &Call, service: &Service) -> Result<Response, Response> {
    let mut names: Vec<&str> = service
        .layers
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| {
            let joined = l["joins"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|j| j["service"].as_str());
            l.pointer("/source/service")
                .and_then(Value::as_str)
                .into_iter()
                .chain(joined)
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        if let Some(source) = call
            .shared
            .store
            .service_named(&call.org, name)
            .map_err(internal)?
        {
            out.push(json!({
                "name": source.name, "serviceItemId": source.item,
                "url": super::services::service_url(call, &source.name),
            }));
        }
    }
    Ok(call.reply(&json!({"services": out, "currentVersion": 11.3})))
}

/// A view layer's count: its source layer's; for a join view with `INNER` joins, the source rows
/// whose keys match a row of every such related table (read from the published files; the
/// source's count when they cannot be read).
pub(super) fn source_count(call: &Call, layer: &Value) -> Result<Value, Response> {
    let (Some(name), Some(id)) = (
        layer.pointer("/source/service").and_then(Value::as_str),
        layer.pointer("/source/layer").and_then(Value::as_u64),
    ) else {
        return Ok(layer["count"].clone());
    };
    let store = &call.shared.store;
    let Some(parent) = store.service_named(&call.org, name).map_err(internal)? else {
        return Ok(Value::Null);
    };
    let parent_layer = parent
        .layers
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["id"].as_u64() == Some(id))
        .cloned();
    let Some(parent_layer) = parent_layer else {
        return Ok(Value::Null);
    };
    let inner: Vec<&Value> = layer["joins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|j| j["type"] == "INNER")
        .collect();
    if inner.is_empty() {
        return Ok(parent_layer["count"].clone());
    }
    let Some(mut rows) = rows_of(call, &parent, &parent_layer)? else {
        return Ok(parent_layer["count"].clone());
    };
    for join in inner {
        let related = join["service"]
            .as_str()
            .map(|n| store.service_named(&call.org, n))
            .transpose()
            .map_err(internal)?
            .flatten();
        let related_layer = related.as_ref().and_then(|r| {
            r.layers
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["id"] == join["layer"])
                .cloned()
        });
        let (Some(related), Some(related_layer)) = (related, related_layer) else {
            return Ok(parent_layer["count"].clone());
        };
        let Some(other) = rows_of(call, &related, &related_layer)? else {
            return Ok(parent_layer["count"].clone());
        };
        let fields = |key: &str| -> Vec<String> {
            join[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        };
        let (parent_keys, keys) = (fields("parentKeyFields"), fields("keyFields"));
        let present: std::collections::HashSet<Vec<String>> =
            other.iter().map(|f| key_of(f, &keys)).collect();
        rows.retain(|f| present.contains(&key_of(f, &parent_keys)));
    }
    Ok(json!(rows.len()))
}

/// Every feature of a service's layer, when the sandbox reads its published file.
fn rows_of(call: &Call, service: &Service, layer: &Value) -> Result<Option<Vec<Value>>, Response> {
    let Some((reader, file_name)) = super::query::source_file(call, service)? else {
        return Ok(None);
    };
    Ok(orgpack_payload::features(
        std::io::BufReader::new(reader),
        &file_name,
        layer["name"].as_str().unwrap_or_default(),
        0,
        usize::MAX,
    )
    .ok()
    .map(|p| p.features))
}

/// A feature's values of `fields` (case-insensitive names), as text, for matching join keys.
fn key_of(feature: &Value, fields: &[String]) -> Vec<String> {
    let attributes = feature["attributes"].as_object();
    fields
        .iter()
        .map(|f| {
            attributes
                .and_then(|a| a.iter().find(|(k, _)| k.eq_ignore_ascii_case(f)))
                .map(|(_, v)| match v {
                    Value::String(s) => s.to_lowercase(),
                    other => other.to_string(),
                })
                .unwrap_or_default()
        })
        .collect()
}

/// `/<org>/server/rest/admin/services/Hosted/<name>/FeatureServer[/<layer>]` (GET): the service's
/// owner or an administrator reads the admin definition: the service JSON with every layer's full
/// JSON, and for a view's layers `adminLayerInfo.viewLayerDefinition` naming their source.
pub(super) fn admin_service(
    call: &Call,
    name: &str,
    layer: Option<&str>,
) -> Result<Response, Response> {
    let service = owned_service(call, name)?;
    let full = |l: &Value| {
        let mut json = super::services::layer_json(&service, l);
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
                    "sourceLayerFields": "*",
                }}),
            };
        }
        json
    };
    let layers = service.layers.as_array().cloned().unwrap_or_default();
    if let Some(index) = layer {
        let l = index
            .parse::<u64>()
            .ok()
            .and_then(|i| layers.iter().find(|l| l["id"].as_u64() == Some(i)))
            .ok_or_else(|| error(400, "Invalid or missing input parameters.", &[]))?;
        return Ok(call.reply(&full(l)));
    }
    let (features, tables): (Vec<&Value>, Vec<&Value>) = layers
        .iter()
        .partition(|l| l.get("geometryType").is_some_and(|g| !g.is_null()));
    Ok(call.reply(&json!({
        "adminServiceInfo": {"name": service.name, "type": "FeatureServer", "status": "Started"},
        "serviceItemId": service.item, "isView": service.kind == VIEW_KIND,
        "capabilities": "Query", "maxRecordCount": 2000,
        "layers": features.into_iter().map(full).collect::<Vec<_>>(),
        "tables": tables.into_iter().map(full).collect::<Vec<_>>(),
    })))
}

/// `…/admin/services/Hosted/<name>/FeatureServer/<layer>/updateDefinition`: the owner or an
/// administrator changes a layer's `viewDefinitionQuery` (the only property the sandbox keeps;
/// others, such as field visibility or a spatial filter, are accepted and not kept).
pub(super) fn update_definition(
    call: &Call,
    name: &str,
    layer: &str,
) -> Result<Response, Response> {
    let store = &call.shared.store;
    let mut service = owned_service(call, name)?;
    let update: Value = call
        .params
        .get("updateDefinition")
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| error(400, "'updateDefinition' must be specified as JSON.", &[]))?;
    let id = layer.parse::<u64>().ok();
    let Some(entry) = service
        .layers
        .as_array_mut()
        .and_then(|l| l.iter_mut().find(|l| l["id"].as_u64() == id))
    else {
        return Err(error(400, "Invalid or missing input parameters.", &[]));
    };
    if let Some(q) = update.get("viewDefinitionQuery").and_then(Value::as_str) {
        entry["viewDefinitionQuery"] = json!(q);
    }
    store
        .set_service_layers(&call.org, &service.name, &service.layers)
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}

/// The service `name` of this organization, when the caller owns it or is an administrator.
fn owned_service(call: &Call, name: &str) -> Result<Service, Response> {
    let store = &call.shared.store;
    let Some(service) = store.service_named(&call.org, name).map_err(internal)? else {
        return Err(error(400, "Service not found.", &[]));
    };
    let item = store
        .item(&call.org, &service.item)
        .map_err(internal)?
        .ok_or_else(|| error(400, "Service not found.", &[]))?;
    let user = call.require_user()?;
    if item.owner != user.username && !call.is_admin() {
        return Err(error(403, FORBIDDEN, &[]));
    }
    Ok(service)
}
