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
