//! Hosted tile layers and vector tile layers published from a hosted feature layer (or view):
//! `publish` with `fileType=featureService` and `outputType=Tiles` or `VectorTiles`, the
//! `MapServer` and `VectorTileServer` resources under
//! `/<org>/server/rest/services/Hosted/<name>/…`, and their tiles (spec/portal-api.md, "Hosted
//! tile layers"). Tiles are in the Web Mercator tiling scheme ArcGIS Online uses (256-pixel PNG
//! tiles, 512-pixel vector tiles); they are drawn from the source layer's features when asked
//! (`tile_draw`), where a portal's tiling job draws them once.

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::internal;
use super::content::{folder_id, new_item_json, owner_or_admin, readable};
use super::{Call, FORBIDDEN, error};
use crate::store::TileService;

/// Half the width of the Web Mercator world, in meters.
pub(super) const HALF_WORLD: f64 = 20_037_508.342_787;
/// The scale of level 0 of ArcGIS Online's 256-pixel tiling scheme.
const LEVEL0_SCALE: f64 = 591_657_527.591_555;
/// The resolution (meters per pixel) of level 0 of that scheme.
const LEVEL0_RESOLUTION: f64 = 156_543.033_928_000_14;
/// The deepest level either scheme has.
const MAX_LEVEL: u32 = 23;
/// The level a tile layer published without `maxScale` is cached to.
const DEFAULT_MAX_LEVEL: u32 = 19;

/// The publishParameters a tile publish takes.
const PARAMETERS: &[&str] = &[
    "name",
    "minScale",
    "maxScale",
    "description",
    "copyrightText",
];

/// `outputType` → the service kind it makes.
fn output(kind: &str) -> Option<&'static str> {
    if kind.eq_ignore_ascii_case("Tiles") {
        Some("MapServer")
    } else if kind.eq_ignore_ascii_case("VectorTiles") {
        Some("VectorTileServer")
    } else {
        None
    }
}

/// A tile (or scene) service kind's item type and type keywords, as ArcGIS Online gives them.
fn item_of(kind: &str) -> (&'static str, &'static [&'static str]) {
    if kind == "SceneServer" {
        (
            "Scene Service",
            &["Scene Service", "Hosted Service", "Service", "Singlelayer"],
        )
    } else if kind == "VectorTileServer" {
        (
            "Vector Tile Service",
            &["Vector Tile Service", "Hosted Service", "Service"],
        )
    } else {
        (
            "Map Service",
            &[
                "ArcGIS Server",
                "Data",
                "Map Service",
                "Service",
                "Tiled",
                "Hosted Service",
            ],
        )
    }
}

/// The publishParameters of a tile publish, with its `name` checked; a key outside `allowed` is
/// refused (`what` says what is published).
pub(super) fn publish_parameters(
    call: &Call,
    allowed: &[&str],
    what: &str,
) -> Result<(Value, String), Response> {
    let parameters: Value = match call.params.get("publishParameters") {
        Some(s) => serde_json::from_str(s)
            .map_err(|_| error(400, "'publishParameters' must be a JSON object.", &[]))?,
        None => Value::Null,
    };
    if let Some(unknown) = parameters
        .as_object()
        .and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str())))
    {
        return Err(error(
            400,
            &format!("publishParameters '{unknown}' is not supported by the sandbox for {what}."),
            &[&format!("Supported: {}.", allowed.join(", "))],
        ));
    }
    let Some(name) = parameters
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return Err(error(
            400,
            "'name' must be specified in publishParameters.",
            &[],
        ));
    };
    super::services::check_name(name)?;
    let name = name.to_owned();
    Ok((parameters, name))
}

/// A tile layer to make: its service (the item filled in when made), from `source`, owned by
/// `owner` in `folder`, related to the source by `relationship` (`Service2Service` from a
/// feature layer, `Service2Data` to a package).
pub(super) struct NewLayer<'a> {
    pub owner: &'a str,
    pub folder: Option<&'a str>,
    pub source: &'a crate::store::StoredItem,
    pub service: TileService,
    pub parameters: &'a Value,
    pub relationship: &'static str,
}

