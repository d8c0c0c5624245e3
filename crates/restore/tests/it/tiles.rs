//! Hosted tile layers and vector tile layers come back as the portal makes them: one drawn from a
//! hosted feature layer published again in the target from the restored feature layer, with the
//! source's scales, so its tiles show the target's data (the same bytes as the source's, the data
//! being the same); one published from a vector tile package published again from the restored
//! package, serving its tiles; a web map drawing them points at them; a scene layer of the feature
//! layer's points published again from it, a web scene pointing at it. Nothing is incomplete.

use std::time::Duration;

use orgpack_portal::{Client, Content, Method};
use serde_json::{Value, json};

use super::seed::{client, seeded};
use super::{backed_up, empty_target, entry, restored_into};

const HALF_WORLD: f64 = 20_037_508.342_787;

async fn publish_tiles(editor: &Client, source: &str, output: &str, parameters: &str) -> String {
    let published = editor
        .publish_with(
            "editor",
            source,
            "featureService",
            parameters,
            &[("outputType", output), ("buildInitialCache", "true")],
        )
        .await
        .unwrap();
    editor
        .wait_for_job(
            "editor",
            &published.service_item_id,
            published.job_id.as_deref(),
            Some("publish"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    published.service_item_id
}

async fn url_of(c: &Client, id: &str) -> String {
    c.item(id).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Tile `z` over the middle of the service's data, and its bytes.
async fn middle_tile(c: &Client, url: &str, z: u32) -> (String, Vec<u8>) {
    let service = c.call("tiles", Method::Get, url, &[]).await.unwrap();
    let extent = &service["fullExtent"];
    let mid =
        |a: &str, b: &str| f64::midpoint(extent[a].as_f64().unwrap(), extent[b].as_f64().unwrap());
    let size = 2.0 * HALF_WORLD / f64::from(1u32 << z);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let at = |v: f64| (v / size).floor() as u64;
    let (y, x) = (
        at(HALF_WORLD - mid("ymin", "ymax")),
        at(mid("xmin", "xmax") + HALF_WORLD),
    );
    let suffix = if url.ends_with("VectorTileServer") {
        ".pbf"
    } else {
        ""
    };
    let path = format!("{z}/{y}/{x}{suffix}");
    let mut bytes = Vec::new();
    c.download("tile", &format!("{url}/tile/{path}"), &mut bytes)
        .await
        .unwrap();
    (path, bytes)
}

/// A vector tile package of two tiles and the layer published from it: their ids and the tiles.
async fn basemap_from_package(editor: &Client) -> (String, String, Vec<(u32, u64, u64, Vec<u8>)>) {
    use orgpack_sandbox::packages;
    let tiles = vec![
        (0, 0, 0, b"\x1a\x05world".to_vec()),
        (12, 1_582, 700, b"\x1a\x06street".to_vec()),
    ];
    let root = packages::web_mercator_root(true, "Basemap", 12);
    let style = json!({"version": 8, "sources": {"esri": {"type": "vector", "url": "../../"}}, "layers": []});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Basemap.vtpk");
    std::fs::write(
        &path,
        packages::vector_tile_package(&root, &style, &tiles).unwrap(),
    )
    .unwrap();
    let package = editor
        .add_item(
            "editor",
            None,
            &[
                ("title", "Basemap package"),
                ("type", "Vector Tile Package"),
            ],
            Content::File {
                path: &path,
                name: "Basemap.vtpk",
            },
            1 << 20,
        )
        .await
        .unwrap();
    let published = editor
        .publish_with(
            "editor",
            &package,
            "vectorTilePackage",
            r#"{"name":"Basemap"}"#,
            &[("outputType", "VectorTiles"), ("buildInitialCache", "true")],
        )
        .await
        .unwrap();
    (package, published.service_item_id, tiles)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tile_layers_are_published_again_from_the_restored_feature_layer() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let tiles = publish_tiles(
        &editor,
        &s.city,
        "Tiles",
        r#"{"name":"City_tiles","minScale":72223.819286,"maxScale":18055.954822}"#,
    )
    .await;
    let vector = publish_tiles(&editor, &s.city, "VectorTiles", r#"{"name":"City_vector"}"#).await;
    // A scene layer of its hydrants (its layer of points), in a web scene.
    let scene = editor
        .publish_with(
            "editor",
            &s.city,
            "featureService",
            r#"{"name":"City_scene"}"#,
            &[("outputType", "sceneService")],
        )
        .await
        .unwrap()
        .service_item_id;
    let scene_url = url_of(&editor, &scene).await;
    let web_scene = editor
        .add_item(
            "editor",
            None,
            &[("title", "City in 3D"), ("type", "Web Scene")],
            Content::Text(
                &json!({
                    "operationalLayers": [{"id": "s", "layerType": "ArcGISSceneServiceLayer",
                        "url": format!("{scene_url}/layers/0"), "itemId": scene}],
                    "baseMap": {"baseMapLayers": [], "title": "none"},
                    "version": "1.33"
                })
                .to_string(),
            ),
            1 << 20,
        )
        .await
        .unwrap();
    let source_scene_layer = editor
        .call(
            "scene layer",
            Method::Get,
            &format!("{scene_url}/layers/0"),
            &[],
        )
        .await
        .unwrap();
    // A basemap published from a vector tile package made in ArcGIS Pro.
    let (package, basemap, basemap_tiles) = basemap_from_package(&editor).await;
    let (tiles_url, vector_url) = (
        url_of(&editor, &tiles).await,
        url_of(&editor, &vector).await,
    );
    // A map drawing both, over the feature layer.
    let map = editor
        .add_item(
            "editor",
            None,
            &[("title", "City basemap"), ("type", "Web Map")],
            Content::Text(
                &json!({
                    "operationalLayers": [
                        {"id": "t", "layerType": "ArcGISTiledMapServiceLayer", "url": tiles_url, "itemId": tiles},
                        {"id": "v", "layerType": "VectorTileLayer", "styleUrl": format!("{vector_url}/resources/styles/root.json"), "itemId": vector},
                    ],
                    "baseMap": {"baseMapLayers": [], "title": "none"},
                    "spatialReference": {"wkid": 102_100},
                    "version": "2.31"
                })
                .to_string(),
            ),
            1 << 20,
        )
        .await
        .unwrap();
    let (_, source_tile) = middle_tile(&editor, &tiles_url, 13).await;
    let (source_path, source_vector) = middle_tile(&editor, &vector_url, 13).await;
    // Both tiles have the data drawn (an empty PNG tile is another image).
    assert!(!source_vector.is_empty());
    let mut empty = Vec::new();
    editor
        .download("tile", &format!("{tiles_url}/tile/13/0/0"), &mut empty)
        .await
        .unwrap();
    assert_ne!(source_tile, empty);

    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    // The backup recorded where each is drawn from and its scales.
    let archived = snapshot.item(&tiles).unwrap();
    assert!(
        archived
            .dependencies
            .iter()
            .any(|d| d.item_id.as_deref() == Some(s.city.as_str())
                && d.path.as_deref() == Some("Service2Service")),
        "{:?}",
        archived.dependencies
    );
    assert!(
        archived
            .payloads
            .iter()
            .any(|p| p.file_name == "tiles.json")
    );

    let target = empty_target(&s, "county", dir.path());
    let report = &restored_into(&archive, &snapshot, &target, dir.path()).await;
    assert_eq!(report.counts().incomplete, 0, "{report:#?}");
    let c = &target.client;
    let new = |id: &str| entry(report, id).target_id.clone().unwrap();
    let (new_tiles, new_vector, new_city, new_map) =
        (new(&tiles), new(&vector), new(&s.city), new(&map));
    let reason = entry(report, &tiles).reason.clone().unwrap_or_default();
    assert!(
        reason.contains("published again from its restored feature layer (levels 13–15)"),
        "{reason}"
    );

    // Each is a service of the target, drawn from the restored feature layer.
    let item = c.item(&new_tiles).await.unwrap();
    assert_eq!(item["type"], "Map Service");
    assert_eq!(item["title"], editor.item(&tiles).await.unwrap()["title"]);
    let new_tiles_url = item["url"].as_str().unwrap().to_owned();
    assert!(
        new_tiles_url.contains("/county/") && new_tiles_url.ends_with("/City_tiles/MapServer"),
        "{new_tiles_url}"
    );
    let new_vector_url = url_of(c, &new_vector).await;
    assert!(new_vector_url.ends_with("/City_vector/VectorTileServer"));
    let derived: Vec<Value> = c
        .related_items(&new_city, "Service2Service", true)
        .await
        .unwrap();
    for id in [&new_tiles, &new_vector] {
        assert!(
            derived.iter().any(|d| d["id"] == id.as_str()),
            "{derived:?}"
        );
    }
    // The scene layer: published again from the restored feature layer, its layer as the
    // source's (the same fields and drawing), the web scene pointing at it.
    let new_scene = new(&scene);
    let item = c.item(&new_scene).await.unwrap();
    assert_eq!(item["type"], "Scene Service");
    let new_scene_url = item["url"].as_str().unwrap().to_owned();
    assert!(
        new_scene_url.contains("/county/") && new_scene_url.ends_with("/City_scene/SceneServer"),
        "{new_scene_url}"
    );
    assert!(
        derived.iter().any(|d| d["id"] == new_scene.as_str()),
        "{derived:?}"
    );
    let reason = entry(report, &scene).reason.clone().unwrap_or_default();
    assert!(reason.contains("scene cache built"), "{reason}");
    let layer = c
        .call(
            "scene layer",
            Method::Get,
            &format!("{new_scene_url}/layers/0"),
            &[],
        )
        .await
        .unwrap();
    for key in ["name", "layerType", "fields", "drawingInfo"] {
        assert_eq!(layer[key], source_scene_layer[key], "{key}");
    }
    let mut data = Vec::new();
    c.item_data(&new(&web_scene), &mut data).await.unwrap();
    let data: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(
        data["operationalLayers"][0]["url"],
        format!("{new_scene_url}/layers/0")
    );
    assert_eq!(data["operationalLayers"][0]["itemId"], new_scene.as_str());
    // The basemap: published again from the restored package, serving its tiles.
    let new_basemap = new(&basemap);
    let from = c
        .related_items(&new_basemap, "Service2Data", true)
        .await
        .unwrap();
    assert_eq!(from[0]["id"], new(&package).as_str());
    let reason = entry(report, &basemap).reason.clone().unwrap_or_default();
    assert!(reason.contains("from its restored package"), "{reason}");
    let basemap_url = url_of(c, &new_basemap).await;
    assert!(basemap_url.contains("/county/"), "{basemap_url}");
    for (z, y, x, bytes) in &basemap_tiles {
        let mut got = Vec::new();
        c.download(
            "tile",
            &format!("{basemap_url}/tile/{z}/{y}/{x}.pbf"),
            &mut got,
        )
        .await
        .unwrap();
        assert_eq!(&got, bytes);
    }
    // The source's scales: levels 13 to 15 only.
    let service = c
        .call("tiles", Method::Get, &new_tiles_url, &[])
        .await
        .unwrap();
    let levels: Vec<u64> = service["tileInfo"]["lods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["level"].as_u64().unwrap())
        .collect();
    assert_eq!(levels, [13, 14, 15]);
    // The same data draws the same tiles.
    assert_eq!(middle_tile(c, &new_tiles_url, 13).await.1, source_tile);
    let (path, bytes) = middle_tile(c, &new_vector_url, 13).await;
    assert_eq!((path, bytes), (source_path, source_vector));

    // The map draws the target's layers; nothing names the source.
    let mut data = Vec::new();
    c.item_data(&new_map, &mut data).await.unwrap();
    let data = String::from_utf8(data).unwrap();
    assert!(
        data.contains(&new_tiles_url) && data.contains(&new_tiles) && data.contains(&new_vector),
        "{data}"
    );
    let checked = orgpack_restore::check_target(c, &snapshot, report).await;
    assert!(checked.problems.is_empty(), "{:#?}", checked.problems);
}
