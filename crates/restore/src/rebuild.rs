//! Rebuilding a hosted feature service from its captured definition (a
//! `featureServiceDefinition` payload) and its export, rather than republishing the export:
//! `createService` with the service's properties, `addToDefinition` with every layer and table
//! under its own id (fields, domains, drawing info, templates, relationships, indexes), the
//! export uploaded and loaded with `append` (GlobalIDs kept, attachments following their
//! features), then the settings that would have got in the way of loading (capabilities, editor
//! tracking, sync) with `updateDefinition`. Each step is noted in the journal, so a run cut short
//! finishes the service instead of making a second one or loading it twice.

use orgpack_archive::manifest::{Item, Payload};
use serde_json::{Map, Value, json};

use crate::item::{Ctx, read_json};
use crate::journal::Kind;

type Failed = (Option<String>, String);

/// Service properties given at creation (the rest are settings applied after loading).
const CREATE_KEYS: &[&str] = &[
    "serviceDescription",
    "description",
    "copyrightText",
    "spatialReference",
    "initialExtent",
    "fullExtent",
    "maxRecordCount",
    "allowGeometryUpdates",
    "units",
    "xssPreventionInfo",
    "supportsApplyEditsWithGlobalIds",
];

/// Settings applied once the data is in (`updateDefinition`): editing and tracking would stamp
/// the load with the restorer and the time, sync would version it.
const SETTLE_KEYS: &[&str] = &[
    "capabilities",
    "editorTrackingInfo",
    "syncEnabled",
    "syncCapabilities",
];

/// Keys of a layer's served JSON that the target computes or that only describe the source.
const LAYER_DROP: &[&str] = &[
    "editingInfo",
    "serviceItemId",
    "currentVersion",
    "isView",
    "extent",
    "adminLayerInfo",
    "isUpdatableView",
    "sourceSchemaChangesAllowed",
];

/// The captured admin definition of a service.
pub fn admin_of(ctx: &Ctx<'_>, definition: &Payload) -> Result<Value, String> {
    let doc = read_json(ctx.archive, &definition.content)?;
    doc.get("admin")
        .filter(|a| a.is_object())
        .cloned()
        .ok_or_else(|| "the service definition holds no admin definition".to_owned())
}

/// Create the service in the target (its name, then `_2` … while taken); returns its item id.
/// The caller finishes it with [`complete`].
pub async fn create(
    ctx: &Ctx<'_>,
    item: &Item,
    admin: &Value,
    owner: &str,
    folder: Option<&str>,
    base: &str,
) -> Result<String, Failed> {
    let mut last = String::new();
    for name in crate::item::service_names(base) {
        let mut parameters = json!({"name": name,
            "capabilities": "Create,Delete,Query,Update,Editing"});
        for key in CREATE_KEYS {
            if let Some(v) = admin.get(*key).filter(|v| !v.is_null()) {
                parameters[*key] = v.clone();
            }
        }
        // `source-<id>` from the start: a run killed before the journal learns the id finds the
        // service by it instead of making a second one.
        // (Made with its own id, it needs no keyword: the id finds it.)
        let keyword = crate::plan::source_keyword(&item.id);
        let mut extra = ctx.keep_id(item);
        if extra.is_empty() {
            extra.push(("typeKeywords", &keyword));
        }
        match ctx
            .client
            .create_service(owner, folder, &parameters.to_string(), false, &extra)
            .await
        {
            Ok(created) => {
                let id = created.service_item_id;
                ctx.journal
                    .set_id(Kind::Item, &item.id, &id, true)
                    .map_err(|e| (Some(id.clone()), e.to_string()))?;
                return Ok(id);
            }
            Err(e) if e.to_string().contains("already exists") => last = e.to_string(),
            Err(e) => return Err((None, format!("creating the service: {e}"))),
        }
    }
    Err((None, format!("creating the service: {last}")))
}

