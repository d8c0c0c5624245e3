//! Any bytes as a payload (as a geodatabase zip, a shapefile zip, a service definition, GeoJSON and
//! CSV): inspection, and reading a page of each layer's features, must never panic, hang or
//! allocate without bound. `cargo fuzz run inspect_payload`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for name in ["x.gdb.zip", "x.geojson", "x.csv"] {
        if let Ok(summary) = orgpack_payload::inspect(std::io::Cursor::new(data), name) {
            for layer in &summary.layers {
                let _ = orgpack_payload::features(std::io::Cursor::new(data), name, &layer.name, 0, 50);
            }
        }
    }
    if let Ok(info) = orgpack_payload::fgdb::parse_table(data) {
        let _ = orgpack_payload::rows::page(data, data, &info, 0, 50);
    }
});
