//! What an existing item was before a run changed it, kept so that `--rollback` puts it back.
//!
//! ```text
//! before updating an item it did not create:  read it ─► <journal>.prior/<run>/<n>/ ─► journal row
//! the run fails, with --rollback:             each kept item, newest first ─► sent back
//! the run ends (either way):                  the directory and the rows are removed
//! the run is killed:                          they stay; the next run's rollback uses them too
//! ```
//!
//! Kept per item: its JSON (`item.json`), its sharing (`sharing.json`), its data (`data`), its
//! thumbnail (`thumbnail`), its resources (`resources.json` lists their paths, `resources/<i>`
//! holds each). Files are written whole before the journal row that names the directory, so a
//! row always names a complete state. Putting back sends the properties an update can change
//! (a property the item did not have is cleared, `clearEmptyFields`), the data, the thumbnail,
//! exactly the resources it had, and its sharing (access and groups).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use orgpack_portal::{Client, Content};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;

use crate::item::Ctx;
use crate::journal::Journal;

/// Text properties an update sends, put back as they were (cleared when they were not there).
const TEXT: [&str; 7] = [
    "title",
    "snippet",
    "description",
    "accessInformation",
    "licenseInfo",
    "culture",
    "url",
];
/// List properties, sent comma-separated.
const LISTS: [&str; 3] = ["tags", "typeKeywords", "categories"];

/// Read the item `target` (owned by `owner`) as the target holds it before this run changes it,
/// unless a run that did not end (killed) kept it already. Only with `--rollback`.
///
/// # Errors
/// A message naming what could not be read or kept: the caller does not change the item then.
pub(crate) async fn keep(
    ctx: &Ctx<'_>,
    source: &str,
    target: &str,
    owner: &str,
) -> Result<(), String> {
    if !ctx.options.rollback || ctx.journal.has_prior(source).map_err(|e| e.to_string())? {
        return Ok(());
    }
    let dir = ctx.journal.prior_dir().join(source);
    read_into(ctx.client, target, owner, &dir)
        .await
        .map_err(|e| format!("reading it as it was, to roll back to: {e}"))?;
    ctx.journal
        .record_prior(source, target, owner, &dir)
        .map_err(|e| e.to_string())
}

async fn read_into(client: &Client, id: &str, owner: &str, dir: &Path) -> Result<(), String> {
    let _ = tokio::fs::remove_dir_all(dir).await;
    tokio::fs::create_dir_all(dir.join("resources"))
        .await
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let view = client
        .user_item(owner, id)
        .await
        .map_err(|e| e.to_string())?;
    write(&dir.join("item.json"), view["item"].to_string().as_bytes()).await?;
    write(
        &dir.join("sharing.json"),
        view["sharing"].to_string().as_bytes(),
    )
    .await?;
    let mut data = tokio::fs::File::create(dir.join("data"))
        .await
        .map_err(|e| e.to_string())?;
    let has_data = client
        .item_data(id, &mut data)
        .await
        .map_err(|e| e.to_string())?
        .is_some();
    data.flush().await.map_err(|e| e.to_string())?;
    drop(data);
    if !has_data {
        let _ = tokio::fs::remove_file(dir.join("data")).await;
    }
    if let Some(name) = view["item"]["thumbnail"].as_str().filter(|t| !t.is_empty()) {
        let mut thumb = Vec::new();
        if client
            .item_thumbnail(id, name, &mut thumb)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            write(&dir.join("thumbnail"), &thumb).await?;
        }
    }
    let mut paths = Vec::new();
    for (i, r) in client
        .item_resources(id)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .enumerate()
    {
        let mut bytes = Vec::new();
        client
            .item_resource(id, &r.path, &mut bytes)
            .await
            .map_err(|e| format!("resource `{}`: {e}", r.path))?;
        write(&dir.join("resources").join(i.to_string()), &bytes).await?;
        paths.push(r.path);
    }
    write(
        &dir.join("resources.json"),
        json!(paths).to_string().as_bytes(),
    )
    .await
}

async fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    tokio::fs::write(path, bytes)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Put back every item this run (or a killed run before it) changed after reading it, newest
/// first. Returns the target ids
/// put back, and one note per item that could not be put back whole.
pub(crate) async fn put_back_all(
    client: &Client,
    journal: &Journal,
) -> (BTreeSet<String>, Vec<String>) {
    let mut notes = Vec::new();
    let mut done = BTreeSet::new();
    match journal.priors() {
        Ok(priors) => {
            for (_, target, owner, dir) in priors {
                match put_back(client, &target, &owner, &dir).await {
                    Ok(()) => {
                        done.insert(target);
                    }
                    Err(e) => notes.push(format!(
                        "rollback could not put {target} back as it was: {e}"
                    )),
                }
            }
        }
        Err(e) => notes.push(format!("rollback could not read what it kept: {e}")),
    }
    (done, notes)
}

