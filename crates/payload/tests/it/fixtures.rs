//! The committed payloads (`fixtures/payloads/make.sh` wrote them with GDAL from known data:
//! 250 hydrants, 12 parcels, 3000 inspections).

use orgpack_payload::Kind;

use crate::{inspect_file, payloads, shape};

fn s(v: &str) -> String {
    v.to_owned()
}

#[test]
fn file_geodatabase_with_a_point_and_a_polygon_layer() {
    let summary = inspect_file(&payloads().join("City.gdb.zip")).unwrap();
    assert_eq!(summary.kind, Kind::FileGeodatabase);
    assert_eq!(
        shape(&summary),
        vec![
            (s("Hydrants"), Some(s("Point")), 250),
            (s("Parcels"), Some(s("Polygon")), 12)
        ]
    );
    let hydrants = &summary.layers[0];
    assert_eq!(hydrants.spatial_reference.as_deref(), Some("GCS_WGS_1984"));
    let fields: Vec<(&str, &str)> = hydrants
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.field_type.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("SHAPE", "esriFieldTypeGeometry"),
            ("OBJECTID", "esriFieldTypeOID"),
            ("hydrant_id", "esriFieldTypeString"),
            ("status", "esriFieldTypeString"),
            ("flow_gpm", "esriFieldTypeInteger"),
            ("lon", "esriFieldTypeDouble"),
            ("lat", "esriFieldTypeDouble"),
        ]
    );
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
}

#[test]
fn file_geodatabase_with_a_table() {
    let summary = inspect_file(&payloads().join("Inspections.gdb.zip")).unwrap();
    assert_eq!(shape(&summary), vec![(s("Inspections"), None, 3000)]);
    assert_eq!(summary.layers[0].spatial_reference, None);
}

#[test]
fn shapefile_zip() {
    let summary = inspect_file(&payloads().join("Hydrants.shp.zip")).unwrap();
    assert_eq!(summary.kind, Kind::Shapefile);
    assert_eq!(
        shape(&summary),
        vec![(s("Hydrants"), Some(s("Point")), 250)]
    );
    assert_eq!(
        summary.layers[0].spatial_reference.as_deref(),
        Some("GCS_WGS_1984")
    );
    assert_eq!(summary.layers[0].fields.len(), 5);
}

#[test]
fn csv_with_coordinate_columns_and_geojson() {
    let csv = inspect_file(&payloads().join("hydrants.csv")).unwrap();
    assert_eq!(csv.kind, Kind::Csv);
    assert_eq!(shape(&csv), vec![(s("hydrants"), Some(s("Point")), 250)]);
    let geojson = inspect_file(&payloads().join("parcels.geojson")).unwrap();
    assert_eq!(geojson.kind, Kind::GeoJson);
    assert_eq!(
        shape(&geojson),
        vec![(s("parcels"), Some(s("Polygon")), 12)]
    );
    let mut props: Vec<&str> = geojson.layers[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    props.sort_unstable();
    assert_eq!(props, vec!["area_m2", "parcel_id", "zone"]);
}

#[test]
fn plain_files_by_magic_bytes() {
    use std::io::Cursor;
    let cases: [(&[u8], &str, Kind); 4] = [
        (b"%PDF-1.7\n...", "report.pdf", Kind::Pdf),
        (b"\x89PNG\r\n\x1a\n....", "logo.png", Kind::Image),
        (b"SQLite format 3\0....", "field.geodatabase", Kind::Sqlite),
        (b"just some bytes", "notes.bin", Kind::Other),
    ];
    for (bytes, name, kind) in cases {
        assert_eq!(
            orgpack_payload::inspect(Cursor::new(bytes), name)
                .unwrap()
                .kind,
            kind,
            "{name}"
        );
    }
}

#[test]
fn service_definition_with_the_data_copied_in() {
    let sd = inspect_file(&payloads().join("City.sd")).unwrap();
    assert_eq!(sd.kind, Kind::ServiceDefinition);
    let service = sd.service.as_ref().unwrap();
    assert_eq!(
        (service.name.as_str(), service.service_type.as_str()),
        ("City", "MapServer")
    );
    assert_eq!(service.folder, None, "an empty folderName is the root");
    assert_eq!(sd.entries.len(), 27);
    assert!(
        sd.entries
            .iter()
            .any(|e| e.name == "cd/City.gdb/a00000009.gdbtable" && e.size == 13_619)
    );
    // The same layers, fields and counts as the geodatabase it was staged from.
    let gdb = inspect_file(&payloads().join("City.gdb.zip")).unwrap();
    assert_eq!(sd.layers, gdb.layers);
    assert!(sd.warnings.is_empty(), "{:?}", sd.warnings);
}

#[test]
fn a_service_definitions_geodatabase_comes_out_as_a_zip_unzip_opens() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("City.gdb.zip");
    let sd = std::fs::File::open(payloads().join("City.sd")).unwrap();
    let folder = orgpack_payload::sd::extract_geodatabase(
        std::io::BufReader::new(sd),
        "City.sd",
        std::fs::File::create(&out).unwrap(),
    )
    .unwrap();
    assert_eq!(folder, "City.gdb");
    let test = std::process::Command::new("unzip")
        .arg("-tq")
        .arg(&out)
        .output()
        .unwrap();
    assert!(test.status.success(), "{test:?}");
    let extracted = inspect_file(&out).unwrap();
    let original = inspect_file(&payloads().join("City.gdb.zip")).unwrap();
    assert_eq!(extracted.kind, Kind::FileGeodatabase);
    assert_eq!(extracted.layers, original.layers);
}

