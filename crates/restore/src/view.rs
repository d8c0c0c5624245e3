//! Recreating a hosted feature layer view from its `viewDefinition` payload: `createService` with
//! `isView`, then `addToDefinition` with each layer pointing at the *restored* source service, and
//! a join view's related tables at theirs (the sources are dependencies of the view, so they are
//! restored first). A view holds no data of its own,
//! so nothing is uploaded; its layers' counts are checked afterwards like a republished service's.

use std::collections::BTreeMap;

use orgpack_archive::manifest::{Item, Payload};
use serde_json::{Value, json};

use crate::item::{Ctx, read_json};
use crate::journal::Kind;

type Failed = (Option<String>, String);

/// Create the view in the target; returns its item id. `base` is the service name to try first
/// (then `base_2`, … when the name is taken).
pub async fn recreate(
    ctx: &Ctx<'_>,
    item: &Item,
    payload: &Payload,
    owner: &str,
    folder: Option<&str>,
    base: &str,
) -> Result<String, Failed> {
    let doc = read_json(ctx.archive, &payload.content).map_err(|e| (None, e))?;
    let target_names = target_names(ctx, &doc).await?;
    let admin = doc.get("admin").cloned().unwrap_or(Value::Null);
    let mut definition = definition(&admin, &target_names).map_err(|e| (None, e))?;
    remap_layer_ids(&mut definition, &layer_ids(ctx, &doc, &target_names).await);
    // One view at a time in this target (ArcGIS Enterprise locks a source while a view of it is
    // defined); other items go on.
    let _one_at_a_time = ctx.views.lock().await;
    let mut last = String::new();
    for name in crate::item::service_names(base) {
        let mut parameters = json!({"name": name});
        for key in [
            "capabilities",
            "maxRecordCount",
            "description",
            "copyrightText",
        ] {
            if let Some(v) = admin.get(key) {
                parameters[key] = v.clone();
            }
        }
        // The item carries `source-<id>` from the start: a run killed before the journal learns
        // the new id finds it again by that keyword instead of making a second view.
        let keyword = crate::plan::source_keyword(&item.id);
        let mut extra = ctx.keep_id(item);
        if extra.is_empty() {
            extra.push(("typeKeywords", &keyword));
        }
        let created = match ctx
            .client
            .create_service(owner, folder, &parameters.to_string(), true, &extra)
            .await
        {
            Ok(c) => c,
            Err(e) if e.to_string().contains("already exists") => {
                last = e.to_string();
                continue;
            }
            Err(e) => return Err((None, format!("creating the view: {e}"))),
        };
        let id = created.service_item_id.clone();
        ctx.journal
            .set_id(Kind::Item, &item.id, &id, true)
            .map_err(|e| (Some(id.clone()), e.to_string()))?;
        let url = created
            .service_url
            .ok_or((Some(id.clone()), "the new view has no URL".to_owned()))?;
        ctx.client
            .add_to_definition(&url, &definition.to_string())
            .await
            .map_err(|e| (Some(id.clone()), format!("defining the view's layers: {e}")))?;
        // Whether edits through the view reach the source, and whether the source's schema may
        // change under it: the view's own settings.
        let mut settings = serde_json::Map::new();
        for key in ["isUpdatableView", "sourceSchemaChangesAllowed"] {
            if let Some(v) = admin.get(key).filter(|v| v.is_boolean()) {
                settings.insert(key.to_owned(), v.clone());
            }
        }
        if !settings.is_empty() {
            ctx.client
                .update_definition(&url, &Value::Object(settings).to_string())
                .await
                .map_err(|e| (Some(id.clone()), format!("the view's settings: {e}")))?;
        }
        return Ok(id);
    }
    Err((None, format!("creating the view: {last}")))
}

/// Each source service of the view (by its name in the source organization) → the name of the
/// restored service in the target.
async fn target_names(ctx: &Ctx<'_>, doc: &Value) -> Result<BTreeMap<String, String>, Failed> {
    // Source service name → its item id in the source organization.
    let source_items: BTreeMap<&str, &str> = doc
        .pointer("/sources/services")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| Some((s.get("name")?.as_str()?, s.get("serviceItemId")?.as_str()?)))
        .collect();
    // … and its name in the target, from the restored source's URL.
    let mut target_names: BTreeMap<String, String> = BTreeMap::new();
    for (name, source_id) in &source_items {
        let target_id = ctx
            .journal
            .id(Kind::Item, source_id)
            .map_err(|e| (None, e.to_string()))?
            .ok_or_else(|| {
                (
                    None,
                    format!("its source service `{name}` ({source_id}) was not restored"),
                )
            })?;
        let url = ctx
            .client
            .item(&target_id)
            .await
            .map_err(|e| (None, format!("reading the restored source service: {e}")))?
            .get("url")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or((None, "the restored source service has no URL".to_owned()))?;
        let target_name =
            service_name_of(&url).ok_or((None, format!("no service name in `{url}`")))?;
        target_names.insert((*name).to_owned(), target_name);
    }
    Ok(target_names)
}

