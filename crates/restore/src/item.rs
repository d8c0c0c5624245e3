//! Restoring one item into one target: create it (or republish a hosted service from its
//! payload), with every reference rewritten from the id map as it stands, then its resources,
//! thumbnail, metadata and sharing. Each finished step is written to the journal, so a rerun
//! continues where a killed run stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use orgpack_archive::Archive;
use orgpack_archive::manifest::{Access, Descriptor, Item, Payload, PayloadKind, Snapshot};
use orgpack_graph::{Context, IdMap, Part, rewrite, rewrite_text};
use orgpack_portal::{Client, Content};
use serde_json::Value;

use crate::journal::{Journal, Kind};
use crate::plan::{Facts, FoundBy, PlannedItem, RestoreOptions, SharingMode, source_keyword};
use crate::report::{Action, Status};
use crate::staging::{StagedFile, TargetStaging};

/// What every item's restore in one target shares.
pub struct Ctx<'a> {
    /// The archive, validated.
    pub archive: &'a Archive,
    /// The snapshot.
    pub snapshot: &'a Snapshot,
    /// The target.
    pub client: &'a Client,
    /// The target's journal.
    pub journal: &'a Journal,
    /// The options.
    pub options: &'a RestoreOptions,
    /// The target's facts.
    pub facts: &'a Facts,
    /// The id map, growing as items are created.
    pub map: &'a Mutex<IdMap>,
    /// A snapshot of the id map that includes everything the items now starting need (taken
    /// again only when a ready item needs later finishes, [`crate::schedule`]): what they
    /// rewrite with. One clone serves many items, not one an item (which made large restores
    /// quadratic).
    pub wave_map: &'a std::sync::RwLock<std::sync::Arc<IdMap>>,
    /// (owner, folder title) → folder id in the target.
    pub folders: &'a BTreeMap<(String, String), String>,
    /// Source group id → target group id.
    pub groups: &'a BTreeMap<String, String>,
    /// Files staged for upload, shared with the other targets.
    pub stager: &'a TargetStaging<'a>,
    /// Views are made one at a time: ArcGIS Enterprise answers "service is locked" to views of
    /// one source defined at once.
    pub views: &'a tokio::sync::Mutex<()>,
    /// The source groups that are shared-update groups (`updateitemcontrol`): sharing into one
    /// asks `confirmItemControl`. Read from the archive once per target, not per item.
    pub update_groups: &'a BTreeSet<String>,
    /// Items made again with their own id (`itemIdToCreate`: `--preserve-ids`, or in place on
    /// ArcGIS Enterprise), services and views included.
    pub keep_ids: &'a BTreeSet<String>,
}

impl Ctx<'_> {
    /// `itemIdToCreate` for an item made with its own id, else nothing.
    #[must_use]
    pub fn keep_id<'i>(&self, item: &'i Item) -> Vec<(&'static str, &'i str)> {
        if self.keep_ids.contains(&item.id) {
            vec![("itemIdToCreate", item.id.as_str())]
        } else {
            Vec::new()
        }
    }
}

/// What a graph [`Context`] for an archived item borrows: its type, keywords, id, and the source
/// organization's portal URLs (its own and its aliases).
pub struct ItemContext {
    item_type: String,
    keywords: Vec<String>,
    id: String,
    portal_urls: Vec<String>,
}

impl ItemContext {
    /// The context of `item` of `snapshot`, whose item JSON is `json`.
    pub fn new(snapshot: &Snapshot, item: &Item, json: &Value) -> Self {
        Self {
            item_type: item.item_type.clone(),
            keywords: orgpack_graph::type_keywords(json),
            id: item.id.clone(),
            portal_urls: std::iter::once(&snapshot.source.portal_url)
                .chain(&snapshot.source.portal_aliases)
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect(),
        }
    }

    /// The context to find and rewrite references with.
    pub fn context(&self) -> Context<'_> {
        Context {
            item_type: &self.item_type,
            type_keywords: &self.keywords,
            self_id: Some(&self.id),
            portal_urls: &self.portal_urls,
        }
    }
}

/// What restoring one item did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// Its id in the target.
    pub target_id: Option<String>,
    /// What happened.
    pub status: Status,
    /// Why, when it did not simply succeed.
    pub reason: Option<String>,
    /// References rewritten.
    pub rewritten: usize,
}

impl Restored {
    pub(crate) fn failed(target_id: Option<String>, reason: String) -> Self {
        Self {
            target_id,
            status: Status::Failed,
            reason: Some(reason),
            rewritten: 0,
        }
    }
}

/// The last journal step of an item: everything is done.
pub const COMPLETE: &str = "complete";

