//! Hosted tile layers and vector tile layers: what a restore needs to publish one again from its
//! feature layer. Their tiles are the portal's cache, drawn from a hosted feature layer (the
//! origin of the layer's `Service2Service` relationship) with a tiling scheme; the backup records
//! that feature layer (a reverse relationship and a dependency, so it is captured too) and the
//! service resource (`tileLayerDefinition`: levels, `minScale`, `maxScale`). The tiles themselves
//! are not copied: the restored feature layer draws them again in the target. A hosted scene
//! layer made from a feature layer of points or 3D objects is recorded the same way (its
//! `SceneServer` resource as the definition): a restore publishes it again from that layer.

use orgpack_archive::manifest::{Obtained, Payload, PayloadKind};
use serde_json::Value;

use crate::capture::Env;
use crate::item_json::ItemJson;
use crate::plan::PlannedItem;

/// Whether the item is a hosted tile layer, hosted vector tile layer or hosted scene layer.
pub(crate) fn is_hosted_tiles(json: &ItemJson) -> bool {
    matches!(
        json.get("type").and_then(Value::as_str),
        Some("Map Service" | "Vector Tile Service" | "Scene Service")
    ) && json
        .get("typeKeywords")
        .and_then(Value::as_array)
        .is_some_and(|k| k.iter().any(|k| k.as_str() == Some("Hosted Service")))
}

/// The tile service's resource (`<url>?f=json`), stored as a `tileLayerDefinition` payload.
pub(crate) async fn definition(env: &Env<'_>, planned: &PlannedItem) -> Result<Payload, String> {
    let url = planned
        .field("url")
        .ok_or("the tile layer has no URL")?
        .trim_end_matches('/')
        .to_owned();
    let service = env
        .client
        .call("tile service", orgpack_portal::Method::Get, &url, &[])
        .await
        .map_err(|e| e.to_string())?;
    let scene = planned.item_type() == "Scene Service";
    if scene && service.get("layers").and_then(Value::as_array).is_none() {
        return Err(format!("{url} describes no scene layers (no layers)"));
    }
    if !scene && service.get("tileInfo").is_none() {
        return Err(format!("{url} describes no tiling scheme (no tileInfo)"));
    }
    let doc = serde_json::json!({ "service": service });
    let content = tokio::task::block_in_place(|| env.blobs.put_json(&doc))
        .map_err(|e| format!("storing the tile layer's definition: {e}"))?;
    Ok(Payload {
        file_name: "tiles.json".into(),
        kind: PayloadKind::TileLayerDefinition,
        obtained: Obtained::FreshExport,
        source_item: None,
        content,
        layers: Vec::new(),
    })
}
