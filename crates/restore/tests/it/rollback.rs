//! `--rollback` with `--on-existing update`: a run that fails puts every item it updated back as
//! it was (properties, data, resources, sharing), besides deleting what it created; and the
//! restore of a snapshot that names dependencies it does not hold (`--no-deps`).

use std::collections::BTreeMap;

use orgpack_portal::{Client, Content};
use orgpack_restore::{OnExisting, Status, restore};
use serde_json::Value;

use super::seed::seeded;
use super::{backed_up, empty_target, options};

/// What a person sees of every item of the organization: properties, data, resources with their
/// bytes, and sharing, by title.
async fn state(c: &Client) -> BTreeMap<String, Value> {
    let me = c.portal_self().await.unwrap();
    let q = format!("orgid:{}", me["id"].as_str().unwrap());
    let mut out = BTreeMap::new();
    for item in c.search_all(&q, 100).await.unwrap() {
        let id = item["id"].as_str().unwrap();
        let owner = item["owner"].as_str().unwrap();
        let view = c.user_item(owner, id).await.unwrap();
        let mut data = Vec::new();
        let data = match c.item_data(id, &mut data).await.unwrap() {
            Some(_) => summary(&data),
            None => String::new(),
        };
        let mut resources = BTreeMap::new();
        for r in c.item_resources(id).await.unwrap() {
            let mut bytes = Vec::new();
            c.item_resource(id, &r.path, &mut bytes).await.unwrap();
            resources.insert(r.path, summary(&bytes));
        }
        let mut groups: Vec<String> = view["sharing"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_owned())
            .collect();
        groups.sort();
        let i = &view["item"];
        out.insert(
            format!("{} ({id})", i["title"].as_str().unwrap()),
            serde_json::json!({
                "title": i["title"], "snippet": i["snippet"], "description": i["description"],
                "tags": i["tags"], "typeKeywords": i["typeKeywords"], "url": i["url"],
                "properties": i["properties"], "data": data, "resources": resources,
                "access": view["sharing"]["access"], "groups": groups,
            }),
        );
    }
    out
}

