//! Hosted tile layers and vector tile layers published again in the target, as the portal makes
//! them: from their restored feature layer (`publish` with `fileType=featureService`,
//! `outputType=Tiles` with `buildInitialCache`, or `VectorTiles`, the service name and the scales
//! the source's tiling had, its `tileLayerDefinition`): the new layer's tiles are drawn from the
//! target's data; or from their restored tile package or vector tile package (`fileType`
//! `tilePackage`, `compactTilePackage`, `vectorTilePackage`): its tiles are the package's. Then
//! the publish job. The source's cache is not copied. A hosted scene layer made from a feature
//! layer is published again from the restored layer the same way (`outputType=sceneService`).

use orgpack_archive::manifest::{Item, Payload};

use crate::plan::TileOrigin;
use serde_json::Value;

use crate::item::{Ctx, read_json};
use crate::journal::Kind;

type Failed = (Option<String>, String);

/// The `outputType` that makes an item of this type.
fn output_type(item_type: &str) -> &'static str {
    match item_type {
        "Vector Tile Service" => "VectorTiles",
        "Scene Service" => "sceneService",
        _ => "Tiles",
    }
}

/// Publish the tile layer `item` again from `origin` (restored first); returns the new item's
/// id. `base` is the service name to try first.
pub async fn publish(
    ctx: &Ctx<'_>,
    item: &Item,
    origin: TileOrigin<'_>,
    owner: &str,
    folder: Option<&str>,
    base: &str,
) -> Result<String, Failed> {
    // A feature layer is tiled at the source's scales; a package brings its own levels.
    let (source, file_type, what, scales) = match origin {
        TileOrigin::FeatureLayer { id, definition } => {
            let doc = read_json(ctx.archive, &definition.content).map_err(|e| (None, e))?;
            let service = doc.get("service").cloned().unwrap_or(Value::Null);
            let scales: Vec<(&str, Value)> = ["minScale", "maxScale"]
                .into_iter()
                .filter_map(|k| Some((k, service.get(k).filter(|v| v.is_number())?.clone())))
                .collect();
            (
                id,
                "featureService",
                "feature layer it is drawn from",
                scales,
            )
        }
        TileOrigin::Package { id, file_type } => {
            (id, file_type, "package it was published from", Vec::new())
        }
    };
    let source_target = ctx
        .journal
        .id(Kind::Item, source)
        .map_err(|e| (None, e.to_string()))?
        .ok_or_else(|| (None, format!("the {what} ({source}) was not restored")))?;
    if let Some(id) = made_before(ctx, item, &source_target, origin, base).await? {
        return Ok(id);
    }
    let output = output_type(&item.item_type);
    let mut extra: Vec<(&str, &str)> = vec![("outputType", output)];
    if item.item_type != "Scene Service" {
        extra.push(("buildInitialCache", "true"));
    }
    extra.extend(ctx.keep_id(item));
    let to_publish = crate::item::Publish {
        owner,
        folder,
        source: &source_target,
        file_type,
        extra,
    };
    crate::item::publish_named(ctx, item, &to_publish, base, |parameters| {
        for (key, scale) in &scales {
            parameters[*key] = scale.clone();
        }
    })
    .await
}

/// A layer of this type published from the restored feature layer or package under one of the
/// names this restore tries, by a run killed before its journal learnt the new id: adopted rather
/// than published a second time. (The source was restored by this restore, so what was published
/// from it, this restore made.)
async fn made_before(
    ctx: &Ctx<'_>,
    item: &Item,
    source_target: &str,
    origin: TileOrigin<'_>,
    base: &str,
) -> Result<Option<String>, Failed> {
    // A feature layer is the origin of Service2Service; a package the destination of
    // Service2Data.
    let (kind, forward) = match origin {
        TileOrigin::FeatureLayer { .. } => ("Service2Service", true),
        TileOrigin::Package { .. } => ("Service2Data", false),
    };
    let derived = ctx
        .client
        .related_items(source_target, kind, forward)
        .await
        .map_err(|e| (None, format!("looking for an earlier publish: {e}")))?;
    let names: Vec<String> = crate::item::service_names(base).collect();
    let Some(id) = derived.iter().find_map(|d| {
        let url = d.get("url").and_then(Value::as_str)?;
        let name = crate::view::service_name_of(url)?;
        (d.get("type").and_then(Value::as_str) == Some(item.item_type.as_str())
            && names.iter().any(|n| n.eq_ignore_ascii_case(&name)))
        .then(|| d.get("id").and_then(Value::as_str).map(str::to_owned))
        .flatten()
    }) else {
        return Ok(None);
    };
    ctx.journal
        .set_id(Kind::Item, &item.id, &id, true)
        .map_err(|e| (Some(id.clone()), e.to_string()))?;
    Ok(Some(id))
}

/// How the layer came back, for the report's reason.
pub fn how(archive: &orgpack_archive::Archive, item: &Item, origin: TileOrigin<'_>) -> String {
    match origin {
        TileOrigin::FeatureLayer { .. } if item.item_type == "Scene Service" => {
            "published again from its restored feature layer: its scene cache built from the \
             target's data"
                .to_owned()
        }
        TileOrigin::FeatureLayer { definition, .. } => format!(
            "published again from its restored feature layer ({}): its tiles drawn from the \
             target's data",
            levels(archive, definition).unwrap_or_else(|| "its scales".to_owned())
        ),
        TileOrigin::Package { .. } => {
            "published again from its restored package: its tiles are the package's".to_owned()
        }
    }
}

/// The levels a tile layer's definition holds (`levels 0–19`).
fn levels(archive: &orgpack_archive::Archive, definition: &Payload) -> Option<String> {
    let doc = read_json(archive, &definition.content).ok()?;
    let lods = doc.pointer("/service/tileInfo/lods")?.as_array()?;
    let level = |l: &Value| l.get("level").and_then(Value::as_u64);
    let (first, last) = (level(lods.first()?)?, level(lods.last()?)?);
    Some(format!("levels {first}–{last}"))
}
