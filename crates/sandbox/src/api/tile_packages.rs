//! Tile layers and vector tile layers published from a package: `publish` with
//! `fileType=vectorTilePackage` (a `.vtpk`, `outputType=VectorTiles`) or `tilePackage` /
//! `compactTilePackage` (a `.tpkx`, `outputType=Tiles`). The service is the package's: its
//! description (`root.json`), style and tiles, served from the package's bundles
//! (`crate::packages`), which the service keeps (spec/portal-api.md, "Hosted tile layers").

use axum::response::Response;
use serde_json::{Value, json};

use super::auth::internal;
use super::content::readable;
use super::{Call, error};
use crate::store::TileService;

/// The publishParameters a package publish takes (`maxRecordCount` is what the official Python
/// client sends for a vector tile package; a tile layer has no records, so it changes nothing,
/// as on a portal).
const PARAMETERS: &[&str] = &["name", "maxRecordCount", "description", "copyrightText"];

/// fileType → (vector, the item types it publishes from, outputType, the service's item type
/// and type keywords).
fn kind_of(file_type: &str) -> Option<(bool, &'static [&'static str], &'static str)> {
    if file_type.eq_ignore_ascii_case("vectorTilePackage") {
        Some((true, &["Vector Tile Package"], "VectorTiles"))
    } else if file_type.eq_ignore_ascii_case("tilePackage")
        || file_type.eq_ignore_ascii_case("compactTilePackage")
    {
        Some((false, &["Tile Package", "Compact Tile Package"], "Tiles"))
    } else {
        None
    }
}

/// Whether `file_type` is a package's.
pub(super) fn is_package(file_type: &str) -> bool {
    kind_of(file_type).is_some()
}

/// `publish` of a tile package or vector tile package item.
pub(super) fn publish(
    call: &Call,
    owner: &str,
    folder: Option<&str>,
    source_id: &str,
    file_type: &str,
) -> Result<Response, Response> {
    let (vector, item_types, output) =
        kind_of(file_type).ok_or_else(|| error(400, "Invalid fileType", &[]))?;
    let p = &call.params;
    if let Some(given) = p
        .get("outputType")
        .filter(|o| !o.eq_ignore_ascii_case(output))
    {
        return Err(error(
            400,
            &format!("A {file_type} publishes as outputType {output}, not '{given}'."),
            &[],
        ));
    }
    if p.get("buildInitialCache")
        .is_some_and(|b| b.eq_ignore_ascii_case("false"))
    {
        return Err(error(
            400,
            "A package's tiles are the layer's cache: buildInitialCache=false is not supported by the sandbox.",
            &[],
        ));
    }
    call.require("portal:publisher:publishTiles")?;
    let (parameters, name) = super::tiles::publish_parameters(call, PARAMETERS, "a package")?;
    let source = readable(call, source_id)?;
    let source_type = source
        .json
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !item_types.contains(&source_type) {
        return Err(error(
            400,
            &format!(
                "The item is a {source_type}, not a {}.",
                item_types.join(" or ")
            ),
            &[],
        ));
    }
    let store = &call.shared.store;
    let Some((Some(payload), _)) = store.item_data(&call.org, source_id).map_err(internal)? else {
        return Err(error(400, "Item does not have a file.", &[]));
    };
    let reader = store.blobs().reader(&payload).map_err(internal)?;
    let root = crate::packages::root(reader, vector)
        .map_err(|e| error(400, &format!("Unable to read the package: {e}"), &[]))?;
    let service = TileService {
        name,
        kind: if vector {
            "VectorTileServer"
        } else {
            "MapServer"
        }
        .to_owned(),
        item: String::new(),
        source: source_id.to_owned(),
        definition: json!({ "root": root }),
        payload: Some(payload),
    };
    super::tiles::create(
        call,
        super::tiles::NewLayer {
            owner,
            folder,
            source: &source,
            service,
            parameters: &parameters,
            relationship: "Service2Data",
        },
    )
}

/// The levels of a package's tiling scheme.
pub(super) fn levels(service: &TileService) -> Vec<u32> {
    service.definition["root"]["tileInfo"]["lods"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.get("level").and_then(Value::as_u64))
        .filter_map(|l| u32::try_from(l).ok())
        .collect()
}

/// The service resource: the package's description, with what the server adds.
pub(super) fn served(service: &TileService, vector: bool) -> Value {
    let mut out = service.definition["root"].clone();
    out["serviceItemId"] = json!(service.item);
    out["currentVersion"] = json!(11.3);
    out["capabilities"] = json!("TilesOnly,Tilemap");
    out["exportTilesAllowed"] = json!(false);
    if vector {
        out["name"] = json!(service.name);
        out["type"] = json!("indexedVector");
        out["defaultStyles"] = json!("resources/styles");
        out["tiles"] = json!(["tile/{z}/{y}/{x}.pbf"]);
    } else {
        out["singleFusedMapCache"] = json!(true);
        out["cacheType"] = json!("Map");
        if out.get("spatialReference").is_none() {
            out["spatialReference"] = out["tileInfo"]["spatialReference"].clone();
        }
    }
    out
}

/// The package a tile service keeps, opened; `None` for one drawn from a feature layer.
fn package(
    call: &Call,
    service: &TileService,
) -> Result<Option<Box<dyn crate::store::ReadSeek + Send>>, Response> {
    service
        .payload
        .as_ref()
        .map(|p| call.shared.store.blobs().reader(p).map_err(internal))
        .transpose()
}

/// The package's style (`p12/resources/styles/root.json`), `None` when it holds none.
pub(super) fn style(call: &Call, service: &TileService) -> Result<Option<Value>, Response> {
    let Some(reader) = package(call, service)? else {
        return Ok(None);
    };
    let bytes = crate::packages::file(reader, "p12/resources/styles/root.json")
        .map_err(|e| error(500, &e, &[]))?;
    Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Tile `z/y/x` of the package, `None` when it holds none.
pub(super) fn tile(
    call: &Call,
    service: &TileService,
    vector: bool,
    z: u32,
    y: u64,
    x: u64,
) -> Result<Option<Vec<u8>>, Response> {
    let Some(reader) = package(call, service)? else {
        return Ok(None);
    };
    crate::packages::tile(reader, vector, z, y, x).map_err(|e| error(500, &e, &[]))
}
