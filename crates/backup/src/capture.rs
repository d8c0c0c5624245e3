//! Capturing one planned item into blobs: its JSON, data, thumbnail, metadata, resources and, for
//! hosted feature services, a fresh export. A part that fails is recorded and the rest goes on.

use std::io::{Seek as _, SeekFrom};
use std::time::Duration;

use orgpack_archive::BlobWriter;
use orgpack_archive::manifest::{
    Descriptor, ExportMode, Failure, FailureSubject, Item, NamedPart, Obtained, Payload,
    PayloadField, PayloadKind, PayloadLayer, Resource,
};
use orgpack_portal::Client;

use crate::fetch::{self, Part};
use crate::plan::{Plan, PlannedItem};
use crate::progress::Progress;
use crate::spool::Spool;

/// Longest an export job may run.
const EXPORT_TIMEOUT: Duration = Duration::from_hours(4);

/// The prefix of the titles of the temporary export items a backup creates in the source: a later
/// run deletes any left behind by an interrupted one.
pub const EXPORT_TITLE_PREFIX: &str = "orgpack-export-";

/// Everything one item's capture produced.
pub struct Captured {
    /// The manifest entry, absent when not even the item JSON could be stored.
    pub item: Option<Item>,
    /// What failed.
    pub failures: Vec<Failure>,
    /// Whether a fresh export ran.
    pub exported: bool,
}

/// Shared by every item's capture in one run.
pub struct Env<'a> {
    /// The source portal.
    pub client: &'a Client,
    /// Where content goes.
    pub blobs: &'a BlobWriter<'a>,
    /// The plan being run.
    pub plan: &'a Plan,
    /// Where events go.
    pub progress: &'a dyn Progress,
    /// Where exports are recorded before they are asked for (present when the plan exports).
    pub ledger: Option<&'a crate::ledger::Ledger>,
}

struct Failures<'a> {
    id: &'a str,
    list: Vec<Failure>,
}

impl Failures<'_> {
    fn push(&mut self, part: &str, message: impl std::fmt::Display) {
        self.list.push(Failure {
            subject: FailureSubject::Item,
            id: self.id.to_owned(),
            part: Some(part.to_owned()),
            message: message.to_string(),
        });
    }
}