/// Layers and tables of the captured definition, as `addToDefinition` takes them.
fn layers_of(admin: &Value) -> Value {
    let clean = |l: &Value| {
        let mut l = l.clone();
        if let Some(o) = l.as_object_mut() {
            for k in LAYER_DROP {
                o.remove(*k);
            }
            // Editor tracking comes with the settings, after loading: until then its fields are
            // plain editable fields, so the load keeps who made and edited each feature, and
            // when (turning tracking on takes the fields of those names as they are).
            if let Some(info) = o.remove("editFieldsInfo") {
                let tracked: Vec<String> = info
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(_, v)| v.as_str().map(str::to_lowercase))
                    .collect();
                for f in o
                    .get_mut("fields")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if f["name"]
                        .as_str()
                        .is_some_and(|n| tracked.contains(&n.to_lowercase()))
                    {
                        f["editable"] = json!(true);
                    }
                }
            }
        }
        l
    };
    let list = |k: &str| -> Vec<Value> {
        admin[k]
            .as_array()
            .into_iter()
            .flatten()
            .map(clean)
            .collect()
    };
    json!({"layers": list("layers"), "tables": list("tables")})
}

/// Every layer and table of the definition: (id, name).
pub fn ids_and_names(admin: &Value) -> Vec<(u64, String)> {
    ["layers", "tables"]
        .iter()
        .flat_map(|k| admin[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|l| Some((l["id"].as_u64()?, l["name"].as_str()?.to_owned())))
        .collect()
}

/// Define, load and settle the service created as `target_id`, skipping the steps the journal
/// says are done. `upload` uploads the export (or finds the earlier upload) and gives its item id.
/// `found_again`: the service was made by an earlier run (found by the journal or its keyword),
/// so it may hold its data already.
pub async fn complete<F, Fut>(
    ctx: &Ctx<'_>,
    item: &Item,
    admin: &Value,
    export: &Payload,
    target_id: &str,
    found_again: bool,
    upload: F,
) -> Result<(), String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let url = crate::item::service_url(ctx, target_id).await?;
    let journal = |step: &str| ctx.journal.done(&item.id, step).map_err(|e| e.to_string());
    let mark = |step: &str| ctx.journal.mark(&item.id, step).map_err(|e| e.to_string());
    if !journal("defined")? {
        let root = ctx
            .client
            .call("service", orgpack_portal::Method::Get, &url, &[])
            .await
            .map_err(|e| e.to_string())?;
        let empty = ["layers", "tables"]
            .iter()
            .all(|k| root[*k].as_array().is_none_or(Vec::is_empty));
        if empty {
            ctx.client
                .add_to_definition(&url, &layers_of(admin).to_string())
                .await
                .map_err(|e| format!("defining the layers and tables: {e}"))?;
        }
        mark("defined")?;
    }
    // Loaded by a run cut short, but not as the export has it (an earlier run's append landed
    // late): loaded again — but only before its settings are applied. A settled service is in
    // use (its editors' changes are not to be emptied away), and one that syncs cannot be
    // truncated at all. One found again that already holds the export's counts was loaded by the
    // run that made it (under another journal: another archive of the same snapshot).
    let settled = journal("settled")?;
    let loaded = journal("loaded")?;
    let reload = if !loaded && !found_again {
        true
    } else if settled {
        false
    } else {
        mismatch(ctx, admin, export, &url).await?.is_some()
    };
    if reload {
        load(ctx, admin, export, &url, upload).await?;
    }
    if reload || !loaded {
        mark("loaded")?;
    }
    if !settled {
        let mut settings = Map::new();
        for key in SETTLE_KEYS {
            if let Some(v) = admin.get(*key).filter(|v| !v.is_null()) {
                settings.insert((*key).to_owned(), v.clone());
            }
        }
        if !settings.is_empty() {
            ctx.client
                .update_definition(&url, &Value::Object(settings).to_string())
                .await
                .map_err(|e| format!("applying the service's settings: {e}"))?;
        }
        mark("settled")?;
    }
    Ok(())
}

