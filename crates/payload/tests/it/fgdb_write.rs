//! File Geodatabases orgpack writes, read back by GDAL (`ogrinfo`, `ogr2ogr` to GeoJSON) and by
//! orgpack-payload: the same layers, geometry types, counts, object ids, attributes, shapes and
//! domains.

use std::process::Command;

use orgpack_payload::{FieldSpec, RelationshipSpec, TableSpec, write_geodatabase};
use serde_json::{Map, Value, json};

fn field(name: &str, kind: &str, domain: Option<&str>) -> FieldSpec {
    FieldSpec {
        name: name.into(),
        alias: format!("{name} alias"),
        field_type: kind.into(),
        length: (kind == "esriFieldTypeString").then_some(50),
        nullable: true,
        domain: domain.map(str::to_owned),
    }
}

fn attrs(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn sample() -> (Vec<TableSpec>, Vec<Value>) {
    let points = TableSpec {
        name: "Hydrants".into(),
        alias: Some("Fire hydrants".into()),
        geometry_type: Some("esriGeometryPoint".into()),
        has_z: false,
        srs_wkt: None,
        wkid: Some(4326),
        object_id_field: "OBJECTID".into(),
        fields: vec![
            field("hydrant_id", "esriFieldTypeString", None),
            field("status", "esriFieldTypeString", Some("Statuses")),
            field("flow_gpm", "esriFieldTypeInteger", None),
            field("pressure", "esriFieldTypeDouble", None),
            field("inspected", "esriFieldTypeDate", None),
            field("GlobalID", "esriFieldTypeGlobalID", None),
        ],
        // Object ids with a gap (3 was deleted), as an edited layer has them.
        rows: vec![
            (
                1,
                attrs(
                    json!({"hydrant_id": "H-1", "status": "ok", "flow_gpm": 500, "pressure": 61.5, "inspected": 1_700_000_000_000_i64, "GlobalID": "{8F2B5D1A-1C3E-4A5B-9C7D-0E1F2A3B4C5D}"}),
                ),
                Some(json!({"x": -117.2, "y": 34.05})),
            ),
            (
                2,
                attrs(
                    json!({"hydrant_id": "H-2 é", "status": null, "flow_gpm": 750, "pressure": null, "inspected": null, "GlobalID": "{00000000-0000-4000-8000-000000000002}"}),
                ),
                Some(json!({"x": -117.196, "y": 34.054})),
            ),
            (
                4,
                attrs(
                    json!({"hydrant_id": "H-4", "status": "repair", "flow_gpm": null, "GlobalID": "{00000000-0000-4000-8000-000000000004}"}),
                ),
                None,
            ),
        ],
    };
    let ring = json!([
        [-117.2, 34.05],
        [-117.2, 34.059],
        [-117.191, 34.059],
        [-117.191, 34.05],
        [-117.2, 34.05]
    ]);
    let hole = json!([
        [-117.197, 34.053],
        [-117.194, 34.053],
        [-117.194, 34.056],
        [-117.197, 34.056],
        [-117.197, 34.053]
    ]);
    let parcels = TableSpec {
        name: "Parcels".into(),
        alias: None,
        geometry_type: Some("esriGeometryPolygon".into()),
        has_z: false,
        srs_wkt: None,
        wkid: Some(4326),
        object_id_field: "OBJECTID".into(),
        fields: vec![field("parcel_id", "esriFieldTypeString", None)],
        rows: vec![(
            1,
            attrs(json!({"parcel_id": "P-1"})),
            Some(json!({"rings": [ring, hole]})),
        )],
    };
    let mains = TableSpec {
        name: "Mains".into(),
        alias: None,
        geometry_type: Some("esriGeometryPolyline".into()),
        has_z: true,
        srs_wkt: None,
        wkid: Some(4326),
        object_id_field: "OBJECTID".into(),
        fields: vec![field("diameter", "esriFieldTypeSmallInteger", None)],
        rows: vec![(
            1,
            attrs(json!({"diameter": 8})),
            Some(
                json!({"paths": [[[-117.2, 34.05, 10.5], [-117.19, 34.06, 12.25]], [[-117.18, 34.07, 3.0], [-117.17, 34.07, 4.0], [-117.16, 34.08, 5.0]]], "hasZ": true}),
            ),
        )],
    };
    let inspections = TableSpec {
        name: "Inspections".into(),
        alias: None,
        geometry_type: None,
        has_z: false,
        srs_wkt: None,
        wkid: None,
        object_id_field: "OBJECTID".into(),
        fields: vec![
            field("hydrant_id", "esriFieldTypeString", None),
            field("passed", "esriFieldTypeSmallInteger", None),
        ],
        rows: (1..=2500)
            .map(|i| {
                (
                    i,
                    attrs(json!({"hydrant_id": format!("H-{}", i % 7), "passed": i % 2})),
                    None,
                )
            })
            .collect(),
    };
    // Two photos of hydrant 1, as a hosted layer's attachment table holds them (DATA in Base64).
    let photos = TableSpec {
        name: "Hydrants__ATTACH".into(),
        alias: None,
        geometry_type: None,
        has_z: false,
        srs_wkt: None,
        wkid: None,
        object_id_field: "ATTACHMENTID".into(),
        fields: vec![
            field("REL_GLOBALID", "esriFieldTypeGUID", None),
            field("CONTENT_TYPE", "esriFieldTypeString", None),
            field("ATT_NAME", "esriFieldTypeString", None),
            field("DATA_SIZE", "esriFieldTypeInteger", None),
            field("DATA", "esriFieldTypeBlob", None),
            field("GLOBALID", "esriFieldTypeGlobalID", None),
        ],
        rows: vec![
            (
                1,
                attrs(
                    json!({"REL_GLOBALID": "{8F2B5D1A-1C3E-4A5B-9C7D-0E1F2A3B4C5D}", "CONTENT_TYPE": "image/jpeg", "ATT_NAME": "front.jpg", "DATA_SIZE": 5, "DATA": "aGVsbG8=", "GLOBALID": "{00000000-0000-4000-8000-0000000000A1}"}),
                ),
                None,
            ),
            (
                2,
                attrs(
                    json!({"REL_GLOBALID": "{8F2B5D1A-1C3E-4A5B-9C7D-0E1F2A3B4C5D}", "CONTENT_TYPE": "text/plain", "ATT_NAME": "notes.txt", "DATA_SIZE": 3, "DATA": "YWJj", "GLOBALID": "{00000000-0000-4000-8000-0000000000A2}"}),
                ),
                None,
            ),
        ],
    };
    let domains = vec![
        json!({"type": "codedValue", "name": "Statuses", "fieldType": "esriFieldTypeString", "codedValues": [{"name": "In service", "code": "ok"}, {"name": "Needs repair", "code": "repair"}]}),
    ];
    (vec![points, parcels, mains, inspections, photos], domains)
}

fn relationships() -> Vec<RelationshipSpec> {
    vec![RelationshipSpec {
        name: "Hydrants__ATTACHREL".into(),
        origin: "Hydrants".into(),
        destination: "Hydrants__ATTACH".into(),
        primary_key: "GlobalID".into(),
        foreign_key: "REL_GLOBALID".into(),
        cardinality: "esriRelCardinalityOneToMany".into(),
        composite: true,
        attachment: true,
    }]
}

fn written(dir: &std::path::Path) -> std::path::PathBuf {
    let (tables, domains) = sample();
    let path = dir.join("City.gdb.zip");
    let file = std::fs::File::create(&path).unwrap();
    write_geodatabase("City", &tables, &domains, &relationships(), file).unwrap();
    path
}

#[test]
fn orgpack_reads_back_what_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = written(dir.path());
    let summary = crate::inspect_file(&path).unwrap();
    assert_eq!(
        crate::shape(&summary),
        [
            ("Hydrants".into(), Some("Point".into()), 3),
            ("Parcels".into(), Some("Polygon".into()), 1),
            ("Mains".into(), Some("Polyline".into()), 1),
            ("Inspections".into(), None, 2500),
            ("Hydrants__ATTACH".into(), None, 2),
        ]
    );
    let read = |layer: &str| {
        orgpack_payload::features(
            std::io::BufReader::new(std::fs::File::open(&path).unwrap()),
            "City.gdb.zip",
            layer,
            0,
            usize::MAX,
        )
        .unwrap()
    };
    let hydrants = read("Hydrants");
    let ids: Vec<u64> = hydrants
        .features
        .iter()
        .map(|f| f["attributes"]["OBJECTID"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 4], "object ids kept, gaps and all");
    let first = &hydrants.features[0];
    assert_eq!(first["attributes"]["hydrant_id"], "H-1");
    assert_eq!(first["attributes"]["flow_gpm"], 500);
    assert_eq!(first["attributes"]["pressure"], 61.5);
    assert_eq!(first["attributes"]["inspected"], 1_700_000_000_000.0);
    assert_eq!(
        first["attributes"]["GlobalID"],
        "{8F2B5D1A-1C3E-4A5B-9C7D-0E1F2A3B4C5D}"
    );
    assert_eq!(first["geometry"], json!({"x": -117.2, "y": 34.05}));
    assert_eq!(hydrants.features[1]["attributes"]["hydrant_id"], "H-2 é");
    assert_eq!(hydrants.features[1]["attributes"]["status"], Value::Null);
    assert!(
        hydrants.features[2].get("geometry").is_none(),
        "a null shape stays null"
    );
    let parcels = read("Parcels");
    assert_eq!(
        parcels.features[0]["geometry"]["rings"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        parcels.features[0]["geometry"]["rings"][1][2],
        json!([-117.194, 34.056])
    );
    let mains = read("Mains");
    assert_eq!(
        mains.features[0]["geometry"]["paths"][1][2],
        json!([-117.16, 34.08, 5.0])
    );
    let inspections = read("Inspections");
    assert_eq!(
        inspections.features.len(),
        2500,
        "past the first 1,024-row block"
    );
    assert_eq!(
        inspections.features[2499]["attributes"]["hydrant_id"],
        "H-1"
    );
}

fn ogr(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e} (GDAL is installed by scripts/test)"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("ERROR"), "{args:?}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn gdal_reads_the_file_geodatabases_orgpack_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = written(dir.path());
    if let Ok(keep) = std::env::var("ORGPACK_KEEP_FGDB") {
        std::fs::copy(&path, keep).unwrap();
    }
    let vsi = format!("/vsizip/{}/City.gdb", path.display());
    let summary = ogr(&["ogrinfo", "-so", "-al", "-ro", &vsi]);
    for expected in [
        "Layer name: Hydrants",
        "Layer name: Parcels",
        "Layer name: Mains",
        "Layer name: Inspections",
        "Feature Count: 2500",
        "Geometry: 3D Multi Line String",
    ] {
        assert!(summary.contains(expected), "{expected} in\n{summary}");
    }
    assert!(summary.contains("hydrant_id: String (50.0)"), "{summary}");
    assert!(
        summary.contains("GEOGCRS[\"GCS_WGS_1984\"")
            || summary.contains("WGS 84")
            || summary.contains("WGS_1984"),
        "{summary}"
    );
    // The domain is read and tied to its field; aliases come with the fields.
    assert!(summary.contains("domain name=Statuses"), "{summary}");
    assert!(
        summary.contains("alternative name=\"flow_gpm alias\""),
        "{summary}"
    );
    let info = ogr(&["ogrinfo", "-ro", "-fielddomain", "Statuses", &vsi]);
    assert!(
        info.contains("repair") && info.contains("Needs repair"),
        "{info}"
    );
    // An attachment's bytes, as GDAL reads the blob.
    let photos = ogr(&["ogrinfo", "-ro", "-al", &vsi, "Hydrants__ATTACH"]);
    assert!(photos.contains("DATA (Binary) = 68656C6C6F"), "{photos}");
    assert!(photos.contains("ATT_NAME (String) = notes.txt"), "{photos}");
    // Every feature as GDAL reads it.
    let out = dir.path().join("hydrants.geojson");
    ogr(&[
        "ogr2ogr",
        "-f",
        "GeoJSON",
        out.to_str().unwrap(),
        &vsi,
        "Hydrants",
    ]);
    let geojson: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let features = geojson["features"].as_array().unwrap();
    assert_eq!(features.len(), 3);
    let first = &features[0];
    assert_eq!(first["properties"]["hydrant_id"], "H-1");
    assert_eq!(first["properties"]["flow_gpm"], 500);
    assert_eq!(first["properties"]["pressure"], 61.5);
    assert_eq!(
        first["properties"]["GlobalID"],
        "{8F2B5D1A-1C3E-4A5B-9C7D-0E1F2A3B4C5D}"
    );
    assert!(
        first["properties"]["inspected"]
            .as_str()
            .unwrap()
            .starts_with("2023-11-14T22:13:20"),
        "{first}"
    );
    assert_eq!(first["geometry"]["coordinates"], json!([-117.2, 34.05]));
    assert_eq!(features[1]["properties"]["hydrant_id"], "H-2 é");
    assert_eq!(features[2]["geometry"], Value::Null);
    let out = dir.path().join("parcels.geojson");
    ogr(&[
        "ogr2ogr",
        "-f",
        "GeoJSON",
        out.to_str().unwrap(),
        &vsi,
        "Parcels",
    ]);
    let parcels: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let polygon = &parcels["features"][0]["geometry"];
    // One polygon (GDAL reads File Geodatabase polygons as multipolygons): the ring and its hole.
    assert_eq!(polygon["type"], "MultiPolygon");
    assert_eq!(
        polygon["coordinates"].as_array().unwrap().len(),
        1,
        "{polygon}"
    );
    assert_eq!(
        polygon["coordinates"][0].as_array().unwrap().len(),
        2,
        "outer ring and hole: {polygon}"
    );
}