/// Text as it is; anything else by its length and a digest.
fn summary(bytes: &[u8]) -> String {
    use std::hash::{Hash as _, Hasher as _};
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_owned();
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("{} bytes, {:016x}", bytes.len(), h.finish())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_update_run_puts_every_item_it_updated_back_as_it_was() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let targets = [empty_target(&s, "kept", dir.path())];
    let first = restore(&archive, &snapshot, &targets, &options(dir.path()), false)
        .await
        .unwrap();
    assert!(first[0].is_complete(), "{:#?}", first[0]);
    let c = &targets[0].client;
    let id_of = |source: &str| {
        first[0]
            .items
            .iter()
            .find(|e| e.source_id == source)
            .and_then(|e| e.target_id.clone())
            .unwrap()
    };
    // The target's people made the items their own since: new words, data, a resource, sharing.
    let (app, map) = (id_of(&s.app), id_of(&s.map));
    let owner = c.item(&app).await.unwrap()["owner"]
        .as_str()
        .unwrap()
        .to_owned();
    c.update_item(
        &owner,
        None,
        &app,
        &[
            ("title", "Parcel viewer (ours)"),
            ("snippet", "Edited here"),
        ],
        Content::Text("{\n  \"values\": {\"title\": \"ours\"}\n}"),
    )
    .await
    .unwrap();
    c.add_resource(&owner, &app, "notes/ours.json", b"{\"a\": 1}".to_vec())
        .await
        .unwrap();
    let map_owner = c.item(&map).await.unwrap()["owner"]
        .as_str()
        .unwrap()
        .to_owned();
    c.share_item(&map_owner, &map, false, true, &[])
        .await
        .unwrap();
    let before = state(c).await;

    // Updating everything from the snapshot fails on one item: every update is undone.
    let unrelated = id_of(&s.unrelated);
    s.sandbox.set_faults(orgpack_sandbox::Faults {
        refuse: Some("/update".into()),
        refuse_item: Some(unrelated.as_str().into()),
        ..orgpack_sandbox::Faults::default()
    });
    let mut opts = options(dir.path());
    opts.on_existing = OnExisting::Update;
    opts.rollback = true;
    let rolled = restore(&archive, &snapshot, &targets, &opts, false)
        .await
        .unwrap();
    s.sandbox.set_faults(orgpack_sandbox::Faults::default());
    let report = &rolled[0];
    let failed: Vec<_> = report
        .items
        .iter()
        .filter(|e| e.status == Status::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{report:#?}");
    assert_eq!(failed[0].source_id, s.unrelated);
    assert!(
        report
            .items
            .iter()
            .filter(|e| e.source_id != s.unrelated)
            .all(|e| e.status == Status::RolledBack),
        "{report:#?}"
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("put back as they were")),
        "{:?}",
        report.notes
    );
    let after = state(c).await;
    assert_eq!(
        serde_json::to_string_pretty(&after).unwrap(),
        serde_json::to_string_pretty(&before).unwrap(),
        "every updated item is as it was before the run"
    );
    assert!(
        !dir.path()
            .join("kept.journal.sqlite.prior")
            .join("2")
            .exists(),
        "what the run kept to roll back to is removed once used"
    );

    // Without a failure the update stands, and nothing kept is left behind.
    let fine = restore(&archive, &snapshot, &targets, &opts, false)
        .await
        .unwrap();
    assert!(fine[0].is_complete(), "{:#?}", fine[0]);
    let updated = state(c).await;
    let app_now = updated
        .iter()
        .find(|(k, _)| k.ends_with(&format!("({app})")))
        .unwrap()
        .1;
    assert_eq!(app_now["title"], "Parcel viewer");
    assert_eq!(
        app_now["data"].as_str().unwrap(),
        s.app_data.replace(&s.map, &map)
    );
    let prior = dir.path().join("kept.journal.sqlite.prior");
    assert!(
        !prior.exists() || std::fs::read_dir(&prior).unwrap().next().is_none(),
        "nothing kept after a run that needed no rollback"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_taken_without_dependencies_restores_what_it_holds() {
    // `backup --no-deps --item APP`: the app's map is named as a dependency but not captured.
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let admin = super::seed::client(&s.sandbox, "admin");
    let mut repo = orgpack_archive::Repository::open_or_init(&dir.path().join("repo")).unwrap();
    let mut backup = orgpack_backup::PlanOptions::whole_org(dir.path().join("spool"));
    backup.selection.all = false;
    backup.selection.items = vec![s.app.clone()];
    backup.selection.include_dependencies = false;
    let plan = orgpack_backup::plan(&admin, &backup, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    let outcome = orgpack_backup::run(&admin, &plan, &mut repo, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    let archive = orgpack_archive::Archive::open(&dir.path().join("repo")).unwrap();
    let snapshot = archive.snapshot(&outcome.snapshot).unwrap();
    let ids: Vec<&str> = snapshot.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [s.app.as_str()]);
    assert!(
        snapshot.items[0]
            .dependencies
            .iter()
            .any(|d| d.item_id.as_deref() == Some(s.map.as_str()) && !d.external),
        "the map is named as a dependency"
    );
    let targets = [empty_target(&s, "lean", dir.path())];
    for item in [None, Some(s.app.clone())] {
        let mut opts = options(dir.path());
        opts.items = item.into_iter().collect();
        let reports = restore(&archive, &snapshot, &targets, &opts, false)
            .await
            .unwrap();
        let report = &reports[0];
        assert_eq!(report.items.len(), 1, "{report:#?}");
        assert_eq!(report.items[0].source_id, s.app);
        assert!(
            matches!(report.items[0].status, Status::Created | Status::Skipped),
            "{report:#?}"
        );
    }
}
