//! What a backup must capture though nothing asked for it directly: a group an app's data
//! names, content the repository lost, and where the snapshot came from.

use orgpack_archive::Archive;
use orgpack_archive::manifest::{Obtained, PayloadKind};
use orgpack_portal::Content;
use orgpack_sandbox::Faults;

use crate::seed::{client, seeded};
use crate::{Counting, backup, items};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_named_by_an_apps_data_is_captured_though_nothing_is_shared_with_it() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let gallery = editor
        .create_group(&[("title", "Gallery"), ("access", "org")])
        .await
        .unwrap();
    let data =
        format!("{{\"values\": {{\"group\": \"{gallery}\", \"title\": \"Maps of the city\"}}}}");
    let app = crate::seed::add_text(&editor, "Map gallery", "Web Mapping Application", &data).await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let (_, outcome) = backup(&s, &repo, items(&[&app]), &Counting::default()).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let archive = Archive::open(&repo).unwrap();
    let snap = archive.snapshot(&outcome.snapshot).unwrap();
    let groups: Vec<&str> = snap.groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(groups, [gallery.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_item_whose_content_the_repository_lost_is_captured_again() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    // By owner: a listing, so the second run plans unchanged items without a request each.
    let by_owner = orgpack_archive::manifest::Selection {
        owners: vec!["editor".into()],
        include_dependencies: true,
        ..Default::default()
    };
    // (The seed's `hosted` item claims a service the sandbox does not have: its export fails
    // every time, and is no concern here.)
    let others = |o: &orgpack_backup::Outcome| -> Vec<String> {
        o.failures
            .iter()
            .filter(|f| f.id != s.hosted)
            .map(|f| format!("{f:?}"))
            .collect()
    };
    let (_, first) = backup(&s, &repo, by_owner.clone(), &Counting::default()).await;
    assert!(others(&first).is_empty(), "{:?}", first.failures);
    let archive = Archive::open(&repo).unwrap();
    let snap = archive.snapshot(&first.snapshot).unwrap();
    // The CSV's data and the hosted service's export are lost.
    let csv = snap.item(&s.csv).unwrap().data.as_ref().unwrap().content;
    let export = snap
        .item(&s.city)
        .unwrap()
        .payloads
        .iter()
        .find(|p| {
            p.obtained == Obtained::FreshExport && p.kind != PayloadKind::FeatureServiceDefinition
        })
        .unwrap()
        .content;
    for lost in [csv, export] {
        let key = orgpack_archive::Key::Blob(lost.chunks.unwrap_or(lost.digest));
        std::fs::remove_file(repo.join(key.path())).unwrap();
    }
    drop(archive);

    let (planned, second) = backup(&s, &repo, by_owner, &Counting::default()).await;
    assert!(
        planned.items.iter().find(|i| i.id == s.csv).unwrap().reuse,
        "planned for reuse: unchanged"
    );
    assert!(others(&second).is_empty(), "{:?}", second.failures);
    let archive = Archive::open(&repo).unwrap();
    let snap = archive.snapshot(&second.snapshot).unwrap();
    let data = snap.item(&s.csv).unwrap().data.as_ref().unwrap();
    assert!(
        archive
            .read_part(&data.content)
            .unwrap()
            .starts_with(b"id,species,x,y")
    );
    let city = snap.item(&s.city).unwrap();
    let export = city
        .payloads
        .iter()
        .find(|p| {
            p.obtained == Obtained::FreshExport && p.kind != PayloadKind::FeatureServiceDefinition
        })
        .expect("exported again");
    assert_eq!(export.kind, PayloadKind::FileGeodatabase);
    assert!(!archive.read_part(&export.content).unwrap().is_empty());
    let report =
        orgpack_archive::verify(&archive, orgpack_archive::VerifyOptions::read_data()).unwrap();
    // The first snapshot still misses the blob; the second holds it again (same content, same
    // name): the repository verifies whole.
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_names_its_source_online_or_enterprise() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, online) = backup(
        &s,
        &dir.path().join("online"),
        items(&[&s.csv]),
        &Counting::default(),
    )
    .await;
    let archive = Archive::open(&dir.path().join("online")).unwrap();
    let source = archive.snapshot(&online.snapshot).unwrap().source;
    assert_eq!(
        source.portal_kind,
        orgpack_archive::manifest::PortalKind::Online
    );
    assert_eq!(source.user, "admin");
    assert!(source.current_version.is_some());
    assert!(!source.org_id.is_empty());

    s.sandbox.add_enterprise_org("ent", "Enterprise").unwrap();
    s.sandbox
        .add_user("ent", "admin", crate::seed::PW, "org_admin")
        .unwrap();
    let ent = orgpack_portal::Client::new(
        orgpack_portal::PortalUrl::parse(&s.sandbox.portal_url("ent")).unwrap(),
        orgpack_portal::Credentials::Password {
            username: "admin".into(),
            password: crate::seed::PW.into(),
        },
        orgpack_portal::ClientOptions::default(),
    )
    .unwrap();
    let id = ent
        .add_item(
            "admin",
            None,
            &[("title", "Notes"), ("type", "Document Link")],
            Content::Url("https://example.com/notes"),
            1 << 20,
        )
        .await
        .unwrap();
    let repo = dir.path().join("enterprise");
    let mut repository = orgpack_archive::Repository::open_or_init(&repo).unwrap();
    let options = crate::options(items(&[&id]), &repo.join("tmp"));
    let planned = orgpack_backup::plan(&ent, &options, &Counting::default())
        .await
        .unwrap();
    let outcome = orgpack_backup::run(&ent, &planned, &mut repository, &Counting::default())
        .await
        .unwrap();
    let source = Archive::open(&repo)
        .unwrap()
        .snapshot(&outcome.snapshot)
        .unwrap()
        .source;
    assert_eq!(
        source.portal_kind,
        orgpack_archive::manifest::PortalKind::Enterprise
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_dependency_is_skipped_a_missing_selection_or_an_unreadable_dependency_fails() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let gone = "0123456789abcdef0123456789abcdef";
    let data = format!(
        "{{\"operationalLayers\": [{{\"id\": \"a\", \"itemId\": \"{gone}\", \"title\": \"Deleted layer\"}}]}}"
    );
    let map = crate::seed::add_text(&editor, "Map of a deleted layer", "Web Map", &data).await;
    let dir = tempfile::tempdir().unwrap();
    // A dependency that does not exist: noted as not captured, not a failure.
    let (planned, outcome) = backup(
        &s,
        &dir.path().join("a"),
        items(&[&map]),
        &Counting::default(),
    )
    .await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let skipped: Vec<(&str, &str)> = planned
        .skipped
        .iter()
        .map(|k| (k.target.as_str(), k.reason.as_str()))
        .collect();
    assert_eq!(skipped, [(gone, "not found in the source organization")]);
    // An item asked for that does not exist: a failure.
    let (_, outcome) = backup(
        &s,
        &dir.path().join("b"),
        items(&[gone]),
        &Counting::default(),
    )
    .await;
    let failed: Vec<&str> = outcome.failures.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(failed, [gone]);
    // A dependency that cannot be read (not a missing one): a failure, not a skip.
    s.sandbox.set_faults(Faults {
        refuse: Some(format!("/items/{}", s.parcels).into()),
        ..Faults::default()
    });
    let admin = client(&s.sandbox, "admin");
    let options = crate::options(items(&[&s.map]), &dir.path().join("c/tmp"));
    let planned = orgpack_backup::plan(&admin, &options, &Counting::default())
        .await
        .unwrap();
    s.sandbox.set_faults(Faults::default());
    assert!(planned.skipped.iter().all(|k| k.target != s.parcels));
    assert!(
        planned.failures.iter().any(|f| f.id == s.parcels),
        "{:?}",
        planned.failures
    );
}

/// JSON data up to 32 MiB is read for references while planning; larger is not (it is still
/// stored). This app's data is exactly 32 MiB: its web map is a dependency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_data_of_exactly_the_scanning_limit_is_read_for_references() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let head = format!("{{\"values\": {{\"webmap\": \"{}\", \"pad\": \"", s.map);
    let tail = "\"}}";
    let limit = 32usize << 20;
    let data = format!(
        "{head}{}{tail}",
        "x".repeat(limit - head.len() - tail.len())
    );
    assert_eq!(data.len(), limit);
    let app = crate::seed::add_text(&editor, "Big app", "Web Mapping Application", &data).await;
    let dir = tempfile::tempdir().unwrap();
    let (planned, outcome) = backup(
        &s,
        &dir.path().join("repo"),
        items(&[&app]),
        &Counting::default(),
    )
    .await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let ids: Vec<&str> = planned.items.iter().map(|i| i.id.as_str()).collect();
    assert!(
        ids.contains(&s.map.as_str()),
        "the map was not found: {ids:?}"
    );
}