/// Capture one item. Unchanged items (`reuse`) keep the parent's content descriptors.
pub async fn capture(env: &Env<'_>, planned: &PlannedItem) -> Captured {
    let mut failures = Failures {
        id: &planned.id,
        list: Vec::new(),
    };
    let json_bytes = planned.json.text().as_bytes();
    let item_descriptor = match tokio::task::block_in_place(|| env.blobs.put_bytes(json_bytes)) {
        Ok(d) => d,
        Err(e) => {
            failures.list.push(Failure {
                subject: FailureSubject::Item,
                id: planned.id.clone(),
                part: None,
                message: format!("storing the item JSON: {e}"),
            });
            return Captured {
                item: None,
                failures: failures.list,
                exported: false,
            };
        }
    };
    let mut item = Item {
        id: planned.id.clone(),
        item_type: planned.item_type().to_owned(),
        title: planned.title().to_owned(),
        owner: planned.owner().to_owned(),
        folder: planned.folder.clone(),
        modified: planned.modified(),
        url: planned.field("url").map(str::to_owned),
        item: item_descriptor,
        data: None,
        thumbnail: None,
        metadata: None,
        resources: Vec::new(),
        sharing: planned.sharing.clone(),
        relationships: planned.relationships.clone(),
        dependencies: planned.dependencies.clone(),
        payloads: Vec::new(),
        annotations: std::collections::BTreeMap::new(),
    };
    if let Some(state) = &planned.service_state {
        item.annotations.extend(state.annotations());
    }
    if let Some(parent) = reusable(env, planned) {
        if planned.service_state.is_none() {
            // Not read this time (`--export reference`, or unreadable): what the parent knew.
            item.annotations.clone_from(&parent.annotations);
        }
        item.data = parent.data.clone();
        item.thumbnail = parent.thumbnail.clone();
        item.metadata = parent.metadata;
        item.resources = parent.resources.clone();
        item.payloads = parent.payloads.clone();
        return Captured {
            item: Some(item),
            failures: failures.list,
            exported: false,
        };
    }

    let file_name = planned
        .field("name")
        .filter(|n| is_plain_file_name(n))
        .map(str::to_owned);
    match store_part(env, planned, "data", Part::Data).await {
        Ok(Some((descriptor, spool_summary))) => {
            item.data = Some(NamedPart {
                name: file_name.clone(),
                content: descriptor,
            });
            if let (Some(name), Some(summary)) = (&file_name, spool_summary)
                && let Some(kind) = payload_kind(summary.kind)
            {
                item.payloads.push(Payload {
                    file_name: name.clone(),
                    kind,
                    obtained: Obtained::Download,
                    source_item: None,
                    content: descriptor,
                    layers: layers_of(&summary),
                });
            }
        }
        Ok(None) => {}
        Err(e) => failures.push("data", e),
    }
    if let Some(thumb) = planned.field("thumbnail").filter(|t| !t.is_empty()) {
        match store_part(env, planned, "thumbnail", Part::Thumbnail(thumb)).await {
            Ok(Some((descriptor, _))) => {
                item.thumbnail = Some(NamedPart {
                    name: thumb
                        .rsplit('/')
                        .next()
                        .filter(|n| is_plain_file_name(n))
                        .map(str::to_owned),
                    content: descriptor,
                });
            }
            Ok(None) => {}
            Err(e) => failures.push("thumbnail", e),
        }
    }
    match store_part(env, planned, "metadata", Part::Metadata).await {
        Ok(found) => item.metadata = found.map(|(d, _)| d),
        Err(e) => failures.push("metadata", e),
    }
    let resources = if planned.reuse {
        // Planned for reuse, but the parent's content is not in this archive: list them now.
        match env.client.item_resources(&planned.id).await {
            Ok(list) => list.into_iter().map(|r| (r.path, r.size)).collect(),
            Err(e) => {
                failures.push("resources", e);
                Vec::new()
            }
        }
    } else {
        planned.resources.clone()
    };
    for (path, _) in &resources {
        if orgpack_archive::manifest::check_relative_path(path).is_err() {
            failures.push(
                &format!("resource `{path}`"),
                "the portal listed a resource path that is not a plain relative path",
            );
            continue;
        }
        match store_part(env, planned, path, Part::Resource(path)).await {
            Ok(Some((descriptor, _))) => item.resources.push(Resource {
                path: path.clone(),
                content: descriptor,
            }),
            Ok(None) => {}
            Err(e) => failures.push(&format!("resource `{path}`"), e),
        }
    }
    let mut exported = false;
    if env.plan.selection.export != ExportMode::Reference && crate::plan::is_view(&planned.json) {
        match view_definition(env, planned).await {
            Ok(payload) => item.payloads.push(payload),
            Err(message) => failures.push("view definition", message),
        }
    }
    if env.plan.selection.export != ExportMode::Reference
        && crate::tiles::is_hosted_tiles(&planned.json)
    {
        match crate::tiles::definition(env, planned).await {
            Ok(payload) => item.payloads.push(payload),
            Err(message) => failures.push("tile layer definition", message),
        }
    }
    if planned.export {
        match export(env, planned).await {
            Ok(payload) => {
                // With the data, its definition (read after: a service that cannot be exported
                // is one failure, not two).
                match service_definition(env, planned).await {
                    Ok(definition) => item.payloads.push(definition),
                    Err(message) => failures.push("service definition", message),
                }
                item.payloads.push(payload);
                exported = true;
            }
            Err(message) => failures.push("export", message),
        }
    }
    Captured {
        item: Some(item),
        failures: failures.list,
        exported,
    }
}