/// Restore one planned item.
pub async fn restore_item(ctx: &Ctx<'_>, planned: &PlannedItem) -> Restored {
    let item = &ctx.snapshot.items[planned.index];
    // An item the journal knows but never finished, or one found by its keyword that the journal
    // does not know (a run killed between creating it and writing the journal): finish it.
    // In place, the comparison decides: an item is resumed only when the plan says it is being
    // made (again), never because a run that left it alone journaled it.
    let may_resume =
        planned.in_place.is_none() || matches!(planned.action, Action::Create | Action::Republish);
    let resumed = match ctx.journal.id(Kind::Item, &item.id) {
        Ok(Some(id)) if may_resume && !ctx.journal.done(&item.id, COMPLETE).unwrap_or(false) => {
            Some(id)
        }
        Ok(Some(_)) => None,
        Ok(None) => match (&planned.existing, planned.found_by) {
            (Some(id), Some(FoundBy::Keyword)) if planned.action == Action::Skip => {
                if let Err(e) = ctx.journal.set_id(Kind::Item, &item.id, id, false) {
                    return Restored::failed(None, e.to_string());
                }
                Some(id.clone())
            }
            _ => None,
        },
        Err(e) => return Restored::failed(None, e.to_string()),
    };
    if matches!(planned.action, Action::PutBack | Action::Undelete) {
        let r = crate::inplace::apply::put_back(ctx, planned, item).await;
        if let Some(id) = &r.target_id {
            learn(ctx, item, id, None).await;
        }
        return r;
    }
    if planned.action == Action::Skip && resumed.is_none() {
        let existing = planned.existing.clone();
        if let Some(id) = &existing {
            learn(ctx, item, id, None).await;
            let _ = ctx.journal.set_id(Kind::Item, &item.id, id, false);
        }
        let reason = match &planned.in_place {
            Some(i) => i.reason.clone(),
            None => Some(format!(
                "already in the target as {}",
                existing.clone().unwrap_or_default()
            )),
        };
        return Restored {
            target_id: existing.clone(),
            status: Status::Skipped,
            reason,
            rewritten: 0,
        };
    }
    match restore(ctx, planned, item, resumed).await {
        Ok(r) => r,
        Err((id, reason)) => Restored::failed(id, reason),
    }
}

type Failed = (Option<String>, String);

