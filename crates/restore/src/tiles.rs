//! Hosted tile layers and vector tile layers published again in the target from their restored
//! feature layer, as the portal makes them: `publish` with `fileType=featureService`,
//! `outputType=Tiles` (with `buildInitialCache`) or `VectorTiles`, the service name and the
//! scales the source's tiling had (its `tileLayerDefinition`), then the publish job. The new
//! layer's tiles are drawn from the target's feature layer, so they show the restored data; the
//! source's cache is not copied.

use orgpack_archive::manifest::{Item, Payload};
use serde_json::{Value, json};

use crate::item::{Ctx, read_json};
use crate::journal::Kind;

type Failed = (Option<String>, String);

/// The `outputType` that makes an item of this type.
fn output_type(item_type: &str) -> &'static str {
    if item_type == "Vector Tile Service" {
        "VectorTiles"
    } else {
        "Tiles"
    }
}

/// Publish the tile layer `item` again from `source` (the feature layer it was drawn from, by
/// its id in the source organization, restored first); returns the new item's id. `base` is the
/// service name to try first.
pub async fn publish(
    ctx: &Ctx<'_>,
    item: &Item,
    definition: &Payload,
    source: &str,
    owner: &str,
    folder: Option<&str>,
    base: &str,
) -> Result<String, Failed> {
    let doc = read_json(ctx.archive, &definition.content).map_err(|e| (None, e))?;
    let service = doc.get("service").cloned().unwrap_or(Value::Null);
    let source_target = ctx
        .journal
        .id(Kind::Item, source)
        .map_err(|e| (None, e.to_string()))?
        .ok_or_else(|| {
            (
                None,
                format!("the feature layer it is drawn from ({source}) was not restored"),
            )
        })?;
    if let Some(id) = made_before(ctx, item, &source_target, base).await? {
        return Ok(id);
    }
    let output = output_type(&item.item_type);
    let mut extra: Vec<(&str, &str)> = vec![("outputType", output), ("buildInitialCache", "true")];
    extra.extend(ctx.keep_id(item));
    let mut last = String::new();
    for name in crate::item::service_names(base) {
        let mut parameters = json!({ "name": name });
        for key in ["minScale", "maxScale"] {
            if let Some(v) = service.get(key).filter(|v| v.is_number()) {
                parameters[key] = v.clone();
            }
        }
        match ctx
            .client
            .publish_with(
                owner,
                &source_target,
                "featureService",
                &parameters.to_string(),
                &extra,
            )
            .await
        {
            Ok(published) => {
                let id = published.service_item_id.clone();
                ctx.journal
                    .set_id(Kind::Item, &item.id, &id, true)
                    .map_err(|e| (Some(id.clone()), e.to_string()))?;
                let fail = |e: String| (Some(id.clone()), e);
                ctx.client
                    .wait_for_job(
                        owner,
                        &id,
                        published.job_id.as_deref(),
                        Some("publish"),
                        std::time::Duration::from_hours(4),
                    )
                    .await
                    .map_err(|e| fail(format!("the tiling job: {e}")))?;
                if let Some(folder) = folder {
                    ctx.client
                        .move_item(owner, &id, Some(folder))
                        .await
                        .map_err(|e| fail(format!("moving the layer into its folder: {e}")))?;
                }
                return Ok(id);
            }
            Err(e) if e.to_string().contains("already exists") => last = e.to_string(),
            Err(e) => return Err((None, format!("publishing the tiles: {e}"))),
        }
    }
    Err((None, format!("publishing the tiles: {last}")))
}

/// A layer of this type published from the restored feature layer under one of the names this
/// restore tries, by a run killed before its journal learnt the new id: adopted rather than
/// published a second time. (The feature layer was restored by this restore, so what it is the
/// origin of, this restore made.)
async fn made_before(
    ctx: &Ctx<'_>,
    item: &Item,
    source_target: &str,
    base: &str,
) -> Result<Option<String>, Failed> {
    let derived = ctx
        .client
        .related_items(source_target, "Service2Service", true)
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

/// The levels a tile layer's definition holds, for the report (`levels 0–19`).
pub fn levels(archive: &orgpack_archive::Archive, definition: &Payload) -> Option<String> {
    let doc = read_json(archive, &definition.content).ok()?;
    let lods = doc.pointer("/service/tileInfo/lods")?.as_array()?;
    let level = |l: &Value| l.get("level").and_then(Value::as_u64);
    let (first, last) = (level(lods.first()?)?, level(lods.last()?)?);
    Some(format!("levels {first}–{last}"))
}
