//! Against GDAL itself: files `ogr2ogr` writes at test time, with feature counts the test picks,
//! inspected by orgpack and by `ogrinfo`, must agree. `scripts/test` installs GDAL.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::{inspect_file, shape};

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (GDAL is installed by scripts/test)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Zip a directory with Python's zipfile (deflate), as ArcGIS exports are.
fn zip_dir(dir: &Path, out: &Path) {
    let script = "import os,sys,zipfile\nsrc,dst=sys.argv[1],sys.argv[2]\nbase=os.path.dirname(src)\nwith zipfile.ZipFile(dst,'w',zipfile.ZIP_DEFLATED) as z:\n  for r,_,fs in os.walk(src):\n    for f in sorted(fs):\n      p=os.path.join(r,f); z.write(p,os.path.relpath(p,base))\n";
    run(Command::new("python3")
        .args(["-c", script])
        .arg(dir)
        .arg(out));
}

/// (layer, geometry, feature count) as `ogrinfo -so -al` reports them.
fn ogrinfo(path: &Path) -> Vec<(String, Option<String>, u64)> {
    let out = Command::new("ogrinfo")
        .args(["-so", "-al", "-ro"])
        .arg(path)
        .output()
        .expect("ogrinfo");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut layers = Vec::new();
    let (mut name, mut geom) = (None::<String>, None::<String>);
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("Layer name: ") {
            name = Some(n.trim().to_owned());
        } else if let Some(g) = line.strip_prefix("Geometry: ") {
            geom = match g.trim() {
                "None" => None,
                "Point" => Some("Point".into()),
                "Multi Polygon" | "Polygon" => Some("Polygon".into()),
                "Multi Line String" | "Line String" => Some("Polyline".into()),
                other => Some(other.to_owned()),
            };
        } else if let Some(c) = line.strip_prefix("Feature Count: ") {
            layers.push((
                name.take().unwrap_or_default(),
                geom.take(),
                c.trim().parse().unwrap(),
            ));
        }
    }
    layers.sort();
    layers
}

#[test]
fn inspection_agrees_with_gdal_on_files_gdal_writes() {
    let dir = tempfile::tempdir().unwrap();
    for (round, points) in [0usize, 1, 77, 1500].into_iter().enumerate() {
        let work = dir.path().join(format!("round{round}"));
        std::fs::create_dir_all(&work).unwrap();
        let mut csv = String::from("name,score,lon,lat\n");
        for i in 0..points {
            let _ = writeln!(
                csv,
                "p{i},{},{},{}",
                i * 3,
                -100.0 + (i % 50) as f64 * 0.01,
                40.0 + (i / 50) as f64 * 0.01
            );
        }
        std::fs::write(work.join("pts.csv"), csv).unwrap();
        let gdb = work.join("Test.gdb");
        run(Command::new("ogr2ogr")
            .args(["-f", "OpenFileGDB"])
            .arg(&gdb)
            .arg(work.join("pts.csv"))
            .args([
                "-oo",
                "X_POSSIBLE_NAMES=lon",
                "-oo",
                "Y_POSSIBLE_NAMES=lat",
                "-oo",
                "AUTODETECT_TYPE=YES",
                "-a_srs",
                "EPSG:3857",
                "-nln",
                "Points",
                "-nlt",
                "POINT",
            ]));
        run(Command::new("ogr2ogr")
            .args(["-f", "OpenFileGDB", "-update"])
            .arg(&gdb)
            .arg(work.join("pts.csv"))
            .args(["-nln", "PointTable"]));
        let zip = work.join("Test.gdb.zip");
        zip_dir(&gdb, &zip);
        let summary = inspect_file(&zip).unwrap();
        let mut ours = shape(&summary);
        ours.sort();
        assert_eq!(ours, ogrinfo(&gdb), "round {round}: {points} points");
        assert_eq!(
            summary
                .layers
                .iter()
                .find(|l| l.name == "Points")
                .unwrap()
                .spatial_reference
                .as_deref(),
            Some("WGS_1984_Web_Mercator_Auxiliary_Sphere")
        );
        if points == 0 {
            assert!(
                summary
                    .warnings
                    .iter()
                    .any(|w| w.contains("`Points` is empty")),
                "{:?}",
                summary.warnings
            );
        }

        let shp_dir = work.join("shp");
        std::fs::create_dir_all(&shp_dir).unwrap();
        run(Command::new("ogr2ogr")
            .args(["-f", "ESRI Shapefile"])
            .arg(shp_dir.join("Pts.shp"))
            .arg(work.join("pts.csv"))
            .args([
                "-oo",
                "X_POSSIBLE_NAMES=lon",
                "-oo",
                "Y_POSSIBLE_NAMES=lat",
                "-nlt",
                "POINT",
            ]));
        let shp_zip = work.join("Pts.zip");
        zip_dir(&shp_dir, &shp_zip);
        let mut ours = shape(&inspect_file(&shp_zip).unwrap());
        ours.sort();
        assert_eq!(
            ours,
            ogrinfo(&shp_dir.join("Pts.shp")),
            "round {round}: shapefile"
        );
    }
}

