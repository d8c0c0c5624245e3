//! Multipart uploads and asynchronous status: `addItem` with `multipart=true` starts an item whose
//! file arrives in numbered parts (`addPart?partNum=N`), `commit` joins them, and `status` reports
//! `partial`, `processing` (once, as the portal does for asynchronous work) and `completed`.

use axum::response::Response;
use serde_json::json;

use super::auth::internal;
use super::content::owner_or_admin;
use super::{Call, NOT_FOUND, error};
use std::io::Write as _;

use crate::store::{Body, INLINE_LIMIT, Stored, StoredItem};

/// Mark a new item as an upload in progress (called by `addItem` for `multipart=true`).
pub(super) fn start(call: &Call, id: &str) -> Result<(), Response> {
    call.shared
        .store
        .set_status(id, "partial")
        .map_err(internal)
}

/// `…/items/<id>/addPart?partNum=N` with a `file` part.
pub(super) fn add_part(call: &Call, id: &str) -> Result<Response, Response> {
    let store = &call.shared.store;
    if store.status(id).map_err(internal)?.as_deref() != Some("partial") {
        return Err(error(
            400,
            "Item is not a multipart upload in progress.",
            &[],
        ));
    }
    let Some(part) = call
        .params
        .get("partNum")
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| (1..=10_000).contains(p))
    else {
        return Err(error(
            400,
            "'partNum' must be a number from 1 to 10000.",
            &[],
        ));
    };
    let Some(upload) = call.params.take_file("file") else {
        return Err(error(400, "'file' must be specified.", &[]));
    };
    let stored = super::content::stash(call, upload.body)?;
    store.put_part(id, part, &stored).map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}

/// `…/items/<id>/commit`: join the parts, apply the item properties sent, complete the upload.
pub(super) fn commit(
    call: &Call,
    _owner: &str,
    item: &mut StoredItem,
    id: &str,
) -> Result<Response, Response> {
    let store = &call.shared.store;
    if store.status(id).map_err(internal)?.as_deref() != Some("partial") {
        return Err(error(
            400,
            "Item is not a multipart upload in progress.",
            &[],
        ));
    }
    let parts = store.part_data(id).map_err(internal)?;
    if parts.is_empty() {
        return Err(error(400, "No parts were uploaded.", &[]));
    }
    let joined = join(call, &parts).map_err(internal)?;
    let size = joined.len();
    store.complete_parts(id, &joined).map_err(internal)?;
    let o = item.json.as_object_mut().expect("object");
    for key in ["title", "type", "description", "snippet"] {
        if let Some(v) = call.params.get(key) {
            o.insert(key.into(), json!(v));
        }
    }
    o.insert("size".into(), json!(size));
    store
        .update_item(id, &item.json, None, crate::now_ms())
        .map_err(internal)?;
    store.set_status(id, "processing").map_err(internal)?;
    Ok(call.reply(&json!({"success": true, "id": id})))
}

/// The parts joined in order: one part is kept as it is; several are copied, streaming, into one
/// new file.
fn join(call: &Call, parts: &[Stored]) -> std::io::Result<Stored> {
    let blobs = call.shared.store.blobs();
    if let [only] = parts {
        return Ok(only.clone());
    }
    let total: u64 = parts.iter().map(Stored::len).sum();
    if total <= INLINE_LIMIT as u64 {
        let mut bytes = Vec::new();
        for part in parts {
            bytes.extend(blobs.read_all(part)?);
        }
        return blobs.stash(Body::Memory(bytes));
    }
    blobs.write_new(|file| {
        for part in parts {
            match part {
                // File to file: the kernel copies (copy_file_range), no buffer in between.
                Stored::Blob { key, .. } => {
                    std::io::copy(&mut std::fs::File::open(blobs.path(key))?, file)?;
                }
                Stored::Inline(bytes) => file.write_all(bytes)?,
            }
        }
        Ok(())
    })
}

/// `…/items/<id>/status`: `{status, statusMessage, itemId}`. Processing completes when looked at
/// once the job is as old as the sandbox's job latency.
pub(super) fn status(call: &Call, owner: &str, id: &str) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    let store = &call.shared.store;
    if store.item(&call.org, id).map_err(internal)?.is_none() {
        return Err(error(400, NOT_FOUND, &[]));
    }
    let status = store
        .status(id)
        .map_err(internal)?
        .unwrap_or_else(|| "completed".to_owned());
    // Processing is reported at the first look, and until the job is as old as --job-latency.
    if status == "processing" && crate::now_ms() >= store.status_ready(id).map_err(internal)? {
        store.set_status(id, "completed").map_err(internal)?;
    }
    Ok(call.reply(&json!({"status": status, "statusMessage": "", "itemId": id})))
}

/// `…/items/<id>/parts`: the part numbers received so far.
pub(super) fn parts(call: &Call, owner: &str, id: &str) -> Result<Response, Response> {
    owner_or_admin(call, owner)?;
    let parts = call.shared.store.parts(id).map_err(internal)?;
    Ok(call.reply(&json!({"parts": parts})))
}
