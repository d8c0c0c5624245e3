//! Any bytes as a payload (as a geodatabase zip, a shapefile zip, GeoJSON and CSV): inspection
//! must never panic, hang or allocate without bound. `cargo fuzz run inspect_payload`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for name in ["x.gdb.zip", "x.geojson", "x.csv"] {
        let _ = orgpack_payload::inspect(std::io::Cursor::new(data), name);
    }
    let _ = orgpack_payload::fgdb::parse_table(data);
});