/// Make a tile layer: the source must be the owner's (both relationships are mustOwnAllItems),
/// the name free for its kind; then its item (titled `title`, else as the source), its record,
/// its relationship and a publish job. The publish answer.
pub(super) fn create(call: &Call, new: NewLayer<'_>) -> Result<Response, Response> {
    let NewLayer {
        owner,
        folder,
        source,
        mut service,
        parameters,
        relationship,
    } = new;
    if source.owner != owner {
        return Err(error(403, FORBIDDEN, &[]));
    }
    owner_or_admin(call, owner)?;
    let store = &call.shared.store;
    let name = service.name.clone();
    let taken = || error(409, &format!("Service name '{name}' already exists."), &[]);
    if store
        .tile_service(&call.org, &name, &service.kind)
        .map_err(internal)?
        .is_some()
    {
        return Err(taken());
    }
    let folder = match folder {
        Some(f) => folder_id(call, owner, f)?,
        None => None,
    };
    let (item_type, keywords) = item_of(&service.kind);
    let id = super::content::id_to_create(call)?;
    let now = crate::now_ms();
    let url = format!(
        "{}/server/rest/services/Hosted/{name}/{}",
        call.rest.trim_end_matches("/sharing/rest"),
        service.kind
    );
    let title = call
        .params
        .get("title")
        .or_else(|| source.json.get("title").and_then(Value::as_str))
        .unwrap_or(&name)
        .to_owned();
    let fields = json!({
        "title": title, "name": name, "type": item_type, "url": url, "ownerFolder": folder,
        "typeKeywords": keywords, "tags": super::content::list(&call.params, "tags"),
        "description": parameters.get("description").cloned().unwrap_or(Value::Null),
    });
    let item = new_item_json(call, &id, owner, now, fields);
    super::services::add_service_item(call, owner, folder.as_deref(), &id, &item, now)?;
    service.item.clone_from(&id);
    if !store
        .add_tile_service(&call.org, &service)
        .map_err(internal)?
    {
        store.delete_item(&id).map_err(internal)?;
        return Err(taken());
    }
    let source_id = source.json["id"].as_str().unwrap_or_default();
    let (origin, destination) = if relationship == "Service2Service" {
        (source_id, id.as_str())
    } else {
        (id.as_str(), source_id)
    };
    store
        .add_relationship(origin, destination, relationship)
        .map_err(internal)?;
    store
        .set_status_until(&id, "processing", super::jobs::ready_at(call))
        .map_err(internal)?;
    Ok(call.reply(&json!({"services": [{
        "type": item_type, "serviceurl": url, "encodedServiceURL": url,
        "jobId": crate::new_id(), "serviceItemId": id,
    }]})))
}

