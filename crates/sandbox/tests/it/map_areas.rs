//! Offline map areas through the packaging service `portals/self` names: `CreateMapArea` and
//! `SetupMapArea` as jobs, what they make, and what they refuse.

use std::time::Duration;

use orgpack_portal::{Client, ErrorKind, Method, NewMapArea};
use orgpack_sandbox::SandboxOptions;
use serde_json::{Value, json};

use crate::conformance::{add_city_gdb, client, sandbox_with};

const WAIT: Duration = Duration::from_secs(10);

/// A web map of `layers` (operational layer URLs), with `keywords`, and a bookmark `Downtown`
/// over `extent`: its id.
async fn add_map(editor: &Client, layers: &[String], keywords: &str, extent: &Value) -> String {
    let operational: Vec<Value> = layers
        .iter()
        .enumerate()
        .map(|(i, url)| json!({"id": format!("layer-{i}"), "title": format!("Layer {i}"), "url": url, "layerType": "ArcGISFeatureLayer"}))
        .collect();
    let data = json!({
        "operationalLayers": operational,
        "baseMap": {"title": "Topographic", "baseMapLayers": [{"id": "topo", "title": "World Topo", "url": "https://services.arcgisonline.com/ArcGIS/rest/services/World_Topo_Map/MapServer", "layerType": "ArcGISTiledMapServiceLayer"}]},
        "bookmarks": [{"name": "Downtown", "extent": extent}],
        "spatialReference": {"wkid": 102_100, "latestWkid": 3857}, "version": "2.31",
    });
    let text = data.to_string();
    let added = editor
        .call(
            "addItem",
            Method::Post,
            "content/users/editor/addItem",
            &[
                ("type", "Web Map"),
                ("title", "City field map"),
                ("typeKeywords", keywords),
                ("text", &text),
            ],
        )
        .await
        .unwrap();
    added["id"].as_str().unwrap().to_owned()
}

fn portal_details(e: &orgpack_portal::Error) -> String {
    match &e.kind {
        ErrorKind::Portal {
            message, details, ..
        } => format!("{message} {}", details.join(" ")),
        other => panic!("expected a portal error, got {other}"),
    }
}