/// A view's definition: the admin service JSON (each layer with the source it reads from) and its
/// `sources`, stored as a `viewDefinition` payload with the view's layers and their counts.
async fn view_definition(env: &Env<'_>, planned: &PlannedItem) -> Result<Payload, String> {
    use orgpack_portal::Method;
    use serde_json::Value;
    let url = planned
        .json
        .get("url")
        .and_then(Value::as_str)
        .ok_or("the view has no URL")?
        .trim_end_matches('/')
        .to_owned();
    let admin_url = orgpack_portal::admin_url(&url);
    let admin = env
        .client
        .call("view definition", Method::Get, &admin_url, &[])
        .await
        .map_err(|e| e.to_string())?;
    let sources = match &planned.view_sources {
        Some(sources) => sources.clone(),
        None => env
            .client
            .call("view sources", Method::Get, &format!("{url}/sources"), &[])
            .await
            .map_err(|e| e.to_string())?,
    };
    let mut layers = Vec::new();
    for layer in admin
        .get("layers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            admin
                .get("tables")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
    {
        let id = layer.get("id").and_then(Value::as_u64).unwrap_or(0);
        let count = env
            .client
            .feature_count(&format!("{url}/{id}"))
            .await
            .map_err(|e| format!("counting layer {id}: {e}"))?;
        layers.push(PayloadLayer {
            id: Some(id),
            name: layer
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            geometry_type: layer
                .get("geometryType")
                .and_then(Value::as_str)
                .map(str::to_owned),
            feature_count: Some(count),
            fields: Vec::new(),
        });
    }
    let doc = serde_json::json!({"admin": admin, "sources": sources});
    let content = tokio::task::block_in_place(|| env.blobs.put_json(&doc))
        .map_err(|e| format!("storing the view definition: {e}"))?;
    Ok(Payload {
        file_name: "view.json".into(),
        kind: PayloadKind::ViewDefinition,
        obtained: Obtained::FreshExport,
        source_item: None,
        content,
        layers,
    })
}

/// A hosted feature service's definition: the admin service JSON, every layer and table defined
/// whole (fields, domains, drawing info, templates, relationships, indexes, editor tracking),
/// stored as a `featureServiceDefinition` payload. Restore rebuilds the service from it.
async fn service_definition(env: &Env<'_>, planned: &PlannedItem) -> Result<Payload, String> {
    let url = planned
        .field("url")
        .ok_or("the service has no URL")?
        .trim_end_matches('/')
        .to_owned();
    let admin = env
        .client
        .admin_definition(&url)
        .await
        .map_err(|e| e.to_string())?;
    let layers = ["layers", "tables"]
        .iter()
        .flat_map(|k| admin[*k].as_array().cloned().unwrap_or_default())
        .map(|l| PayloadLayer {
            id: l["id"].as_u64(),
            name: l["name"].as_str().unwrap_or_default().to_owned(),
            geometry_type: l["geometryType"].as_str().map(str::to_owned),
            feature_count: None,
            fields: Vec::new(),
        })
        .collect();
    let doc = serde_json::json!({ "admin": admin });
    let content = tokio::task::block_in_place(|| env.blobs.put_json(&doc))
        .map_err(|e| format!("storing the service definition: {e}"))?;
    Ok(Payload {
        file_name: "service.json".into(),
        kind: PayloadKind::FeatureServiceDefinition,
        obtained: Obtained::FreshExport,
        source_item: None,
        content,
        layers,
    })
}

/// The parent's entry, when the item is unchanged and every blob it needs is in this archive.
fn reusable<'p>(env: &Env<'p>, planned: &PlannedItem) -> Option<&'p Item> {
    if !planned.reuse {
        return None;
    }
    let (_, parent) = env.plan.parent.as_ref()?;
    let item = parent.item(&planned.id)?;
    let mut parts = Vec::new();
    item.clone_parts(&mut parts);
    let sink = env.blobs.sink();
    parts
        .iter()
        .skip(1) // the item JSON is stored afresh
        .all(|d| {
            sink.contains(&orgpack_archive::Key::Blob(d.chunks.unwrap_or(d.digest)))
                .unwrap_or(false)
        })
        .then_some(item)
}