/// `publish` of a hosted feature layer (`fileType=featureService`) as a tile layer
/// (`outputType=Tiles`, with `buildInitialCache=true`) or a vector tile layer
/// (`outputType=VectorTiles`): a new item and service, `Service2Service` from the feature layer
/// to it, and a publish job.
pub(super) fn publish(
    call: &Call,
    owner: &str,
    folder: Option<&str>,
    source_id: &str,
) -> Result<Response, Response> {
    let p = &call.params;
    let Some(output_type) = p.get("outputType") else {
        return Err(error(
            400,
            "'outputType' must be specified to publish from a feature service (Tiles, VectorTiles or sceneService).",
            &[],
        ));
    };
    if output_type.eq_ignore_ascii_case("sceneService") {
        return super::scenes::publish(call, owner, folder, source_id);
    }
    let Some(kind) = output(output_type) else {
        return Err(error(
            400,
            &format!(
                "Publishing a feature service as '{output_type}' is not supported by the sandbox."
            ),
            &["Supported: Tiles, VectorTiles, sceneService."],
        ));
    };
    let build = p.get("buildInitialCache").map(str::to_ascii_lowercase);
    if kind == "MapServer" && build.as_deref() != Some("true")
        || build
            .as_deref()
            .is_some_and(|b| b != "true" && b != "false")
        || kind == "VectorTileServer" && build.as_deref() == Some("false")
    {
        return Err(error(
            400,
            "The sandbox builds a tile layer's cache as it publishes it: buildInitialCache must be true.",
            &[],
        ));
    }
    call.require("portal:publisher:publishTiles")?;
    let (parameters, name) = publish_parameters(call, PARAMETERS, "tiles")?;
    let scale = |key: &str, default: f64| match parameters.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_f64()
            .filter(|s| *s >= 0.0)
            .ok_or_else(|| error(400, &format!("'{key}' must be a scale (a number)."), &[])),
    };
    let factor = factor_of(kind);
    let min_scale = scale("minScale", LEVEL0_SCALE * factor)?;
    let max_scale = scale("maxScale", level_scale(DEFAULT_MAX_LEVEL, factor))?;
    let levels = levels_between(min_scale, max_scale, factor);
    if levels.is_empty() {
        return Err(error(
            400,
            &format!("No tiling level lies between minScale {min_scale} and maxScale {max_scale}."),
            &[],
        ));
    }
    let (source, feature_service) = feature_layer_source(call, source_id, "tiles")?;
    let layers: Vec<Value> = feature_service
        .layers
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| !super::layers::is_table(l))
        .map(|l| json!({"id": l["id"], "name": l["name"], "geometryType": l["geometryType"]}))
        .collect();
    let service = TileService {
        name,
        kind: kind.to_owned(),
        item: String::new(),
        source: source_id.to_owned(),
        definition: json!({
            "minScale": min_scale, "maxScale": max_scale, "layers": layers,
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

/// The hosted feature layer `source_id` that tiles or a scene layer (`what`) are published
/// from, with its item: refused when the item is not one, or is a view.
pub(super) fn feature_layer_source(
    call: &Call,
    source_id: &str,
    what: &str,
) -> Result<(crate::store::StoredItem, crate::store::Service), Response> {
    let source = readable(call, source_id)?;
    let store = &call.shared.store;
    let Some(feature_service) = store.service_of(&call.org, source_id).map_err(internal)? else {
        return Err(error(
            400,
            &format!(
                "The item is not a hosted feature layer: only hosted feature layers publish as {what} from fileType featureService."
            ),
            &[],
        ));
    };
    if feature_service.kind == super::views::VIEW_KIND {
        return Err(error(
            400,
            &format!(
                "Publishing {what} from a hosted feature layer view is not supported by the sandbox: publish from the view's source layer."
            ),
            &[],
        ));
    }
    Ok((source, feature_service))
}

/// The organization's tile (or scene) service of `kind` named `name`, when the caller may read
/// it.
pub(super) fn readable_tile_service(
    call: &Call,
    name: &str,
    kind: &str,
) -> Result<TileService, Response> {
    let store = &call.shared.store;
    let not_found = || error(400, "Service not found.", &[]);
    let service = store
        .tile_service(&call.org, name, kind)
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let item = store
        .item(&call.org, &service.item)
        .map_err(internal)?
        .ok_or_else(not_found)?;
    super::services::may_read_service(call, &item)?;
    Ok(service)
}

/// Scales of vector tiles (512 pixels) are half those of raster tiles (256) of the same level.
fn factor_of(kind: &str) -> f64 {
    if kind == "VectorTileServer" { 0.5 } else { 1.0 }
}

/// The scale of level `z` in the scheme of `factor`.
fn level_scale(z: u32, factor: f64) -> f64 {
    LEVEL0_SCALE * factor / f64::from(1u32 << z)
}

/// The levels whose scale lies in `[max_scale, min_scale]` (a scale of 0 bounds nothing), with a
/// little slack for rounded scales.
fn levels_between(min_scale: f64, max_scale: f64, factor: f64) -> Vec<u32> {
    (0..=MAX_LEVEL)
        .filter(|z| {
            let s = level_scale(*z, factor);
            (min_scale == 0.0 || s <= min_scale * 1.000_001)
                && (max_scale == 0.0 || s >= max_scale * 0.999_999)
        })
        .collect()
}

/// `/<org>/server/rest/services/Hosted/<name>/MapServer|VectorTileServer[/…]`.
pub(super) fn tile_server(
    call: &Call,
    name: &str,
    kind: &str,
    rest: &[&str],
) -> Result<Response, Response> {
    let service = readable_tile_service(call, name, kind)?;
    let vector = kind == "VectorTileServer";
    // Published from a package: the service keeps it, and serves its tiles.
    let package = service.payload.is_some();
    match rest {
        [] if package => Ok(call.reply(&super::tile_packages::served(&service, vector))),
        [] => Ok(call.reply(&served(call, &service, vector)?)),
        ["resources", "styles"] | ["resources", "styles", "root.json"] if vector => {
            // The package's own style, else one drawn from the layers.
            let style = super::tile_packages::style(call, &service)?
                .unwrap_or_else(|| super::tile_draw::style(&service.definition));
            Ok(call.reply(&style))
        }
        ["tile", z, y, x] => {
            let x = if vector {
                x.strip_suffix(".pbf").ok_or_else(no_tile)?
            } else {
                x
            };
            let (Ok(z), Ok(y), Ok(x)) = (z.parse::<u32>(), y.parse::<u64>(), x.parse::<u64>())
            else {
                return Err(no_tile());
            };
            let levels = if package {
                super::tile_packages::levels(&service)
            } else {
                levels_of(&service)
            };
            if !levels.contains(&z) || y >= 1 << z || x >= 1 << z {
                return Err(no_tile());
            }
            if package {
                let bytes = super::tile_packages::tile(call, &service, vector, z, y, x)?
                    .ok_or_else(no_tile)?;
                let content_type = if vector {
                    "application/x-protobuf"
                } else if bytes.starts_with(b"\x89PNG") {
                    "image/png"
                } else {
                    "image/jpeg"
                };
                return Ok(([("content-type", content_type)], bytes).into_response());
            }
            let features = super::tile_draw::features_in(call, &service, z, y, x)?;
            Ok(if vector {
                (
                    [("content-type", "application/x-protobuf")],
                    super::tile_draw::vector_tile(&features, z, y, x),
                )
                    .into_response()
            } else {
                (
                    [("content-type", "image/png")],
                    super::tile_draw::png_tile(&features, z, y, x).map_err(internal)?,
                )
                    .into_response()
            })
        }
        _ => Err(error(400, "Invalid URL", &[])),
    }
}

/// A tile outside the cache: HTTP 404, as a server answers it.
fn no_tile() -> Response {
    (
        axum::http::StatusCode::NOT_FOUND,
        [("content-type", "application/json; charset=utf-8")],
        json!({"error": {"code": 404, "message": "Tile not found", "details": []}}).to_string(),
    )
        .into_response()
}

/// The cached levels of a tile service.
fn levels_of(service: &TileService) -> Vec<u32> {
    let factor = factor_of(&service.kind);
    let d = &service.definition;
    levels_between(
        d["minScale"].as_f64().unwrap_or(LEVEL0_SCALE * factor),
        d["maxScale"].as_f64().unwrap_or(0.0),
        factor,
    )
}

/// The service resource of a tile layer (`MapServer`) or vector tile layer
/// (`VectorTileServer`), with its tiling scheme and the source's current extent.
fn served(call: &Call, service: &TileService, vector: bool) -> Result<Value, Response> {
    let d = &service.definition;
    let sr = json!({"wkid": 102_100, "latestWkid": 3857});
    // Vector tiles are 512 pixels: level z has half the 256-pixel resolution of level z.
    let (size, factor) = if vector { (512, 0.5) } else { (256, 1.0) };
    let levels = levels_of(service);
    let lods: Vec<Value> = levels
        .iter()
        .copied()
        .map(|z| {
            let div = f64::from(1u32 << z);
            json!({"level": z, "resolution": LEVEL0_RESOLUTION * factor / div,
                   "scale": LEVEL0_SCALE * factor / div})
        })
        .collect();
    let tile_info = json!({
        "rows": size, "cols": size, "dpi": 96, "format": if vector { "pbf" } else { "PNG32" },
        "compressionQuality": 0, "origin": {"x": -HALF_WORLD, "y": HALF_WORLD},
        "spatialReference": sr, "lods": lods,
    });
    let extent = super::tile_draw::source_extent(call, service)?.map_or_else(
        || json!({"xmin": -HALF_WORLD, "ymin": -HALF_WORLD, "xmax": HALF_WORLD, "ymax": HALF_WORLD, "spatialReference": sr}),
        |e| json!({"xmin": e[0], "ymin": e[1], "xmax": e[2], "ymax": e[3], "spatialReference": sr}),
    );
    Ok(if vector {
        json!({
            "currentVersion": 11.3, "name": service.name, "capabilities": "TilesOnly,Tilemap",
            "type": "indexedVector", "defaultStyles": "resources/styles",
            "tiles": ["tile/{z}/{y}/{x}.pbf"], "exportTilesAllowed": false,
            "initialExtent": extent, "fullExtent": extent,
            "minScale": d["minScale"], "maxScale": d["maxScale"], "tileInfo": tile_info,
            "maxzoom": levels.last().copied().unwrap_or(0),
            "resourceInfo": {"styleVersion": 8, "tileCompression": "none"},
            "serviceItemId": service.item,
        })
    } else {
        json!({
            "currentVersion": 11.3, "serviceDescription": d["description"], "mapName": "Layers",
            "description": d["description"], "copyrightText": d["copyrightText"],
            "supportsDynamicLayers": false, "layers": d["layers"].as_array().map(|ls| ls.iter().map(|l| json!({
                "id": l["id"], "name": l["name"], "parentLayerId": -1, "defaultVisibility": true,
                "subLayerIds": null, "minScale": 0, "maxScale": 0,
            })).collect::<Vec<_>>()), "tables": [],
            "spatialReference": sr, "singleFusedMapCache": true, "tileInfo": tile_info,
            "initialExtent": extent, "fullExtent": extent,
            "minScale": d["minScale"], "maxScale": d["maxScale"], "units": "esriMeters",
            "supportedImageFormatTypes": "PNG32,PNG24,PNG,JPG,DIB,TIFF,EMF,PS,PDF,GIF,SVG,SVGZ,BMP",
            "capabilities": "Map,TilesOnly,Tilemap", "exportTilesAllowed": false,
            "maxExportTilesCount": 100_000, "cacheType": "Map", "resampling": false,
            "serviceItemId": service.item,
        })
    })
}