async fn restore(
    ctx: &Ctx<'_>,
    planned: &PlannedItem,
    item: &Item,
    resumed: Option<String>,
) -> Result<Restored, Failed> {
    let map = std::sync::Arc::clone(&ctx.wave_map.read().expect("wave map lock"));
    let json: Value = read_json(ctx.archive, &item.item).map_err(|e| (None, e))?;
    let item_context = ItemContext::new(ctx.snapshot, item, &json);
    let gctx = item_context.context();
    let rewritten_json = rewrite(&gctx, Part::Item, &json, &map);
    let mut rewritten = rewritten_json.changed;
    let mut params = item_params(&rewritten_json.doc, &item.id, planned.keep_id);
    // A service of another server, its URL kept (not one of the organization's, pointed at the
    // target's).
    let external = crate::limits::external_service(item, &json)
        .filter(|_| json.get("url") == rewritten_json.doc.get("url"));
    // An item with data and a URL (a registered service with its popups, an app with its
    // configuration) keeps both: the data is the content, the URL a property.
    if item.data.is_some()
        && planned.action != Action::Republish
        && let Some((url, changed)) = rewritten_url(&gctx, item, &map)
    {
        rewritten += changed;
        params.push(("url", url));
    }
    let param_refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let folder = planned
        .folder
        .as_ref()
        .and_then(|t| ctx.folders.get(&(planned.owner.clone(), t.clone())))
        .cloned();
    let owner = planned.owner.as_str();
    // The item's URL in the target, when this run sent it (a URL item): no need to ask for it.
    let was_resumed = resumed.is_some();
    // An offline map area, or one of its packages: made by the target's packaging service.
    let made = crate::plan::made_by_job(ctx.snapshot, item);
    let (target_id, status, sent_url) = if let Some(id) = resumed {
        (id, Status::Created, None)
    } else if planned.action == Action::Update {
        let id = planned.existing.clone().unwrap_or_default();
        let (content, changed) = content_of(ctx, item, &gctx, &map).await?;
        rewritten += changed;
        crate::prior::keep(ctx, &item.id, &id, owner)
            .await
            .map_err(|e| (Some(id.clone()), e))?;
        // As the snapshot has it: a property it holds empty is cleared.
        let mut param_refs = param_refs.clone();
        param_refs.push(("clearEmptyFields", "true"));
        ctx.client
            .update_item(owner, None, &id, &param_refs, content.as_content())
            .await
            .map_err(|e| (Some(id.clone()), format!("updating: {e}")))?;
        (id, Status::Updated, content.url())
    } else if planned.action == Action::Republish {
        let id = republish(ctx, item, owner, folder.as_deref()).await?;
        (id, Status::Created, None)
    } else if let Some(made) = made {
        let id = crate::areas::make(ctx, item, &json, made, folder.as_deref()).await?;
        (id, Status::Created, None)
    } else {
        let (content, changed) = content_of(ctx, item, &gctx, &map).await?;
        rewritten += changed;
        let id = ctx
            .client
            .add_item(
                owner,
                folder.as_deref(),
                &param_refs,
                content.as_content(),
                8 << 20,
            )
            .await
            .map_err(|e| (None, format!("creating: {e}")))?;
        ctx.journal
            .set_id(Kind::Item, &item.id, &id, true)
            .map_err(|e| (Some(id.clone()), e.to_string()))?;
        (id, Status::Created, content.url())
    };
    let fail = |e: String| (Some(target_id.clone()), e);
    if let Some(made) = made.filter(|_| planned.action != Action::Update) {
        // An area's data is its refresh settings; a package's file is the one its setup made.
        let content = match made {
            crate::plan::MadeByJob::Area { .. } => {
                let (content, changed) = content_of(ctx, item, &gctx, &map)
                    .await
                    .map_err(|(_, e)| fail(e))?;
                rewritten += changed;
                content
            }
            crate::plan::MadeByJob::Package { .. } => Staged::None,
        };
        crate::areas::finish(
            ctx,
            item,
            made,
            owner,
            &target_id,
            &param_refs,
            content.as_content(),
        )
        .await
        .map_err(fail)?;
    }
    let republished =
        crate::plan::is_republished(ctx.snapshot, item) && planned.action != Action::Update;
    let finishing = republished
        && !ctx
            .journal
            .done(&item.id, "published")
            .map_err(|e| fail(e.to_string()))?;
    if !finishing {
        learn(ctx, item, &target_id, sent_url.as_deref()).await;
    }
    if finishing && was_resumed {
        crate::view::ensure_defined(ctx, item, &target_id)
            .await
            .map_err(fail)?;
        if let Some(definition) = crate::plan::definition_payload(item)
            && let Some((payload, _)) = crate::plan::republish_payload(item)
            && payload.kind == PayloadKind::FileGeodatabase
        {
            // Created by a run cut short: define, load and settle what it left undone.
            let admin = crate::rebuild::admin_of(ctx, definition).map_err(fail)?;
            crate::rebuild::complete(ctx, item, &admin, payload, &target_id, true, || async {
                upload_payload(ctx, item, payload, owner, folder.as_deref())
                    .await
                    .map_err(|(_, e)| e)
            })
            .await
            .map_err(fail)?;
        }
    }
    if finishing {
        // Reads the new service's URL, checks its counts and learns it.
        finish_service(ctx, item, owner, &target_id, &param_refs)
            .await
            .map_err(fail)?;
        ctx.journal
            .mark(&item.id, "published")
            .map_err(|e| fail(e.to_string()))?;
    }

    let mut form_note = None;
    if !ctx
        .journal
        .done(&item.id, "content")
        .map_err(|e| fail(e.to_string()))?
    {
        if republished && item.data.is_some() {
            // A republished service's item data (popups, table settings): publishing gave it
            // none.
            let (content, changed) = content_of(ctx, item, &gctx, &map)
                .await
                .map_err(|(_, e)| fail(e))?;
            rewritten += changed;
            let content = match content {
                Staged::Text(text) => {
                    let (text, own) = own_id(&gctx, Part::Data, text, &item.id, &target_id);
                    rewritten += own;
                    Staged::Text(text)
                }
                other => other,
            };
            ctx.client
                .update_item(owner, None, &target_id, &[], content.as_content())
                .await
                .map_err(|e| fail(format!("the service's item data: {e}")))?;
        }
        if !republished {
            rewritten += data_naming_itself(ctx, item, owner, &target_id, &gctx, &map)
                .await
                .map_err(fail)?;
            rewritten += url_naming_itself(ctx, item, owner, &target_id)
                .await
                .map_err(fail)?;
        }
        rewritten += restore_parts(ctx, item, owner, &target_id, &gctx, &map)
            .await
            .map_err(fail)?;
        let (changed, note) = crate::form::restore_package(ctx, item, owner, &target_id, &map)
            .await
            .map_err(fail)?;
        rewritten += changed;
        form_note = note;
        ctx.journal
            .mark(&item.id, "content")
            .map_err(|e| fail(e.to_string()))?;
    }
    // A Hub site: registered and given its hostname in the target's Hub, as Hub makes a site.
    let mut hub_note = None;
    if crate::hub::is_site(item)
        && !ctx
            .journal
            .done(&item.id, "hub")
            .map_err(|e| fail(e.to_string()))?
    {
        hub_note = crate::hub::register(ctx, item, owner, &target_id)
            .await
            .map_err(fail)?;
        ctx.journal
            .mark(&item.id, "hub")
            .map_err(|e| fail(e.to_string()))?;
    }
    if !ctx
        .journal
        .done(&item.id, "shared")
        .map_err(|e| fail(e.to_string()))?
    {
        share(ctx, item, owner, &target_id).await.map_err(fail)?;
        ctx.journal
            .mark(&item.id, "shared")
            .map_err(|e| fail(e.to_string()))?;
    }
    // Delete protection, as the source had it: last, so nothing above is refused because of it.
    if json.get("protected").and_then(Value::as_bool) == Some(true)
        && !ctx
            .journal
            .done(&item.id, "protected")
            .map_err(|e| fail(e.to_string()))?
    {
        ctx.client
            .protect_item(owner, &target_id, true)
            .await
            .map_err(|e| fail(format!("delete protection: {e}")))?;
        ctx.journal
            .mark(&item.id, "protected")
            .map_err(|e| fail(e.to_string()))?;
    }
    if planned.patch_later.is_empty() {
        ctx.journal
            .mark(&item.id, COMPLETE)
            .map_err(|e| fail(e.to_string()))?;
    }
    // Which way a service came back, and for one republished from the file it was first
    // published from, that what was edited since is not there.
    let is_view = crate::plan::republish_payload(item)
        .is_some_and(|(p, _)| p.kind == PayloadKind::ViewDefinition);
    let tiles = crate::plan::tile_source(ctx.snapshot, item);
    let path = if planned.action != Action::Republish || is_view {
        None
    } else if let Some(origin) = tiles {
        Some(crate::tiles::how(ctx.archive, item, origin))
    } else if rebuilt(ctx, item).map_err(fail)? {
        Some("rebuilt from its definition, loaded from its export".to_owned())
    } else if crate::plan::definition_payload(item).is_some() && ctx.options.republish {
        Some("republished from its export (--republish)".to_owned())
    } else {
        Some(
            "republished from its export (the backup holds no definition to rebuild from)"
                .to_owned(),
        )
    };
    let original = (planned.action == Action::Republish)
        .then(|| crate::plan::republish_payload(item))
        .flatten()
        .filter(|(_, original)| *original)
        .map(|_| {
            "republished from the file it was first published from (the backup holds no export \
             of it): edits made to the service since are not in it"
                .to_owned()
        });
    Ok(Restored {
        target_id: Some(target_id),
        status,
        reason: original
            .or(path)
            .or(form_note)
            .or(hub_note)
            .or_else(|| notebook_runtime(ctx, item))
            .or_else(|| {
                made.filter(|_| planned.action != Action::Update)
                    .map(crate::areas::how)
            })
            .or(external),
        rewritten,
    })
}

