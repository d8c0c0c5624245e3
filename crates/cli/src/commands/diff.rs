//! `orgpack diff ARCHIVE SNAP_A SNAP_B`

use anyhow::Result;

use crate::cli::DiffArgs;
use crate::exit;
use crate::render;

pub fn run(args: &DiffArgs, json: bool) -> Result<u8> {
    let archive = crate::secrets::archive(&args.archive)?;
    let (a_id, b_id) = (
        archive.resolve(&args.snap_a)?,
        archive.resolve(&args.snap_b)?,
    );
    let (a, b) = (archive.snapshot(&a_id)?, archive.snapshot(&b_id)?);
    let d = orgpack_archive::diff(&a, &b);
    if json {
        render::json(&serde_json::json!({
            "message_type": "diff",
            "from": a_id,
            "to": b_id,
            "added": d.added,
            "removed": d.removed,
            "changed": d.changed,
            "unchanged": d.unchanged,
            "groupsAdded": d.groups_added,
            "groupsRemoved": d.groups_removed,
            "groupsChanged": d.groups_changed,
            "groupChanges": d.group_changes,
            "usersAdded": d.users_added,
            "usersRemoved": d.users_removed,
            "userChanges": d.user_changes,
            "rolesAdded": d.roles_added,
            "rolesRemoved": d.roles_removed,
            "rolesChanged": d.roles_changed,
            "settingsChanged": d.settings_changed,
            "byOwner": d.by_owner(),
            "byType": d.by_type(),
        }))?;
        return Ok(exit::OK);
    }
    render::note(&format!(
        "{} → {}: {} added, {} removed, {} changed, {} unchanged",
        a_id.short(),
        b_id.short(),
        d.added.len(),
        d.removed.len(),
        d.changed.len(),
        d.unchanged
    ));
    let mut rows: Vec<Vec<String>> = Vec::new();
    for s in &d.added {
        rows.push(row("+", s, "added"));
    }
    for s in &d.removed {
        rows.push(row("-", s, "removed"));
    }
    for c in &d.changed {
        rows.push(row("M", &c.item, &c.parts.join(", ")));
    }
    if !rows.is_empty() {
        render::table(&["", "ID", "TYPE", "TITLE", "OWNER", "WHAT"], &rows, &[])?;
    }
    let section = |title: &str,
                   counts: &std::collections::BTreeMap<String, orgpack_archive::diff::Counts>|
     -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let rows: Vec<Vec<String>> = counts
            .iter()
            .map(|(k, c)| {
                vec![
                    k.clone(),
                    c.added.to_string(),
                    c.removed.to_string(),
                    c.changed.to_string(),
                ]
            })
            .collect();
        render::table(&[title, "ADDED", "REMOVED", "CHANGED"], &rows, &[1, 2, 3])
    };
    section("OWNER", &d.by_owner())?;
    section("TYPE", &d.by_type())?;
    let title = |id: &str| {
        b.groups
            .iter()
            .chain(&a.groups)
            .find(|g| g.id == id)
            .map_or_else(String::new, |g| g.title.clone())
    };
    let mut people: Vec<Vec<String>> = Vec::new();
    for id in &d.groups_added {
        people.push(vec!["+".into(), "group".into(), title(id), "added".into()]);
    }
    for id in &d.groups_removed {
        people.push(vec![
            "-".into(),
            "group".into(),
            title(id),
            "removed".into(),
        ]);
    }
    for c in &d.group_changes {
        people.push(vec![
            "M".into(),
            "group".into(),
            c.name.clone(),
            c.parts.join(", "),
        ]);
    }
    for (mark, names, what) in [
        ("+", &d.users_added, "added"),
        ("-", &d.users_removed, "removed"),
    ] {
        for n in names {
            people.push(vec![mark.into(), "user".into(), n.clone(), what.into()]);
        }
    }
    for c in &d.user_changes {
        people.push(vec![
            "M".into(),
            "user".into(),
            c.id.clone(),
            c.parts.join(", "),
        ]);
    }
    for (mark, names, what) in [
        ("+", &d.roles_added, "added"),
        ("-", &d.roles_removed, "removed"),
        ("M", &d.roles_changed, "privileges or description"),
    ] {
        for n in names {
            people.push(vec![mark.into(), "role".into(), n.clone(), what.into()]);
        }
    }
    for key in &d.settings_changed {
        people.push(vec![
            "M".into(),
            "setting".into(),
            key.clone(),
            "changed".into(),
        ]);
    }
    if !people.is_empty() {
        for r in &mut people {
            r[2] = render::clip(&r[2], 32);
            r[3] = render::clip(&r[3], 70);
        }
        render::table(&["", "KIND", "NAME", "WHAT"], &people, &[])?;
    }
    Ok(exit::OK)
}

fn row(mark: &str, s: &orgpack_archive::diff::ItemSummary, what: &str) -> Vec<String> {
    vec![
        mark.to_owned(),
        s.id.clone(),
        render::clip(&s.item_type, 24),
        render::clip(&s.title, 32),
        render::clip(&s.owner, 20),
        render::clip(what, 60),
    ]
}