/// Store one part from the plan's cache or a fresh download; for a file item's data, also what
/// orgpack-payload reads from it.
async fn store_part(
    env: &Env<'_>,
    planned: &PlannedItem,
    key: &str,
    part: Part<'_>,
) -> Result<Option<(Descriptor, Option<orgpack_payload::Summary>)>, String> {
    let what = format!("{} of item {}", part.label(), planned.id);
    if planned.absent.contains(key) {
        return Ok(None);
    }
    if let Some(bytes) = planned.cached.get(key) {
        let d = tokio::task::block_in_place(|| env.blobs.put_bytes(bytes))
            .map_err(|e| format!("storing {what}: {e}"))?;
        return Ok(Some((d, None)));
    }
    let Some(spool) = fetch::fetch(env.client, &planned.id, part, &env.plan.spool_dir)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    env.progress.bytes(spool.len());
    let inspect_as = matches!(part, Part::Data)
        .then(|| planned.field("name"))
        .flatten()
        .map(str::to_owned);
    tokio::task::block_in_place(|| store_spool(env.blobs, spool, &what, inspect_as.as_deref()))
        .map(Some)
}

/// Write a spool into blobs, then (for payload files) read it again with orgpack-payload.
fn store_spool(
    blobs: &BlobWriter<'_>,
    spool: Spool,
    what: &str,
    inspect_as: Option<&str>,
) -> Result<(Descriptor, Option<orgpack_payload::Summary>), String> {
    let mut file = spool
        .into_reader()
        .map_err(|e| format!("reading back {what}: {e}"))?;
    let descriptor = blobs
        .put_reader(&mut file, what)
        .map_err(|e| format!("storing {what}: {e}"))?;
    let summary = match inspect_as {
        Some(name) => file
            .seek(SeekFrom::Start(0))
            .ok()
            .and_then(|_| orgpack_payload::inspect(&mut file, name).ok()),
        None => None,
    };
    Ok((descriptor, summary))
}

/// Export a hosted feature service into a temporary item, download it, and delete the temporary
/// item whatever happened.
async fn export(env: &Env<'_>, planned: &PlannedItem) -> Result<Payload, String> {
    let (format, kind, extension) = match env.plan.selection.export {
        ExportMode::Shapefile => ("Shapefile", PayloadKind::Shapefile, "zip"),
        _ => ("File Geodatabase", PayloadKind::FileGeodatabase, "zip"),
    };
    let me = &env.plan.source.user;
    let stamp = jiff::Timestamp::now().as_millisecond();
    let title = format!("{EXPORT_TITLE_PREFIX}{}-{stamp}", planned.id);
    let Some(ledger) = env.ledger else {
        return Err("no export ledger: the plan did not count this export".into());
    };
    ledger
        .started(&title)
        .map_err(|e| format!("recording the export in the ledger: {e}"))?;
    env.progress.exports_waiting(1);
    let job = env
        .client
        .export_item(me, &planned.id, format, &title, "")
        .await;
    let result = match &job {
        Ok(job) => download_export(env, planned, job, kind, extension).await,
        Err(e) => Err(format!("starting the export: {e}")),
    };
    env.progress.exports_waiting(-1);
    // A failed request may still have made the item: then the ledger keeps its title for the
    // next run to look for.
    let deleted = match &job {
        Ok(job) => match env.client.delete_item(me, &job.export_item_id).await {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        },
        Err(_) => Ok(()),
    };
    if job.is_ok() && deleted.is_ok() {
        ledger.deleted(&title);
    }
    if let (Ok(job), Err(e)) = (&job, deleted) {
        let note = format!(
            "; the temporary export item {} could not be deleted ({e}); the next backup deletes it",
            job.export_item_id
        );
        return match result {
            Ok(_) => Err(format!("export captured{note}")),
            Err(m) => Err(format!("{m}{note}")),
        };
    }
    result
}

