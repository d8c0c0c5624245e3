//! Hosted tile layers, vector tile layers and scene layers published from a hosted feature layer:
//! the publish call as the portal takes it, what it refuses, the services and their tiles.

use std::time::Duration;

use orgpack_portal::{Client, Method};
use orgpack_sandbox::SandboxOptions;
use serde_json::Value;

use crate::conformance::{add_city_gdb, client, sandbox_with};

const HALF_WORLD: f64 = 20_037_508.342_787;

/// The City file published as a hosted feature layer: its item id.
async fn city_layer(editor: &Client) -> String {
    let file = add_city_gdb(editor).await;
    let published = editor
        .publish("editor", &file, "fileGeodatabase", r#"{"name":"City"}"#)
        .await
        .unwrap();
    published.service_item_id
}

/// Publish `source` as tiles (`Tiles` or `VectorTiles`) named `name`, wait for the job: the new
/// item's id and URL.
pub(crate) async fn publish_tiles(
    client: &Client,
    owner: &str,
    source: &str,
    output: &str,
    parameters: &str,
) -> Result<(String, String), orgpack_portal::Error> {
    let published = client
        .publish_with(
            owner,
            source,
            "featureService",
            parameters,
            &[("outputType", output), ("buildInitialCache", "true")],
        )
        .await?;
    client
        .wait_for_job(
            owner,
            &published.service_item_id,
            published.job_id.as_deref(),
            Some("publish"),
            Duration::from_secs(10),
        )
        .await?;
    Ok((
        published.service_item_id,
        published.service_url.unwrap_or_default(),
    ))
}

/// The bytes of tile `z/y/x` of a tile service (`.pbf` for a vector tile service).
pub(crate) async fn tile(
    client: &Client,
    url: &str,
    z: u32,
    y: u64,
    x: u64,
) -> Result<Vec<u8>, orgpack_portal::Error> {
    let suffix = if url.ends_with("VectorTileServer") {
        ".pbf"
    } else {
        ""
    };
    let mut out = Vec::new();
    client
        .download("tile", &format!("{url}/tile/{z}/{y}/{x}{suffix}"), &mut out)
        .await?;
    Ok(out)
}

/// The tile at level `z` holding the center of a service's full extent (Web Mercator).
pub(crate) fn center_tile(service: &Value, z: u32) -> (u64, u64) {
    let e = &service["fullExtent"];
    let mid = |a: &str, b: &str| f64::midpoint(e[a].as_f64().unwrap(), e[b].as_f64().unwrap());
    let (cx, cy) = (mid("xmin", "xmax"), mid("ymin", "ymax"));
    let size = 2.0 * HALF_WORLD / f64::from(1u32 << z);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let at = |v: f64| (v / size).floor() as u64;
    (at(HALF_WORLD - cy), at(cx + HALF_WORLD))
}

/// How many pixels of a PNG tile are drawn (not transparent).
fn drawn_pixels(png_bytes: &[u8]) -> usize {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (256, 256));
    buf[..info.buffer_size()]
        .chunks_exact(4)
        .filter(|p| p[3] > 0)
        .count()
}

#[tokio::test]
async fn a_feature_layer_publishes_as_a_tile_layer_drawn_from_its_features() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let layer = city_layer(&editor).await;
    let (id, url) = publish_tiles(
        &editor,
        "editor",
        &layer,
        "Tiles",
        r#"{"name":"City_tiles","minScale":591657527.591555,"maxScale":70.5310735}"#,
    )
    .await
    .unwrap();
    assert!(
        url.ends_with("/source/server/rest/services/Hosted/City_tiles/MapServer"),
        "{url}"
    );
    let item = editor.item(&id).await.unwrap();
    assert_eq!(item["type"], "Map Service");
    assert_eq!(item["url"], url.as_str());
    assert!(
        item["typeKeywords"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "Hosted Service")
    );
    // The feature layer is the origin of Service2Service, as for a view.
    let derived = editor
        .related_items(&layer, "Service2Service", true)
        .await
        .unwrap();
    assert_eq!(derived[0]["id"], id.as_str());

    let service = editor
        .call("tile service", Method::Get, &url, &[])
        .await
        .unwrap();
    assert_eq!(service["singleFusedMapCache"], true);
    assert_eq!(service["serviceItemId"], id.as_str());
    assert_eq!(service["tileInfo"]["rows"], 256);
    let lods = service["tileInfo"]["lods"].as_array().unwrap();
    assert_eq!(lods.len(), 24, "levels 0 to 23");
    assert_eq!(service["layers"][0]["name"], "Hydrants");

    // A tile over the data has the features drawn; one far away is empty; one outside the
    // levels is not there.
    let (y, x) = center_tile(&service, 14);
    let full = tile(&editor, &url, 14, y, x).await.unwrap();
    assert!(drawn_pixels(&full) > 0, "features drawn at 14/{y}/{x}");
    let empty = tile(&editor, &url, 14, 0, 0).await.unwrap();
    assert_eq!(drawn_pixels(&empty), 0);
    assert!(tile(&editor, &url, 24, 0, 0).await.is_err());
    // The same features draw the same bytes.
    assert_eq!(tile(&editor, &url, 14, y, x).await.unwrap(), full);

    // A name is taken once per kind of service.
    let available = |kind: &'static str| {
        let editor = &editor;
        async move {
            editor
                .call(
                    "isServiceNameAvailable",
                    Method::Get,
                    "portals/self/isServiceNameAvailable",
                    &[("name", "city_TILES"), ("type", kind)],
                )
                .await
                .unwrap()["available"]
                .clone()
        }
    };
    assert_eq!(available("Map Service").await, false);
    assert_eq!(available("Vector Tile Service").await, true);
    assert_eq!(available("Feature Service").await, true);
    let again = publish_tiles(
        &editor,
        "editor",
        &layer,
        "Tiles",
        r#"{"name":"City_tiles"}"#,
    )
    .await
    .unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
}