/// Coordinates of a GeoJSON or Esri JSON geometry, flattened, ring orientation normalised.
fn coords(v: &serde_json::Value) -> Vec<Vec<f64>> {
    match v {
        serde_json::Value::Array(items)
            if items.first().is_some_and(serde_json::Value::is_number) =>
        {
            vec![items.iter().map(|n| n.as_f64().unwrap()).collect()]
        }
        serde_json::Value::Array(items) => items.iter().flat_map(coords).collect(),
        _ => Vec::new(),
    }
}

fn close(a: &[Vec<f64>], b: &[Vec<f64>]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    let key =
        |p: &Vec<f64>| (p[0] * 1e6).round() as i64 * 1_000_000_007 + (p[1] * 1e6).round() as i64;
    a.sort_by_key(key);
    b.sort_by_key(key);
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(p, q)| p.iter().zip(q).all(|(x, y)| (x - y).abs() < 1e-6))
}

#[test]
fn features_agree_with_gdal_on_files_gdal_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut features = Vec::new();
    for i in 0..260 {
        let (x, y) = (
            -117.0 + f64::from(i % 20) * 0.01,
            34.0 + f64::from(i / 20) * 0.01,
        );
        let geometry = match i % 3 {
            0 => serde_json::json!({"type": "Polygon", "coordinates": [
                [[x, y], [x + 0.008, y], [x + 0.008, y + 0.008], [x, y + 0.008], [x, y]],
                [[x + 0.002, y + 0.002], [x + 0.002, y + 0.004], [x + 0.004, y + 0.004], [x + 0.004, y + 0.002], [x + 0.002, y + 0.002]]
            ]}),
            1 => serde_json::json!({"type": "MultiPolygon", "coordinates": [
                [[[x, y], [x + 0.001, y], [x + 0.001, y + 0.001], [x, y]]],
                [[[x + 0.005, y], [x + 0.006, y], [x + 0.006, y + 0.001], [x + 0.005, y]]]
            ]}),
            _ => serde_json::json!({"type": "Polygon", "coordinates": [
                [[x, y], [x + 0.003, y], [x + 0.003, y + 0.003], [x, y]]]}),
        };
        features.push(serde_json::json!({"type": "Feature", "geometry": geometry, "properties": {
            "name": format!("lot {i} é"), "lanes": if i % 7 == 0 { serde_json::Value::Null } else { serde_json::json!(i % 4) },
            "area": f64::from(i) * 1.5, "opened": format!("2020-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
        }}));
    }
    let source = dir.path().join("lots.geojson");
    std::fs::write(
        &source,
        serde_json::json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .unwrap();
    let gdb = dir.path().join("Lots.gdb");
    run(Command::new("ogr2ogr")
        .args(["-f", "OpenFileGDB"])
        .arg(&gdb)
        .arg(&source)
        .args(["-nln", "Lots", "-nlt", "MULTIPOLYGON"]));
    let back = dir.path().join("back.geojson");
    run(Command::new("ogr2ogr")
        .args(["-f", "GeoJSON"])
        .arg(&back)
        .arg(&gdb)
        .arg("Lots"));
    let gdal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&back).unwrap()).unwrap();
    let gdal = gdal["features"].as_array().unwrap();
    let zip = dir.path().join("Lots.gdb.zip");
    zip_dir(&gdb, &zip);

    // Pages of 100 cover every row once, in order.
    let mut ours = Vec::new();
    let mut offset = 0;
    loop {
        let page = orgpack_payload::features(
            std::fs::File::open(&zip).unwrap(),
            "Lots.gdb.zip",
            "Lots",
            offset,
            100,
        )
        .unwrap();
        offset += page.features.len();
        ours.extend(page.features);
        if !page.more {
            break;
        }
    }
    assert_eq!(ours.len(), gdal.len());
    for (i, (o, g)) in ours.iter().zip(gdal).enumerate() {
        let (oa, gp) = (&o["attributes"], &g["properties"]);
        assert_eq!(oa["OBJECTID"], i + 1, "row {i}");
        assert_eq!(oa["name"], gp["name"], "row {i}");
        assert_eq!(oa["lanes"], gp["lanes"], "row {i}");
        assert_eq!(oa["area"].as_f64(), gp["area"].as_f64(), "row {i}");
        // Dates: GDAL gives the calendar date, orgpack epoch milliseconds.
        let date = gp["opened"].as_str().unwrap();
        let ms = oa["opened"].as_f64().unwrap();
        let days = (ms / 86_400_000.0).round() as i64;
        let (y, m, d): (i64, i64, i64) = (
            date[0..4].parse().unwrap(),
            date[5..7].parse().unwrap(),
            date[8..10].parse().unwrap(),
        );
        // Days from the civil date (Howard Hinnant's algorithm).
        let (yy, mm) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
        let era = yy.div_euclid(400);
        let yoe = yy - era * 400;
        let doy = (153 * mm + 2) / 5 + d - 1;
        let expected = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
        assert_eq!(days, expected, "row {i}: {date}");
        let rings = o["geometry"]["rings"].as_array().unwrap();
        let parts = match g["geometry"]["type"].as_str().unwrap() {
            "MultiPolygon" => g["geometry"]["coordinates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_array().unwrap().len())
                .sum(),
            _ => g["geometry"]["coordinates"].as_array().unwrap().len(),
        };
        assert_eq!(rings.len(), parts, "row {i}: rings");
        assert!(
            close(
                &coords(&o["geometry"]["rings"]),
                &coords(&g["geometry"]["coordinates"])
            ),
            "row {i}: {} vs {}",
            o["geometry"],
            g["geometry"]
        );
    }
    // The same lots as a shapefile: orgpack and GDAL read the same rows.
    let shp_dir = dir.path().join("lots_shp");
    std::fs::create_dir_all(&shp_dir).unwrap();
    run(Command::new("ogr2ogr")
        .args(["-f", "ESRI Shapefile"])
        .arg(shp_dir.join("Lots.shp"))
        .arg(&source)
        .args(["-nlt", "MULTIPOLYGON"]));
    let shp_back = dir.path().join("shp_back.geojson");
    run(Command::new("ogr2ogr")
        .args(["-f", "GeoJSON"])
        .arg(&shp_back)
        .arg(shp_dir.join("Lots.shp")));
    let gdal_shp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&shp_back).unwrap()).unwrap();
    let shp_zip = dir.path().join("Lots.shp.zip");
    zip_dir(&shp_dir, &shp_zip);
    let shp_page = orgpack_payload::features(
        std::fs::File::open(&shp_zip).unwrap(),
        "Lots.shp.zip",
        "Lots",
        0,
        1000,
    )
    .unwrap();
    let gdal_shp = gdal_shp["features"].as_array().unwrap();
    assert_eq!(shp_page.features.len(), gdal_shp.len());
    for (i, (o, g)) in shp_page.features.iter().zip(gdal_shp).enumerate() {
        for field in ["name", "lanes", "area"] {
            assert_eq!(
                o["attributes"][field].as_f64().or(None),
                g["properties"][field].as_f64(),
                "row {i}: {field}"
            );
            assert_eq!(
                o["attributes"][field].as_str(),
                g["properties"][field].as_str(),
                "row {i}: {field}"
            );
        }
        assert!(
            close(
                &coords(&o["geometry"]["rings"]),
                &coords(&g["geometry"]["coordinates"])
            ),
            "shapefile row {i}"
        );
    }

    // Past the end: an empty page.
    let past = orgpack_payload::features(std::fs::File::open(&zip).unwrap(), "x", "Lots", 5000, 10)
        .unwrap();
    assert!(past.features.is_empty() && !past.more);
}