/// For a Notebook: the runtime it was written for (`metadata.esriNotebookRuntime`), which the
/// target must offer for it to run; a restore copies the notebook, not its runtime.
fn notebook_runtime(ctx: &Ctx<'_>, item: &Item) -> Option<String> {
    if item.item_type != "Notebook" {
        return None;
    }
    let data = item.data.as_ref()?;
    let doc: Value = serde_json::from_slice(&read(ctx.archive, &data.content).ok()?).ok()?;
    let runtime = doc.pointer("/metadata/esriNotebookRuntime")?;
    let name = runtime.get("notebookRuntimeName").and_then(Value::as_str)?;
    let version = runtime
        .get("notebookRuntimeVersion")
        .and_then(Value::as_str)
        .map_or_else(String::new, |v| format!(" {v}"));
    Some(format!(
        "written for the notebook runtime `{name}{version}`: the target must offer it for the \
         notebook to run"
    ))
}

/// Record what the target calls an item: its id and, for services, its URL.
pub async fn learn(ctx: &Ctx<'_>, item: &Item, target_id: &str, known_url: Option<&str>) {
    let new_url = match known_url {
        Some(u) => Some(u.to_owned()),
        None if item.url.is_some() => ctx
            .client
            .item(target_id)
            .await
            .ok()
            .and_then(|j| j.get("url").and_then(Value::as_str).map(str::to_owned)),
        None => None,
    };
    let mut map = ctx.map.lock().expect("id map lock");
    map.items.insert(item.id.clone(), target_id.to_owned());
    if let (Some(old), Some(new)) = (&item.url, new_url) {
        let old = old.trim_end_matches('/').to_owned();
        if old != new {
            map.services
                .insert(old, new.trim_end_matches('/').to_owned());
        }
    }
}

/// What an item is created with.
pub(crate) enum Staged {
    None,
    Text(String),
    Url(String),
    File(Arc<StagedFile>, String),
}

impl Staged {
    /// The URL sent, for URL items.
    fn url(&self) -> Option<String> {
        match self {
            Staged::Url(u) => Some(u.clone()),
            _ => None,
        }
    }

    pub(crate) fn as_content(&self) -> Content<'_> {
        match self {
            Staged::None => Content::None,
            Staged::Text(t) => Content::Text(t),
            Staged::Url(u) => Content::Url(u),
            Staged::File(file, name) => Content::File {
                path: file.path(),
                name,
            },
        }
    }
}

/// The item's data (rewritten when it is JSON), its file staged on disk, or its URL.
pub(crate) async fn content_of(
    ctx: &Ctx<'_>,
    item: &Item,
    gctx: &Context<'_>,
    map: &IdMap,
) -> Result<(Staged, usize), Failed> {
    if let Some(data) = &item.data {
        if let Some(name) = &data.name {
            let file = stage(ctx, &data.content).await.map_err(|e| (None, e))?;
            return Ok((Staged::File(file, name.clone()), 0));
        }
        let bytes = read(ctx.archive, &data.content).map_err(|e| (None, e))?;
        // JSON is rewritten on its text: only the references change, not key order or layout.
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(bytes) => {
                // Data the source held without a file name: named after the item's title (never its
                // source id, which the target would then show), a zip as one.
                let zip = bytes.as_bytes().starts_with(b"PK\x03\x04");
                let file = stage(ctx, &data.content).await.map_err(|e| (None, e))?;
                let stem: String = item
                    .title
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() || c == ' ' || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let stem = if stem.trim().is_empty() {
                    "data"
                } else {
                    stem.trim()
                };
                let name = format!("{stem}.{}", if zip { "zip" } else { "bin" });
                return Ok((Staged::File(file, name), 0));
            }
        };
        return Ok(match rewrite_text(gctx, Part::Data, &text, map) {
            Some(r) => (Staged::Text(r.text), r.changed),
            None => (Staged::Text(text), 0),
        });
    }
    if let Some((new, changed)) = rewritten_url(gctx, item, map) {
        return Ok((Staged::Url(new), changed));
    }
    Ok((Staged::None, 0))
}

/// The item's URL with the id map applied, and how many references that rewrote.
pub(crate) fn rewritten_url(
    gctx: &Context<'_>,
    item: &Item,
    map: &IdMap,
) -> Option<(String, usize)> {
    let url = item.url.as_ref()?;
    let r = rewrite(gctx, Part::Item, &serde_json::json!({ "url": url }), map);
    let new = r.doc["url"].as_str().unwrap_or(url).to_owned();
    Some((new, r.changed))
}