/// Give a view found again after an interrupted run its layers, when it has none yet (the run
/// was killed between `createService` and `addToDefinition`).
pub async fn ensure_defined(ctx: &Ctx<'_>, item: &Item, target_id: &str) -> Result<(), String> {
    let Some(payload) = item
        .payloads
        .iter()
        .find(|p| p.kind == orgpack_archive::manifest::PayloadKind::ViewDefinition)
    else {
        return Ok(());
    };
    let url = crate::item::service_url(ctx, target_id).await?;
    let root = ctx
        .client
        .call("view", orgpack_portal::Method::Get, &url, &[])
        .await
        .map_err(|e| format!("reading the view: {e}"))?;
    let empty = |k: &str| {
        root.get(k)
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    };
    if !(empty("layers") && empty("tables")) {
        return Ok(());
    }
    let doc = read_json(ctx.archive, &payload.content)?;
    let names = target_names(ctx, &doc).await.map_err(|(_, e)| e)?;
    let admin = doc.get("admin").cloned().unwrap_or(Value::Null);
    let mut definition = definition(&admin, &names)?;
    remap_layer_ids(&mut definition, &layer_ids(ctx, &doc, &names).await);
    ctx.client
        .add_to_definition(&url, &definition.to_string())
        .await
        .map_err(|e| format!("defining the view's layers: {e}"))
}

/// The `addToDefinition` document: the view's layers and tables as the admin definition had
/// them, each `viewLayerDefinition` renamed to the restored source service.
fn definition(admin: &Value, target_names: &BTreeMap<String, String>) -> Result<Value, String> {
    let mut out = json!({"layers": [], "tables": []});
    for key in ["layers", "tables"] {
        for layer in admin
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut layer = layer.clone();
            let name = layer["name"].as_str().unwrap_or("?").to_owned();
            let view = layer
                .pointer_mut("/adminLayerInfo/viewLayerDefinition")
                .ok_or_else(|| format!("layer `{name}` of the view has no viewLayerDefinition"))?;
            let table = if view.get("table").is_some() {
                &mut view["table"]
            } else {
                view
            };
            rename_source(table, target_names)?;
            // A join view: its related tables read from restored services too.
            if let Some(related) = table.get_mut("relatedTables").and_then(Value::as_array_mut) {
                for r in related {
                    rename_source(r, target_names)?;
                }
            }
            if let Some(list) = out[key].as_array_mut() {
                list.push(layer);
            }
        }
    }
    Ok(out)
}

/// Point a view table's (or related table's) `sourceServiceName` at the restored service.
fn rename_source(table: &mut Value, target_names: &BTreeMap<String, String>) -> Result<(), String> {
    let source = table
        .get("sourceServiceName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let renamed = target_names.get(&source).ok_or_else(|| {
        format!("the view reads from `{source}`, which its definition does not name")
    })?;
    table["sourceServiceName"] = json!(renamed);
    Ok(())
}

/// Per restored source service (by its target name), the layer ids that changed: source id →
/// target id, paired by name. A rebuilt source keeps its ids (nothing to remap); a republished one
/// numbers its layers as its export lists them. Sources without a recorded definition (ids
/// unknown) are left as they are.
async fn layer_ids(
    ctx: &Ctx<'_>,
    doc: &Value,
    target_names: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeMap<u64, u64>> {
    let mut out = BTreeMap::new();
    for s in doc
        .pointer("/sources/services")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(source_id)) = (
            s.get("name").and_then(Value::as_str),
            s.get("serviceItemId").and_then(Value::as_str),
        ) else {
            continue;
        };
        let Some(source) = ctx
            .snapshot
            .items
            .iter()
            .find(|i| i.id == source_id)
            .and_then(crate::plan::definition_payload)
        else {
            continue;
        };
        let (Some(target_name), Ok(Some(target_id))) = (
            target_names.get(name),
            ctx.journal.id(Kind::Item, source_id),
        ) else {
            continue;
        };
        let Ok(url) = crate::item::service_url(ctx, &target_id).await else {
            continue;
        };
        let Ok(root) = ctx
            .client
            .call("service", orgpack_portal::Method::Get, &url, &[])
            .await
        else {
            continue;
        };
        let there = crate::rebuild::ids_and_names(&root);
        let mut ids = BTreeMap::new();
        for layer in &source.layers {
            let Some(id) = layer.id else { continue };
            if let Some((new, _)) = there
                .iter()
                .find(|(_, n)| n.eq_ignore_ascii_case(&layer.name))
                && *new != id
            {
                ids.insert(id, *new);
            }
        }
        if !ids.is_empty() {
            out.insert(target_name.clone(), ids);
        }
    }
    out
}

