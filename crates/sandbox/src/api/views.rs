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

/// `…/FeatureServer/sources` (and a layer's): the services a view reads from.
pub(super) fn sources(call: &Call, service: &Service) -> Result<Response, Response> {
    let mut names: Vec<&str> = service
        .layers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.pointer("/source/service").and_then(Value::as_str))
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

/// A view layer's count: its source layer's.
pub(super) fn source_count(call: &Call, layer: &Value) -> Result<Value, Response> {
    let (Some(name), Some(id)) = (
        layer.pointer("/source/service").and_then(Value::as_str),
        layer.pointer("/source/layer").and_then(Value::as_u64),
    ) else {
        return Ok(layer["count"].clone());
    };
    Ok(call
        .shared
        .store
        .service_named(&call.org, name)
        .map_err(internal)?
        .and_then(|s| {
            s.layers
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["id"].as_u64() == Some(id))
                .map(|l| l["count"].clone())
        })
        .unwrap_or(Value::Null))
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
            json["adminLayerInfo"] = json!({"viewLayerDefinition": {
                "sourceServiceName": source["service"], "sourceLayerId": source["layer"],
                "sourceLayerFields": "*",
            }});
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
