//! The demo organization, backed up and restored into two empty organizations at once: everything
//! arrives, and nothing restored points back at the source.

use orgpack_archive::{Archive, Repository};
use orgpack_portal::{Client, ClientOptions, Credentials, PortalUrl};
use orgpack_restore::{RestoreOptions, Status, Target, restore};
use orgpack_sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;

const PW: &str = "Demo-restore-pw-4";

fn client(s: &Sandbox, org: &str, user: &str) -> Client {
    Client::new(
        PortalUrl::parse(&s.portal_url(org)).unwrap(),
        Credentials::Password {
            username: user.into(),
            password: PW.into(),
        },
        // The sandbox's Hub domain service, where restored Hub sites are registered.
        ClientOptions {
            hub_url: Some(s.hub_url()),
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_org_into_two_organizations_with_nothing_pointing_back() {
    let s = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let demo = s.seed_demo("demo", PW).await.unwrap();
    let source = client(&s, "demo", "admin");
    let source_org = source.portal_self().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A registered (not hosted) service with popups in its data: an item with a URL and data.
    let popups = r#"{"layers":[{"id":0,"popupInfo":{"title":"Road {name}"}}]}"#;
    let roads_url = "https://services.example.com/arcgis/rest/services/Roads/FeatureServer";
    let roads = source
        .add_item(
            "admin",
            None,
            &[
                ("title", "Roads (registered)"),
                ("type", "Feature Service"),
                ("url", roads_url),
            ],
            orgpack_portal::Content::Text(popups),
            1 << 20,
        )
        .await
        .unwrap();
    // The Inspections service shared into the shared-update group Hydrant Editors (its owner,
    // editor, manages it), as a field team sets it up.
    let editor = Client::new(
        PortalUrl::parse(&s.portal_url("demo")).unwrap(),
        Credentials::Password {
            username: "editor".into(),
            password: PW.into(),
        },
        ClientOptions::default(),
    )
    .unwrap();
    let refused = editor
        .share_item_with(
            "editor",
            &demo.items["inspections"],
            false,
            false,
            &[&demo.groups["field-crews"], &demo.groups["hydrant-editors"]],
            true,
        )
        .await
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repository::open_or_init(&dir.path().join("repo")).unwrap();
    let options = orgpack_backup::PlanOptions::whole_org(dir.path().join("spool"));
    let plan = orgpack_backup::plan(&source, &options, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    let outcome = orgpack_backup::run(&source, &plan, &mut repo, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    let archive = Archive::open(&dir.path().join("repo")).unwrap();
    let snapshot = archive.snapshot(&outcome.snapshot).unwrap();

    for org in ["north", "south"] {
        s.add_org(org, org).unwrap();
        for (user, role) in [
            ("admin", "org_admin"),
            ("editor", "org_publisher"),
            ("viewer", "org_user"),
        ] {
            s.add_user(org, user, PW, role).unwrap();
        }
    }
    let targets: Vec<Target> = ["north", "south"]
        .iter()
        .map(|org| Target {
            name: (*org).to_owned(),
            client: client(&s, org, "admin"),
            journal: dir.path().join(format!("{org}.sqlite")),
        })
        .collect();
    let reports = restore(
        &archive,
        &snapshot,
        &targets,
        &RestoreOptions {
            staging_dir: dir.path().to_owned(),
            ..RestoreOptions::default()
        },
        false,
    )
    .await
    .unwrap();

    for (report, target) in reports.iter().zip(&targets) {
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(report.counts().created, 36);
        // The per-type summary: every type of the organization, nothing incomplete.
        let types = report.by_type();
        for t in &types {
            assert_eq!(t.counts.incomplete, 0, "{}: {:#?}", t.item_type, report);
        }
        let names: Vec<&str> = types.iter().map(|t| t.item_type.as_str()).collect();
        for kind in [
            "Map Service",
            "Vector Tile Service",
            "Scene Service",
            "Web Scene",
            "Web Experience",
            "StoryMap",
            "Hub Page",
            "Notebook",
            "QuickCapture Project",
            "Form",
            "Dashboard",
            "Web Mapping Application",
            "Map Area",
            "SQLite Geodatabase",
            "Hub Site Application",
            "Vector Tile Package",
            "Compact Tile Package",
        ] {
            assert!(names.contains(&kind), "{kind} in {names:?}");
        }
        let new = |key: &str| {
            report
                .items
                .iter()
                .find(|e| e.source_id == demo.items[key])
                .and_then(|e| e.target_id.clone())
                .unwrap()
        };
        let c = &target.client;
        // The target holds the source's items and nothing else (no uploaded exports left).
        let me = c.portal_self().await.unwrap();
        let all = c
            .search_all(&format!("orgid:{}", me["id"].as_str().unwrap()), 100)
            .await
            .unwrap();
        let titles: Vec<&str> = all.iter().map(|i| i["title"].as_str().unwrap()).collect();
        assert_eq!(all.len(), 36, "{titles:?}");
        // The layers published from uploaded packages, published again from the restored ones.
        for (layer, package) in [
            ("basemap-vector", "basemap-vtpk"),
            ("relief-tiles", "relief-tpkx"),
        ] {
            let from = c
                .related_items(&new(layer), "Service2Data", true)
                .await
                .unwrap();
            assert_eq!(from[0]["id"], new(package).as_str(), "{layer}");
        }
        // The Workforce project names its restored group and maps, which name it.
        let project = c.item(&new("workforce")).await.unwrap();
        let props = &project["properties"];
        assert_eq!(
            props["workforceDispatcherMapId"],
            new("workforce-dispatcher").as_str()
        );
        assert_eq!(
            props["workforceWorkerMapId"],
            new("workforce-worker").as_str()
        );
        let group = props["workforceProjectGroupId"].as_str().unwrap();
        assert_eq!(c.group(group).await.unwrap()["title"], "Hydrant repairs");
        assert_eq!(
            c.item(&new("workforce-worker")).await.unwrap()["properties"]["workforceFeatureServiceId"],
            new("workforce").as_str()
        );
        // The Hub site, on the web at its subdomain under the target's key.
        let site = new("hub-site");
        let key = c.portal_self().await.unwrap()["urlKey"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase();
        let host = format!("hydrants-{key}.hub.arcgis.com");
        let entry = c.hub_domain(&s.hub_url(), &host).await.unwrap().unwrap();
        assert_eq!(entry["siteId"], site.as_str());
        assert_eq!(
            c.item(&site).await.unwrap()["url"],
            format!("https://{host}").as_str()
        );
        // The map area, made again for the restored map by the target's packaging service,
        // with the package its setup made from the restored Inspections.
        let areas = c
            .related_items(&new("inspections-map"), "Map2Area", true)
            .await
            .unwrap();
        assert_eq!(areas.len(), 1);
        assert_eq!(areas[0]["id"], new("downtown-area").as_str());
        let packages = c
            .related_items(&new("downtown-area"), "Area2Package", true)
            .await
            .unwrap();
        assert_eq!(packages[0]["id"], new("downtown-area-package").as_str());
        // A service of another server is restored with its URL, said external.
        let imagery = report
            .items
            .iter()
            .find(|e| e.source_id == demo.items["state-imagery"])
            .unwrap();
        assert!(
            imagery
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("external: ") && r.contains("gis.state.example")),
            "{imagery:?}"
        );
        // An item with a URL and data keeps both.
        let restored = report
            .items
            .iter()
            .find(|e| e.source_id == roads)
            .and_then(|e| e.target_id.clone())
            .unwrap();
        assert_eq!(c.item(&restored).await.unwrap()["url"], roads_url);
        let mut data = Vec::new();
        c.item_data(&restored, &mut data).await.unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&data).unwrap()["layers"][0]["popupInfo"]["title"],
            "Road {name}"
        );
        // A republished service's item data (its popups) comes back.
        let mut data = Vec::new();
        c.item_data(&new("city"), &mut data).await.unwrap();
        let popups: Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(
            popups["layers"][0]["popupInfo"]["title"],
            "Hydrant {hydrant_id}"
        );
        // Owners and folders as in the source.
        let map = c.item(&new("city-map")).await.unwrap();
        assert_eq!(map["owner"], "editor");
        let folders = c.user_folders("editor").await.unwrap();
        let folder_title = |id: &Value| {
            folders
                .iter()
                .find(|f| &f["id"] == id)
                .map(|f| f["title"].as_str().unwrap().to_owned())
        };
        assert_eq!(
            folder_title(&map["ownerFolder"]).as_deref(),
            Some("Planning")
        );
        let city = c.item(&new("city")).await.unwrap();
        assert_eq!(
            folder_title(&city["ownerFolder"]).as_deref(),
            Some("Utilities")
        );
        assert_eq!(c.item(&new("handbook")).await.unwrap()["owner"], "viewer");
        assert_eq!(c.item(&new("brochure")).await.unwrap()["protected"], true);
        // Sharing: access and the groups, by title.
        let view = c.user_item("editor", &new("dashboard")).await.unwrap();
        assert_eq!(view["sharing"]["access"], "shared");
        let mut titles = Vec::new();
        for g in view["sharing"]["groups"].as_array().unwrap() {
            titles.push(
                c.group(g.as_str().unwrap()).await.unwrap()["title"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        titles.sort();
        assert_eq!(titles, ["Field Crews", "Public Works"]);
        // The shared-update group comes back as one, with the service shared into it.
        let shared = c.user_item("editor", &new("inspections")).await.unwrap();
        let mut update_groups = Vec::new();
        for g in shared["sharing"]["groups"].as_array().unwrap() {
            let group = c.group(g.as_str().unwrap()).await.unwrap();
            if group["title"] == "Hydrant Editors" {
                update_groups.push(group["capabilities"].clone());
            }
        }
        assert_eq!(
            update_groups,
            vec![serde_json::json!(["updateitemcontrol"])]
        );
        // A created group has the source's owner (editor, to whom the restoring administrator
        // handed it) and members (viewer, and admin as the plain member the source had).
        for g in view["sharing"]["groups"].as_array().unwrap() {
            let g = g.as_str().unwrap();
            if c.group(g).await.unwrap()["title"] == "Field Crews" {
                let members = c.group_members(g).await.unwrap();
                assert_eq!(members["owner"], "editor");
                assert_eq!(
                    members["admins"],
                    serde_json::json!(["editor"]),
                    "the owner only"
                );
                assert_eq!(members["users"], serde_json::json!(["admin", "viewer"]));
            }
        }
        assert_eq!(
            c.item(&new("viewer-app")).await.unwrap()["access"],
            "public"
        );
        // Relationships between the new items.
        let related = c
            .related_items(&new("form"), "Survey2Service", true)
            .await
            .unwrap();
        assert_eq!(related[0]["id"], new("inspections").as_str());
        let related = c
            .related_items(&new("inspections-map"), "Map2Service", true)
            .await
            .unwrap();
        assert_eq!(related.len(), 2);
        // Resources, thumbnails, metadata.
        let paths: Vec<String> = c
            .item_resources(&new("viewer-app"))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(paths, ["config/settings.json", "images/logo.png"]);
        assert!(c.item(&new("city-map")).await.unwrap()["thumbnail"].is_string());
        let mut xml = Vec::new();
        assert!(
            c.item_metadata(&new("city-gdb"), &mut xml)
                .await
                .unwrap()
                .is_some()
        );
        // Services answer the payload's counts.
        let city_url = city["url"].as_str().unwrap().to_owned();
        assert_eq!(
            c.feature_count(&format!("{city_url}/0")).await.unwrap(),
            250
        );
        assert_eq!(c.feature_count(&format!("{city_url}/1")).await.unwrap(), 12);
        let inspections = c.item(&new("inspections")).await.unwrap();
        // Field Maps: the map is offline-enabled and its editable layer's service syncs, so the
        // restored map can be taken offline again.
        let service = c
            .call(
                "service",
                orgpack_portal::Method::Get,
                inspections["url"].as_str().unwrap(),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(service["syncEnabled"], true, "{service}");
        assert!(
            service["capabilities"].as_str().unwrap().contains("Sync"),
            "{service}"
        );
        let mut map_data = Vec::new();
        c.item_data(&new("inspections-map"), &mut map_data)
            .await
            .unwrap();
        let map_data: Value = serde_json::from_slice(&map_data).unwrap();
        assert_eq!(
            map_data["applicationProperties"]["offline"]["editableLayers"]["sync"],
            "syncFeaturesAndAttachments"
        );
        assert_eq!(
            c.feature_count(&format!("{}/0", inspections["url"].as_str().unwrap()))
                .await
                .unwrap(),
            3000
        );

        // Nothing restored names the source organization: no item id, service URL, portal URL or
        // organization id of the source, in any item JSON, data or JSON resource.
        let source_ids: Vec<&String> = demo.items.values().collect();
        for e in &report.items {
            let id = e.target_id.as_ref().unwrap();
            let mut json = c.item(id).await.unwrap();
            json.as_object_mut().unwrap().remove("typeKeywords");
            let mut text = json.to_string();
            let mut data = Vec::new();
            if c.item_data(id, &mut data).await.is_ok() {
                text.push_str(&String::from_utf8_lossy(&data));
            }
            for r in c.item_resources(id).await.unwrap() {
                if r.path.to_ascii_lowercase().ends_with(".json") {
                    let mut bytes = Vec::new();
                    c.item_resource(id, &r.path, &mut bytes).await.unwrap();
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            for old in &source_ids {
                assert!(
                    !text.contains(old.as_str()),
                    "{} names source item {old}",
                    e.title
                );
            }
            assert!(
                !text.contains("/demo/"),
                "{} names the source portal: {text}",
                e.title
            );
            assert!(
                !text.contains(&source_org),
                "{} names the source organization",
                e.title
            );
        }
        assert!(report.items.iter().all(|e| e.status == Status::Created));
        // The library's own read-back check agrees.
        let checked = orgpack_restore::check_target(c, &snapshot, report).await;
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        assert_eq!(checked.items, 36);
        // Every item's access and each of its group shares compared; its JSON, document data
        // and JSON resources searched.
        assert_eq!(
            checked.sharing,
            snapshot
                .items
                .iter()
                .map(|i| 1 + i.sharing.groups.len())
                .sum::<usize>()
        );
        assert_eq!(
            checked.documents,
            snapshot
                .items
                .iter()
                .map(|i| {
                    1 + usize::from(i.data.as_ref().is_some_and(|d| d.name.is_none()))
                        + i.resources
                            .iter()
                            .filter(|r| r.path.to_ascii_lowercase().ends_with(".json"))
                            .count()
                        + package_text_files(&archive, i)
                })
                .sum::<usize>()
        );
        // Counted by name: City's related table Flow_tests among them (its attachment table is
        // the Hydrants layer's attachments, not a layer of its own), and the Workforce
        // project's three layers and two tables.
        assert_eq!(checked.layers, 10);
        // The view was made again on the restored City, with its definition query.
        let view = c.item(&new("hydrants-view")).await.unwrap();
        assert!(
            view["typeKeywords"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!("View Service")),
            "{view}"
        );
        let view_url = view["url"].as_str().unwrap();
        let sources = c
            .call(
                "sources",
                orgpack_portal::Method::Get,
                &format!("{view_url}/sources"),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(
            sources["services"][0]["serviceItemId"],
            new("city").as_str()
        );
        let layer = c
            .call(
                "view layer",
                orgpack_portal::Method::Get,
                &format!("{view_url}/0"),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(layer["viewDefinitionQuery"], "STATUS <> 'retired'");
        if report.target == "north" {
            // A reference left behind is found.
            let bad = serde_json::json!({"widgets": [{"type": "mapWidget", "itemId": demo.items["city-map"]}]});
            c.update_item(
                "editor",
                None,
                &new("dashboard"),
                &[],
                orgpack_portal::Content::Text(&bad.to_string()),
            )
            .await
            .unwrap();
            let checked = orgpack_restore::check_target(c, &snapshot, report).await;
            assert_eq!(checked.problems.len(), 1, "{:?}", checked.problems);
            assert!(
                checked.problems[0].starts_with("Hydrant dashboard data: still names"),
                "{:?}",
                checked.problems
            );
            // A part that cannot be read back is a problem, not a pass.
            s.set_faults(orgpack_sandbox::Faults {
                drop_resource: Some("config/settings.json".into()),
                ..orgpack_sandbox::Faults::default()
            });
            let checked = orgpack_restore::check_target(c, &snapshot, report).await;
            s.set_faults(orgpack_sandbox::Faults::default());
            assert!(
                checked
                    .problems
                    .iter()
                    .any(|p| p.starts_with("City viewer (") && p.contains("config/settings.json")),
                "{:?}",
                checked.problems
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_view_is_made_again_on_both_restored_services() {
    use orgpack_portal::Content;
    let s = Sandbox::start(SandboxOptions::default()).await.unwrap();
    for org in ["src", "dst"] {
        s.add_org(org, org).unwrap();
        s.add_user(org, "admin", PW, "org_admin").unwrap();
    }
    let admin = client(&s, "src", "admin");
    let payloads = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/payloads");
    let dir = tempfile::tempdir().unwrap();
    let publish = async |file: &std::path::Path, kind: &str, item_type: &str, name: &str| {
        let file_name = file.file_name().unwrap().to_str().unwrap().to_owned();
        let id = admin
            .add_item(
                "admin",
                None,
                &[("title", name), ("type", item_type)],
                Content::File {
                    path: file,
                    name: &file_name,
                },
                1 << 20,
            )
            .await
            .unwrap();
        admin
            .publish("admin", &id, kind, &format!(r#"{{"name":"{name}"}}"#))
            .await
            .unwrap()
    };
    publish(
        &payloads.join("City.gdb.zip"),
        "fileGeodatabase",
        "File Geodatabase",
        "City",
    )
    .await;
    // (The sandbox exports services to File Geodatabases only when published from one.)
    publish(
        &payloads.join("Inspections.gdb.zip"),
        "fileGeodatabase",
        "File Geodatabase",
        "Inspections",
    )
    .await;
    let view = admin
        .create_service("admin", None, r#"{"name":"HydrantRepairs"}"#, true, &[])
        .await
        .unwrap();
    let definition = serde_json::json!({"layers": [{"name": "HydrantRepairs", "adminLayerInfo": {
        "viewLayerDefinition": {"table": {"name": "hydrants", "sourceServiceName": "City",
            "sourceLayerId": 0, "sourceLayerFields": "*", "relatedTables": [{"name": "inspections",
                "sourceServiceName": "Inspections", "sourceLayerId": 0, "sourceLayerFields": "*",
                "parentKeyFields": ["hydrant_id"], "keyFields": ["hydrant_id"], "type": "INNER"}]}}}}]});
    admin
        .add_to_definition(
            view.service_url.as_deref().unwrap(),
            &definition.to_string(),
        )
        .await
        .unwrap();

    let (outcome, reports, targets) = back_up_and_restore(&s, &admin, dir.path()).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert!(reports[0].is_complete(), "{:#?}", reports[0]);

    // The restored view joins the restored services, and counts what the original does.
    let c = &targets[0].client;
    let new_view = reports[0]
        .items
        .iter()
        .find(|e| e.source_id == view.service_item_id)
        .and_then(|e| e.target_id.clone())
        .unwrap();
    let url = c.item(&new_view).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.contains("/dst/"), "{url}");
    // Every hydrant has inspections: the inner join keeps all 250.
    assert_eq!(c.feature_count(&format!("{url}/0")).await.unwrap(), 250);
    let admin_def = c
        .call(
            "admin",
            orgpack_portal::Method::Get,
            &orgpack_portal::admin_url(&url),
            &[],
        )
        .await
        .unwrap();
    let table = &admin_def["layers"][0]["adminLayerInfo"]["viewLayerDefinition"]["table"];
    let sources = c
        .call(
            "sources",
            orgpack_portal::Method::Get,
            &format!("{url}/sources"),
            &[],
        )
        .await
        .unwrap();
    let restored: Vec<&str> = sources["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert_eq!(restored.len(), 2);
    assert!(restored.iter().all(|u| u.contains("/dst/")), "{restored:?}");
    assert_eq!(table["relatedTables"][0]["type"], "INNER");
    assert!(
        restored.iter().any(|u| u.contains(&format!(
            "/{}/",
            table["relatedTables"][0]["sourceServiceName"]
                .as_str()
                .unwrap()
        ))),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_the_backup_could_not_export_is_republished_from_its_original_file() {
    use orgpack_portal::Content;
    let s = Sandbox::start(SandboxOptions::default()).await.unwrap();
    for org in ["src", "dst"] {
        s.add_org(org, org).unwrap();
        s.add_user(org, "admin", PW, "org_admin").unwrap();
    }
    let admin = client(&s, "src", "admin");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("repairs.csv");
    std::fs::write(&csv, "hydrant_id,crew,x,y\nH-0001,A,-117.2,34.05\nH-0002,B,-117.1,34.06\nH-0003,C,-117.0,34.07\n").unwrap();
    let file = admin
        .add_item(
            "admin",
            None,
            &[("title", "Repairs"), ("type", "CSV")],
            Content::File {
                path: &csv,
                name: "repairs.csv",
            },
            1 << 20,
        )
        .await
        .unwrap();
    let published = admin
        .publish("admin", &file, "csv", r#"{"name":"Repairs"}"#)
        .await
        .unwrap();

    // The portal refuses to export the service (as one whose export is disabled, or a failing
    // export job, would): the backup says so, and keeps the CSV it was published from.
    s.set_faults(orgpack_sandbox::Faults {
        refuse: Some("export".into()),
        refuse_item: Some(published.service_item_id.as_str().into()),
        ..orgpack_sandbox::Faults::default()
    });
    let (outcome, reports, targets) = back_up_and_restore(&s, &admin, dir.path()).await;
    assert!(
        outcome
            .failures
            .iter()
            .any(|f| f.id == published.service_item_id && f.part.as_deref() == Some("export")),
        "{:?}",
        outcome.failures
    );
    let entry = reports[0]
        .items
        .iter()
        .find(|e| e.source_id == published.service_item_id)
        .unwrap();
    assert_eq!(entry.status, Status::Created, "{entry:?}");
    assert!(
        entry
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("first published from")),
        "{entry:?}"
    );
    let c = &targets[0].client;
    let url = c.item(entry.target_id.as_deref().unwrap()).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.contains("/dst/"),
        "a service of its own, not a link back: {url}"
    );
    assert_eq!(c.feature_count(&format!("{url}/0")).await.unwrap(), 3);
}

/// Back the source org (`admin`'s) up whole into `dir/repo`, then restore the snapshot into the
/// sandbox's `dst` organization.
async fn back_up_and_restore(
    s: &Sandbox,
    admin: &Client,
    dir: &std::path::Path,
) -> (
    orgpack_backup::Outcome,
    Vec<orgpack_restore::TargetReport>,
    [Target; 1],
) {
    let mut repo = Repository::open_or_init(&dir.join("repo")).unwrap();
    let options = orgpack_backup::PlanOptions::whole_org(dir.join("spool"));
    let plan = orgpack_backup::plan(admin, &options, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    let outcome = orgpack_backup::run(admin, &plan, &mut repo, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    let archive = Archive::open(&dir.join("repo")).unwrap();
    let snapshot = archive.snapshot(&outcome.snapshot).unwrap();
    let targets = [Target {
        name: "dst".into(),
        client: client(s, "dst", "admin"),
        journal: dir.join("dst.sqlite"),
    }];
    let reports = restore(
        &archive,
        &snapshot,
        &targets,
        &RestoreOptions {
            staging_dir: dir.to_owned(),
            ..RestoreOptions::default()
        },
        false,
    )
    .await
    .unwrap();
    (outcome, reports, targets)
}

/// The text files of a form's package (its data zip) that the read-back check searches.
fn package_text_files(archive: &Archive, item: &orgpack_archive::manifest::Item) -> usize {
    let Some(data) = item.data.as_ref().filter(|_| item.item_type == "Form") else {
        return 0;
    };
    let bytes = archive.read_part(&data.content).unwrap();
    super::forms::unzip(&bytes)
        .iter()
        .filter(|(name, _)| orgpack_graph::is_package_text(name))
        .count()
}