/// Point each `sourceLayerId` (of a view table and its related tables) at the restored source's
/// layer of the same name, where its id changed.
fn remap_layer_ids(definition: &mut Value, ids: &BTreeMap<String, BTreeMap<u64, u64>>) {
    fn fix(table: &mut Value, ids: &BTreeMap<String, BTreeMap<u64, u64>>) {
        let service = table["sourceServiceName"].as_str().unwrap_or_default();
        if let (Some(map), Some(old)) = (ids.get(service), table["sourceLayerId"].as_u64())
            && let Some(new) = map.get(&old)
        {
            table["sourceLayerId"] = json!(new);
        }
        if let Some(related) = table.get_mut("relatedTables").and_then(Value::as_array_mut) {
            for r in related {
                fix(r, ids);
            }
        }
    }
    for key in ["layers", "tables"] {
        for layer in definition[key].as_array_mut().into_iter().flatten() {
            if let Some(view) = layer.pointer_mut("/adminLayerInfo/viewLayerDefinition") {
                if view.get("table").is_some() {
                    fix(&mut view["table"], ids);
                } else {
                    fix(view, ids);
                }
            }
        }
    }
}

/// `…/services/[Hosted/]<name>/FeatureServer` (or `MapServer`, `VectorTileServer`) → `<name>`.
pub(crate) fn service_name_of(url: &str) -> Option<String> {
    let parts: Vec<&str> = url.trim_end_matches('/').split('/').collect();
    let at = parts.iter().position(|p| {
        [
            "FeatureServer",
            "MapServer",
            "VectorTileServer",
            "SceneServer",
        ]
        .iter()
        .any(|k| p.eq_ignore_ascii_case(k))
    })?;
    at.checked_sub(1).map(|i| parts[i].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_layer_ids_follow_a_renumbered_source() {
        let mut d = json!({"layers": [
            {"id": 0, "name": "Hydrants",
             "adminLayerInfo": {"viewLayerDefinition": {"sourceServiceName": "City_2", "sourceLayerId": 3}}},
            {"id": 1, "name": "Other",
             "adminLayerInfo": {"viewLayerDefinition": {"sourceServiceName": "Roads", "sourceLayerId": 3}}},
        ], "tables": [
            {"id": 2, "name": "J", "adminLayerInfo": {"viewLayerDefinition": {"table": {
                "sourceServiceName": "City_2", "sourceLayerId": 5,
                "relatedTables": [{"sourceServiceName": "City_2", "sourceLayerId": 3}]}}}},
        ]});
        let ids = BTreeMap::from([("City_2".to_owned(), BTreeMap::from([(3, 1), (5, 2)]))]);
        remap_layer_ids(&mut d, &ids);
        let at = |p: &str| d.pointer(p).cloned().unwrap();
        assert_eq!(
            at("/layers/0/adminLayerInfo/viewLayerDefinition/sourceLayerId"),
            1
        );
        assert_eq!(
            at("/layers/1/adminLayerInfo/viewLayerDefinition/sourceLayerId"),
            3,
            "another service"
        );
        assert_eq!(
            at("/tables/0/adminLayerInfo/viewLayerDefinition/table/sourceLayerId"),
            2
        );
        assert_eq!(
            at("/tables/0/adminLayerInfo/viewLayerDefinition/table/relatedTables/0/sourceLayerId"),
            1
        );
    }

    #[test]
    fn layers_are_pointed_at_the_restored_source() {
        let admin = json!({"layers": [
            {"id": 0, "name": "Hydrants", "viewDefinitionQuery": "A = 1",
             "adminLayerInfo": {"viewLayerDefinition": {"sourceServiceName": "City", "sourceLayerId": 0}}},
        ], "tables": [
            {"id": 1, "name": "T", "adminLayerInfo": {"viewLayerDefinition": {"table": {"sourceServiceName": "City", "sourceLayerId": 2}}}},
        ]});
        let names = BTreeMap::from([("City".to_owned(), "City_2".to_owned())]);
        let d = definition(&admin, &names).unwrap();
        assert_eq!(
            d["layers"][0]["adminLayerInfo"]["viewLayerDefinition"]["sourceServiceName"],
            "City_2"
        );
        assert_eq!(d["layers"][0]["viewDefinitionQuery"], "A = 1");
        assert_eq!(
            d["tables"][0]["adminLayerInfo"]["viewLayerDefinition"]["table"]["sourceServiceName"],
            "City_2"
        );
        let err = definition(&admin, &BTreeMap::new()).unwrap_err();
        assert!(err.contains("`City`"), "{err}");
        // A join view: its related tables are pointed at the restored services too, and one
        // reading from a service the view's sources do not name is refused.
        let mut join = admin.clone();
        join["tables"][0]["adminLayerInfo"]["viewLayerDefinition"]["table"]["relatedTables"] =
            json!([{"sourceServiceName": "Repairs", "sourceLayerId": 0, "type": "INNER"}]);
        let mut both = names.clone();
        both.insert("Repairs".into(), "Repairs_3".into());
        let d = definition(&join, &both).unwrap();
        let related =
            &d["tables"][0]["adminLayerInfo"]["viewLayerDefinition"]["table"]["relatedTables"][0];
        assert_eq!(related["sourceServiceName"], "Repairs_3");
        assert_eq!(related["type"], "INNER");
        let err = definition(&join, &names).unwrap_err();
        assert!(err.contains("`Repairs`"), "{err}");
        assert_eq!(
            service_name_of("https://h/o/server/rest/services/Hosted/City_2/FeatureServer"),
            Some("City_2".into())
        );
    }
}
