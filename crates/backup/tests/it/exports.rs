//! Exports of hosted services: the format asked for, and the temporary export items the source
//! is left with when their deletion fails (reported, and deleted by the next backup) or is not
//! needed (the item is already gone: not a failure).

use std::sync::atomic::Ordering;

use orgpack_archive::manifest::{ExportMode, Obtained, PayloadKind};
use orgpack_archive::{Archive, Repository};
use orgpack_backup::{PlanOptions, plan, run};
use orgpack_portal::Content;
use orgpack_sandbox::Faults;

use crate::seed::{Seeded, client, seeded};
use crate::{Counting, backup, items};

/// The admin's root items whose title marks them as orgpack's temporary exports.
async fn temporary_exports(s: &Seeded) -> Vec<String> {
    let admin = client(&s.sandbox, "admin");
    admin
        .search_all("owner:admin", 100)
        .await
        .unwrap()
        .iter()
        .filter_map(|i| i["title"].as_str())
        .filter(|t| t.starts_with("orgpack-export-"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shapefile_export_is_stored_as_a_shapefile_and_no_export_is_left_waiting() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let progress = Counting::default();
    let mut selection = items(&[&s.city]);
    selection.export = ExportMode::Shapefile;
    let (_, outcome) = backup(&s, &repo, selection, &progress).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(outcome.exports, 1);
    let archive = Archive::open(&repo).unwrap();
    let snap = archive.snapshot(&outcome.snapshot).unwrap();
    let city = snap.item(&s.city).unwrap();
    let fresh: Vec<_> = city
        .payloads
        .iter()
        .filter(|p| {
            p.obtained == Obtained::FreshExport && p.kind != PayloadKind::FeatureServiceDefinition
        })
        .collect();
    assert_eq!(fresh.len(), 1, "{:?}", city.payloads);
    assert_eq!(fresh[0].kind, PayloadKind::Shapefile);
    let counts: Vec<(&str, Option<u64>)> = fresh[0]
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.feature_count))
        .collect();
    assert_eq!(counts, [("Hydrants", Some(250)), ("Parcels", Some(12))]);
    // The progress saw the export start and end.
    assert_eq!(progress.most_waiting.load(Ordering::SeqCst), 1);
    assert_eq!(progress.waiting.load(Ordering::SeqCst), 0);
    assert!(temporary_exports(&s).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_temporary_export_that_cannot_be_deleted_is_reported_and_the_next_backup_deletes_it() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    s.sandbox.set_faults(Faults {
        refuse: Some("/delete".into()),
        ..Faults::default()
    });
    let (_, first) = backup(&s, &repo, items(&[&s.city]), &Counting::default()).await;
    s.sandbox.set_faults(Faults::default());
    let failed: Vec<_> = first.failures.iter().filter(|f| f.id == s.city).collect();
    assert_eq!(failed.len(), 1, "{:?}", first.failures);
    assert!(
        failed[0].message.contains("could not be deleted")
            && failed[0].message.contains("the next backup deletes it"),
        "{}",
        failed[0].message
    );
    assert_eq!(temporary_exports(&s).await.len(), 1);
    assert_eq!(first.stale_exports_deleted, 0);

    // The next run finds it through the ledger and deletes it.
    let (_, second) = backup(&s, &repo, items(&[&s.city]), &Counting::default()).await;
    assert!(second.failures.is_empty(), "{:?}", second.failures);
    assert_eq!(second.stale_exports_deleted, 1);
    assert!(temporary_exports(&s).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_that_fails_to_start_is_remembered_and_one_already_gone_is_not_a_failure_to_delete()
 {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    // The export request fails: whether it made an item is unknown, so the ledger keeps its
    // title and the next run looks for it (finding none here: nothing to delete).
    s.sandbox.set_faults(Faults {
        refuse: Some("/export".into()),
        ..Faults::default()
    });
    let admin = client(&s.sandbox, "admin");
    let mut repository = Repository::open_or_init(&repo).unwrap();
    let options: PlanOptions = crate::options(items(&[&s.city]), &repo.join("tmp"));
    let planned = plan(&admin, &options, &Counting::default()).await.unwrap();
    let outcome = run(&admin, &planned, &mut repository, &Counting::default())
        .await
        .unwrap();
    s.sandbox.set_faults(Faults::default());
    assert!(
        outcome
            .failures
            .iter()
            .any(|f| f.id == s.city && f.message.contains("starting the export")),
        "{:?}",
        outcome.failures
    );
    // The ledger lives beside the spool directory: in the repository.
    let ledgers: Vec<String> = std::fs::read_dir(&repo)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("orgpack-exports-"))
        .collect();
    assert_eq!(ledgers.len(), 1, "the ledger keeps the title: {ledgers:?}");
    let text = std::fs::read_to_string(repo.join(&ledgers[0])).unwrap();
    assert!(
        text.contains("orgpack-export-") && !text.contains("\"deleted\""),
        "{text}"
    );
    drop(repository);

    // The export item is gone when the backup deletes it: that is what it wanted, no failure.
    s.sandbox.set_faults(Faults {
        refuse: Some("/delete".into()),
        refuse_as_missing: true,
        ..Faults::default()
    });
    let (_, gone) = backup(&s, &repo, items(&[&s.city]), &Counting::default()).await;
    s.sandbox.set_faults(Faults::default());
    assert!(gone.failures.is_empty(), "{:?}", gone.failures);
    assert_eq!(gone.exports, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_stores_the_json_planning_read_without_reading_it_again() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let admin = client(&s.sandbox, "admin");
    let options = crate::options(items(&[&s.app]), &repo.join("tmp"));
    let planned = plan(&admin, &options, &Counting::default()).await.unwrap();
    // From now on the app's data (JSON, read while planning for its references) cannot be
    // read: the run must store what planning kept.
    s.sandbox.set_faults(Faults {
        refuse: Some("/data".into()),
        refuse_item: Some(s.app.as_str().into()),
        ..Faults::default()
    });
    let mut repository = Repository::open_or_init(&repo).unwrap();
    let outcome = run(&admin, &planned, &mut repository, &Counting::default())
        .await
        .unwrap();
    s.sandbox.set_faults(Faults::default());
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let archive = Archive::open(&repo).unwrap();
    let snap = archive.snapshot(&outcome.snapshot).unwrap();
    let data = snap.item(&s.app).unwrap().data.as_ref().unwrap();
    assert_eq!(
        archive.read_part(&data.content).unwrap(),
        s.app_data.as_bytes()
    );
}

#[test]
fn a_whole_organization_backup_follows_dependencies_and_exports_geodatabases() {
    let options = PlanOptions::whole_org("/tmp/spool".into());
    assert!(options.selection.all);
    assert!(options.selection.include_dependencies);
    assert_eq!(options.selection.export, ExportMode::Fgdb);
    assert!(options.parent.is_none());
    assert_eq!(options.concurrency, 8);
    assert!(options.people);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_counts_the_bytes_and_exports_ahead_and_nothing_when_everything_is_reused() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let selection = items(&[&s.city_map]);
    let (first, _) = crate::backup(&s, &repo, selection.clone(), &Counting::default()).await;
    // The map, its hosted service, and the file it was published from.
    assert_eq!(
        first.items.len(),
        3,
        "{:?}",
        first.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>()
    );
    let sizes: u64 = first
        .items
        .iter()
        .map(|i| {
            i.json
                .get("size")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        })
        .sum();
    assert!(sizes > 1, "the sandbox reports sizes");
    assert_eq!(first.estimated_bytes(), sizes);
    assert_eq!(
        first
            .items
            .iter()
            .map(orgpack_backup::PlannedItem::size)
            .sum::<u64>(),
        sizes
    );
    assert_eq!(first.exports(), 1);
    assert_eq!(first.reused(), 0);
    // Unchanged since: everything reused, nothing to download or export.
    let (again, outcome) = crate::backup(&s, &repo, selection, &Counting::default()).await;
    assert_eq!(again.reused(), 3);
    assert_eq!(again.estimated_bytes(), 0);
    assert_eq!(again.exports(), 0);
    assert_eq!(outcome.exports, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_left_for_hours_without_a_ledger_are_found_by_search_and_deleted_and_recent_ones_kept()
 {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let admin = client(&s.sandbox, "admin");
    // Left by runs whose ledgers were lost (another machine's spool): one seven hours ago, one
    // an hour ago (it could be a run still exporting beside this one).
    let mut left = Vec::new();
    for (title, hours) in [
        (
            "orgpack-export-0123456789abcdef0123456789abcdef-20260101T000000Z",
            7,
        ),
        (
            "orgpack-export-fedcba9876543210fedcba9876543210-20260101T060000Z",
            1,
        ),
    ] {
        let id = admin
            .add_item(
                "admin",
                None,
                &[("title", title), ("type", "Shapefile")],
                Content::Text("not a real export"),
                1 << 20,
            )
            .await
            .unwrap();
        s.sandbox.backdate_item("source", &id, hours).unwrap();
        left.push(title);
    }
    let before = s.sandbox.requests_by_endpoint();
    let (_, outcome) = backup(&s, &repo, items(&[&s.city]), &Counting::default()).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(outcome.stale_exports_deleted, 1);
    assert_eq!(
        temporary_exports(&s).await,
        [left[1]],
        "the recent one is kept"
    );
    // Found by a search, not by walking the root folder for them.
    let after = s.sandbox.requests_by_endpoint();
    let asked = |e: &str| after.get(e).copied().unwrap_or(0) - before.get(e).copied().unwrap_or(0);
    assert_eq!(asked("content/users/{user}"), 0, "{after:?}");
    assert!(asked("search") >= 1, "{after:?}");
}