/// Upload the fresh export and publish it; returns the new service's item once the publish job
/// completed.
async fn republish(
    ctx: &Ctx<'_>,
    item: &Item,
    owner: &str,
    folder: Option<&str>,
) -> Result<String, Failed> {
    if let Some(origin) = crate::plan::tile_source(ctx.snapshot, item) {
        let base = service_name(ctx, item);
        return crate::tiles::publish(ctx, item, origin, owner, folder, &base).await;
    }
    let (payload, _) = crate::plan::republish_payload(item)
        .ok_or((None, "no export to republish from".to_owned()))?;
    if payload.kind == PayloadKind::ViewDefinition {
        let base = service_name(ctx, item);
        return crate::view::recreate(ctx, item, payload, owner, folder, &base).await;
    }
    let file_type = match payload.kind {
        PayloadKind::Shapefile => "shapefile",
        PayloadKind::Csv => "csv",
        PayloadKind::GeoJson => "geojson",
        PayloadKind::ServiceDefinition => "serviceDefinition",
        _ => "fileGeodatabase",
    };
    if let Some(definition) = crate::plan::definition_payload(item)
        && payload.kind == PayloadKind::FileGeodatabase
        && !ctx.options.republish
    {
        let admin = crate::rebuild::admin_of(ctx, definition).map_err(|e| (None, e))?;
        let base = service_name(ctx, item);
        let id = crate::rebuild::create(ctx, item, &admin, owner, folder, &base).await?;
        crate::rebuild::complete(ctx, item, &admin, payload, &id, false, || async {
            upload_payload(ctx, item, payload, owner, folder)
                .await
                .map_err(|(_, e)| e)
        })
        .await
        .map_err(|e| (Some(id.clone()), e))?;
        return Ok(id);
    }
    let known = find_upload(ctx, item).await?;
    let uploaded = if let Some(id) = known {
        // Published from it before, by a run killed before writing the journal: adopt that
        // service rather than publish a second one.
        let services = ctx
            .client
            .related_items(&id, "Service2Data", false)
            .await
            .map_err(|e| (None, format!("looking for an earlier publish: {e}")))?;
        if let Some(service) = services
            .iter()
            .find_map(|s| s.get("id").and_then(Value::as_str))
        {
            ctx.journal
                .set_id(Kind::Item, &item.id, service, true)
                .map_err(|e| (None, e.to_string()))?;
            return Ok(service.to_owned());
        }
        id
    } else {
        upload_export(ctx, item, payload, owner, folder).await?
    };
    let base = service_name(ctx, item);
    let to_publish = Publish {
        owner,
        folder,
        source: &uploaded,
        file_type,
        extra: ctx.keep_id(item),
    };
    publish_named(ctx, item, &to_publish, &base, |_| {}).await
}

/// A `publish` call: from item `source` (in the target) as `file_type`, with `extra` parameters,
/// by `owner`, the result moved into `folder`.
pub(crate) struct Publish<'a> {
    pub owner: &'a str,
    pub folder: Option<&'a str>,
    pub source: &'a str,
    pub file_type: &'a str,
    pub extra: Vec<(&'a str, &'a str)>,
}

/// Publish under the first free name of `base`, `base_2` … (`parameters` adds to each name's
/// publishParameters), the new id journaled for `item` at once; wait for the publish job and move
/// the result into its folder. The new item's id.
pub(crate) async fn publish_named(
    ctx: &Ctx<'_>,
    item: &Item,
    publish: &Publish<'_>,
    base: &str,
    parameters: impl Fn(&mut Value),
) -> Result<String, Failed> {
    let owner = publish.owner;
    let mut last = String::new();
    for name in service_names(base) {
        let mut given = serde_json::json!({ "name": name });
        parameters(&mut given);
        match ctx
            .client
            .publish_with(
                owner,
                publish.source,
                publish.file_type,
                &given.to_string(),
                &publish.extra,
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
                    .map_err(|e| fail(format!("the publish job: {e}")))?;
                if let Some(folder) = publish.folder {
                    ctx.client
                        .move_item(owner, &id, Some(folder))
                        .await
                        .map_err(|e| fail(format!("moving it into its folder: {e}")))?;
                }
                return Ok(id);
            }
            Err(e) if e.to_string().contains("already exists") => last = e.to_string(),
            Err(e) => return Err((None, format!("publishing: {e}"))),
        }
    }
    Err((None, format!("publishing: {last}")))
}

/// The export uploaded for `item` by this run or one cut short before it (by the journal, else
/// by its `source-<id>-payload` keyword).
async fn find_upload(ctx: &Ctx<'_>, item: &Item) -> Result<Option<String>, Failed> {
    let payload_key = format!("{}/payload", item.id);
    if let Some(id) = ctx
        .journal
        .id(Kind::Item, &payload_key)
        .map_err(|e| (None, e.to_string()))?
    {
        return Ok(Some(id));
    }
    let payload_keyword = source_keyword(&format!("{}-payload", item.id));
    let q = format!(
        "typekeywords:\"{payload_keyword}\" AND orgid:{}",
        ctx.facts.org_id
    );
    let found = ctx
        .client
        .search_all(&q, 10)
        .await
        .map_err(|e| (None, format!("looking for an earlier upload: {e}")))?
        .into_iter()
        .find_map(|r| r.get("id").and_then(Value::as_str).map(str::to_owned));
    if let Some(id) = &found {
        ctx.journal
            .set_id(Kind::Item, &payload_key, id, true)
            .map_err(|e| (None, e.to_string()))?;
    }
    Ok(found)
}

/// The export of `item` as a file item in the target (uploaded now unless an earlier upload is
/// found), typeKeywords `source-<id>-payload` and `orgpack-payload`; deleted once the service is
/// checked.
pub(crate) async fn upload_payload(
    ctx: &Ctx<'_>,
    item: &Item,
    payload: &Payload,
    owner: &str,
    folder: Option<&str>,
) -> Result<String, Failed> {
    if let Some(id) = find_upload(ctx, item).await? {
        return Ok(id);
    }
    upload_export(ctx, item, payload, owner, folder).await
}