#[test]
fn point_and_line_features_with_z_agree_with_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let mut features = Vec::new();
    for i in 0..50 {
        let (x, y) = (
            500_000.0 + f64::from(i) * 10.0,
            4_000_000.0 + f64::from(i) * 5.0,
        );
        features.push(
            serde_json::json!({"type": "Feature", "properties": {"well_no": i},
            "geometry": {"type": "Point", "coordinates": [x, y, 100.0 + f64::from(i)]}}),
        );
    }
    let points = dir.path().join("wells.geojson");
    std::fs::write(
        &points,
        serde_json::json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .unwrap();
    let lines = dir.path().join("pipes.geojson");
    let line_features: Vec<serde_json::Value> = (0..30)
        .map(|i| {
            let x = 500_000.0 + f64::from(i) * 10.0;
            serde_json::json!({"type": "Feature", "properties": {"well_no": i}, "geometry": {"type": "MultiLineString",
                "coordinates": [[[x, 4_000_000.0], [x + 3.5, 4_000_004.25], [x + 7.0, 4_000_001.0]], [[x, 4_000_100.0], [x - 2.0, 4_000_090.5]]]}})
        })
        .collect();
    std::fs::write(
        &lines,
        serde_json::json!({"type": "FeatureCollection", "features": line_features}).to_string(),
    )
    .unwrap();
    let gdb = dir.path().join("Net.gdb");
    run(Command::new("ogr2ogr")
        .args(["-f", "OpenFileGDB"])
        .arg(&gdb)
        .arg(&points)
        .args(["-nln", "Wells", "-a_srs", "EPSG:26911", "-dim", "XYZ"]));
    run(Command::new("ogr2ogr")
        .args(["-f", "OpenFileGDB", "-update"])
        .arg(&gdb)
        .arg(&lines)
        .args([
            "-nln",
            "Pipes",
            "-a_srs",
            "EPSG:26911",
            "-nlt",
            "MULTILINESTRING",
        ]));
    let zip = dir.path().join("Net.gdb.zip");
    zip_dir(&gdb, &zip);
    let page = |layer| {
        orgpack_payload::features(
            std::fs::File::open(&zip).unwrap(),
            "Net.gdb.zip",
            layer,
            0,
            1000,
        )
        .unwrap()
        .features
    };
    let wells = page("Wells");
    assert_eq!(wells.len(), 50);
    for (i, w) in wells.iter().enumerate() {
        let g = &w["geometry"];
        let i = f64::from(u32::try_from(i).unwrap());
        assert!(
            (g["x"].as_f64().unwrap() - (500_000.0 + i * 10.0)).abs() < 1e-3,
            "{g}"
        );
        assert!(
            (g["y"].as_f64().unwrap() - (4_000_000.0 + i * 5.0)).abs() < 1e-3,
            "{g}"
        );
        assert!((g["z"].as_f64().unwrap() - (100.0 + i)).abs() < 1e-3, "{g}");
    }
    let pipes = page("Pipes");
    assert_eq!(pipes.len(), 30);
    let paths = pipes[3]["geometry"]["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 2);
    let first = &paths[0][1];
    assert!(
        (first[0].as_f64().unwrap() - 500_033.5).abs() < 1e-3,
        "{first}"
    );
    assert!(
        (first[1].as_f64().unwrap() - 4_000_004.25).abs() < 1e-3,
        "{first}"
    );
    assert!((paths[1][1][1].as_f64().unwrap() - 4_000_090.5).abs() < 1e-3);
}

#[test]
fn gdal_reads_the_shapefiles_orgpack_writes() {
    let dir = tempfile::tempdir().unwrap();
    for (layer, geometry, count) in [("Hydrants", "Point", 250), ("Parcels", "Polygon", 12)] {
        let out = dir.path().join(format!("{layer}.zip"));
        orgpack_payload::convert(
            || std::fs::File::open(crate::payloads().join("City.gdb.zip")),
            "City.gdb.zip",
            layer,
            orgpack_payload::Format::Shapefile,
            std::fs::File::create(&out).unwrap(),
        )
        .unwrap();
        let vsi = std::path::PathBuf::from(format!("/vsizip/{}/{layer}.shp", out.display()));
        assert_eq!(
            ogrinfo(&vsi),
            vec![(layer.to_owned(), Some(geometry.to_owned()), count)],
            "{layer}"
        );
    }
}
