//! What a seeded hosted service gains after it is published, as an administrator would give it
//! through the API (a file of the seed, named by the item's `publish.service`): the service's
//! settings (`updateDefinition`: capabilities, editor tracking), tables (`addToDefinition`), each
//! layer's settings (attachments, aliases, domains, drawing info, templates, relationships),
//! features (`applyEdits`), attachments (`addAttachment`) and the item's data (popups).

use orgpack_portal::{Client, Content, Method};
use serde_json::Value;

/// Apply `def` to the service `url` (item `item`, owned by `owner`); `file` reads the seed's
/// files, `staging` is where uploads are written first.
pub(crate) async fn finish(
    client: &Client,
    owner: &str,
    item: &str,
    url: &str,
    def: &Value,
    file: impl Fn(&str) -> Result<Vec<u8>, crate::Error>,
    staging: &std::path::Path,
) -> Result<(), String> {
    let admin = url.replace("/rest/services/", "/rest/admin/services/");
    let post = |path: String, key: &'static str, value: String| async move {
        client
            .call(key, Method::Post, &path, &[(key, value.as_str())])
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    if let Some(service) = def.get("service") {
        post(
            format!("{admin}/updateDefinition"),
            "updateDefinition",
            service.to_string(),
        )
        .await?;
    }
    if let Some(tables) = def.get("tables") {
        let add = serde_json::json!({"tables": tables});
        post(
            format!("{admin}/addToDefinition"),
            "addToDefinition",
            add.to_string(),
        )
        .await?;
    }
    for (id, update) in def["layers"].as_object().into_iter().flatten() {
        post(
            format!("{admin}/{id}/updateDefinition"),
            "updateDefinition",
            update.to_string(),
        )
        .await?;
    }
    if let Some(edits) = def.get("edits") {
        let answer = client
            .call(
                "applyEdits",
                Method::Post,
                &format!("{url}/applyEdits"),
                &[("edits", &edits.to_string())],
            )
            .await
            .map_err(|e| e.to_string())?;
        let failed = answer
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|l| l["addResults"].as_array().cloned().unwrap_or_default())
            .any(|r| r["success"] != true);
        if failed {
            return Err(format!("applyEdits failed: {answer}"));
        }
    }
    for a in def["attachments"].as_array().into_iter().flatten() {
        let name = a["file"].as_str().unwrap_or_default();
        let path = staging.join(name);
        std::fs::write(&path, file(name).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        let target = format!("{url}/{}/{}/addAttachment", a["layer"], a["feature"]);
        let answer = client
            .upload_form("addAttachment", &target, &[], "attachment", &path, name)
            .await
            .map_err(|e| e.to_string())?;
        if answer["addAttachmentResult"]["success"] != true {
            return Err(format!("addAttachment failed: {answer}"));
        }
    }
    if let Some(name) = def["data"].as_str() {
        let text =
            String::from_utf8(file(name).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        client
            .update_item(owner, None, item, &[], Content::Text(&text))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
