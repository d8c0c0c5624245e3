//! Integration tests of orgpack-payload: one binary.

#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)] // test arithmetic on small coordinates and day counts

mod corrupt;
mod fgdb_write;
mod fixtures;
mod gdal;
mod sevenzip;

use std::path::PathBuf;

use orgpack_payload::{Summary, inspect};

/// The workspace's `fixtures/payloads/`.
pub fn payloads() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/payloads")
}

/// Inspect a file on disk.
pub fn inspect_file(path: &std::path::Path) -> orgpack_payload::Result<Summary> {
    let file = std::fs::File::open(path).unwrap();
    inspect(
        std::io::BufReader::new(file),
        path.file_name().unwrap().to_str().unwrap(),
    )
}

/// (name, geometry, count) of each layer.
pub fn shape(s: &Summary) -> Vec<(String, Option<String>, u64)> {
    s.layers
        .iter()
        .map(|l| (l.name.clone(), l.geometry_type.clone(), l.feature_count))
        .collect()
}
