//! Backups of a sandbox organization over real HTTP, checked in the committed snapshot.

mod demo;
mod exports;
mod referenced;
mod seed;
mod services;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use orgpack_archive::manifest::{
    Access, DependencyKind, Direction, ExportMode, FailureSubject, FoundIn, Obtained, PayloadKind,
    Selection,
};
use orgpack_archive::{Archive, Repository, VerifyOptions};
use orgpack_backup::{PlanOptions, Progress, Why, find_parent, plan, run};

use seed::{Seeded, client, seeded};

#[derive(Default)]
struct Counting {
    bytes: AtomicU64,
    done: AtomicU64,
    /// Exports running in the source, as the backup reports them, and the most at once.
    waiting: AtomicI64,
    most_waiting: AtomicI64,
}

impl Progress for Counting {
    fn exports_waiting(&self, delta: i64) {
        let now = self.waiting.fetch_add(delta, Ordering::SeqCst) + delta;
        self.most_waiting.fetch_max(now, Ordering::SeqCst);
    }
    fn bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
    fn item_done(&self, _id: &str, _title: &str) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

fn options(selection: Selection, spool: &std::path::Path) -> PlanOptions {
    PlanOptions {
        selection,
        parent: None,
        concurrency: 4,
        spool_dir: spool.to_owned(),
        tags: Vec::new(),
        recheck_relationships: false,
        people: true,
    }
}

fn items(ids: &[&str]) -> Selection {
    Selection {
        items: ids.iter().map(|s| (*s).to_owned()).collect(),
        include_dependencies: true,
        ..Selection::default()
    }
}

/// Back up into `repo` with the repository's parent for the same selection, as the CLI does.
async fn backup(
    s: &Seeded,
    repo_path: &std::path::Path,
    selection: Selection,
    progress: &Counting,
) -> (orgpack_backup::Plan, orgpack_backup::Outcome) {
    backup_with(s, repo_path, selection, progress, false).await
}

async fn backup_with(
    s: &Seeded,
    repo_path: &std::path::Path,
    selection: Selection,
    progress: &Counting,
    recheck_relationships: bool,
) -> (orgpack_backup::Plan, orgpack_backup::Outcome) {
    let admin = client(&s.sandbox, "admin");
    let mut repo = Repository::open_or_init(repo_path).unwrap();
    let mut opts = options(selection, &repo_path.join("tmp"));
    opts.recheck_relationships = recheck_relationships;
    let url = admin.url().root.clone();
    let me = admin.portal_self().await.unwrap();
    opts.parent = find_parent(
        &repo.archive().unwrap(),
        &url,
        me["id"].as_str().unwrap(),
        &opts.selection,
    )
    .unwrap();
    let planned = plan(&admin, &opts, progress).await.unwrap();
    let outcome = run(&admin, &planned, &mut repo, progress).await.unwrap();
    (planned, outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_with_its_map_and_service_and_everything_they_hold() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let progress = Counting::default();
    let (planned, outcome) = backup(&s, &repo, items(&[&s.app]), &progress).await;

    // The app was selected; the map and the service came in as its dependencies, with the reason.
    let ids: Vec<&str> = planned.items.iter().map(|i| i.id.as_str()).collect();
    let mut expected = vec![s.app.as_str(), s.map.as_str(), s.parcels.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let map = planned.items.iter().find(|i| i.id == s.map).unwrap();
    assert!(
        matches!(&map.why, Why::Dependency { of, path } if of == &s.app && path.contains("webmap")),
        "{:?}",
        map.why
    );
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(progress.done.load(Ordering::Relaxed), 3);

    let archive = Archive::open(&repo).unwrap();
    let report = orgpack_archive::verify(&archive, VerifyOptions::read_data()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let snap = archive.snapshot(&outcome.snapshot).unwrap();
    assert_eq!(snap.source.user, "admin");
    assert_eq!(snap.source.org_name.as_deref(), Some("Source County"));

    // The app: data, both resources under their full paths, a dependency on the map.
    let app = snap.item(&s.app).unwrap();
    let paths: Vec<&str> = app.resources.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["config/settings.json", "images/logo.png"]);
    let logo = &app.resources[1];
    assert_eq!(archive.read_part(&logo.content).unwrap(), seed::LOGO);
    let data = archive
        .read_part(&app.data.as_ref().unwrap().content)
        .unwrap();
    assert_eq!(
        String::from_utf8(data).unwrap(),
        s.app_data,
        "the data as the portal holds it, byte for byte"
    );
    assert_eq!(
        archive.read_part(&app.resources[0].content).unwrap(),
        s.settings.as_bytes()
    );
    assert!(
        app.dependencies
            .iter()
            .any(|d| d.target == s.map && d.found_in == FoundIn::Data)
    );
    // The JSON resource was read for references too: it names the service.
    assert!(
        app.dependencies
            .iter()
            .any(|d| d.found_in == FoundIn::Resource && d.item_id.as_deref() == Some(&s.parcels)),
        "{:?}",
        app.dependencies
    );

    // The map: its folder, group sharing with the title, the relationship, the service by URL.
    let map = snap.item(&s.map).unwrap();
    assert_eq!(map.owner, "editor");
    assert_eq!(map.folder.as_ref().unwrap().id, s.folder);
    assert_eq!(map.folder.as_ref().unwrap().title, "Planning");
    assert_eq!(map.sharing.access, Access::Shared);
    assert_eq!(map.sharing.groups.len(), 1);
    assert_eq!(map.sharing.groups[0].id, s.group);
    assert_eq!(map.sharing.groups[0].title, "Planning team");
    assert_eq!(map.relationships.len(), 1);
    assert_eq!(map.relationships[0].relationship_type, "Map2Service");
    assert_eq!(map.relationships[0].direction, Direction::Forward);
    assert_eq!(map.relationships[0].item_id, s.parcels);
    let by_url = map
        .dependencies
        .iter()
        .find(|d| d.kind == DependencyKind::Service)
        .expect("the layer URL is a dependency");
    assert_eq!(by_url.item_id.as_deref(), Some(s.parcels.as_str()));
    assert!(
        by_url.target.ends_with("FeatureServer/0"),
        "{}",
        by_url.target
    );
    assert!(!by_url.external);

    // The group and the owners.
    let group = snap.groups.iter().find(|g| g.id == s.group).unwrap();
    assert_eq!(group.title, "Planning team");
    assert!(
        group
            .members
            .iter()
            .any(|m| m.username == "editor" && m.member_type == "owner")
    );
    // Every member with people (the default), though only the editor owns what was selected.
    let users: Vec<&str> = snap.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(users, ["admin", "editor"]);
    assert!(snap.people.as_ref().is_some_and(|p| p.members));

    // Nothing secret anywhere in the repository, stored or decoded.
    assert_no_secret(&repo, seed::PW);
    for part in snap.parts() {
        let bytes = archive.read_part(part.descriptor).unwrap();
        assert!(!contains(&bytes, seed::PW), "{part} holds the password");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_backup_reuses_everything_unchanged_and_refetches_what_changed() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let first = Counting::default();
    let (_, one) = backup(&s, &repo, items(&[&s.app]), &first).await;
    assert!(first.bytes.load(Ordering::Relaxed) > 0);

    let second = Counting::default();
    let (planned, two) = backup(&s, &repo, items(&[&s.app]), &second).await;
    assert_eq!(
        planned.parent.as_ref().map(|(id, _)| *id),
        Some(one.snapshot)
    );
    assert_eq!(two.reused, 3);
    assert_eq!(
        second.bytes.load(Ordering::Relaxed),
        0,
        "nothing downloaded"
    );
    let archive = Archive::open(&repo).unwrap();
    let (a, b) = (
        archive.snapshot(&one.snapshot).unwrap(),
        archive.snapshot(&two.snapshot).unwrap(),
    );
    assert_eq!(b.parent, Some(one.snapshot));
    assert_eq!(a.items, b.items, "an unchanged org gives the same items");

    // Change the map: only it is fetched again.
    let editor = client(&s.sandbox, "editor");
    editor
        .update_item(
            "editor",
            Some(&s.folder),
            &s.map,
            &[("snippet", "changed")],
            orgpack_portal::Content::None,
        )
        .await
        .unwrap();
    let third = Counting::default();
    let (planned, three) = backup(&s, &repo, items(&[&s.app]), &third).await;
    assert_eq!(three.reused, 2);
    assert!(!planned.items.iter().find(|i| i.id == s.map).unwrap().reuse);
    assert!(third.bytes.load(Ordering::Relaxed) > 0);
    let c = Archive::open(&repo)
        .unwrap()
        .snapshot(&three.snapshot)
        .unwrap();
    assert_ne!(c.item(&s.map).unwrap().item, b.item(&s.map).unwrap().item);
    let report =
        orgpack_archive::verify(&Archive::open(&repo).unwrap(), VerifyOptions::read_data())
            .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_org_with_files_and_failures_recorded() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let selection = Selection {
        all: true,
        include_dependencies: true,
        export: ExportMode::Fgdb,
        ..Selection::default()
    };
    let before = s.sandbox.requests();
    let (planned, outcome) = backup(&s, &repo, selection, &Counting::default()).await;
    let first_requests = s.sandbox.requests() - before;
    let snap = Archive::open(&repo)
        .unwrap()
        .snapshot(&outcome.snapshot)
        .unwrap();
    for id in [&s.app, &s.map, &s.parcels, &s.csv, &s.hosted, &s.unrelated] {
        assert!(snap.item(id).is_some(), "{id} missing");
    }
    assert!(matches!(&planned.items[0].why, Why::Selected { by } if by == "whole organization"));

    // The CSV file: its data under its file name, read as a payload.
    let csv = snap.item(&s.csv).unwrap();
    assert_eq!(
        csv.data.as_ref().unwrap().name.as_deref(),
        Some("trees.csv")
    );
    let payload = &csv.payloads[0];
    assert_eq!(payload.kind, PayloadKind::Csv);
    assert_eq!(payload.obtained, Obtained::Download);
    assert_eq!(payload.layers[0].feature_count, Some(3));

    // The hosted service cannot be exported by this portal: the snapshot says so, exactly.
    let export: Vec<_> = snap
        .failures
        .iter()
        .filter(|f| f.part.as_deref() == Some("export"))
        .collect();
    assert_eq!(export.len(), 1, "{:?}", snap.failures);
    assert_eq!(export[0].subject, FailureSubject::Item);
    assert_eq!(export[0].id, s.hosted);
    assert!(snap.item(&s.hosted).unwrap().payloads.is_empty());
    assert_eq!(snap.failures.len(), 1, "{:?}", snap.failures);

    // The published service: a fresh export read as a File Geodatabase, and the file it was
    // published from recorded beside it as the original source, never as fresh data.
    let city = snap.item(&s.city).unwrap();
    let fresh = city
        .payloads
        .iter()
        .find(|p| {
            p.obtained == Obtained::FreshExport && p.kind != PayloadKind::FeatureServiceDefinition
        })
        .expect("an export");
    assert_eq!(fresh.kind, PayloadKind::FileGeodatabase);
    let counts: Vec<(&str, Option<u64>)> = fresh
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.feature_count))
        .collect();
    assert_eq!(counts, [("Hydrants", Some(250)), ("Parcels", Some(12))]);
    let original = city
        .payloads
        .iter()
        .find(|p| p.obtained == Obtained::OriginalSource)
        .expect("the original source");
    assert_eq!(original.source_item.as_deref(), Some(s.city_file.as_str()));
    assert_eq!(original.kind, PayloadKind::FileGeodatabase);
    assert_eq!(
        Some(original.content),
        snap.item(&s.city_file)
            .unwrap()
            .data
            .as_ref()
            .map(|d| d.content)
    );
    assert!(
        city.relationships
            .iter()
            .any(|r| r.relationship_type == "Service2Data")
    );
    assert_eq!(outcome.exports, 1);
    // A map of its layers depends on it through both layer URLs.
    let by_url: Vec<_> = snap
        .item(&s.city_map)
        .unwrap()
        .dependencies
        .iter()
        .filter(|d| d.kind == DependencyKind::Service)
        .collect();
    assert_eq!(by_url.len(), 2, "{by_url:?}");
    assert!(
        by_url
            .iter()
            .all(|d| d.item_id.as_deref() == Some(s.city.as_str()))
    );

    // The temporary export item is gone from the source.
    let admin = client(&s.sandbox, "admin");
    let leftovers: Vec<_> = admin
        .user_items("admin", None)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| {
            i["title"]
                .as_str()
                .unwrap_or_default()
                .starts_with("orgpack-export-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Unchanged next time: no export at all.
    let selection = snap.selection.clone();
    // A new share does not change `modified`; the next backup sees it all the same.
    let editor = client(&s.sandbox, "editor");
    editor
        .share_item("editor", &s.csv, false, false, &[&s.group])
        .await
        .unwrap();
    let before = s.sandbox.requests();
    let (again_plan, again) = backup(&s, &repo, selection, &Counting::default()).await;
    let second_requests = s.sandbox.requests() - before;
    assert_eq!(again.exports, 0);
    // Unchanged items found in listings cost no request of their own: their groups come from one
    // listing per group. The one that failed last time (the hosted item) is read again.
    let read_again: Vec<&str> = again_plan
        .items
        .iter()
        .filter(|i| !i.reuse)
        .map(orgpack_backup::PlannedItem::title)
        .collect();
    assert_eq!(read_again, ["Inspections"]);
    assert!(
        second_requests * 3 < first_requests,
        "{second_requests} requests, the first backup {first_requests}"
    );
    let b = Archive::open(&repo)
        .unwrap()
        .snapshot(&again.snapshot)
        .unwrap();
    for item in snap
        .items
        .iter()
        .filter(|i| i.id != s.hosted && i.id != s.csv)
    {
        assert_eq!(b.item(&item.id), Some(item), "{} changed", item.title);
    }
    let csv = b.item(&s.csv).unwrap();
    assert_eq!(csv.sharing.access, Access::Shared);
    assert_eq!(csv.sharing.groups.len(), 1);
    assert_eq!(csv.sharing.groups[0].title, "Planning team");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selections_by_owner_folder_group_and_query() {
    let s = seeded().await;
    let admin = client(&s.sandbox, "admin");
    let spool = tempfile::tempdir().unwrap();
    let ids = |sel: Selection| {
        let admin = &admin;
        let spool = spool.path().to_owned();
        async move {
            let opts = PlanOptions {
                selection: sel,
                parent: None,
                concurrency: 2,
                spool_dir: spool,
                tags: Vec::new(),
                recheck_relationships: false,
                people: true,
            };
            let p = plan(admin, &opts, &orgpack_backup::NoProgress)
                .await
                .unwrap();
            p.items.into_iter().map(|i| i.id).collect::<Vec<_>>()
        }
    };
    let by_folder = ids(Selection {
        folders: vec!["editor/Planning".into()],
        ..Selection::default()
    })
    .await;
    assert_eq!(by_folder, vec![s.map.clone()]);
    let mut by_group = ids(Selection {
        groups: vec![s.group.clone()],
        ..Selection::default()
    })
    .await;
    by_group.sort();
    let mut shared = vec![s.app.clone(), s.map.clone()];
    shared.sort();
    assert_eq!(by_group, shared);
    let by_owner = ids(Selection {
        owners: vec!["admin".into()],
        ..Selection::default()
    })
    .await;
    assert_eq!(by_owner, vec![s.unrelated.clone()]);
    let by_query = ids(Selection {
        queries: vec!["title:\"Street trees\"".into()],
        ..Selection::default()
    })
    .await;
    assert_eq!(by_query, vec![s.csv.clone()]);

    let missing = PlanOptions {
        selection: Selection {
            folders: vec!["editor/Nope".into()],
            ..Selection::default()
        },
        parent: None,
        concurrency: 2,
        spool_dir: spool.path().to_owned(),
        tags: Vec::new(),
        recheck_relationships: false,
        people: true,
    };
    let err = plan(&admin, &missing, &orgpack_backup::NoProgress)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no folder `Nope`") && err.contains("Planning"),
        "{err}"
    );
}

fn assert_no_secret(root: &std::path::Path, secret: &str) {
    for entry in walk(root) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !contains(&bytes, secret),
            "{} holds a secret",
            entry.display()
        );
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn walk(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_expiring_tokens_give_the_same_snapshot_or_name_what_failed() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let selection = Selection {
        all: true,
        include_dependencies: true,
        export: ExportMode::Reference,
        ..Selection::default()
    };
    let (_, clean) = backup(
        &s,
        &dir.path().join("clean"),
        selection.clone(),
        &Counting::default(),
    )
    .await;
    s.sandbox.set_faults(orgpack_sandbox::Faults {
        per_mille: 100,
        seed: 7,
        delay_ms: 0,
        expire_per_mille: 30,
        ..orgpack_sandbox::Faults::default()
    });
    let (_, faulty) = backup(
        &s,
        &dir.path().join("faulty"),
        selection,
        &Counting::default(),
    )
    .await;
    s.sandbox.set_faults(orgpack_sandbox::Faults::default());
    let injected = s.sandbox.faults_injected();
    assert!(injected.failed > 0 && injected.expired > 0, "{injected:?}");

    let clean = Archive::open(&dir.path().join("clean"))
        .unwrap()
        .snapshot(&clean.snapshot)
        .unwrap();
    let faulty_archive = Archive::open(&dir.path().join("faulty")).unwrap();
    let faulty = faulty_archive.snapshot(&faulty.snapshot).unwrap();
    // Every item either arrived exactly as in the clean run, or the snapshot names what failed.
    for item in &clean.items {
        let failed: Vec<_> = faulty.failures.iter().filter(|f| f.id == item.id).collect();
        match faulty.item(&item.id) {
            Some(got) if failed.is_empty() => assert_eq!(got, item),
            Some(_) => assert!(failed.iter().all(|f| f.part.is_some())),
            None => assert!(
                failed.iter().any(|f| f.part.is_none()),
                "{} vanished",
                item.id
            ),
        }
    }
    assert_eq!(faulty.groups, clean.groups);
    let report = orgpack_archive::verify(&faulty_archive, VerifyOptions::read_data()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relationship_added_to_an_unchanged_item_is_read_when_asked_for() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    backup(&s, &repo, items(&[&s.app]), &Counting::default()).await;
    // A relationship from the map to another service; the map's `modified` stays as it was.
    let editor = client(&s.sandbox, "editor");
    let before = editor.item(&s.map).await.unwrap()["modified"].clone();
    editor
        .add_relationship("editor", &s.map, &s.city, "Map2Service")
        .await
        .unwrap();
    assert_eq!(editor.item(&s.map).await.unwrap()["modified"], before);
    let related = |plan: &orgpack_backup::Plan| {
        let map = plan.items.iter().find(|i| i.id == s.map).unwrap();
        assert!(map.reuse, "the map's content is reused either way");
        map.relationships.iter().any(|r| r.item_id == s.city)
    };

    // An ordinary incremental run takes the parent's relationships.
    let (plain, _) = backup(&s, &repo, items(&[&s.app]), &Counting::default()).await;
    assert!(!related(&plain));
    assert!(plain.items.iter().all(|i| i.id != s.city));

    // Asked to recheck, it reads them again: the new edge, and the service it leads to.
    let counting = Counting::default();
    let (rechecked, outcome) = backup_with(&s, &repo, items(&[&s.app]), &counting, true).await;
    assert!(related(&rechecked));
    assert!(
        rechecked.items.iter().any(|i| i.id == s.city),
        "the service comes along"
    );
    let snap = Archive::open(&repo)
        .unwrap()
        .snapshot(&outcome.snapshot)
        .unwrap();
    assert!(
        snap.item(&s.map)
            .unwrap()
            .relationships
            .iter()
            .any(|r| r.item_id == s.city && r.relationship_type == "Map2Service")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_edits_between_nightlies_are_exported_though_the_item_did_not_change() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let url = editor.item(&s.city).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_url = url.replace("/rest/services/", "/rest/admin/services/");
    let post = |path: String, params: Vec<(&'static str, String)>| {
        let editor = &editor;
        async move {
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            editor
                .call("edit", orgpack_portal::Method::Post, &path, &params)
                .await
                .unwrap()
        }
    };
    post(
        format!("{admin_url}/updateDefinition"),
        vec![(
            "updateDefinition",
            r#"{"capabilities":"Create,Delete,Query,Update,Editing"}"#.into(),
        )],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let (_, one) = backup(&s, &repo, items(&[&s.city]), &Counting::default()).await;
    let before = editor.feature_count(&format!("{url}/0")).await.unwrap();
    let modified = editor.item(&s.city).await.unwrap()["modified"].clone();

    // A week of field work: features added and deleted; the item's `modified` stays.
    post(
        format!("{url}/0/applyEdits"),
        vec![
            (
                "adds",
                r#"[{"geometry":{"x":-117.1,"y":34.1},"attributes":{}}]"#.into(),
            ),
            ("deletes", "1,2,3".into()),
        ],
    )
    .await;
    assert_eq!(editor.item(&s.city).await.unwrap()["modified"], modified);
    let after = editor.feature_count(&format!("{url}/0")).await.unwrap();
    assert_eq!(after, before - 2);

    let (planned, two) = backup(&s, &repo, items(&[&s.city]), &Counting::default()).await;
    let city = planned.items.iter().find(|i| i.id == s.city).unwrap();
    assert!(!city.reuse, "edited since the parent: captured again");
    let why = city.changed.as_deref().unwrap();
    assert!(why.starts_with("layer 0 edited"), "{why}");
    let archive = Archive::open(&repo).unwrap();
    let snapshot = archive.snapshot(&two.snapshot).unwrap();
    let export = snapshot
        .item(&s.city)
        .unwrap()
        .payloads
        .iter()
        .find(|p| {
            p.obtained == Obtained::FreshExport && p.kind != PayloadKind::FeatureServiceDefinition
        })
        .unwrap();
    let layer = &export.layers[0];
    assert_eq!(
        layer.feature_count,
        Some(after),
        "the export holds the edits"
    );
    assert_ne!(
        archive
            .snapshot(&one.snapshot)
            .unwrap()
            .item(&s.city)
            .unwrap()
            .payloads,
        snapshot.item(&s.city).unwrap().payloads
    );
    let state = &snapshot.item(&s.city).unwrap().annotations;
    assert!(state["orgpack.serviceState"].starts_with("sha256:"));

    // Nothing changed since: reused again, with the state the second backup recorded.
    let (planned, _) = backup(&s, &repo, items(&[&s.city]), &Counting::default()).await;
    let city = planned.items.iter().find(|i| i.id == s.city).unwrap();
    assert!(city.reuse, "{:?}", city.changed);
}

/// Items found by a listing (an owner's content) are reused only when their `modified` is the
/// parent's: an item edited between two listing-selected backups is fetched again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_item_edited_since_the_parent_is_fetched_again() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let by_owner = || Selection {
        owners: vec!["editor".into()],
        include_dependencies: true,
        ..Selection::default()
    };
    let (_, one) = backup(&s, &repo, by_owner(), &Counting::default()).await;
    let (planned, two) = backup(&s, &repo, by_owner(), &Counting::default()).await;
    assert!(
        planned.items.iter().find(|i| i.id == s.map).unwrap().reuse,
        "unchanged: reused"
    );
    assert!(one.items > 1);
    client(&s.sandbox, "editor")
        .update_item(
            "editor",
            Some(&s.folder),
            &s.map,
            &[("snippet", "edited between two nightlies")],
            orgpack_portal::Content::None,
        )
        .await
        .unwrap();
    let (planned, three) = backup(&s, &repo, by_owner(), &Counting::default()).await;
    assert!(!planned.items.iter().find(|i| i.id == s.map).unwrap().reuse);
    assert_eq!(
        three.reused,
        two.reused - 1,
        "only the edited map is fetched again"
    );
    let snapshot = Archive::open(&repo)
        .unwrap()
        .snapshot(&three.snapshot)
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(
        &Archive::open(&repo)
            .unwrap()
            .read_part(&snapshot.item(&s.map).unwrap().item)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["snippet"], "edited between two nightlies");
}

/// A nightly that cannot read an edited map's data keeps the map: its item JSON and everything
/// else captured, its data a missing part (retried by the next backup), and the references the
/// parent found in that data standing for the ones that could not be read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_whose_data_cannot_be_read_stays_with_that_part_missing() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let (_, first) = backup(&s, &repo, items(&[&s.map]), &Counting::default()).await;
    assert!(first.failures.is_empty(), "{:?}", first.failures);
    let archive = Archive::open(&repo).unwrap();
    let before = archive.snapshot(&first.snapshot).unwrap();
    let from_data: Vec<_> = before
        .item(&s.map)
        .unwrap()
        .dependencies
        .iter()
        .filter(|d| d.found_in == orgpack_archive::manifest::FoundIn::Data)
        .cloned()
        .collect();
    assert!(!from_data.is_empty(), "the map's data names its layers");
    client(&s.sandbox, "editor")
        .update_item(
            "editor",
            Some(&s.folder),
            &s.map,
            &[("snippet", "edited before the nightly")],
            orgpack_portal::Content::None,
        )
        .await
        .unwrap();
    s.sandbox.set_faults(orgpack_sandbox::Faults {
        refuse: Some("/data".into()),
        refuse_item: Some(s.map.as_str().into()),
        ..orgpack_sandbox::Faults::default()
    });
    let (_, second) = backup(&s, &repo, items(&[&s.map]), &Counting::default()).await;
    s.sandbox.set_faults(orgpack_sandbox::Faults::default());
    let failures: Vec<(&str, Option<&str>)> = second
        .failures
        .iter()
        .map(|f| (f.id.as_str(), f.part.as_deref()))
        .collect();
    assert_eq!(failures, [(s.map.as_str(), Some("data"))]);
    let after = Archive::open(&repo)
        .unwrap()
        .snapshot(&second.snapshot)
        .unwrap();
    let map = after.item(&s.map).expect("the map stays in the snapshot");
    assert!(map.data.is_none(), "its data is the missing part");
    for dep in &from_data {
        assert!(
            map.dependencies.contains(dep),
            "{dep:?} kept from the parent"
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&Archive::open(&repo).unwrap().read_part(&map.item).unwrap())
            .unwrap();
    assert_eq!(json["snippet"], "edited before the nightly");
}

/// A whole-organization backup into `repo`, and the requests it made by endpoint.
async fn whole_backup_counting(
    s: &Seeded,
    repo: &std::path::Path,
) -> (
    orgpack_backup::Outcome,
    std::collections::BTreeMap<String, u64>,
) {
    let selection = Selection {
        all: true,
        include_dependencies: true,
        ..Selection::default()
    };
    let before = s.sandbox.requests_by_endpoint();
    let (_, outcome) = backup(s, repo, selection, &Counting::default()).await;
    let mut made = s.sandbox.requests_by_endpoint();
    for (endpoint, n) in &mut made {
        *n -= before.get(endpoint).copied().unwrap_or(0);
    }
    (outcome, made)
}

/// What a first backup of the whole organization asks per item: the data once (a link's absent
/// data too: planning found it absent, capture does not ask again), and the owner's view only
/// for items shared with someone (a private item is all in its owner's listing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_backup_asks_each_part_once_and_nothing_of_private_items_sharing() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let (outcome, after) = whole_backup_counting(&s, &repo).await;
    let asked = |endpoint: &str| after.get(endpoint).copied().unwrap_or(0);
    let snap = Archive::open(&repo)
        .unwrap()
        .snapshot(&outcome.snapshot)
        .unwrap();
    let items = u64::try_from(snap.items.len()).unwrap();
    let shared = snap
        .items
        .iter()
        .filter(|i| i.sharing.access != orgpack_archive::manifest::Access::Private)
        .count();
    assert!(shared > 0 && shared < snap.items.len(), "{shared} shared");
    // Each item's data once, and each export's download.
    let exports = u64::try_from(outcome.exports).unwrap();
    assert_eq!(
        asked("content/items/{id}/data"),
        items + exports,
        "{after:#?}"
    );
    assert_eq!(
        asked("content/users/{user}/items/{id}"),
        u64::try_from(shared).unwrap(),
        "{after:#?}"
    );
}

/// A first backup of an organization whose members belong to none of another organization's
/// groups takes every listed item's sharing from the group listings: no owner's view at all, and
/// each item's access and groups are what its owner's view says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_backup_reads_sharing_from_group_listings_when_members_stay_in_the_organization() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    for k in 0..30 {
        let id = editor
            .add_item(
                "editor",
                None,
                &[("title", &format!("Link {k}")), ("type", "Document Link")],
                orgpack_portal::Content::Url(&format!("https://example.com/doc/{k}")),
                1 << 20,
            )
            .await
            .unwrap();
        let groups: &[&str] = if k % 3 == 0 { &[s.group.as_str()] } else { &[] };
        editor
            .share_item("editor", &id, k % 3 == 1, k % 3 != 2, groups)
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let (outcome, after) = whole_backup_counting(&s, &repo).await;
    let asked = |endpoint: &str| after.get(endpoint).copied().unwrap_or(0);
    assert_eq!(asked("content/users/{user}/items/{id}"), 0, "{after:#?}");
    let snap = Archive::open(&repo)
        .unwrap()
        .snapshot(&outcome.snapshot)
        .unwrap();
    let admin = client(&s.sandbox, "admin");
    let mut in_group = 0;
    for item in &snap.items {
        let view = admin.user_item(&item.owner, &item.id).await.unwrap();
        let access = view["sharing"]["access"].as_str().unwrap();
        let mut groups: Vec<&str> = view["sharing"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        groups.sort_unstable();
        let mut ours: Vec<&str> = item.sharing.groups.iter().map(|g| g.id.as_str()).collect();
        ours.sort_unstable();
        assert_eq!(
            (
                serde_json::to_value(item.sharing.access).unwrap(),
                ours.clone()
            ),
            (serde_json::json!(access), groups),
            "{}",
            item.title
        );
        in_group += usize::from(!ours.is_empty());
    }
    assert!(in_group >= 10, "{in_group} items in a group");
}
