//! `orgpack snapshots REPO`

use anyhow::Result;

use crate::cli::SnapshotsArgs;
use crate::exit;
use crate::render;

pub fn run(args: &SnapshotsArgs, json: bool) -> Result<u8> {
    let archive = crate::secrets::archive(&args.repo)?;
    let entries = &archive.index().snapshots;
    if json {
        render::json(&serde_json::json!({ "message_type": "snapshots", "snapshots": entries }))?;
        return Ok(exit::OK);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.id.short(),
                e.created.clone(),
                render::clip(&e.portal_url, 48),
                e.user.clone(),
                e.items.to_string(),
                render::size(e.size),
            ]
        })
        .collect();
    render::table(
        &["ID", "CREATED", "PORTAL", "USER", "ITEMS", "SIZE"],
        &rows,
        &[4, 5],
    )?;
    render::note(&format!("{} snapshots", entries.len()));
    Ok(exit::OK)
}
