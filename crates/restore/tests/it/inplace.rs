//! Restore in place: the demo organization backed up, then damaged as people damage production
//! (a map deleted, a dashboard overwritten, a resource removed, an item unshared from a group, a
//! layer's features deleted, a whole hosted service deleted), then put back from the snapshot —
//! with the original ids, on ArcGIS Enterprise and through the recycle bin on ArcGIS Online; with
//! a new id and every reference re-pointed when the recycle bin was emptied — and a second run
//! changes nothing. The target never holds a duplicate.

use std::collections::BTreeMap;

use orgpack_archive::Archive;
use orgpack_archive::manifest::Snapshot;
use orgpack_portal::{Client, Content, Method};
use orgpack_restore::{Action, RestoreOptions, Status, Target, TargetReport, restore};
use orgpack_sandbox::{DemoOrg, Sandbox, SandboxOptions};
use serde_json::Value;

use crate::common::{back_up_whole, sign_in};

const PW: &str = "In-place-pw-3";

fn client(s: &Sandbox, org: &str, user: &str) -> Client {
    sign_in(s, org, user, PW)
}

/// The demo organization seeded (`site`, answering as ArcGIS Enterprise, or `demo`, as ArcGIS
/// Online) and backed up whole.
struct Scene {
    s: Sandbox,
    demo: DemoOrg,
    dir: tempfile::TempDir,
    admin: Client,
    archive: Archive,
    snapshot: Snapshot,
}

