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