async fn put_back(client: &Client, id: &str, owner: &str, dir: &Path) -> Result<(), String> {
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let json: Value = serde_json::from_slice(&read("item.json")?).map_err(|e| e.to_string())?;
    let sharing: Value =
        serde_json::from_slice(&read("sharing.json")?).map_err(|e| e.to_string())?;
    let mut params = properties(&json);
    params.push(("clearEmptyFields", "true".into()));
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let data_path = dir.join("data");
    let file_name = json["name"].as_str().filter(|n| !n.is_empty());
    let text;
    let content = if !data_path.exists() {
        Content::None
    } else if let Some(name) = file_name {
        Content::File {
            path: &data_path,
            name,
        }
    } else {
        text = String::from_utf8(read("data")?).map_err(|_| "data: not UTF-8 text".to_owned())?;
        Content::Text(&text)
    };
    client
        .update_item(owner, None, id, &refs, content)
        .await
        .map_err(|e| format!("properties and data: {e}"))?;
    if dir.join("thumbnail").exists() {
        let name = json["thumbnail"]
            .as_str()
            .and_then(|t| t.rsplit('/').next())
            .unwrap_or("thumbnail.png");
        client
            .update_info_file(owner, None, id, "thumbnail", &dir.join("thumbnail"), name)
            .await
            .map_err(|e| format!("thumbnail: {e}"))?;
    }
    resources(client, id, owner, dir).await?;
    share(client, id, owner, &sharing).await
}

/// The properties to send: each as it was, or empty (cleared) when the item did not have it.
fn properties(json: &Value) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for key in TEXT {
        out.push((key, json[key].as_str().unwrap_or_default().to_owned()));
    }
    for key in LISTS {
        let list = json[key].as_array().map_or_else(String::new, |a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        });
        out.push((key, list));
    }
    out.push((
        "properties",
        json.get("properties")
            .filter(|p| p.is_object())
            .map_or_else(String::new, Value::to_string),
    ));
    out
}

/// Exactly the resources kept: any other removed, each kept one sent again as it was.
async fn resources(client: &Client, id: &str, owner: &str, dir: &Path) -> Result<(), String> {
    let kept: Vec<String> = serde_json::from_slice(
        &std::fs::read(dir.join("resources.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let now = client
        .item_resources(id)
        .await
        .map_err(|e| format!("resources: {e}"))?;
    for r in &now {
        client
            .remove_resource(owner, id, &r.path)
            .await
            .map_err(|e| format!("resource `{}`: {e}", r.path))?;
    }
    for (i, path) in kept.iter().enumerate() {
        let bytes: PathBuf = dir.join("resources").join(i.to_string());
        let bytes = std::fs::read(&bytes).map_err(|e| format!("resource `{path}`: {e}"))?;
        client
            .add_resource(owner, id, path, bytes)
            .await
            .map_err(|e| format!("resource `{path}`: {e}"))?;
    }
    Ok(())
}

/// The sharing it had: its access, the groups it was in and no other.
async fn share(client: &Client, id: &str, owner: &str, sharing: &Value) -> Result<(), String> {
    let groups = |v: &Value| -> Vec<String> {
        v["groups"]
            .as_array()
            .map(|g| {
                g.iter()
                    .filter_map(|g| g.as_str().or_else(|| g["id"].as_str()))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let was = groups(sharing);
    let now = client
        .user_item(owner, id)
        .await
        .map_err(|e| format!("sharing: {e}"))?;
    let extra: Vec<String> = groups(&now["sharing"])
        .into_iter()
        .filter(|g| !was.contains(g))
        .collect();
    if !extra.is_empty() {
        let refs: Vec<&str> = extra.iter().map(String::as_str).collect();
        client
            .unshare_item(owner, id, &refs)
            .await
            .map_err(|e| format!("sharing: {e}"))?;
    }
    let access = sharing["access"].as_str().unwrap_or("private");
    let refs: Vec<&str> = was.iter().map(String::as_str).collect();
    client
        .share_item(
            owner,
            id,
            access == "public",
            access == "org" || access == "public",
            &refs,
        )
        .await
        .map_err(|e| format!("sharing: {e}"))?;
    Ok(())
}