async fn scene(enterprise: bool) -> Scene {
    let s = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let (org, demo) = if enterprise {
        ("site", s.seed_demo_enterprise("site", PW).await.unwrap())
    } else {
        ("demo", s.seed_demo("demo", PW).await.unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let admin = client(&s, org, "admin");
    let (archive, snapshot) = back_up_whole(&admin, dir.path()).await;
    Scene {
        s,
        demo,
        dir,
        admin,
        archive,
        snapshot,
    }
}

async fn in_place(
    s: &Sandbox,
    archive: &Archive,
    snapshot: &Snapshot,
    org: &str,
    dir: &std::path::Path,
    dry_run: bool,
) -> TargetReport {
    in_place_with(s, archive, snapshot, org, dir, dry_run, false).await
}

async fn in_place_with(
    s: &Sandbox,
    archive: &Archive,
    snapshot: &Snapshot,
    org: &str,
    dir: &std::path::Path,
    dry_run: bool,
    delete_new: bool,
) -> TargetReport {
    let target = Target {
        name: org.into(),
        client: client(s, org, "admin"),
        journal: dir.join(format!("{org}.sqlite")),
    };
    restore(
        archive,
        snapshot,
        std::slice::from_ref(&target),
        &RestoreOptions {
            staging_dir: dir.to_owned(),
            revert_data: true,
            delete_new,
            ..RestoreOptions::default()
        },
        dry_run,
    )
    .await
    .unwrap()
    .remove(0)
}

async fn call(c: &Client, path: &str, params: &[(&str, &str)]) -> Value {
    c.call("call", Method::Post, path, params)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Damage the organization as the issue tells it. `purge`: deleted items leave no trace in the
/// recycle bin. Returns the features City's layer 0 held.
async fn damage(s: &Sandbox, org: &str, demo: &DemoOrg, purge: bool) -> u64 {
    let editor = client(s, org, "editor");
    let permanent = if purge { "true" } else { "false" };
    for key in ["inspections-map", "inspections"] {
        call(
            &editor,
            &format!("content/users/editor/items/{}/delete", demo.items[key]),
            &[("permanentDelete", permanent)],
        )
        .await;
    }
    editor
        .update_item(
            "editor",
            None,
            &demo.items["dashboard"],
            &[("title", "Hydrant dashboard (broken)")],
            Content::Text("{\"widgets\": []}"),
        )
        .await
        .unwrap();
    call(
        &editor,
        &format!(
            "content/users/editor/items/{}/removeResources",
            demo.items["viewer-app"]
        ),
        &[("resource", "images/logo.png")],
    )
    .await;
    editor
        .unshare_item(
            "editor",
            &demo.items["city-map"],
            &[&demo.groups["public-works"]],
        )
        .await
        .unwrap();
    // A group's setting changed, a member taken out, a stranger let in.
    let admin = client(s, org, "admin");
    let (crews, works) = (&demo.groups["field-crews"], &demo.groups["public-works"]);
    call(
        &admin,
        &format!("community/groups/{crews}/update"),
        &[("access", "org")],
    )
    .await;
    call(
        &admin,
        &format!("community/groups/{works}/removeUsers"),
        &[("users", "viewer")],
    )
    .await;
    call(
        &admin,
        &format!("community/groups/{works}/addUsers"),
        &[("users", "crew.lead")],
    )
    .await;
    let layer = format!("{}/0", demo.urls["city"]);
    let before = editor.feature_count(&layer).await.unwrap();
    call(
        &editor,
        &format!("{layer}/deleteFeatures"),
        &[("where", "1=1")],
    )
    .await;
    assert_eq!(editor.feature_count(&layer).await.unwrap(), 0);
    before
}

/// Every item of the organization by title → ids (a duplicate shows as two).
async fn titles(c: &Client, org_id: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in c.search_all(&format!("orgid:{org_id}"), 100).await.unwrap() {
        out.entry(i["title"].as_str().unwrap().to_owned())
            .or_default()
            .push(i["id"].as_str().unwrap().to_owned());
    }
    out
}

/// After the restore: the snapshot's state, checked directly, and by a second plan that finds
/// nothing to do.
async fn check_restored(
    s: &Sandbox,
    archive: &Archive,
    snapshot: &Snapshot,
    org: &str,
    demo: &DemoOrg,
    city_features: u64,
    dir: &std::path::Path,
) {
    let admin = client(s, org, "admin");
    let org_id = snapshot.source.org_id.as_str();
    let all = titles(&admin, org_id).await;
    for item in &snapshot.items {
        assert_eq!(
            all.get(&item.title).map(Vec::len),
            Some(1),
            "`{}` once: {all:?}",
            item.title
        );
    }
    let dashboard = demo.items["dashboard"].as_str();
    let mut data = Vec::new();
    admin.item_data(dashboard, &mut data).await.unwrap();
    let item = snapshot.item(dashboard).unwrap();
    let then = archive
        .read_part(&item.data.as_ref().unwrap().content)
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&data).unwrap(),
        serde_json::from_slice::<Value>(&then).unwrap(),
        "the dashboard's data is the snapshot's"
    );
    assert_eq!(
        admin.item(dashboard).await.unwrap()["title"],
        "Hydrant dashboard"
    );
    let resources = admin
        .item_resources(&demo.items["viewer-app"])
        .await
        .unwrap();
    assert!(resources.iter().any(|r| r.path == "images/logo.png"));
    let shared = admin
        .user_item("editor", &demo.items["city-map"])
        .await
        .unwrap();
    assert!(
        shared["sharing"]["groups"]
            .as_array()
            .unwrap()
            .contains(&Value::from(demo.groups["public-works"].as_str())),
        "{shared}"
    );
    assert_eq!(
        admin
            .feature_count(&format!("{}/0", demo.urls["city"]))
            .await
            .unwrap(),
        city_features
    );
    // The groups as they were.
    let crews = admin.group(&demo.groups["field-crews"]).await.unwrap();
    assert_eq!(crews["access"], "private");
    let works = admin
        .group_members(&demo.groups["public-works"])
        .await
        .unwrap();
    assert_eq!(
        (&works["owner"], &works["users"]),
        (&Value::from("editor"), &serde_json::json!(["viewer"])),
        "{works}"
    );
    // The second plan finds every item as the snapshot has it, and speaks of items made since
    // the snapshot only when there are some.
    let again = in_place(s, archive, snapshot, org, dir, true).await;
    assert_eq!(
        again
            .notes
            .iter()
            .any(|n| n.contains("not in the snapshot")),
        !again.created_since.is_empty(),
        "{:?}",
        again.notes
    );
    for e in &again.items {
        assert_eq!(
            (e.action, e.reason.as_deref()),
            (Action::Skip, Some("unchanged since the snapshot")),
            "{}: {:?}",
            e.title,
            e.changes
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enterprise_organization_comes_back_with_its_own_ids() {
    let Scene {
        s,
        demo,
        dir,
        admin,
        archive,
        snapshot,
    } = scene(true).await;
    let city_features = damage(&s, "site", &demo, false).await;

    let plan = in_place(&s, &archive, &snapshot, "site", dir.path(), true).await;
    assert!(
        plan.notes.iter().any(|n| n.starts_with("in place:")),
        "{:?}",
        plan.notes
    );
    let action = |key: &str| {
        plan.items
            .iter()
            .find(|e| e.source_id == demo.items[key])
            .unwrap()
    };
    assert_eq!(action("inspections-map").action, Action::Create);
    assert_eq!(action("inspections").action, Action::Republish);
    assert_eq!(action("dashboard").action, Action::PutBack);
    assert!(
        action("dashboard")
            .changes
            .iter()
            .any(|c| c.starts_with("data $.")),
        "{:?}",
        action("dashboard").changes
    );
    assert!(
        action("viewer-app")
            .changes
            .contains(&"resource images/logo.png (missing)".to_owned())
    );
    assert!(
        action("city")
            .changes
            .iter()
            .any(|c| c == "layer 0: features edited since the snapshot"),
        "{:?}",
        action("city").changes
    );
    assert_eq!(action("brochure").action, Action::Skip);

    let report = in_place(&s, &archive, &snapshot, "site", dir.path(), false).await;
    assert!(report.is_complete(), "{report:#?}");
    for key in ["inspections-map", "inspections"] {
        let e = action(key);
        let done = report
            .items
            .iter()
            .find(|r| r.source_id == e.source_id)
            .unwrap();
        assert_eq!(done.status, Status::Created);
        assert_eq!(
            done.target_id.as_deref(),
            Some(e.source_id.as_str()),
            "`{}` keeps its id",
            done.title
        );
    }
    assert!(report.repointed.is_empty(), "{:?}", report.repointed);
    // The recreated service answers at its own URL with its features.
    let inspections = snapshot.item(&demo.items["inspections"]).unwrap();
    assert_eq!(
        admin.item(&inspections.id).await.unwrap()["url"],
        inspections.url.as_deref().unwrap()
    );
    check_restored(
        &s,
        &archive,
        &snapshot,
        "site",
        &demo,
        city_features,
        dir.path(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_organization_comes_back_through_its_recycle_bin() {
    let Scene {
        s,
        demo,
        dir,
        archive,
        snapshot,
        ..
    } = scene(false).await;
    let city_features = damage(&s, "demo", &demo, false).await;

    let report = in_place(&s, &archive, &snapshot, "demo", dir.path(), false).await;
    assert!(report.is_complete(), "{report:#?}");
    for key in ["inspections-map", "inspections"] {
        let e = report
            .items
            .iter()
            .find(|r| r.source_id == demo.items[key])
            .unwrap();
        assert_eq!(e.action, Action::Undelete, "{}", e.title);
        assert_eq!(e.target_id.as_deref(), Some(demo.items[key].as_str()));
    }
    check_restored(
        &s,
        &archive,
        &snapshot,
        "demo",
        &demo,
        city_features,
        dir.path(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_recycle_bin_emptied_every_reference_follows_the_new_id() {
    let Scene {
        s,
        demo,
        dir,
        admin,
        archive,
        snapshot,
    } = scene(false).await;
    // An app made after the backup, also pointing at the map about to be lost.
    let map = demo.items["inspections-map"].clone();
    let later = client(&s, "demo", "editor")
        .add_item(
            "editor",
            None,
            &[("title", "Crew app"), ("type", "Web Mapping Application")],
            Content::Text(&format!("{{\"map\": {{\"itemId\": \"{map}\"}}}}")),
            1 << 20,
        )
        .await
        .unwrap();
    // A survey made after the backup, submitting to the service about to be lost.
    let service = demo.items["inspections"].clone();
    let service_url = admin.item(&service).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let zip = dir.path().join("crew-survey.zip");
    let form_package = super::forms::package(
        &"0".repeat(32),
        &service_url,
        &service,
        &s.portal_url("demo"),
    );
    std::fs::write(&zip, form_package).unwrap();
    let survey = client(&s, "demo", "editor")
        .add_item(
            "editor",
            None,
            &[("title", "Crew survey"), ("type", "Form")],
            Content::File {
                path: &zip,
                name: "Crew survey.zip",
            },
            1 << 20,
        )
        .await
        .unwrap();
    let city_features = damage(&s, "demo", &demo, true).await;

    // A first run cut short: the target refuses to create items, so the map cannot be made
    // again and what needs it waits.
    s.set_faults(orgpack_sandbox::Faults {
        refuse: Some("addItem".into()),
        ..orgpack_sandbox::Faults::default()
    });
    let cut = in_place(&s, &archive, &snapshot, "demo", dir.path(), false).await;
    assert!(!cut.is_complete());
    let dashboard = cut
        .items
        .iter()
        .find(|e| e.source_id == demo.items["dashboard"])
        .unwrap();
    assert_eq!(dashboard.status, Status::Skipped, "{dashboard:?}");
    s.set_faults(orgpack_sandbox::Faults::default());

    let report = in_place(&s, &archive, &snapshot, "demo", dir.path(), false).await;
    assert!(report.is_complete(), "{report:#?}");
    let made = report
        .items
        .iter()
        .find(|r| r.source_id == map)
        .unwrap()
        .target_id
        .clone()
        .unwrap();
    assert_ne!(made, map, "ArcGIS Online cannot keep an id");
    // The dashboard (in the snapshot, put back with the new id) and the later app (not in the
    // snapshot: found by reading the organization, re-pointed) point at the new map.
    for id in [demo.items["dashboard"].as_str(), later.as_str()] {
        let mut data = Vec::new();
        admin.item_data(id, &mut data).await.unwrap();
        let text = String::from_utf8(data).unwrap();
        assert!(text.contains(&made) && !text.contains(&map), "{id}: {text}");
    }
    assert!(
        report
            .repointed
            .iter()
            .any(|l| l.contains(&format!("({later}): {map} → {made}"))),
        "{:?}",
        report.repointed
    );
    // The survey (not in the snapshot either) submits to the service made again.
    let new_service = report
        .items
        .iter()
        .find(|r| r.source_id == service)
        .unwrap()
        .target_id
        .clone()
        .unwrap();
    assert_ne!(new_service, service);
    let new_url = admin.item(&new_service).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut data = Vec::new();
    admin.item_data(&survey, &mut data).await.unwrap();
    let files = super::forms::unzip(&data);
    let xml = files
        .iter()
        .find(|(n, _)| n == "esriinfo/form.xml")
        .unwrap();
    let xml = String::from_utf8_lossy(&xml.1);
    // (The service may come back under its old name, so its URL may be the same.)
    assert!(
        xml.contains(&format!("<submission action=\"{new_url}/0\"")),
        "{xml}"
    );
    let info = files
        .iter()
        .find(|(n, _)| n == "esriinfo/form.info")
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.1).unwrap();
    assert_eq!(info["serviceInfo"]["itemId"], new_service.as_str());
    assert_eq!(info["serviceInfo"]["url"], new_url.as_str());
    // Re-pointed by whichever run made the service again (the first one did: creating a
    // service is not adding an item).
    assert!(
        cut.repointed
            .iter()
            .chain(&report.repointed)
            .any(|l| l.starts_with(&format!("`Crew survey` ({survey}): its form package"))),
        "{:?} {:?}",
        cut.repointed,
        report.repointed
    );
    assert!(
        report.created_since.iter().any(|n| n.id == later),
        "{:?}",
        report.created_since
    );
    assert!(
        admin.item(&later).await.is_ok(),
        "left alone without --delete-new"
    );
    // Nothing duplicated, and a second run changes nothing.
    let all = titles(&admin, &snapshot.source.org_id).await;
    assert!(all.values().all(|ids| ids.len() == 1), "{all:?}");
    let again = in_place(&s, &archive, &snapshot, "demo", dir.path(), false).await;
    assert!(again.is_complete(), "{again:#?}");
    assert!(
        again.items.iter().all(|e| e.action == Action::Skip),
        "{:#?}",
        again
            .items
            .iter()
            .filter(|e| e.action != Action::Skip)
            .collect::<Vec<_>>()
    );
    assert!(again.repointed.is_empty());
    assert!(
        !again.notes.iter().any(|n| n.starts_with("group `")),
        "groups put back twice: {:?}",
        again.notes
    );
    assert_eq!(
        admin
            .feature_count(&format!("{}/0", demo.urls["city"]))
            .await
            .unwrap(),
        city_features
    );

    // --delete-new: the app made since the snapshot goes to the recycle bin.
    let cleaned = in_place_with(&s, &archive, &snapshot, "demo", dir.path(), false, true).await;
    assert!(cleaned.is_complete(), "{cleaned:#?}");
    assert!(
        cleaned
            .notes
            .iter()
            .any(|n| n.starts_with(&format!("deleted `Crew app` ({later})"))),
        "{:?}",
        cleaned.notes
    );
    assert!(admin.item(&later).await.is_err(), "the app is gone");
    // The map this restore made again (under a new id) is the snapshot's, not new: it stays.
    assert!(
        cleaned.created_since.iter().all(|n| n.id != made),
        "{:?}",
        cleaned.created_since
    );
    assert!(admin.item(&made).await.is_ok(), "the re-made map stays");
    // An item made since: a plan of the whole snapshot lists it; one narrowed to an item, a
    // group or a folder, or of a snapshot that was not of the whole organization, does not.
    let newer = admin
        .add_item(
            "admin",
            None,
            &[("title", "Made since"), ("type", "Document Link")],
            Content::Url("https://example.com/since"),
            1 << 20,
        )
        .await
        .unwrap();
    let survey = async |snapshot: &Snapshot, narrow: &dyn Fn(&mut RestoreOptions)| {
        let mut o = RestoreOptions {
            staging_dir: dir.path().to_owned(),
            ..RestoreOptions::default()
        };
        narrow(&mut o);
        let target = Target {
            name: "demo".into(),
            client: client(&s, "demo", "admin"),
            journal: dir.path().join("demo.sqlite"),
        };
        let reports = restore(&archive, snapshot, std::slice::from_ref(&target), &o, true)
            .await
            .unwrap();
        reports[0]
            .created_since
            .iter()
            .map(|n| n.id.clone())
            .collect::<Vec<_>>()
    };
    assert!(survey(&snapshot, &|_| {}).await.contains(&newer));
    let dashboard = demo.items["dashboard"].clone();
    let group = demo.groups["field-crews"].clone();
    for narrowed in [
        survey(&snapshot, &|o| o.items = vec![dashboard.clone()]).await,
        survey(&snapshot, &|o| o.groups = vec![group.clone()]).await,
        survey(&snapshot, &|o| o.folders = vec!["editor/Utilities".into()]).await,
    ] {
        assert!(narrowed.is_empty(), "{narrowed:?}");
    }
    let mut partial = snapshot.clone();
    partial.selection.all = false;
    assert!(survey(&partial, &|_| {}).await.is_empty());
    let bin = call(
        &admin,
        &format!("content/users/editor/items/{later}/canRestore"),
        &[],
    )
    .await;
    assert_eq!(bin["success"], true, "in the recycle bin: {bin}");
}

/// An in-place run that made an item again and stopped before finishing it (here its sharing is
/// refused) leaves it to the next run, which finds it as unfinished — with the id it kept, not
/// a copy — and finishes it: the item ends as the snapshot has it, without the `source-`
/// keyword a copy under a new id carries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_made_again_and_left_unfinished_is_finished_by_the_next_run() {
    let Scene {
        s,
        demo,
        dir,
        admin,
        archive,
        snapshot,
    } = scene(true).await;
    damage(&s, "site", &demo, false).await;
    let map = demo.items["inspections-map"].clone();
    s.set_faults(orgpack_sandbox::Faults {
        refuse: Some("/share".into()),
        refuse_item: Some(map.as_str().into()),
        ..orgpack_sandbox::Faults::default()
    });
    let first = in_place(&s, &archive, &snapshot, "site", dir.path(), false).await;
    s.set_faults(orgpack_sandbox::Faults::default());
    let entry = first.items.iter().find(|e| e.source_id == map).unwrap();
    assert_eq!(entry.status, Status::Failed, "{entry:?}");
    assert_eq!(
        entry.target_id.as_deref(),
        Some(map.as_str()),
        "made with its own id"
    );

    let plan = in_place(&s, &archive, &snapshot, "site", dir.path(), true).await;
    let entry = plan.items.iter().find(|e| e.source_id == map).unwrap();
    assert_eq!(
        (entry.action, entry.reason.as_deref()),
        (
            Action::Create,
            Some("made again by a run cut short: finished")
        ),
        "{entry:?}"
    );
    let second = in_place(&s, &archive, &snapshot, "site", dir.path(), false).await;
    let entry = second.items.iter().find(|e| e.source_id == map).unwrap();
    assert_eq!(entry.status, Status::Created, "{entry:?}");
    assert_no_source_keyword(&admin, &map).await;
    let sharing = admin.user_item("editor", &map).await.unwrap();
    assert!(
        !sharing["sharing"]["groups"].as_array().unwrap().is_empty(),
        "shared again: {sharing}"
    );
}

/// A hosted service made again with its own id whose load was cut short is rebuilt to the end by
/// the next run, keeping its id: no `source-` keyword as a copy under a new id would carry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_made_again_and_left_half_loaded_is_finished_with_its_own_id() {
    let Scene {
        s,
        demo,
        dir,
        admin,
        archive,
        snapshot,
    } = scene(true).await;
    damage(&s, "site", &demo, false).await;
    let service = demo.items["inspections"].clone();
    s.set_faults(orgpack_sandbox::Faults {
        refuse: Some("/append".into()),
        ..orgpack_sandbox::Faults::default()
    });
    let first = in_place(&s, &archive, &snapshot, "site", dir.path(), false).await;
    s.set_faults(orgpack_sandbox::Faults::default());
    let entry = first.items.iter().find(|e| e.source_id == service).unwrap();
    assert_eq!(entry.status, Status::Failed, "{entry:?}");
    let second = in_place(&s, &archive, &snapshot, "site", dir.path(), false).await;
    let entry = second
        .items
        .iter()
        .find(|e| e.source_id == service)
        .unwrap();
    assert_eq!(
        (entry.status, entry.target_id.as_deref()),
        (Status::Created, Some(service.as_str())),
        "{entry:?}"
    );
    assert_no_source_keyword(&admin, &service).await;
}

/// Item `id` carries no `source-<id>` keyword: it was made with its own id, not as a copy.
async fn assert_no_source_keyword(admin: &Client, id: &str) {
    let item = admin.item(id).await.unwrap();
    let keywords = item["typeKeywords"].as_array().unwrap();
    assert!(
        keywords
            .iter()
            .all(|k| !k.as_str().unwrap_or_default().starts_with("source-")),
        "{id}: {keywords:?}"
    );
}

/// The tile layers and the view deleted for good (recycle bin emptied): made again from the City
/// still there, under their own service names (so at their URLs), related from it; nothing
/// doubled, and a second run has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tile_layers_and_a_view_deleted_for_good_are_made_again_from_the_layer_still_there() {
    let Scene {
        s,
        demo,
        dir,
        admin,
        archive,
        snapshot,
    } = scene(false).await;
    let org_id = admin.portal_self().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = titles(&admin, &org_id).await;
    let editor = client(&s, "demo", "editor");
    let derived_keys = ["city-tiles", "city-vector", "hydrants-view"];
    let urls: Vec<String> = derived_keys.iter().map(|k| demo.urls[*k].clone()).collect();
    for key in derived_keys {
        call(
            &editor,
            &format!("content/users/editor/items/{}/delete", demo.items[key]),
            &[("permanentDelete", "true")],
        )
        .await;
    }
    let report = in_place(&s, &archive, &snapshot, "demo", dir.path(), false).await;
    assert!(report.is_complete(), "{report:#?}");
    let mut made = Vec::new();
    for key in derived_keys {
        let e = report
            .items
            .iter()
            .find(|e| e.source_id == demo.items[key])
            .unwrap();
        assert_eq!(e.status, Status::Created, "{e:#?}");
        made.push(e.target_id.clone().unwrap());
    }
    // Same names, so the same URLs; drawn from City; related from it.
    for (id, url) in made.iter().zip(&urls) {
        assert_eq!(admin.item(id).await.unwrap()["url"], url.as_str());
    }
    let derived = admin
        .related_items(&demo.items["city"], "Service2Service", true)
        .await
        .unwrap();
    for id in &made {
        assert!(
            derived.iter().any(|d| d["id"] == id.as_str()),
            "{derived:?}"
        );
    }
    // Nothing doubled: the same titles, once each.
    let after = titles(&admin, &org_id).await;
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    assert!(after.values().all(|ids| ids.len() == 1), "{after:?}");
    let again = in_place(&s, &archive, &snapshot, "demo", dir.path(), true).await;
    assert!(
        again.items.iter().all(|e| matches!(e.action, Action::Skip)),
        "{:#?}",
        again
            .items
            .iter()
            .filter(|e| !matches!(e.action, Action::Skip))
            .collect::<Vec<_>>()
    );
}