fn page_of(file: &str, layer: &str, offset: usize, limit: usize) -> orgpack_payload::rows::Page {
    orgpack_payload::features(
        std::io::BufReader::new(std::fs::File::open(payloads().join(file)).unwrap()),
        file,
        layer,
        offset,
        limit,
    )
    .unwrap()
}

#[test]
fn features_of_csv_geojson_and_a_service_definition() {
    // CSV: strings, a point from the coordinate columns, object ids by row.
    let first = page_of("hydrants.csv", "hydrants", 0, 2);
    assert!(first.more);
    assert_eq!(
        first.features[0],
        serde_json::json!({"attributes": {"OBJECTID": 1, "hydrant_id": "H-0000", "status": "ok",
            "flow_gpm": "500", "lon": "-117.2", "lat": "34.05"}, "geometry": {"x": -117.2, "y": 34.05}})
    );
    let last = page_of("hydrants.csv", "hydrants", 249, 10);
    assert_eq!(last.features.len(), 1);
    assert!(!last.more);
    assert_eq!(last.features[0]["attributes"]["OBJECTID"], 250);

    // GeoJSON: properties as attributes, rings clockwise as Esri has them.
    let parcels = page_of("parcels.geojson", "parcels", 0, 100);
    assert_eq!(parcels.features.len(), 12);
    assert!(!parcels.more);
    let p = &parcels.features[4];
    assert_eq!(p["attributes"]["parcel_id"], "P-004");
    assert_eq!(p["attributes"]["OBJECTID"], 5);
    let ring: Vec<(f64, f64)> = p["geometry"]["rings"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect();
    let twice_area: f64 = ring
        .windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum();
    assert!(twice_area < 0.0, "the outer ring runs clockwise: {ring:?}");
    let middle = page_of("parcels.geojson", "parcels", 5, 3);
    assert!(middle.more);
    let ids: Vec<u64> = middle
        .features
        .iter()
        .map(|f| f["attributes"]["OBJECTID"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [6, 7, 8]);

    // A service definition: the geodatabase inside, the same rows as the zipped one.
    let from_sd = page_of("City.sd", "Parcels", 3, 4);
    let from_zip = page_of("City.gdb.zip", "Parcels", 3, 4);
    assert_eq!(from_sd, from_zip);
    assert_eq!(from_sd.features.len(), 4);

    // A shapefile: the .dbf's attributes (numbers as numbers), the .shp's points.
    let shp = page_of("Hydrants.shp.zip", "Hydrants", 0, 300);
    assert_eq!(shp.features.len(), 250);
    assert!(!shp.more);
    assert_eq!(
        shp.features[0],
        serde_json::json!({"attributes": {"OBJECTID": 1, "hydrant_id": "H-0000", "status": "ok",
            "flow_gpm": 500, "lon": -117.2, "lat": 34.05}, "geometry": {"x": -117.2, "y": 34.05}})
    );
    let missing = orgpack_payload::features(
        std::fs::File::open(payloads().join("Hydrants.shp.zip")).unwrap(),
        "Hydrants.shp.zip",
        "Pipes",
        0,
        1,
    )
    .unwrap_err();
    assert!(
        missing.to_string().contains("no shapefile `Pipes`"),
        "{missing}"
    );
}

#[test]
fn a_layer_converts_to_geojson_and_csv_that_read_back_the_same() {
    use orgpack_payload::{Format, convert};
    let dir = tempfile::tempdir().unwrap();
    let open = || std::fs::File::open(payloads().join("City.gdb.zip"));
    // Parcels as GeoJSON: the polygons the fixture script wrote, in GeoJSON's orientation again.
    let geojson = dir.path().join("parcels.geojson");
    let n = convert(
        open,
        "City.gdb.zip",
        "Parcels",
        Format::GeoJson,
        std::fs::File::create(&geojson).unwrap(),
    )
    .unwrap();
    assert_eq!(n, 12);
    let back = inspect_file(&geojson).unwrap();
    assert_eq!(shape(&back), vec![(s("parcels"), Some(s("Polygon")), 12)]);
    let ours: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&geojson).unwrap()).unwrap();
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(payloads().join("parcels.geojson")).unwrap())
            .unwrap();
    for (o, g) in ours["features"]
        .as_array()
        .unwrap()
        .iter()
        .zip(original["features"].as_array().unwrap())
    {
        assert_eq!(o["properties"]["parcel_id"], g["properties"]["parcel_id"]);
        let ring = |v: &serde_json::Value| -> Vec<(i64, i64)> {
            v["geometry"]["coordinates"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        (c[0].as_f64().unwrap() * 1e6).round() as i64,
                        (c[1].as_f64().unwrap() * 1e6).round() as i64,
                    )
                })
                .collect()
        };
        let (mut a, mut b) = (ring(o), ring(g));
        // The same ring, maybe from another starting vertex: compare as sets of vertices, and
        // the orientation (counter-clockwise, as RFC 7946 has it) by the shoelace sign.
        let area = |r: &[(i64, i64)]| {
            r.windows(2)
                .map(|w| (w[0].0 * w[1].1 - w[1].0 * w[0].1) as f64)
                .sum::<f64>()
        };
        assert!(area(&a) > 0.0, "GeoJSON outer rings run counter-clockwise");
        a.sort_unstable();
        b.sort_unstable();
        a.dedup();
        b.dedup();
        assert_eq!(a, b);
    }
    // Hydrants as CSV: the attributes, then x and y, readable as a point CSV.
    let csv = dir.path().join("hydrants.csv");
    let n = convert(
        open,
        "City.gdb.zip",
        "Hydrants",
        Format::Csv,
        std::fs::File::create(&csv).unwrap(),
    )
    .unwrap();
    assert_eq!(n, 250);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("OBJECTID,hydrant_id,status,flow_gpm,lon,lat,x,y")
    );
    assert_eq!(
        lines.next(),
        Some("1,H-0000,ok,500,-117.2,34.05,-117.2,34.05")
    );
    let back = inspect_file(&csv).unwrap();
    assert_eq!(shape(&back), vec![(s("hydrants"), Some(s("Point")), 250)]);
}

