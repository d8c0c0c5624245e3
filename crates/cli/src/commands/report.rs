//! `orgpack report ARCHIVE [--snapshot ID] -o FILE…`: the report of a past backup, from its
//! snapshot (and its parent, for what changed), as an HTML page or JSON.

use anyhow::Result;

use crate::cli::ReportArgs;
use crate::exit;
use crate::page;
use crate::render;

pub fn run(args: &ReportArgs, json: bool) -> Result<u8> {
    let archive = crate::secrets::archive(&args.archive)?;
    let id = archive.resolve_skipping(&args.snapshot, Some("pre-restore"))?;
    let snapshot = archive.snapshot(&id)?;
    // A parent pruned since is no longer there to compare with.
    let parent = match snapshot.parent {
        Some(p) if archive.index().snapshots.iter().any(|e| e.id == p) => {
            Some(archive.snapshot(&p)?)
        }
        _ => None,
    };
    let mut page = page::backup::page(&id.to_string(), &snapshot, parent.as_ref(), None);
    if let (Some(p), None) = (snapshot.parent, &parent) {
        page.notes.push(format!(
            "the parent snapshot {} is no longer in the archive: what changed since is not shown",
            p.short()
        ));
    }
    let diff = parent
        .as_ref()
        .map(|p| orgpack_archive::diff::diff(p, &snapshot));
    let doc = serde_json::json!({
        "message_type": "report",
        "snapshot": id,
        "parent": snapshot.parent,
        "created": snapshot.created,
        "portal": snapshot.source.portal_url,
        "items": snapshot.items.len(),
        "groups": snapshot.groups.len(),
        "users": snapshot.users.len(),
        "bytes": page::backup::sizes(&snapshot).values().sum::<u64>(),
        "failures": snapshot.failures,
        "changes": diff.map(|d| serde_json::json!({
            "added": d.added.len(),
            "changed": d.changed.len(),
            "removed": d.removed.len(),
            "unchanged": d.unchanged,
        })),
    });
    page::write_all(&args.output, &doc, &page)?;
    if json {
        render::json(&serde_json::json!({
            "message_type": "report_written",
            "snapshot": id,
            "files": args.output,
        }))?;
    } else {
        for path in &args.output {
            render::note(&format!(
                "wrote the report of snapshot {} to {}",
                id.short(),
                path.display()
            ));
        }
    }
    Ok(exit::OK)
}
