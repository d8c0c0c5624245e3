//! Hosted scene layers published from a hosted feature layer, as ArcGIS Online makes them from a
//! layer of points or 3D objects: `publish` with `fileType=featureService` and
//! `outputType=sceneService` (spec/portal-api.md, "Hosted scene layers"). The new `Scene Service`
//! item is related to the feature layer by `Service2Service`, like a tile layer drawn from it,
//! and serves `…/Hosted/<name>/SceneServer` and `…/SceneServer/layers/<id>` (I3S scene layer
//! information, fields and drawing info taken from the feature layer when published). The I3S
//! cache itself (node pages, geometry, attributes, textures) is not served: those requests are
//! refused.

use axum::response::Response;
use serde_json::{Value, json};

use super::tiles::{
    NewLayer, create, feature_layer_source, publish_parameters, readable_tile_service,
};
use super::{Call, error};
use crate::store::TileService;

/// The publishParameters a scene layer publish takes.
const PARAMETERS: &[&str] = &["name", "description", "copyrightText"];

/// The I3S version the layers declare.
const I3S_VERSION: &str = "1.8";

/// A feature layer geometry → the scene layer type it makes, for the kinds ArcGIS Online makes
/// scene layers of.
fn layer_type(geometry: &str) -> Option<&'static str> {
    match geometry {
        "esriGeometryPoint" => Some("Point"),
        "esriGeometryMultiPatch" => Some("3DObject"),
        _ => None,
    }
}

/// `publish` of a hosted feature layer (`fileType=featureService`) as a hosted scene layer
/// (`outputType=sceneService`): a scene layer of each of its point and 3D object layers, a new
/// item and service, `Service2Service` from the feature layer to it, and a publish job.
pub(super) fn publish(
    call: &Call,
    owner: &str,
    folder: Option<&str>,
    source_id: &str,
) -> Result<Response, Response> {
    if call
        .params
        .get("buildInitialCache")
        .is_some_and(|b| !b.eq_ignore_ascii_case("true"))
    {
        return Err(error(
            400,
            "The sandbox builds a scene layer's cache as it publishes it: buildInitialCache must be true or absent.",
            &[],
        ));
    }
    call.require("portal:publisher:publishScenes")?;
    let (parameters, name) = publish_parameters(call, PARAMETERS, "scene layers")?;
    let (source, feature_service) = feature_layer_source(call, source_id, "scene layers")?;
    let layers: Vec<Value> = feature_service
        .layers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| {
            let kind = layer_type(l.get("geometryType")?.as_str()?)?;
            Some(json!({
                "id": l["id"], "name": l["name"], "layerType": kind,
                "fields": l.get("fields").cloned().unwrap_or(json!([])),
                "drawingInfo": l.get("drawingInfo").cloned().unwrap_or(Value::Null),
            }))
        })
        .collect();
    if layers.is_empty() {
        return Err(error(
            400,
            &format!(
                "A scene layer is published from a layer of points or 3D objects (multipatch); '{}' has none.",
                feature_service.name
            ),
            &[],
        ));
    }
    let service = TileService {
        name,
        kind: "SceneServer".to_owned(),
        item: String::new(),
        source: source_id.to_owned(),
        definition: json!({
            "layers": layers,
            "copyrightText": parameters.get("copyrightText").cloned().unwrap_or(json!("")),
            "description": parameters.get("description").cloned().unwrap_or(json!("")),
        }),
        payload: None,
    };
    create(
        call,
        NewLayer {
            owner,
            folder,
            source: &source,
            service,
            parameters: &parameters,
            relationship: "Service2Service",
        },
    )
}

/// `/<org>/server/rest/services/Hosted/<name>/SceneServer[/layers[/<id>]]`.
pub(super) fn scene_server(call: &Call, name: &str, rest: &[&str]) -> Result<Response, Response> {
    let service = readable_tile_service(call, name, "SceneServer")?;
    let layers: Vec<Value> = service.definition["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| layer(&service, l))
        .collect();
    match rest {
        [] => Ok(call.reply(&json!({
            "serviceName": service.name, "name": service.name, "currentVersion": 11.3,
            "serviceVersion": I3S_VERSION, "supportedBindings": ["REST"],
            "layers": layers, "serviceItemId": service.item,
        }))),
        ["layers"] => Ok(call.reply(&json!({ "layers": layers }))),
        ["layers", id] => layers
            .iter()
            .find(|l| id.parse::<u64>().ok() == l["id"].as_u64())
            .map(|l| call.reply(l))
            .ok_or_else(|| error(400, "Layer not found.", &[])),
        ["layers", _, ..] => Err(error(
            400,
            "The sandbox does not serve a scene layer's I3S cache (node pages, nodes, geometry, attributes, textures).",
            &[],
        )),
        _ => Err(error(400, "Invalid URL", &[])),
    }
}

/// A scene layer's information (I3S `3DSceneLayerInfo`) for one layer of the definition.
fn layer(service: &TileService, l: &Value) -> Value {
    let point = l["layerType"] == "Point";
    json!({
        "id": l["id"], "version": I3S_VERSION, "name": l["name"], "alias": l["name"],
        "href": format!("./layers/{}", l["id"]), "layerType": l["layerType"],
        "description": service.definition["description"],
        "copyrightText": service.definition["copyrightText"],
        "capabilities": ["View", "Query"],
        "spatialReference": {"wkid": 4326, "latestWkid": 4326},
        "heightModelInfo": {"heightModel": "gravity_related_height", "vertCRS": "EGM96_Geoid",
                            "heightUnit": "meter"},
        "store": {"profile": if point { "points" } else { "meshpyramids" },
                  "version": I3S_VERSION, "resourcePattern": ["3dNodeIndexDocument", "Attributes",
                  if point { "featureData" } else { "Geometry" }]},
        "nodePages": {"nodesPerPage": 64, "lodSelectionMetricType": "maxScreenThresholdSQ"},
        "fields": l["fields"], "drawingInfo": l["drawingInfo"],
        "serviceItemId": service.item,
    })
}