#[test]
fn a_layer_converts_to_a_shapefile_that_reads_back_the_same() {
    use orgpack_payload::{Format, convert};
    let dir = tempfile::tempdir().unwrap();
    let open = || std::fs::File::open(payloads().join("City.gdb.zip"));
    for (layer, geometry, count) in [("Hydrants", "Point", 250), ("Parcels", "Polygon", 12)] {
        let out = dir.path().join(format!("{layer}.zip"));
        let n = convert(
            open,
            "City.gdb.zip",
            layer,
            Format::Shapefile,
            std::fs::File::create(&out).unwrap(),
        )
        .unwrap();
        assert_eq!(n, count);
        let summary = inspect_file(&out).unwrap();
        assert_eq!(summary.kind, Kind::Shapefile);
        assert_eq!(shape(&summary), vec![(s(layer), Some(s(geometry)), count)]);
        assert_eq!(
            summary.layers[0].spatial_reference.as_deref(),
            Some("GCS_WGS_1984")
        );
        // Row by row, the shapefile holds what the geodatabase does.
        let page = |file: &std::path::Path, name: &str| {
            orgpack_payload::features(std::fs::File::open(file).unwrap(), name, layer, 0, 1000)
                .unwrap()
                .features
        };
        let ours = page(&out, "x.zip");
        let original = page(&payloads().join("City.gdb.zip"), "City.gdb.zip");
        assert_eq!(ours.len(), original.len());
        for (o, g) in ours.iter().zip(&original) {
            for (k, v) in g["attributes"].as_object().unwrap() {
                let back = &o["attributes"][k.as_str()];
                match (v.as_f64(), back.as_f64()) {
                    (Some(a), Some(b)) => {
                        assert!((a - b).abs() < 1e-6, "{layer} {k}: {v} vs {back}");
                    }
                    _ => assert_eq!(v, back, "{layer} {k}"),
                }
            }
            assert_eq!(o["geometry"], g["geometry"], "{layer}");
        }
    }
}