/// Upload the export of `item` (the caller knows no earlier upload) and note it in the journal.
async fn upload_export(
    ctx: &Ctx<'_>,
    item: &Item,
    payload: &Payload,
    owner: &str,
    folder: Option<&str>,
) -> Result<String, Failed> {
    let item_type = match payload.kind {
        PayloadKind::Shapefile => "Shapefile",
        PayloadKind::Csv => "CSV",
        PayloadKind::GeoJson => "GeoJson",
        PayloadKind::ServiceDefinition => "Service Definition",
        _ => "File Geodatabase",
    };
    let payload_keyword = source_keyword(&format!("{}-payload", item.id));
    let file = stage(ctx, &payload.content).await.map_err(|e| (None, e))?;
    let path = file.path();
    let keywords = format!("{payload_keyword},orgpack-payload");
    let title = format!("{} (data)", item.title);
    let id = ctx
        .client
        .add_item(
            owner,
            folder,
            &[
                ("title", &title),
                ("type", item_type),
                ("typeKeywords", &keywords),
            ],
            Content::File {
                path,
                name: &payload.file_name,
            },
            8 << 20,
        )
        .await
        .map_err(|e| (None, format!("uploading the export: {e}")))?;
    ctx.journal
        .set_id(Kind::Item, &format!("{}/payload", item.id), &id, true)
        .map_err(|e| (None, e.to_string()))?;
    Ok(id)
}

/// Give a republished service the source item's properties, check each layer's count against
/// the payload, and delete the export uploaded to publish from.
async fn finish_service(
    ctx: &Ctx<'_>,
    item: &Item,
    owner: &str,
    id: &str,
    params: &[(&str, &str)],
) -> Result<(), String> {
    let url = service_url(ctx, id).await?;
    let props: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| *k != "type" && *k != "itemIdToCreate")
        .copied()
        .collect();
    ctx.client
        .update_item(owner, None, id, &props, Content::None)
        .await
        .map_err(|e| format!("setting the service's properties: {e}"))?;
    match (
        crate::plan::definition_payload(item),
        crate::plan::republish_payload(item),
    ) {
        (Some(definition), Some((export, _))) if rebuilt(ctx, item)? => {
            let admin = crate::rebuild::admin_of(ctx, definition)?;
            crate::rebuild::check_by_id(ctx, &admin, export, &url).await?;
        }
        (_, Some((payload, _))) => check_counts(ctx.client, payload, &url).await?,
        _ => {}
    }
    // The export uploaded to publish from has served: the source organization never had it, and
    // it would double the service's storage. Deleted for good (not to the recycle bin).
    let payload_key = format!("{}/payload", item.id);
    if let Some(upload) = ctx
        .journal
        .id(Kind::Item, &payload_key)
        .map_err(|e| e.to_string())?
    {
        match ctx.client.delete_item(owner, &upload).await {
            Ok(()) => {}
            // Gone already (a resumed run deleted it before it could note so).
            Err(e) if e.to_string().contains("does not exist") => {}
            Err(e) => return Err(format!("deleting the uploaded export {upload}: {e}")),
        }
        ctx.journal
            .forget(Kind::Item, &payload_key)
            .map_err(|e| e.to_string())?;
    }
    learn(ctx, item, id, Some(&url)).await;
    Ok(())
}

/// The service names to try, in order: `base`, then `base_2` … `base_5` (while taken).
pub(crate) fn service_names(base: &str) -> impl Iterator<Item = String> + '_ {
    std::iter::once(base.to_owned()).chain((2..=5).map(move |n| format!("{base}_{n}")))
}

/// The URL of the service (or view) the target knows as item `id`.
pub(crate) async fn service_url(ctx: &Ctx<'_>, id: &str) -> Result<String, String> {
    ctx.client
        .item(id)
        .await
        .map_err(|e| e.to_string())?
        .get("url")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("the new service {id} has no URL"))
}

/// Whether the service was rebuilt from its definition (rather than republished).
fn rebuilt(ctx: &Ctx<'_>, item: &Item) -> Result<bool, String> {
    ctx.journal
        .done(&item.id, "defined")
        .map_err(|e| e.to_string())
}

/// Each layer of the new service holds as many features as the payload says.
async fn check_counts(client: &Client, payload: &Payload, url: &str) -> Result<(), String> {
    for (layer, layer_url) in layers_by_name(client, payload, url)
        .await
        .map_err(|e| format!("reading the new service: {e}"))?
    {
        let Some(expected) = layer.feature_count else {
            continue;
        };
        let layer_url = layer_url
            .ok_or_else(|| format!("layer `{}` is missing from the target", layer.name))?;
        let got = client
            .feature_count(&layer_url)
            .await
            .map_err(|e| format!("counting layer `{}`: {e}", layer.name))?;
        if got != expected {
            return Err(format!(
                "layer `{}` has {got} features in the target, the backup {expected}",
                layer.name
            ));
        }
    }
    Ok(())
}

