//! The demo's last scene: someone damages the demo organization (deletes the map "Hydrant
//! inspections", overwrites the dashboard that shows it, deletes a layer's features), and it is
//! put back in place from the repository, after a `pre-restore` snapshot of what is about to
//! change; then a second plan must find every item as the backup has it.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result};
use orgpack_archive::Archive;
use orgpack_portal::{Client, Content, Method};
use orgpack_restore::{Action, RestoreOptions, Target};
use orgpack_sandbox::DemoOrg;

use super::demo::Step;

/// Damage the organization; returns what was done, in words.
async fn damage(source: &Client, demo: &DemoOrg) -> Result<String> {
    let map = &demo.items["inspections-map"];
    source
        .call(
            "delete the map",
            Method::Post,
            &format!("content/users/editor/items/{map}/delete"),
            &[("permanentDelete", "false")],
        )
        .await?;
    source
        .update_item(
            "editor",
            None,
            &demo.items["dashboard"],
            &[],
            Content::Text("{\"widgets\": []}"),
        )
        .await?;
    let layer = format!("{}/0", demo.urls["city"]);
    let features = source.feature_count(&layer).await?;
    source
        .call(
            "delete features",
            Method::Post,
            &format!("{layer}/deleteFeatures"),
            &[("where", "1=1")],
        )
        .await?;
    Ok(format!(
        "deleted the map \"Hydrant inspections\", emptied the dashboard, deleted City's {features} hydrants"
    ))
}

/// The scene: damage, restore in place (with the layer's features), check. Problems found are
/// added to `problems`.
pub async fn scene(
    work: &Path,
    repo_path: &Path,
    source: Client,
    demo: &DemoOrg,
    steps: &mut Vec<Step>,
    problems: &mut Vec<String>,
    json: bool,
) -> Result<()> {
    let started = Instant::now();
    let me = source.portal_self().await?;
    let query = format!("orgid:{}", me["id"].as_str().unwrap_or_default());
    let before = source.search_all(&query, 100).await?.len();
    let detail = damage(&source, demo)
        .await
        .context("damaging the demo organization")?;
    steps.push(Step {
        name: "damage",
        seconds: started.elapsed().as_secs_f64(),
        detail,
    });

    let started = Instant::now();
    let archive = Archive::open(repo_path)?;
    let snapshot = archive.snapshot(&archive.resolve_skipping("latest", Some("pre-restore"))?)?;
    let target = Target {
        name: demo.org.clone(),
        client: source,
        journal: work.join(format!("repo.restore-{}.sqlite", demo.org)),
    };
    let staging = work.join("staging");
    std::fs::create_dir_all(&staging)?;
    let options = RestoreOptions {
        staging_dir: staging.clone(),
        revert_data: true,
        ..RestoreOptions::default()
    };
    let pre = super::pre_restore::take(
        &repo_path.into(),
        &archive,
        &snapshot,
        &target,
        &options,
        json,
    )
    .await?;
    let report = orgpack_restore::restore(
        &archive,
        &snapshot,
        std::slice::from_ref(&target),
        &options,
        false,
    )
    .await?
    .remove(0);
    if !report.is_complete() {
        problems.push(format!(
            "{}: the restore in place did not complete: {:?}",
            report.target,
            report
                .items
                .iter()
                .filter(|e| e.reason.is_some() && e.action != Action::Skip)
                .map(|e| format!("{}: {}", e.title, e.reason.as_deref().unwrap_or_default()))
                .collect::<Vec<_>>()
        ));
    }
    let changed: Vec<String> = report
        .items
        .iter()
        .filter(|e| e.action != Action::Skip)
        .map(|e| format!("{} ({})", e.title, e.action.label()))
        .collect();
    steps.push(Step {
        name: "restore in place",
        seconds: started.elapsed().as_secs_f64(),
        detail: format!(
            "{}; pre-restore snapshot {}",
            changed.join(", "),
            pre.map_or_else(|| "(none)".to_owned(), |p| p.short())
        ),
    });

    // Read back: a second plan finds nothing to do.
    let started = Instant::now();
    let again = orgpack_restore::restore(
        &archive,
        &snapshot,
        std::slice::from_ref(&target),
        &options,
        true,
    )
    .await?
    .remove(0);
    let left: Vec<String> = again
        .items
        .iter()
        .filter(|e| {
            e.action != Action::Skip || e.reason.as_deref() != Some("unchanged since the snapshot")
        })
        .map(|e| format!("{}: {}", e.title, e.changes.join("; ")))
        .collect();
    let _ = std::fs::remove_dir_all(&staging);
    let after = target.client.search_all(&query, 100).await?.len();
    if after != before {
        problems.push(format!(
            "{}: {before} items before the damage, {after} after the restore in place",
            again.target
        ));
    }
    if !left.is_empty() {
        problems.push(format!(
            "{}: after the restore in place, still different from the backup: {}",
            again.target,
            left.join(" | ")
        ));
    }
    steps.push(Step {
        name: "check in place",
        seconds: started.elapsed().as_secs_f64(),
        detail: format!(
            "{} items as the backup has them, same ids, nothing duplicated",
            again.items.len() - left.len()
        ),
    });
    Ok(())
}
