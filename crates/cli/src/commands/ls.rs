//! `orgpack ls ARCHIVE [--snapshot ID|latest]`

use anyhow::Result;
use orgpack_archive::Archive;

use crate::cli::LsArgs;
use crate::exit;
use crate::render;

pub fn run(args: &LsArgs, json: bool) -> Result<u8> {
    let archive = Archive::open(&args.archive)?;
    let id = archive.resolve(&args.snapshot)?;
    let snapshot = archive.snapshot(&id)?;
    if json {
        let items: Vec<_> = snapshot
            .items
            .iter()
            .map(|i| {
                serde_json::json!({
                    "id": i.id,
                    "type": i.item_type,
                    "title": i.title,
                    "owner": i.owner,
                    "folder": i.folder.as_ref().map(|f| &f.title),
                    "size": item_size(i),
                    "resources": i.resources.len(),
                    "payloads": i.payloads.len(),
                    "dependencies": i.dependencies.iter().map(|d| &d.target).collect::<Vec<_>>(),
                    "access": i.sharing.access,
                })
            })
            .collect();
        render::json(&serde_json::json!({
            "message_type": "ls",
            "snapshot": id,
            "created": snapshot.created,
            "source": snapshot.source,
            "items": items,
            "groups": snapshot.groups.iter().map(|g| serde_json::json!({"id": g.id, "title": g.title, "owner": g.owner})).collect::<Vec<_>>(),
        }))?;
        return Ok(exit::OK);
    }
    render::note(&format!(
        "snapshot {} of {} ({}), {} items",
        id.short(),
        snapshot.source.portal_url,
        snapshot.created,
        snapshot.items.len()
    ));
    let rows: Vec<Vec<String>> = snapshot
        .items
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                render::clip(&i.item_type, 24),
                render::clip(&i.title, 40),
                render::clip(&i.owner, 20),
                render::size(item_size(i)),
                i.dependencies.len().to_string(),
            ]
        })
        .collect();
    render::table(
        &["ID", "TYPE", "TITLE", "OWNER", "SIZE", "DEPS"],
        &rows,
        &[4, 5],
    )?;
    Ok(exit::OK)
}

fn item_size(item: &orgpack_archive::Item) -> u64 {
    let mut parts = Vec::new();
    item.clone_parts(&mut parts);
    parts.iter().map(|d| d.size).sum()
}