/// The payload's layers and tables paired with the URL of the service's layer or table of the
/// same name (`None` when it has none). Attachment tables (`<layer>__ATTACH` of a layer the
/// payload has) are left out: publishing makes them the layer's attachments.
pub(crate) async fn layers_by_name<'a>(
    client: &Client,
    payload: &'a Payload,
    url: &str,
) -> Result<Vec<(&'a orgpack_archive::manifest::PayloadLayer, Option<String>)>, orgpack_portal::Error>
{
    let url = url.trim_end_matches('/');
    let service = client
        .call("service", orgpack_portal::Method::Get, url, &[])
        .await?;
    let ids: Vec<(String, u64)> = ["layers", "tables"]
        .iter()
        .flat_map(|k| service[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|l| Some((l["name"].as_str()?.to_lowercase(), l["id"].as_u64()?)))
        .collect();
    Ok(payload
        .layers
        .iter()
        .filter(|l| {
            !l.name
                .strip_suffix("__ATTACH")
                .is_some_and(|parent| payload.layers.iter().any(|p| p.name == parent))
        })
        .map(|l| {
            let id = ids
                .iter()
                .find(|(n, _)| *n == l.name.to_lowercase())
                .map(|(_, id)| *id);
            (l, id.map(|id| format!("{url}/{id}")))
        })
        .collect())
}

/// The name to publish a service under: the source's (from its URL, else its title), with the
/// id of a group the restore maps (a Workforce project's `workforce_<group id>`) made the
/// target's, so the name does not name the source.
fn service_name(ctx: &Ctx<'_>, item: &Item) -> String {
    let from_url = item.url.as_deref().and_then(crate::view::service_name_of);
    let mut raw = from_url.unwrap_or_else(|| item.title.clone());
    for (source, target) in ctx.groups {
        if source != target && raw.contains(source.as_str()) {
            raw = raw.replace(source.as_str(), target);
        }
    }
    let clean: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if clean.trim_matches('_').is_empty() {
        format!("service_{}", &item.id[..8])
    } else {
        clean
    }
}

/// `text` (already rewritten with the wave's map) with the item's own id, where the rules find
/// it, replaced by its id in the target (`target_id`, known only once the item exists; the wave's
/// map does not hold it). Returns the text and how many strings changed.
fn own_id(
    gctx: &Context<'_>,
    part: Part<'_>,
    text: String,
    source_id: &str,
    target_id: &str,
) -> (String, usize) {
    if source_id == target_id || !text.contains(source_id) {
        return (text, 0);
    }
    let mut own = IdMap::default();
    own.items.insert(source_id.to_owned(), target_id.to_owned());
    match rewrite_text(gctx, part, &text, &own) {
        Some(out) if out.changed > 0 => (out.text, out.changed),
        _ => (text, 0),
    }
}

/// `text` rewritten with `map` and then with the item's own id (`source_id` → `target_id`):
/// the text, the references `map` changed, and the own-id replacements. `None` for text that is
/// not JSON.
fn rewrite_as(
    gctx: &Context<'_>,
    part: Part<'_>,
    text: &str,
    map: &IdMap,
    source_id: &str,
    target_id: &str,
) -> Option<(String, usize, usize)> {
    let out = rewrite_text(gctx, part, text, map)?;
    let (text, own) = own_id(gctx, part, out.text, source_id, target_id);
    Some((text, out.changed, own))
}

/// Data naming the item itself (a QuickCapture project's `itemId`, an app's own URL), set when
/// the item was made with the wave's map, which cannot hold the item's new id: set again with
/// it. Part of the journaled content step, so a resumed run does it too. Returns references
/// rewritten.
async fn data_naming_itself(
    ctx: &Ctx<'_>,
    item: &Item,
    owner: &str,
    target_id: &str,
    gctx: &Context<'_>,
    map: &IdMap,
) -> Result<usize, String> {
    let Some(data) = item.data.as_ref().filter(|d| d.name.is_none()) else {
        return Ok(0);
    };
    if target_id == item.id {
        return Ok(0);
    }
    let Ok(text) = read_text(ctx.archive, &data.content) else {
        return Ok(0); // not text: uploaded as a file, nothing to rewrite
    };
    if !text.contains(&item.id) {
        return Ok(0);
    }
    let Some((text, _, own)) = rewrite_as(gctx, Part::Data, &text, map, &item.id, target_id) else {
        return Ok(0);
    };
    if own == 0 {
        return Ok(0);
    }
    ctx.client
        .update_item(owner, None, target_id, &[], Content::Text(&text))
        .await
        .map_err(|e| format!("its data naming itself: {e}"))?;
    // The other references were counted when the data was first set.
    Ok(own)
}

/// An item whose URL names itself (an Experience Builder app at
/// `https://experience.arcgis.com/experience/<id>`, a story at `…/stories/<id>`, an app at
/// `…/index.html?appid=<id>`) was made with the source's id in it: set again with its own. Part of
/// the journaled content step. Returns 1 when the URL was set.
async fn url_naming_itself(
    ctx: &Ctx<'_>,
    item: &Item,
    owner: &str,
    target_id: &str,
) -> Result<usize, String> {
    if target_id == item.id || !item.url.as_deref().is_some_and(|u| u.contains(&item.id)) {
        return Ok(0);
    }
    let now = ctx
        .client
        .item(target_id)
        .await
        .map_err(|e| e.to_string())?;
    let Some(url) = now
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| u.contains(&item.id))
    else {
        return Ok(0);
    };
    let mut url = url.replace(&item.id, target_id);
    // Into another kind of portal, the app's own link takes the target's form
    // (`experience.arcgis.com/experience/<id>` ↔ `<portal>/apps/experiencebuilder/…?id=<id>`).
    if let Some(home) = crate::run::apps_home(ctx.snapshot, ctx.facts) {
        let sources = [ctx.facts.portal_url.trim_end_matches('/').to_owned()];
        let same = |id: &str| (id == target_id).then(|| id.to_owned());
        for (old, new) in orgpack_graph::apps::moved_links(&url, &sources, &home, &same) {
            url = url.replace(&old, &new);
        }
    }
    ctx.client
        .update_item(owner, None, target_id, &[("url", &url)], Content::None)
        .await
        .map_err(|e| format!("its URL naming itself: {e}"))?;
    Ok(1)
}

/// Resources (JSON ones rewritten), thumbnail and metadata. Returns references rewritten.
async fn restore_parts(
    ctx: &Ctx<'_>,
    item: &Item,
    owner: &str,
    target_id: &str,
    gctx: &Context<'_>,
    map: &IdMap,
) -> Result<usize, String> {
    let mut rewritten = 0;
    for r in &item.resources {
        let mut bytes = read(ctx.archive, &r.content)?;
        if r.path.to_ascii_lowercase().ends_with(".json")
            && let Ok(text) = std::str::from_utf8(&bytes)
            && let Some((text, changed, own)) = rewrite_as(
                gctx,
                Part::Resource(&r.path),
                text,
                map,
                &item.id,
                target_id,
            )
        {
            rewritten += changed + own;
            bytes = text.into_bytes();
        }
        ctx.client
            .add_resource(owner, target_id, &r.path, bytes)
            .await
            .map_err(|e| format!("resource `{}`: {e}", r.path))?;
    }
    if let Some(thumb) = &item.thumbnail {
        let file = stage(ctx, &thumb.content).await?;
        let name = thumb.name.clone().unwrap_or_else(|| "thumbnail.png".into());
        ctx.client
            .update_info_file(owner, None, target_id, "thumbnail", file.path(), &name)
            .await
            .map_err(|e| format!("thumbnail: {e}"))?;
    }
    if let Some(metadata) = &item.metadata {
        let file = stage(ctx, metadata).await?;
        ctx.client
            .update_info_file(
                owner,
                None,
                target_id,
                "metadata",
                file.path(),
                "metadata.xml",
            )
            .await
            .map_err(|e| format!("metadata: {e}"))?;
    }
    Ok(rewritten)
}

/// Share as the source did, narrowed by the sharing mode; groups through the group map.
pub(crate) async fn share(
    ctx: &Ctx<'_>,
    item: &Item,
    owner: &str,
    target_id: &str,
) -> Result<(), String> {
    let (everyone, org) = match ctx.options.sharing {
        SharingMode::None => return Ok(()),
        SharingMode::Private => (false, false),
        SharingMode::Keep => (
            item.sharing.access == Access::Public,
            matches!(item.sharing.access, Access::Org | Access::Public),
        ),
    };
    let groups: Vec<&str> = item
        .sharing
        .groups
        .iter()
        .filter_map(|g| ctx.groups.get(&g.id).map(String::as_str))
        .collect();
    if !everyone && !org && groups.is_empty() {
        return Ok(());
    }
    // A shared-update group (`updateitemcontrol`) takes an item only when asked to confirm it.
    let confirm = item
        .sharing
        .groups
        .iter()
        .any(|g| ctx.update_groups.contains(&g.id));
    let refused = ctx
        .client
        .share_item_with(owner, target_id, everyone, org, &groups, confirm)
        .await
        .map_err(|e| format!("sharing: {e}"))?;
    if refused.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "sharing: not shared with groups {}",
            refused.join(", ")
        ))
    }
}

