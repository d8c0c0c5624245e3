//! Restores of a backed-up sandbox organization into other sandbox organizations, over real HTTP.

// The backup tests' organization, shared rather than copied; not every field is used here.
mod apps;
mod areas;
mod cached;
mod common;
mod demo;
mod faults;
mod forms;
mod groups;
mod hostile;
mod hub;
mod inplace;
mod narrow;
mod order;
mod people;
mod rollback;
#[allow(dead_code)]
#[path = "../../../backup/tests/it/seed.rs"]
mod seed;
mod tiles;
mod whole;

use std::collections::BTreeSet;
use std::path::Path;

use orgpack_archive::manifest::Snapshot;
use orgpack_archive::{Archive, Repository};
use orgpack_portal::{Client, ClientOptions, Credentials, PortalUrl};
use orgpack_restore::{Action, RestoreOptions, Status, Target, TargetReport, restore};
use serde_json::Value;

use seed::{PW, Seeded, seeded};

fn client_of(s: &Seeded, org: &str) -> Client {
    Client::new(
        PortalUrl::parse(&s.sandbox.portal_url(org)).unwrap(),
        Credentials::Password {
            username: "admin".into(),
            password: PW.into(),
        },
        ClientOptions::default(),
    )
    .unwrap()
}

/// Back the whole source org up (hosted services exported) and return the archive and snapshot.
async fn backed_up(s: &Seeded, dir: &Path) -> (Archive, Snapshot) {
    let admin = seed::client(&s.sandbox, "admin");
    let mut repo = Repository::open_or_init(&dir.join("repo")).unwrap();
    let options = orgpack_backup::PlanOptions::whole_org(dir.join("spool"));
    let plan = orgpack_backup::plan(&admin, &options, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    let outcome = orgpack_backup::run(&admin, &plan, &mut repo, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    let archive = Archive::open(&dir.join("repo")).unwrap();
    let snapshot = archive.snapshot(&outcome.snapshot).unwrap();
    (archive, snapshot)
}

fn target(s: &Seeded, org: &str, dir: &Path) -> Target {
    Target {
        name: org.to_owned(),
        client: client_of(s, org),
        journal: dir.join(format!("{org}.journal.sqlite")),
    }
}

/// A new, empty organization `org` of the seeded sandbox, with its administrator, as a target.
fn empty_target(s: &Seeded, org: &str, dir: &Path) -> Target {
    s.sandbox.add_org(org, org).unwrap();
    s.sandbox.add_user(org, "admin", PW, "org_admin").unwrap();
    target(s, org, dir)
}

fn options(dir: &Path) -> RestoreOptions {
    RestoreOptions {
        staging_dir: dir.to_owned(),
        ..RestoreOptions::default()
    }
}

/// Restore `snapshot` into `target` alone and return its report, which must say complete.
async fn restored_into(
    archive: &Archive,
    snapshot: &Snapshot,
    target: &Target,
    dir: &Path,
) -> TargetReport {
    let mut reports = restore(
        archive,
        snapshot,
        std::slice::from_ref(target),
        &options(dir),
        false,
    )
    .await
    .unwrap();
    let report = reports.remove(0);
    assert!(report.is_complete(), "{report:#?}");
    report
}

fn entry<'a>(report: &'a TargetReport, source: &str) -> &'a orgpack_restore::report::Entry {
    report
        .items
        .iter()
        .find(|e| e.source_id == source)
        .unwrap_or_else(|| panic!("{source} not in the report"))
}