async fn download_export(
    env: &Env<'_>,
    planned: &PlannedItem,
    job: &orgpack_portal::ExportJob,
    kind: PayloadKind,
    extension: &str,
) -> Result<Payload, String> {
    let me = &env.plan.source.user;
    env.client
        .wait_for_job(
            me,
            &job.export_item_id,
            Some(&job.job_id),
            Some("export"),
            EXPORT_TIMEOUT,
        )
        .await
        .map_err(|e| format!("the export job: {e}"))?;
    let spool = fetch::fetch(
        env.client,
        &job.export_item_id,
        Part::Data,
        &env.plan.spool_dir,
    )
    .await
    .map_err(|e| format!("downloading the export: {e}"))?
    .ok_or("the export item has no file")?;
    env.progress.bytes(spool.len());
    let file_name = format!("{}.{extension}", safe_stem(planned.title(), &planned.id));
    let what = format!("export of item {}", planned.id);
    let (content, summary) =
        tokio::task::block_in_place(|| store_spool(env.blobs, spool, &what, Some(&file_name)))?;
    let summary = summary.ok_or("the export could not be read as a payload")?;
    Ok(Payload {
        file_name,
        kind,
        obtained: Obtained::FreshExport,
        source_item: None,
        content,
        layers: layers_of(&summary),
    })
}

fn payload_kind(kind: orgpack_payload::Kind) -> Option<PayloadKind> {
    use orgpack_payload::Kind as K;
    Some(match kind {
        K::FileGeodatabase => PayloadKind::FileGeodatabase,
        K::Shapefile => PayloadKind::Shapefile,
        K::ServiceDefinition => PayloadKind::ServiceDefinition,
        K::Csv => PayloadKind::Csv,
        K::GeoJson => PayloadKind::GeoJson,
        K::Excel => PayloadKind::Excel,
        _ => return None,
    })
}

fn layers_of(summary: &orgpack_payload::Summary) -> Vec<PayloadLayer> {
    summary
        .layers
        .iter()
        .map(|l| PayloadLayer {
            id: None,
            name: l.name.clone(),
            geometry_type: l.geometry_type.clone(),
            feature_count: Some(l.feature_count),
            fields: l
                .fields
                .iter()
                .map(|f| PayloadField {
                    name: f.name.clone(),
                    field_type: f.field_type.clone(),
                })
                .collect(),
        })
        .collect()
}

/// A file name the manifest accepts: no separators, no dot names, not empty.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && name.len() <= 255
}

/// A file stem from a title: letters, digits, `-` and `_`, else the item id.
fn safe_stem(title: &str, id: &str) -> String {
    let stem: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if stem.trim_matches('_').is_empty() {
        id.to_owned()
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgpack_payload::Kind as K;

    #[test]
    fn every_file_kind_a_restore_can_publish_from_is_a_payload_and_nothing_else() {
        let kinds = [
            (K::FileGeodatabase, Some(PayloadKind::FileGeodatabase)),
            (K::Shapefile, Some(PayloadKind::Shapefile)),
            (K::ServiceDefinition, Some(PayloadKind::ServiceDefinition)),
            (K::GeoJson, Some(PayloadKind::GeoJson)),
            (K::Csv, Some(PayloadKind::Csv)),
            (K::Excel, Some(PayloadKind::Excel)),
            (K::Zip, None),
            (K::Pdf, None),
            (K::Image, None),
            (K::Sqlite, None),
            (K::Json, None),
            (K::Other, None),
        ];
        for (kind, payload) in kinds {
            assert_eq!(payload_kind(kind), payload, "{kind:?}");
        }
    }

    #[test]
    fn a_file_name_from_the_portal_is_kept_only_when_it_is_a_plain_name() {
        for plain in ["City.gdb.zip", "a", ".hidden", &"x".repeat(255)] {
            assert!(is_plain_file_name(plain), "{plain}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../etc/passwd",
            "dir/file.csv",
            "dir\\file.csv",
            "nul\0.csv",
            &"x".repeat(256),
        ] {
            assert!(!is_plain_file_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn an_export_file_is_named_from_the_title_else_the_id() {
        assert_eq!(
            safe_stem("Hydrant inspections, 2024!", "abc"),
            "Hydrant_inspections__2024_"
        );
        assert_eq!(safe_stem("well-named_layer-2", "abc"), "well-named_layer-2");
        assert_eq!(safe_stem("Ünïcode", "abc"), "_n_code");
        assert_eq!(safe_stem("!!! ???", "abc"), "abc");
        assert_eq!(safe_stem("", "abc"), "abc");
        assert_eq!(safe_stem(&"t".repeat(100), "abc").len(), 80);
    }
}