/// `addItem` parameters from the (rewritten) item JSON: properties, the source keyword.
pub(crate) fn item_params(
    json: &Value,
    source_id: &str,
    keep_id: bool,
) -> Vec<(&'static str, String)> {
    let text = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_owned);
    let list = |k: &str| {
        json.get(k).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for key in [
        "title",
        "type",
        "snippet",
        "description",
        "accessInformation",
        "licenseInfo",
        "culture",
    ] {
        if let Some(v) = text(key) {
            out.push((key, v));
        }
    }
    if let Some(tags) = list("tags") {
        out.push(("tags", tags));
    }
    // Content categories, as paths of the organization's category schema.
    if let Some(categories) = list("categories").filter(|c| !c.is_empty()) {
        out.push(("categories", categories));
    }
    let mut keywords: Vec<String> = orgpack_graph::type_keywords(json)
        .into_iter()
        .filter(|k| !k.starts_with("source-"))
        .collect();
    // A kept id finds the item again by itself; otherwise `source-<id>` does.
    if !keep_id {
        keywords.push(source_keyword(source_id));
    }
    out.push(("typeKeywords", keywords.join(",")));
    if let Some(extent) = json
        .get("extent")
        .and_then(Value::as_array)
        .filter(|e| e.len() == 2)
    {
        let flat: Vec<String> = extent
            .iter()
            .flat_map(|p| p.as_array().cloned().unwrap_or_default())
            .map(|n| n.to_string())
            .collect();
        if flat.len() == 4 {
            out.push(("extent", flat.join(",")));
        }
    }
    if let Some(sr) = text("spatialReference") {
        out.push(("spatialReference", sr));
    }
    if let Some(p) = json.get("properties").filter(|p| p.is_object()) {
        out.push(("properties", p.to_string()));
    }
    if keep_id {
        out.push(("itemIdToCreate", source_id.to_owned()));
    }
    out
}

/// Read a part of the archive into memory (item JSON, data documents, resources).
pub fn read(archive: &Archive, d: &Descriptor) -> Result<Vec<u8>, String> {
    tokio::task::block_in_place(|| archive.read_part(d)).map_err(|e| e.to_string())
}

/// Read a part of the archive as text.
pub fn read_text(archive: &Archive, d: &Descriptor) -> Result<String, String> {
    String::from_utf8(read(archive, d)?).map_err(|_| "the archived text is not UTF-8".to_owned())
}

/// Read a part of the archive as JSON.
pub fn read_json(archive: &Archive, d: &Descriptor) -> Result<Value, String> {
    let bytes = read(archive, d)?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the archived JSON does not parse: {e}"))
}

/// A part of the archive as a file to upload, staged once for every target.
pub(crate) async fn stage(ctx: &Ctx<'_>, d: &Descriptor) -> Result<Arc<StagedFile>, String> {
    ctx.stager.stage(ctx.archive, d).await
}