/// Every item of an organization, with its data as text when it has some.
async fn org_items(client: &Client) -> Vec<(Value, Option<String>)> {
    let me = client.portal_self().await.unwrap();
    let q = format!("orgid:{}", me["id"].as_str().unwrap());
    let mut out = Vec::new();
    for item in client.search_all(&q, 100).await.unwrap() {
        let id = item["id"].as_str().unwrap().to_owned();
        let mut data = Vec::new();
        let text = match client.item_data(&id, &mut data).await {
            Ok(Some(_)) => String::from_utf8(data).ok(),
            _ => None,
        };
        out.push((item, text));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_into_two_organizations_at_once_then_again_without_duplicates() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    for org in ["east", "west"] {
        s.sandbox.add_org(org, &format!("{org} city")).unwrap();
        s.sandbox.add_user(org, "admin", PW, "org_admin").unwrap();
    }
    // `editor` exists only in the east: in the west, its items go to the restoring admin.
    s.sandbox
        .add_user("east", "editor", PW, "org_publisher")
        .unwrap();
    let targets = [
        target(&s, "east", dir.path()),
        target(&s, "west", dir.path()),
    ];
    let reports = restore(&archive, &snapshot, &targets, &options(dir.path()), false)
        .await
        .unwrap();
    assert_eq!(reports.len(), 2);
    let source_ids: BTreeSet<&str> = snapshot.items.iter().map(|i| i.id.as_str()).collect();

    for report in &reports {
        assert!(report.error.is_none(), "{report:#?}");
        // Everything arrived; the service that could not be exported came back as a URL item.
        for e in &report.items {
            assert_eq!(e.status, Status::Created, "{e:?}");
            assert!(e.target_id.is_some());
        }
        assert_eq!(report.items.len(), snapshot.items.len());
        let client = &targets
            .iter()
            .find(|t| t.name == report.target)
            .unwrap()
            .client;
        let items = org_items(client).await;
        // The restored items and nothing else: the export the service was republished from is
        // deleted once the counts match.
        assert_eq!(
            items.len(),
            snapshot.items.len(),
            "{:?}",
            items.iter().map(|i| &i.0["title"]).collect::<Vec<_>>()
        );
        // No restored item's JSON (its `source-<id>` keyword aside) or data names an item of
        // the source organization.
        for (json, data) in &items {
            let mut json = json.clone();
            json.as_object_mut().unwrap().remove("typeKeywords");
            let text = format!("{json} {}", data.as_deref().unwrap_or_default());
            for id in &source_ids {
                assert!(
                    !text.contains(id),
                    "{} refers to source item {id}: {text}",
                    json["title"]
                );
            }
        }

        // The app found its map by its new id; its resources came back under their paths.
        let app = entry(report, &s.app).target_id.clone().unwrap();
        let map = entry(report, &s.map).target_id.clone().unwrap();
        let mut data = Vec::new();
        client.item_data(&app, &mut data).await.unwrap();
        assert_eq!(
            String::from_utf8(data).unwrap(),
            s.app_data.replace(&s.map, &map),
            "only the reference changed: key order and indentation are the source's"
        );
        let mut settings = Vec::new();
        client
            .item_resource(&app, "config/settings.json", &mut settings)
            .await
            .unwrap();
        let parcels_there = entry(report, &s.parcels).target_id.clone().unwrap();
        let settings = String::from_utf8(settings).unwrap();
        assert!(
            settings.starts_with("{\"layers\":[ {\"url\": \"http")
                && settings.ends_with(&format!("/0\", \"itemId\": \"{parcels_there}\"}} ]}}")),
            "a JSON resource keeps its layout too: {settings} (source: {})",
            s.settings
        );
        let resources: Vec<String> = client
            .item_resources(&app)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(resources, ["config/settings.json", "images/logo.png"]);
        let mut logo = Vec::new();
        client
            .item_resource(&app, "images/logo.png", &mut logo)
            .await
            .unwrap();
        assert_eq!(logo, seed::LOGO);

        // The map: in its folder, shared with the (new) group, related to its service.
        let owner = if report.target == "east" {
            "editor"
        } else {
            "admin"
        };
        let view = client.user_item(owner, &map).await.unwrap();
        let groups = view["sharing"]["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 1);
        let group = client.group(groups[0].as_str().unwrap()).await.unwrap();
        assert_eq!(group["title"], "Planning team");
        let folder = view["item"]["ownerFolder"].as_str().unwrap().to_owned();
        let folders = client.user_folders(owner).await.unwrap();
        assert!(
            folders
                .iter()
                .any(|f| f["id"] == folder.as_str() && f["title"] == "Planning")
        );
        let parcels = entry(report, &s.parcels).target_id.clone().unwrap();
        let related = client
            .related_items(&map, "Map2Service", true)
            .await
            .unwrap();
        assert_eq!(related[0]["id"], parcels.as_str());

        // The hosted service was republished from its export and answers its counts.
        let city = entry(report, &s.city);
        assert_eq!(city.action, Action::Republish);
        let service = client.item(city.target_id.as_ref().unwrap()).await.unwrap();
        let url = service["url"].as_str().unwrap();
        assert!(
            url.contains(&format!("/{}/server/", report.target)),
            "{url}"
        );
        assert_eq!(
            client.feature_count(&format!("{url}/0")).await.unwrap(),
            250
        );
        assert_eq!(service["title"], "City data");
        // The read-back check pairs a republished service's layers by name and compares their
        // counts: here as the backup has them, and against a backup that counted one more.
        let checked = orgpack_restore::check_target(client, &snapshot, report).await;
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        assert!(checked.layers > 0);
        let one_more = crate::common::counting_one_more(&snapshot, None);
        let wrong = orgpack_restore::check_target(client, &one_more, report).await;
        assert!(
            wrong
                .problems
                .iter()
                .any(|p| p.contains("features, the backup")),
            "{:?}",
            wrong.problems
        );
        if report.target == "west" {
            assert!(
                report
                    .notes
                    .iter()
                    .any(|n| n.contains("user `editor` is not in the target")),
                "{:?}",
                report.notes
            );
        }
    }

    // Again: everything is found, nothing is created twice.
    let before: Vec<usize> = futures_count(&targets).await;
    let again = restore(&archive, &snapshot, &targets, &options(dir.path()), false)
        .await
        .unwrap();
    for report in &again {
        assert!(
            report
                .items
                .iter()
                .all(|e| e.status == Status::Skipped && e.action == Action::Skip),
            "{report:#?}"
        );
        assert!(report.is_complete());
    }
    assert_eq!(futures_count(&targets).await, before);
}

async fn futures_count(targets: &[Target]) -> Vec<usize> {
    let mut out = Vec::new();
    for t in targets {
        out.push(org_items(&t.client).await.len());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_kept_on_enterprise_and_a_damaged_archive_sends_nothing() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    // ArcGIS Enterprise is a portal of its own: ids need only be unique there.
    let enterprise = orgpack_sandbox::Sandbox::start(orgpack_sandbox::SandboxOptions::default())
        .await
        .unwrap();
    enterprise
        .add_enterprise_org("portal", "Enterprise")
        .unwrap();
    enterprise
        .add_user("portal", "admin", PW, "org_admin")
        .unwrap();
    let targets = [Target {
        name: "portal".into(),
        client: common::sign_in(&enterprise, "portal", "admin", PW),
        journal: dir.path().join("portal.sqlite"),
    }];
    let mut keep = options(dir.path());
    keep.preserve_ids = true;
    keep.items = vec![s.app.clone()];
    let reports = restore(&archive, &snapshot, &targets, &keep, false)
        .await
        .unwrap();
    let report = &reports[0];
    assert!(report.is_complete(), "{report:#?}");
    // The app and what it needs, under their own ids.
    assert_eq!(report.items.len(), 3);
    for e in &report.items {
        assert_eq!(e.target_id.as_deref(), Some(e.source_id.as_str()), "{e:?}");
    }
    // A rerun from another machine (a journal that knows nothing) finds each by its own id: a
    // kept id carries no `source-` keyword to search for.
    let again = [Target {
        name: "portal".into(),
        client: common::sign_in(&enterprise, "portal", "admin", PW),
        journal: dir.path().join("another-machine.sqlite"),
    }];
    let plan = restore(&archive, &snapshot, &again, &keep, true)
        .await
        .unwrap();
    for e in &plan[0].items {
        assert_eq!(
            (e.action, e.target_id.as_deref()),
            (Action::Skip, Some(e.source_id.as_str())),
            "{e:?}"
        );
    }

    // Damage one blob: nothing at all reaches a fresh target.
    s.sandbox.add_org("clean", "Clean").unwrap();
    s.sandbox
        .add_user("clean", "admin", PW, "org_admin")
        .unwrap();
    let victim = snapshot.item(&s.app).unwrap().resources[1].content.digest;
    let blob = dir
        .path()
        .join("repo")
        .join(orgpack_archive::Key::Blob(victim).path());
    std::fs::write(&blob, b"not the logo").unwrap();
    let damaged = Archive::open(&dir.path().join("repo")).unwrap();
    let clean = [target(&s, "clean", dir.path())];
    let err = restore(&damaged, &snapshot, &clean, &options(dir.path()), false)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("nothing was sent"), "{err}");
    assert!(org_items(&clean[0].client).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_cut_short_anywhere_is_finished_by_a_rerun_without_duplicates() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let targets = [empty_target(&s, "cut", dir.path())];
    // Every request takes a few milliseconds, and each run is dropped (as a killed process
    // stops) after a little longer than the one before, so the cuts fall at different steps.
    s.sandbox.set_faults(orgpack_sandbox::Faults {
        per_mille: 0,
        seed: 3,
        delay_ms: 4,
        expire_per_mille: 0,
        ..orgpack_sandbox::Faults::default()
    });
    let opts = options(dir.path());
    let mut cuts = 0;
    for cut_ms in (1..=60).map(|n| n * 20) {
        let run = restore(&archive, &snapshot, &targets, &opts, false);
        if let Ok(done) = tokio::time::timeout(std::time::Duration::from_millis(cut_ms), run).await
        {
            done.unwrap();
            break;
        }
        cuts += 1;
    }
    assert!(cuts >= 3, "the restore was cut short only {cuts} times");
    s.sandbox.set_faults(orgpack_sandbox::Faults::default());
    let last = restore(&archive, &snapshot, &targets, &options(dir.path()), false)
        .await
        .unwrap();
    assert!(last[0].is_complete(), "{:#?}", last[0]);
    let items = org_items(&targets[0].client).await;
    let keyword = |j: &Value, k: &str| {
        j["typeKeywords"]
            .as_array()
            .is_some_and(|ks| ks.iter().any(|x| x == k))
    };
    for source in &snapshot.items {
        let marked = items
            .iter()
            .filter(|(j, _)| keyword(j, &format!("source-{}", source.id)))
            .count();
        assert_eq!(marked, 1, "{} restored {marked} times", source.title);
    }
    let payloads = items
        .iter()
        .filter(|(j, _)| keyword(j, "orgpack-payload"))
        .count();
    // Uploaded once and deleted once the service was checked: an upload a cut-short run made
    // twice would leave one behind.
    assert_eq!(payloads, 0, "{payloads} uploaded exports left behind");
    assert_eq!(items.len(), snapshot.items.len());
    // Complete means complete: the app's resources and the map's sharing are there.
    let app = entry(&last[0], &s.app).target_id.clone().unwrap();
    assert_eq!(
        targets[0].client.item_resources(&app).await.unwrap().len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_cannot_be_loaded_fails_alone_with_its_dependents_skipped() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let targets = [empty_target(&s, "nopub", dir.path())];
    // The service is created and defined, then its data cannot be loaded.
    s.sandbox.set_faults(orgpack_sandbox::Faults {
        refuse: Some("/append".into()),
        ..orgpack_sandbox::Faults::default()
    });
    let first = restore(&archive, &snapshot, &targets, &options(dir.path()), false)
        .await
        .unwrap();
    s.sandbox.set_faults(orgpack_sandbox::Faults::default());
    let report = &first[0];
    assert!(!report.is_complete());
    let city = entry(report, &s.city);
    assert_eq!(city.status, Status::Failed);
    assert!(
        city.reason.as_deref().unwrap().contains("Injected failure"),
        "{city:?}"
    );
    let map = entry(report, &s.city_map);
    assert_eq!(map.status, Status::Skipped);
    assert_eq!(
        map.reason.as_deref(),
        Some(format!("depends on {}, which failed", s.city).as_str())
    );
    for e in report
        .items
        .iter()
        .filter(|e| e.source_id != s.city && e.source_id != s.city_map)
    {
        assert_eq!(e.status, Status::Created, "{e:?}");
    }
    // The portal loads again: a rerun finishes the service it created (loaded, settled) and its
    // map, nothing else.
    let second = restore(&archive, &snapshot, &targets, &options(dir.path()), false)
        .await
        .unwrap();
    assert!(second[0].is_complete(), "{:#?}", second[0]);
    assert_eq!(entry(&second[0], &s.city).status, Status::Created);
    assert_eq!(entry(&second[0], &s.city_map).status, Status::Created);
    assert_eq!(second[0].counts().created, 2);

    // With --rollback, a failure takes back everything the run created.
    let strict = [empty_target(&s, "strict", dir.path())];
    s.sandbox.set_faults(orgpack_sandbox::Faults {
        refuse: Some("/append".into()),
        ..orgpack_sandbox::Faults::default()
    });
    let mut opts = options(dir.path());
    opts.rollback = true;
    let rolled = restore(&archive, &snapshot, &strict, &opts, false)
        .await
        .unwrap();
    s.sandbox.set_faults(orgpack_sandbox::Faults::default());
    assert!(
        rolled[0]
            .items
            .iter()
            .any(|e| e.status == Status::RolledBack)
    );
    assert!(
        org_items(&strict[0].client).await.is_empty(),
        "everything created was deleted"
    );
    assert!(rolled[0].groups.is_empty(), "{:?}", rolled[0].groups);
    assert!(
        strict[0]
            .client
            .search_groups("*")
            .await
            .unwrap()
            .is_empty(),
        "the groups the run created were deleted too"
    );

    // A target that fails before its items (its folders cannot be made): with --rollback, the
    // groups the run had made there go too.
    let early = [empty_target(&s, "early", dir.path())];
    s.sandbox.set_faults(orgpack_sandbox::Faults {
        refuse: Some("createFolder".into()),
        ..orgpack_sandbox::Faults::default()
    });
    let failed = restore(&archive, &snapshot, &early, &opts, false)
        .await
        .unwrap();
    s.sandbox.set_faults(orgpack_sandbox::Faults::default());
    assert!(
        failed[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("Injected failure")),
        "{:#?}",
        failed[0]
    );
    assert!(
        early[0].client.search_groups("*").await.unwrap().is_empty(),
        "the groups made before the failure were deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staged_part_is_shared_while_held_and_removed_with_its_last_holder() {
    use orgpack_restore::staging::Stager;
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let parts = snapshot.parts();
    let biggest = parts
        .iter()
        .max_by_key(|p| p.descriptor.size)
        .unwrap()
        .descriptor;
    // No budget: a file lives only while held.
    let stager = Stager::with_budget(dir.path(), 0).unwrap();
    let (one, two) = (stager.target(), stager.target());
    // Two targets asking at once get one file, written once, holding the part's bytes.
    let (a, b) = tokio::join!(one.stage(&archive, biggest), two.stage(&archive, biggest));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.path(), b.path());
    assert_eq!(stager.staged(), 1);
    let mut expected = Vec::new();
    std::io::copy(&mut archive.open_part(biggest).unwrap(), &mut expected).unwrap();
    assert!(std::fs::read(a.path()).unwrap() == expected);
    let path = a.path().to_owned();
    drop(a);
    assert!(path.exists(), "still held by the other target");
    drop(b);
    assert!(!path.exists(), "removed with its last holder");
    // Asked again later, it is staged again.
    let again = one.stage(&archive, biggest).await.unwrap();
    assert!(again.path().exists());
    assert_eq!(stager.staged(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staged_part_waits_for_the_targets_still_to_ask_within_the_budget() {
    use orgpack_restore::staging::Stager;
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let mut parts: Vec<_> = snapshot.parts().iter().map(|p| p.descriptor).collect();
    parts.sort_by_key(|d| std::cmp::Reverse(d.size));
    parts.dedup_by_key(|d| (d.digest, d.size));
    let (big, small) = (parts[0], parts[1]);
    assert!(big.size > small.size, "{big:?} {small:?}");
    // Room for the big part only.
    let stager = Stager::with_budget(dir.path(), big.size).unwrap();
    let (one, two, three) = (stager.target(), stager.target(), stager.target());
    // The first target uploads and lets go; the file stays for the two still to ask.
    let path = one.stage(&archive, big).await.unwrap().path().to_owned();
    assert!(path.exists(), "kept for the targets that have not asked");
    assert_eq!(stager.kept_bytes(), big.size);
    let later = two.stage(&archive, big).await.unwrap();
    assert_eq!(later.path(), path, "the second target reuses it");
    drop(later);
    assert!(path.exists(), "still kept for the third");
    // Over the budget, a part lives only while held.
    let small_path = one.stage(&archive, small).await.unwrap().path().to_owned();
    assert!(!small_path.exists(), "not kept: the budget is spent");
    // The third target finishing without asking releases the file; nobody waits for it now.
    drop(three);
    assert!(
        !path.exists(),
        "released when the last target waiting for it is done"
    );
    assert_eq!(stager.kept_bytes(), 0);
    assert_eq!(
        stager.staged(),
        2,
        "the big part written once for two targets"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_restored_before_is_found_by_keyword_without_its_journal() {
    let s = seeded().await;
    // More items than one keyword search looks up, so the lookups span several searches.
    let source = client_of(&s, "source");
    for n in 0..45 {
        source
            .add_item(
                "admin",
                None,
                &[("type", "Document Link"), ("title", &format!("Link {n}"))],
                orgpack_portal::write::Content::Url(&format!("https://example.com/{n}")),
                8 << 20,
            )
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    assert!(snapshot.items.len() > 45, "{}", snapshot.items.len());
    let first = [empty_target(&s, "kw", dir.path())];
    let done = restore(&archive, &snapshot, &first, &options(dir.path()), false)
        .await
        .unwrap();
    assert!(done[0].is_complete(), "{:#?}", done[0]);
    let count = org_items(&first[0].client).await.len();

    // The same organization with a journal that knows nothing (another machine, a lost file):
    // every item is found by its `source-<id>` keyword, as the one the first run made, and
    // finished there (the journal cannot say it was) rather than made again.
    let again = [Target {
        journal: dir.path().join("another-machine.sqlite"),
        ..target(&s, "kw", dir.path())
    }];
    let rerun = restore(&archive, &snapshot, &again, &options(dir.path()), false)
        .await
        .unwrap();
    assert!(rerun[0].is_complete(), "{:#?}", rerun[0]);
    for e in &rerun[0].items {
        assert_eq!(e.action, Action::Skip, "{e:?}");
        assert_eq!(
            e.target_id,
            entry(&done[0], &e.source_id).target_id,
            "{} found as the item the first run made",
            e.title
        );
    }
    assert_eq!(org_items(&again[0].client).await.len(), count);
    // That journal now knows them all: a third run only skips.
    let third = restore(&archive, &snapshot, &again, &options(dir.path()), false)
        .await
        .unwrap();
    assert!(
        third[0].items.iter().all(|e| e.status == Status::Skipped),
        "{:#?}",
        third[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republish_is_kept_for_targets_without_append() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let targets = [empty_target(&s, "older", dir.path())];
    let mut opts = options(dir.path());
    opts.republish = true;
    let report = restore(&archive, &snapshot, &targets, &opts, false)
        .await
        .unwrap();
    assert!(report[0].is_complete(), "{:#?}", report[0]);
    let city = entry(&report[0], &s.city);
    assert_eq!(
        city.reason.as_deref(),
        Some("republished from its export (--republish)")
    );
    // The read-back check pairs a republished service's layers by name and compares their
    // counts: as the backup has them, and against a backup that counted one more.
    let client = &targets[0].client;
    let checked = orgpack_restore::check_target(client, &snapshot, &report[0]).await;
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    assert!(checked.layers > 0);
    let one_more = crate::common::counting_one_more(&snapshot, Some(&s.city));
    let wrong = orgpack_restore::check_target(client, &one_more, &report[0]).await;
    assert!(
        wrong
            .problems
            .iter()
            .any(|p| p.starts_with("City data layer `Hydrants`: 250 features, the backup 251")),
        "{:?}",
        wrong.problems
    );
    // Without the flag the same snapshot rebuilds.
    let rebuilt = [empty_target(&s, "newer", dir.path())];
    let report = restore(&archive, &snapshot, &rebuilt, &options(dir.path()), false)
        .await
        .unwrap();
    assert_eq!(
        entry(&report[0], &s.city).reason.as_deref(),
        Some("rebuilt from its definition, loaded from its export")
    );
}

/// A rerun asks after each item its journal says it made: one deleted since is made again (the
/// journal forgets it), but one the portal will not say anything about stops that target rather
/// than being taken for gone and made twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_remakes_a_deleted_item_and_stops_on_one_it_cannot_look_up() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let targets = [empty_target(&s, "again", dir.path())];
    let o = options(dir.path());
    let first = restore(&archive, &snapshot, &targets, &o, false)
        .await
        .unwrap();
    assert!(first[0].is_complete(), "{:#?}", first[0]);
    let count = org_items(&targets[0].client).await.len();
    let copy = entry(&first[0], &s.csv).target_id.clone().unwrap();

    // Looking the copy up fails (not as "not found"): the target stops, nothing is made.
    s.sandbox.set_faults(orgpack_sandbox::Faults {
        refuse: Some(format!("/items/{copy}").into()),
        ..orgpack_sandbox::Faults::default()
    });
    let stopped = restore(&archive, &snapshot, &targets, &o, false).await;
    s.sandbox.set_faults(orgpack_sandbox::Faults::default());
    let failed = match stopped {
        Err(e) => e.to_string(),
        Ok(reports) => reports[0].error.clone().unwrap_or_default(),
    };
    assert!(failed.contains("Injected"), "{failed}");
    assert_eq!(org_items(&targets[0].client).await.len(), count);

    // Deleted for good since: made again, once.
    targets[0]
        .client
        .call(
            "delete",
            orgpack_portal::Method::Post,
            &format!("content/users/admin/items/{copy}/delete"),
            &[("permanentDelete", "true")],
        )
        .await
        .unwrap();
    let rerun = restore(&archive, &snapshot, &targets, &o, false)
        .await
        .unwrap();
    let e = entry(&rerun[0], &s.csv);
    assert_eq!(e.status, Status::Created, "{e:?}");
    assert_ne!(e.target_id.as_deref(), Some(copy.as_str()));
    assert_eq!(org_items(&targets[0].client).await.len(), count);
}

/// A repository written by format 1.4 (orgpack before item layers: the manifest serialized whole,
/// items inline, index `1.4.0`) verifies and restores, and the next backup into it writes a 2.x
/// snapshot beside the 1.4 one. The 1.4 manifest is made from a backup as the 1.4 writer made
/// them: `serde_json::to_vec` of the snapshot with its items.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_written_by_format_1_4_verifies_restores_and_takes_new_backups() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let v2_id = archive.index().snapshots[0].id;
    drop(archive);
    let repo = dir.path().join("repo");
    let mut old = snapshot.clone();
    old.format_version = "1.4.0".into();
    old.item_layers.clear();
    let bytes = serde_json::to_vec(&old).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("\"items\":[{"));
    let id = orgpack_archive::Digest::of(&bytes);
    std::fs::write(repo.join(orgpack_archive::Key::Snapshot(id).path()), &bytes).unwrap();
    let mut index = orgpack_archive::Index {
        format_version: "1.4.0".into(),
        snapshots: Vec::new(),
    };
    index.insert(orgpack_archive::IndexEntry::new(id, &old));
    std::fs::write(
        repo.join("index.json"),
        serde_json::to_vec_pretty(&index).unwrap(),
    )
    .unwrap();

    let archive = Archive::open(&repo).unwrap();
    let report =
        orgpack_archive::verify(&archive, orgpack_archive::VerifyOptions::read_data()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    let read = archive.snapshot(&id).unwrap();
    assert_eq!(read.format_version, "1.4.0");
    assert!(read.item_layers.is_empty());
    assert_eq!(read.items.len(), snapshot.items.len());

    let targets = [empty_target(&s, "restored", dir.path())];
    let reports = restore(&archive, &read, &targets, &options(dir.path()), false)
        .await
        .unwrap();
    assert!(reports[0].is_complete(), "{:#?}", reports[0]);
    assert_eq!(
        org_items(&targets[0].client).await.len(),
        snapshot.items.len(),
        "every item of the 1.4 snapshot restored"
    );

    // The next nightly finds the 1.4 snapshot as its parent and writes a 2.x one beside it.
    let admin = seed::client(&s.sandbox, "admin");
    let mut options = orgpack_backup::PlanOptions::whole_org(dir.path().join("spool"));
    options.parent = orgpack_backup::find_parent(
        &archive,
        &read.source.portal_url,
        &read.source.org_id,
        &options.selection,
    )
    .unwrap();
    assert_eq!(options.parent.as_ref().map(|(p, _)| *p), Some(id));
    let plan = orgpack_backup::plan(&admin, &options, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    // What a 1.4 parent lets the nightly reuse is what the same snapshot as 2.0 would.
    let fresh = |plan: &orgpack_backup::Plan| -> Vec<String> {
        plan.items
            .iter()
            .filter(|i| !i.reuse)
            .map(|i| i.id.clone())
            .collect()
    };
    let mut against_v2 = orgpack_backup::PlanOptions::whole_org(dir.path().join("spool"));
    against_v2.parent = Some((v2_id, std::sync::Arc::new(snapshot.clone())));
    let plan_v2 = orgpack_backup::plan(&admin, &against_v2, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    assert!(plan.reused() > 0);
    assert_eq!(fresh(&plan), fresh(&plan_v2));
    let mut writer = Repository::open(&repo).unwrap();
    let outcome = orgpack_backup::run(&admin, &plan, &mut writer, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    drop(writer);
    let archive = Archive::open(&repo).unwrap();
    let next = archive.snapshot(&outcome.snapshot).unwrap();
    assert_eq!(next.format_version, orgpack_archive::layout::FORMAT_VERSION);
    assert_eq!(next.parent, Some(id));
    assert_eq!(next.item_layers.len(), 1);
    assert_eq!(archive.index().snapshots.len(), 2);
    let report =
        orgpack_archive::verify(&archive, orgpack_archive::VerifyOptions::read_data()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}