#[tokio::test]
async fn a_feature_layer_publishes_as_a_vector_tile_layer_with_a_style() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let layer = city_layer(&editor).await;
    let (id, url) = publish_tiles(
        &editor,
        "editor",
        &layer,
        "VectorTiles",
        r#"{"name":"City"}"#,
    )
    .await
    .unwrap();
    assert!(url.ends_with("/Hosted/City/VectorTileServer"), "{url}");
    assert_eq!(
        editor.item(&id).await.unwrap()["type"],
        "Vector Tile Service"
    );
    let service = editor
        .call("vector tile service", Method::Get, &url, &[])
        .await
        .unwrap();
    assert_eq!(service["tileInfo"]["format"], "pbf");
    assert_eq!(service["tileInfo"]["rows"], 512);
    assert_eq!(service["tiles"][0], "tile/{z}/{y}/{x}.pbf");
    let style = editor
        .call(
            "style",
            Method::Get,
            &format!("{url}/resources/styles/root.json"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(style["version"], 8);
    assert_eq!(style["layers"][0]["source-layer"], "Hydrants");
    assert_eq!(style["layers"][0]["type"], "circle");

    let (y, x) = center_tile(&service, 14);
    let bytes = tile(&editor, &url, 14, y, x).await.unwrap();
    // A Tile message: field 3 (layers), each naming its source layer.
    assert_eq!(bytes[0], 3 << 3 | 2);
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"Hydrants"), "the Hydrants layer is in the tile");
    assert!(tile(&editor, &url, 14, 0, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn tile_publishing_refuses_what_the_sandbox_does_not_build() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let layer = city_layer(&editor).await;
    let refused = |extra: Vec<(&'static str, &'static str)>, parameters: &'static str| {
        let (editor, layer) = (&editor, &layer);
        async move {
            editor
                .publish_with("editor", layer, "featureService", parameters, &extra)
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let e = refused(vec![], r#"{"name":"A"}"#).await;
    assert!(e.contains("'outputType' must be specified"), "{e}");
    let e = refused(vec![("outputType", "OGCFeatureService")], r#"{"name":"A"}"#).await;
    assert!(e.contains("'OGCFeatureService' is not supported"), "{e}");
    let e = refused(vec![("outputType", "Tiles")], r#"{"name":"A"}"#).await;
    assert!(e.contains("buildInitialCache must be true"), "{e}");
    let e = refused(
        vec![("outputType", "Tiles"), ("buildInitialCache", "true")],
        r#"{"name":"A","tileScheme":"x"}"#,
    )
    .await;
    assert!(e.contains("'tileScheme' is not supported"), "{e}");
    let e = refused(
        vec![("outputType", "Tiles"), ("buildInitialCache", "true")],
        r#"{"name":"A","minScale":1000,"maxScale":2000}"#,
    )
    .await;
    assert!(e.contains("No tiling level"), "{e}");
    // Only a hosted feature layer publishes so, and only by its owner.
    let file = add_city_gdb(&editor).await;
    let e = editor
        .publish_with(
            "editor",
            &file,
            "featureService",
            r#"{"name":"A"}"#,
            &[("outputType", "Tiles"), ("buildInitialCache", "true")],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a hosted feature layer"), "{e}");
    let admin = client(&s, "source", "admin");
    let e = publish_tiles(&admin, "admin", &layer, "Tiles", r#"{"name":"A"}"#)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("403") || e.contains("permission"), "{e}");
    // A file type published as a feature service takes no other output.
    let e = editor
        .publish_with(
            "editor",
            &file,
            "fileGeodatabase",
            r#"{"name":"B"}"#,
            &[("outputType", "Tiles")],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("outputType 'Tiles' is not supported"), "{e}");
}

#[tokio::test]
async fn a_layer_of_points_publishes_as_a_scene_layer() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let layer = city_layer(&editor).await;
    let scene = |parameters: &'static str, extra: Vec<(&'static str, &'static str)>| {
        let (editor, layer) = (&editor, &layer);
        async move {
            let mut extra = extra;
            extra.push(("outputType", "sceneService"));
            editor
                .publish_with("editor", layer, "featureService", parameters, &extra)
                .await
        }
    };
    // What it refuses: a cache not built, tiling parameters, a name taken.
    let e = scene(r#"{"name":"A"}"#, vec![("buildInitialCache", "false")])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("buildInitialCache must be true or absent"),
        "{e}"
    );
    let e = scene(r#"{"name":"A","maxScale":1000}"#, vec![])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("'maxScale' is not supported"), "{e}");

    let published = scene(
        r#"{"name":"Hydrants_3D","description":"Hydrants in 3D"}"#,
        vec![],
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
    let item = editor.item(&published.service_item_id).await.unwrap();
    assert_eq!(item["type"], "Scene Service");
    assert!(
        item["typeKeywords"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "Hosted Service")
    );
    let url = item["url"].as_str().unwrap().to_owned();
    assert!(url.ends_with("/Hosted/Hydrants_3D/SceneServer"), "{url}");
    // The scene layer of the service's one layer of points (its polygons make none), with the
    // feature layer's fields.
    let service = editor.call("scene", Method::Get, &url, &[]).await.unwrap();
    let layers = service["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{service}");
    assert_eq!(layers[0]["layerType"], "Point");
    assert_eq!(service["serviceItemId"], published.service_item_id.as_str());
    let feature_url = editor.item(&layer).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = layers[0]["id"].as_u64().unwrap();
    let points = editor
        .call("layer", Method::Get, &format!("{feature_url}/{id}"), &[])
        .await
        .unwrap();
    assert_eq!(points["geometryType"], "esriGeometryPoint");
    let info = editor
        .call(
            "scene layer",
            Method::Get,
            &format!("{url}/layers/{id}"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(info["name"], points["name"]);
    assert_eq!(info["fields"], points["fields"]);
    assert_eq!(info["description"], "Hydrants in 3D");
    // Related to the feature layer as a tile layer is; its cache is not served.
    let derived = editor
        .related_items(&layer, "Service2Service", true)
        .await
        .unwrap();
    assert!(
        derived
            .iter()
            .any(|d| d["id"] == published.service_item_id.as_str())
    );
    let e = editor
        .call(
            "nodes",
            Method::Get,
            &format!("{url}/layers/{id}/nodepages/0"),
            &[],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("I3S cache"), "{e}");
    let e = scene(r#"{"name":"hydrants_3d"}"#, vec![])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("already exists"), "{e}");
    let available = editor
        .call(
            "name",
            Method::Get,
            "portals/self/isServiceNameAvailable",
            &[("name", "Hydrants_3D"), ("type", "Scene Service")],
        )
        .await
        .unwrap();
    assert_eq!(available["available"], false);
}

/// A vector tile package of three tiles, as an item of the editor's: its id and the tiles.
pub(crate) async fn add_vector_package(editor: &Client) -> (String, Vec<(u32, u64, u64, Vec<u8>)>) {
    use orgpack_sandbox::packages;
    let tiles = vec![
        (0, 0, 0, b"\x1a\x05world".to_vec()),
        (14, 6_329, 2_800, b"\x1a\x06street".to_vec()),
        (14, 6_329, 2_801, b"\x1a\x04next".to_vec()),
    ];
    let root = packages::web_mercator_root(true, "Basemap", 14);
    let style = serde_json::json!({"version": 8, "sources": {"esri": {"type": "vector", "url": "../../"}},
        "layers": [{"id": "roads", "type": "line", "source": "esri", "source-layer": "roads"}]});
    let bytes = packages::vector_tile_package(&root, &style, &tiles).unwrap();
    let id = add_package(
        editor,
        ("City basemap", "Vector Tile Package"),
        "Basemap.vtpk",
        bytes,
    )
    .await;
    (id, tiles)
}

/// A package file as the editor's item of type `kind`, titled `title`: its id.
async fn add_package(
    editor: &Client,
    (title, kind): (&str, &str),
    file_name: &str,
    bytes: Vec<u8>,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name);
    std::fs::write(&path, bytes).unwrap();
    editor
        .add_item(
            "editor",
            None,
            &[("title", title), ("type", kind)],
            orgpack_portal::Content::File {
                path: &path,
                name: file_name,
            },
            1 << 20,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_vector_tile_package_publishes_as_a_layer_serving_its_own_tiles() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let (package, tiles) = add_vector_package(&editor).await;
    // As the official Python client publishes one.
    let published = editor
        .publish_with(
            "editor",
            &package,
            "vectortilepackage",
            r#"{"name":"Basemap","maxRecordCount":2000}"#,
            &[("outputType", "VectorTiles"), ("buildInitialCache", "true")],
        )
        .await
        .unwrap();
    let url = published.service_url.clone().unwrap();
    assert!(url.ends_with("/Hosted/Basemap/VectorTileServer"), "{url}");
    let id = published.service_item_id;
    let item = editor.item(&id).await.unwrap();
    assert_eq!(
        (item["type"].as_str(), item["title"].as_str()),
        (Some("Vector Tile Service"), Some("City basemap"))
    );
    let from = editor
        .related_items(&id, "Service2Data", true)
        .await
        .unwrap();
    assert_eq!(from[0]["id"], package.as_str());
    let service = editor
        .call("service", Method::Get, &url, &[])
        .await
        .unwrap();
    assert_eq!(service["serviceItemId"], id.as_str());
    assert_eq!(service["tileInfo"]["lods"].as_array().unwrap().len(), 15);
    let style = editor
        .call(
            "style",
            Method::Get,
            &format!("{url}/resources/styles/root.json"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(style["layers"][0]["id"], "roads", "the package's own style");
    for (z, y, x, bytes) in &tiles {
        assert_eq!(&tile(&editor, &url, *z, *y, *x).await.unwrap(), bytes);
    }
    assert!(
        tile(&editor, &url, 14, 6_329, 2_802).await.is_err(),
        "not in the package"
    );

    // What a package publish refuses.
    let refused = |file_type: &'static str,
                   parameters: &'static str,
                   extra: Vec<(&'static str, &'static str)>| {
        let (editor, package) = (&editor, &package);
        async move {
            editor
                .publish_with("editor", package, file_type, parameters, &extra)
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let e = refused("tilePackage", r#"{"name":"B"}"#, vec![]).await;
    assert!(
        e.contains("not a Tile Package or Compact Tile Package"),
        "{e}"
    );
    let e = refused(
        "vectorTilePackage",
        r#"{"name":"B"}"#,
        vec![("outputType", "Tiles")],
    )
    .await;
    assert!(e.contains("publishes as outputType VectorTiles"), "{e}");
    let e = refused(
        "vectorTilePackage",
        r#"{"name":"B"}"#,
        vec![("buildInitialCache", "false")],
    )
    .await;
    assert!(e.contains("buildInitialCache=false"), "{e}");
    let e = refused("vectorTilePackage", r#"{"name":"B","minScale":1}"#, vec![]).await;
    assert!(e.contains("'minScale' is not supported"), "{e}");
    let e = refused("vectorTilePackage", r#"{"name":"Basemap"}"#, vec![]).await;
    assert!(e.contains("already exists"), "{e}");

    // The layer keeps its package: the package item deleted for good, it serves the same tiles.
    editor
        .call(
            "delete",
            Method::Post,
            &format!("content/users/editor/items/{package}/delete"),
            &[("permanentDelete", "true")],
        )
        .await
        .unwrap();
    let (level, row, col, bytes) = &tiles[1];
    assert_eq!(
        &tile(&editor, &url, *level, *row, *col).await.unwrap(),
        bytes
    );
}

#[tokio::test]
async fn a_compact_tile_package_publishes_as_a_tile_layer() {
    use orgpack_sandbox::packages;
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let png = b"\x89PNG\r\n\x1a\n-a-tile".to_vec();
    let tiles = vec![(3, 2, 1, png.clone())];
    let bytes =
        packages::compact_tile_package(&packages::web_mercator_root(false, "Relief", 5), &tiles)
            .unwrap();
    let package = add_package(
        &editor,
        ("Relief", "Compact Tile Package"),
        "Relief.tpkx",
        bytes,
    )
    .await;
    let published = editor
        .publish_with(
            "editor",
            &package,
            "compactTilePackage",
            r#"{"name":"Relief"}"#,
            &[("outputType", "Tiles"), ("buildInitialCache", "true")],
        )
        .await
        .unwrap();
    let url = published.service_url.unwrap();
    assert!(url.ends_with("/Hosted/Relief/MapServer"), "{url}");
    let service = editor
        .call("service", Method::Get, &url, &[])
        .await
        .unwrap();
    assert_eq!(service["singleFusedMapCache"], true);
    assert_eq!(service["tileInfo"]["rows"], 256);
    assert_eq!(tile(&editor, &url, 3, 2, 1).await.unwrap(), png);
    assert!(
        tile(&editor, &url, 6, 0, 0).await.is_err(),
        "level 6 is not in the package"
    );
}