#[tokio::test]
async fn a_map_area_is_made_of_an_offline_map_and_packaged_from_its_synced_layers() {
    let sandbox = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&sandbox, "source", "editor");
    let file = add_city_gdb(&editor).await;
    let published = editor
        .publish("editor", &file, "fileGeodatabase", r#"{"name":"City"}"#)
        .await
        .unwrap();
    let city = published.service_url.clone().unwrap();
    let hydrants = format!("{city}/0");
    let layer = editor
        .call("layer", Method::Get, &hydrants, &[])
        .await
        .unwrap();
    // The bookmark: the south-west quarter of the hydrants' extent.
    let e = &layer["extent"];
    let n = |k: &str| e[k].as_f64().unwrap();
    let extent = json!({
        "xmin": n("xmin"), "ymin": n("ymin"),
        "xmax": f64::midpoint(n("xmin"), n("xmax")), "ymax": f64::midpoint(n("ymin"), n("ymax")),
        "spatialReference": e["spatialReference"],
    });

    // The portal names its packaging service.
    let service = editor
        .packaging_url()
        .await
        .unwrap()
        .expect("packaging url");
    assert!(
        service.ends_with("/System/OfflinePackaging/GPServer"),
        "{service}"
    );
    let info = editor.call("gp", Method::Get, &service, &[]).await.unwrap();
    assert_eq!(info["tasks"], json!(["CreateMapArea", "SetupMapArea"]));
    assert_eq!(info["executionType"], "esriExecutionTypeAsynchronous");

    // A map not enabled for offline use has no areas.
    let online_only = add_map(&editor, std::slice::from_ref(&hydrants), "Web Map", &extent).await;
    let bookmark = json!({"name": "Downtown"});
    let output = json!({"title": "Downtown"});
    let new = |map| NewMapArea {
        map,
        area_type: "BOOKMARK",
        area: &bookmark,
        output_name: &output,
    };
    let refused = editor
        .create_map_area(&service, &new(&online_only), WAIT)
        .await
        .unwrap_err();
    assert!(
        portal_details(&refused).contains("not enabled for offline use"),
        "{refused}"
    );

    let map = add_map(
        &editor,
        std::slice::from_ref(&hydrants),
        "Web Map,Offline",
        &extent,
    )
    .await;
    // An unknown parameter is refused, never ignored; so is execute.
    let unknown = editor
        .call(
            "submitJob",
            Method::Post,
            &format!("{service}/CreateMapArea/submitJob"),
            &[("mapItemId", &map), ("clipArea", "true")],
        )
        .await
        .unwrap_err();
    assert!(portal_details(&unknown).contains("'clipArea'"), "{unknown}");
    assert!(
        editor
            .call(
                "execute",
                Method::Post,
                &format!("{service}/CreateMapArea/execute"),
                &[("mapItemId", &map)]
            )
            .await
            .is_err()
    );

    let area = editor
        .create_map_area(&service, &new(&map), WAIT)
        .await
        .unwrap();
    let item = editor.item(&area).await.unwrap();
    assert_eq!(item["type"], "Map Area");
    assert_eq!(item["title"], "Downtown");
    assert_eq!(item["properties"]["areaType"], "BOOKMARK");
    assert_eq!(item["properties"]["area"], extent);
    assert_eq!(item["properties"]["status"], "processing");
    let of_map = editor.related_items(&map, "Map2Area", true).await.unwrap();
    assert_eq!(of_map[0]["id"], area.as_str());

    // Setting up an area whose layer is not sync enabled packages nothing: the job fails.
    let failed = editor
        .setup_map_area(&service, &area, WAIT)
        .await
        .unwrap_err();
    assert!(
        portal_details(&failed).contains("not sync enabled"),
        "{failed}"
    );

    editor
        .update_definition(&city, r#"{"capabilities":"Query,Sync","syncEnabled":true}"#)
        .await
        .unwrap();
    // Tile packages are not made here: asked for, the job fails.
    let tiles = editor
        .call(
            "submitJob",
            Method::Post,
            &format!("{service}/SetupMapArea/submitJob"),
            &[
                ("mapAreaItemId", &area),
                (
                    "tileServices",
                    r#"[{"url":"https://example.com/MapServer","levels":"1,2"}]"#,
                ),
            ],
        )
        .await
        .unwrap();
    let job = tiles["jobId"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let status = editor
        .call(
            "job",
            Method::Get,
            &format!("{service}/SetupMapArea/jobs/{job}"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(status["jobStatus"], "esriJobFailed", "{status}");

    let packages = editor.setup_map_area(&service, &area, WAIT).await.unwrap();
    let packages: Value = serde_json::from_str(packages.as_str().unwrap()).unwrap();
    assert_eq!(packages.as_array().unwrap().len(), 1, "{packages}");
    let package = packages[0]["itemId"].as_str().unwrap();
    let related = editor
        .related_items(&area, "Area2Package", true)
        .await
        .unwrap();
    assert_eq!(related[0]["id"], package);
    assert_eq!(related[0]["type"], "SQLite Geodatabase");
    assert_eq!(
        editor.item(&area).await.unwrap()["properties"]["status"],
        "complete"
    );

    // The package holds the hydrants within the area, as a query for them finds.
    let envelope = extent.to_string();
    let expected = editor
        .call(
            "query",
            Method::Get,
            &format!("{hydrants}/query"),
            &[
                ("where", "1=1"),
                ("geometry", &envelope),
                ("geometryType", "esriGeometryEnvelope"),
                ("returnCountOnly", "true"),
            ],
        )
        .await
        .unwrap()["count"]
        .as_u64()
        .unwrap();
    assert!(
        expected > 0 && expected < 250,
        "{expected} of 250 in the quarter"
    );
    let mut bytes = Vec::new();
    editor.item_data(package, &mut bytes).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("package.geodatabase");
    std::fs::write(&path, &bytes).unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM Hydrants", [], |r| r.get(0))
        .unwrap();
    assert_eq!(u64::try_from(rows).unwrap(), expected);

    // An area is set up once.
    let again = editor
        .setup_map_area(&service, &area, WAIT)
        .await
        .unwrap_err();
    assert!(portal_details(&again).contains("set up already"), "{again}");
}
