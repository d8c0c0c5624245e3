//! Hosted feature layer views (spec/portal-api.md, "Views"): `createService` (for services and
//! views: `isView`), the layer a view's `addToDefinition` makes from its source
//! (`adminLayerInfo.viewLayerDefinition`, joins included), and the `sources` of a view.
//!
//! A view keeps no features of its own, as a real one does not: its layers read their source's
//! features through their `viewDefinitionQuery` and fields (`query::matching`).

use serde_json::{Value, json};

use super::auth::internal;
use super::content::{list, owner_or_admin};
use super::{Call, error};
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
    call.require("portal:publisher:publishFeatures")?;
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
    let is_view = p.flag("isView", false);
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
            definition: super::layers::new_service(
                &parameters,
                &parameters
                    .get("spatialReference")
                    .cloned()
                    .unwrap_or_else(|| super::layers::spatial_reference(None)),
            ),
        },
        &crate::store::Stored::Inline(Vec::new()),
        json!({
            "title": p.get("title").unwrap_or(name), "typeKeywords": keywords,
            "tags": list(p, "tags"), "snippet": p.get("snippet"),
            "description": p.get("description"), "size": -1,
        }),
    )?;
    // Layers given with the service are made as addToDefinition makes them.
    if !is_view && (parameters.get("layers").is_some() || parameters.get("tables").is_some()) {
        super::admin::add_layers(call, name, &parameters)?;
    }
    Ok(call.reply(&json!({
        "encodedServiceURL": url, "isView": is_view, "itemId": id, "name": name,
        "serviceItemId": id, "serviceurl": url, "size": -1, "success": true,
        "type": "Feature Service",
    })))
}

/// A view's layer as `addToDefinition` gives it: the source layer's definition (its fields cut
/// to `sourceLayerFields` when they are listed), named and numbered as given, with its `source`
/// and, for a join view, its `joins` (each related table must exist; their fields join the
/// layer's). Returns the layer and the items of every service it reads.
pub(super) fn view_layer(
    call: &Call,
    id: u64,
    layer: &Value,
) -> Result<(Value, Vec<String>), Response> {
    let store = &call.shared.store;
    let name = layer.get("name").and_then(Value::as_str).unwrap_or("layer");
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
    let mut entry = source
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
    let mut sources = vec![source.item.clone()];
    // `sourceLayerFields`: "*" or a list of {name} (or names) the view shows.
    if let Some(list) = table
        .and_then(|t| t.get("sourceLayerFields"))
        .and_then(Value::as_array)
    {
        let wanted: Vec<&str> = list
            .iter()
            .filter_map(|f| f.get("name").and_then(Value::as_str).or(f.as_str()))
            .collect();
        let oid = super::layers::object_id_field(&entry).to_owned();
        if let Some(fields) = entry["fields"].as_array_mut() {
            fields.retain(|f| {
                let n = f["name"].as_str().unwrap_or_default();
                n.eq_ignore_ascii_case(&oid) || wanted.iter().any(|w| w.eq_ignore_ascii_case(n))
            });
        }
    }
    entry["source"] = json!({"service": source.name, "layer": source_layer});
    // The source's relationship classes name tables the view does not have.
    entry["relationships"] = json!([]);
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
                if f["type"] != "esriFieldTypeOID" && !fields.iter().any(|x| x["name"] == f["name"])
                {
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
    entry["id"] = json!(id);
    entry["name"] = json!(name);
    entry["viewDefinitionQuery"] = layer
        .get("viewDefinitionQuery")
        .cloned()
        .unwrap_or(json!(""));
    for key in [
        "drawingInfo",
        "description",
        "displayField",
        "capabilities",
        "templates",
        "types",
    ] {
        if let Some(v) = layer.get(key) {
            entry[key] = v.clone();
        }
    }
    Ok((entry, sources))
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