/// Load the export into the service's layers: emptied first (a load cut short may have gone
/// through on the server), appended, then counted against the export. A count above the export's
/// means an earlier run's append landed after this one looked (a job goes on when its client is
/// killed): emptied and loaded again, at most three times.
pub(crate) async fn load<F, Fut>(
    ctx: &Ctx<'_>,
    admin: &Value,
    export: &Payload,
    url: &str,
    upload: F,
) -> Result<(), String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let layers = ids_and_names(admin);
    let upload_id = upload().await?;
    let mappings: Vec<Value> = layers
        .iter()
        .map(|(id, name)| json!({"id": id, "sourceTableName": name}))
        .collect();
    let mut last = String::new();
    for _ in 0..3 {
        for (id, name) in &layers {
            if count(ctx, url, *id, name).await? > 0 {
                ctx.client
                    .truncate(url, *id)
                    .await
                    .map_err(|e| format!("emptying `{name}` before loading: {e}"))?;
            }
        }
        ctx.client
            .append(
                url,
                &upload_id,
                "filegdb",
                &Value::Array(mappings.clone()).to_string(),
                std::time::Duration::from_hours(4),
            )
            .await
            .map_err(|e| format!("loading the export (append): {e}"))?;
        match mismatch(ctx, admin, export, url).await? {
            None => return Ok(()),
            Some(why) => last = why,
        }
    }
    Err(last)
}

/// The first layer or table whose count differs from the export's, in words; `None` when all
/// agree.
async fn mismatch(
    ctx: &Ctx<'_>,
    admin: &Value,
    export: &Payload,
    url: &str,
) -> Result<Option<String>, String> {
    for (id, name) in ids_and_names(admin) {
        let Some(expected) = exported(export, &name) else {
            continue;
        };
        let got = count(ctx, url, id, &name).await?;
        if got != expected {
            return Ok(Some(format!(
                "layer {id} (`{name}`) has {got} features after loading, the backup {expected}"
            )));
        }
    }
    Ok(None)
}

/// How many rows the export holds in its table `name` (its layer or an attachment table).
fn exported(export: &Payload, name: &str) -> Option<u64> {
    export
        .layers
        .iter()
        .find(|l| l.name.eq_ignore_ascii_case(name))
        .and_then(|l| l.feature_count)
}

/// The features of layer `id` (`name`) of the service at `url`.
async fn count(ctx: &Ctx<'_>, url: &str, id: u64, name: &str) -> Result<u64, String> {
    ctx.client
        .feature_count(&format!("{url}/{id}"))
        .await
        .map_err(|e| format!("counting layer {id} (`{name}`): {e}"))
}

/// Each layer and table of the definition, by id: in the target under the same id and name, with
/// as many features (and attachments) as the export holds for it.
pub async fn check_by_id(
    ctx: &Ctx<'_>,
    admin: &Value,
    export: &Payload,
    url: &str,
) -> Result<(), String> {
    let url = url.trim_end_matches('/');
    let root = ctx
        .client
        .call("service", orgpack_portal::Method::Get, url, &[])
        .await
        .map_err(|e| format!("reading the new service: {e}"))?;
    let target: Vec<(u64, String)> = ids_and_names(&root);
    for (id, name) in ids_and_names(admin) {
        match target.iter().find(|(i, _)| *i == id) {
            Some((_, n)) if n.eq_ignore_ascii_case(&name) => {}
            Some((_, n)) => {
                return Err(format!(
                    "layer {id} is `{n}` in the target, `{name}` in the source"
                ));
            }
            None => return Err(format!("layer {id} (`{name}`) is missing from the target")),
        }
        let Some(expected) = exported(export, &name) else {
            continue;
        };
        let got = count(ctx, url, id, &name).await?;
        if got != expected {
            return Err(format!(
                "layer {id} (`{name}`) has {got} features in the target, the backup {expected}"
            ));
        }
        // Its attachments: as many as the export's attachment table has rows.
        if let Some(expected) = exported(export, &format!("{name}__ATTACH")) {
            let got = ctx
                .client
                .attachment_count(&format!("{url}/{id}"))
                .await
                .map_err(|e| format!("counting the attachments of layer {id} (`{name}`): {e}"))?;
            if got != expected {
                return Err(format!(
                    "layer {id} (`{name}`) has {got} attachments in the target, the backup {expected}"
                ));
            }
        }
    }
    Ok(())
}
