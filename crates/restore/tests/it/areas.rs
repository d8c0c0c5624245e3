//! An offline map area comes back as the portal makes one: made again by the target's packaging
//! service for the restored map, over the source area's geometry, with the source's title, tags,
//! properties and refresh settings, its package made from the target's (restored, synced) layer
//! and matched to the source's package; a second run makes nothing twice.

use std::time::Duration;

use orgpack_portal::{Client, Content, Method, NewMapArea};
use serde_json::{Value, json};

use super::seed::{client, seeded};
use orgpack_restore::restore;

use super::{backed_up, empty_target, entry, options, org_items, restored_into};

const WAIT: Duration = Duration::from_secs(10);

/// The rows of table `table` in a package (a SQLite database) of `client`'s item `id`.
async fn package_rows(client: &Client, id: &str, table: &str) -> i64 {
    let mut bytes = Vec::new();
    client.item_data(id, &mut bytes).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("package.geodatabase");
    std::fs::write(&path, &bytes).unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    db.query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |r| {
        r.get(0)
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_map_area_is_made_again_for_the_restored_map_with_its_package() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let city = editor.item(&s.city).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    // Offline use needs sync, as Field Maps Designer turns it on.
    editor
        .update_definition(&city, r#"{"capabilities":"Query,Sync","syncEnabled":true}"#)
        .await
        .unwrap();
    let hydrants = format!("{city}/0");
    let layer = editor
        .call("layer", Method::Get, &hydrants, &[])
        .await
        .unwrap();
    let e = &layer["extent"];
    let n = |k: &str| e[k].as_f64().unwrap();
    let downtown = json!({
        "xmin": n("xmin"), "ymin": n("ymin"),
        "xmax": f64::midpoint(n("xmin"), n("xmax")), "ymax": f64::midpoint(n("ymin"), n("ymax")),
        "spatialReference": e["spatialReference"],
    });
    let map = editor
        .add_item(
            "editor",
            None,
            &[
                ("title", "Hydrants in the field"),
                ("type", "Web Map"),
                ("typeKeywords", "Web Map,Offline"),
            ],
            Content::Text(
                &json!({
                    "operationalLayers": [{"id": "h", "title": "Hydrants", "url": hydrants,
                        "itemId": s.city, "layerType": "ArcGISFeatureLayer"}],
                    "baseMap": {"baseMapLayers": [], "title": "none"},
                    "bookmarks": [{"name": "Downtown", "extent": downtown}],
                    "applicationProperties": {"offline": {"editableLayers": {"download": "features", "sync": "syncFeaturesAndAttachments"}}},
                    "spatialReference": {"wkid": 102_100}, "version": "2.31"
                })
                .to_string(),
            ),
            1 << 20,
        )
        .await
        .unwrap();
    // The area as the official Python client makes it: the job, then its refresh settings as
    // data and its summary, then the packages.
    let service = editor.packaging_url().await.unwrap().unwrap();
    let area = editor
        .create_map_area(
            &service,
            &NewMapArea {
                map: &map,
                area_type: "BOOKMARK",
                area: &json!({"name": "Downtown"}),
                output_name: &json!({"title": "Downtown", "tags": "hydrants,field"}),
            },
            WAIT,
        )
        .await
        .unwrap();
    let refresh = json!({"mapAreas": {"mapAreaTileScale": {"minScale": 0, "maxScale": 0},
        "mapAreaRefreshParams": {"type": "daily", "startDate": 1_764_806_400_000_i64, "nthDay": 1, "dayOfWeek": 0},
        "mapAreasScheduledUpdatesEnabled": true}});
    editor
        .update_item(
            "editor",
            None,
            &area,
            &[("snippet", "Hydrants downtown, offline")],
            Content::Text(&refresh.to_string()),
        )
        .await
        .unwrap();
    editor.setup_map_area(&service, &area, WAIT).await.unwrap();
    let package = editor
        .related_items(&area, "Area2Package", true)
        .await
        .unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let source_rows = package_rows(&editor, &package, "Hydrants").await;
    assert!(source_rows > 0);
    let source_area = editor.item(&area).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let target = empty_target(&s, "county", dir.path());
    // A first run cut short by the packaging service: the area is made, its setup refused.
    s.sandbox
        .set_faults("refuse=SetupMapArea/submitJob".parse().unwrap());
    let cut = restore(
        &archive,
        &snapshot,
        std::slice::from_ref(&target),
        &options(dir.path()),
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        entry(&cut[0], &area).status,
        orgpack_restore::Status::Failed
    );
    assert_ne!(
        entry(&cut[0], &package).status,
        orgpack_restore::Status::Created
    );
    s.sandbox.set_faults("none".parse().unwrap());
    // Run again, it finishes that area (never a second one) and matches its package.
    let report = restored_into(&archive, &snapshot, &target, dir.path()).await;
    let restored = entry(&report, &area);
    assert_eq!(restored.status, orgpack_restore::Status::Created);
    assert!(restored.incomplete.is_none(), "{:?}", restored.incomplete);
    let why = restored.reason.as_deref().unwrap_or_default();
    assert!(why.contains("packaging service"), "{why}");
    let new_area = restored.target_id.clone().unwrap();
    let new_map = entry(&report, &map).target_id.clone().unwrap();
    let new_package = entry(&report, &package).target_id.clone().unwrap();
    assert_eq!(
        entry(&report, &package).status,
        orgpack_restore::Status::Created
    );

    // The restored map's area, made by the target's packaging service, with the source's
    // description and settings.
    let county = &target.client;
    let areas = county
        .related_items(&new_map, "Map2Area", true)
        .await
        .unwrap();
    assert_eq!(areas.len(), 1);
    assert_eq!(areas[0]["id"], new_area.as_str());
    let got = county.item(&new_area).await.unwrap();
    for key in ["title", "snippet", "tags", "type"] {
        assert_eq!(got[key], source_area[key], "{key}");
    }
    for key in ["area", "areaType", "status"] {
        assert_eq!(
            got["properties"][key], source_area["properties"][key],
            "{key}"
        );
    }
    let mut data = Vec::new();
    county.item_data(&new_area, &mut data).await.unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&data).unwrap(), refresh);
    // Its package: made from the restored layer, the same hydrants, matched to the source's.
    let packages = county
        .related_items(&new_area, "Area2Package", true)
        .await
        .unwrap();
    assert_eq!(packages.len(), 1);
    assert_eq!(packages[0]["id"], new_package.as_str());
    assert_eq!(
        package_rows(county, &new_package, "Hydrants").await,
        source_rows
    );

    // Nothing restored names the source, and nothing is incomplete.
    let checked = orgpack_restore::check_target(county, &snapshot, &report).await;
    assert!(checked.problems.is_empty(), "{:#?}", checked.problems);
    assert_eq!(report.counts().incomplete, 0);
    let title = county.item(&new_package).await.unwrap()["title"].clone();
    assert!(!title.as_str().unwrap().contains(&area), "{title}");

    // Again: nothing made twice.
    let again = restored_into(&archive, &snapshot, &target, dir.path()).await;
    assert_eq!(
        entry(&again, &area).target_id.as_deref(),
        Some(new_area.as_str())
    );
    let kinds: Vec<String> = org_items(county)
        .await
        .into_iter()
        .map(|(i, _)| i["type"].as_str().unwrap().to_owned())
        .filter(|t| t == "Map Area" || t == "SQLite Geodatabase")
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
}
