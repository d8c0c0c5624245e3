//! Any bytes as a snapshot manifest: parsing (as `Archive::snapshot` does: JSON first, then the
//! typed snapshot) and the checks restore relies on (`problems`, `parts`) must never panic, hang
//! or allocate without bound, whatever the nesting, sizes or ids. Seeded with real manifests.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(snapshot) = serde_json::from_value::<orgpack_archive::manifest::Snapshot>(value) {
        let _ = snapshot.problems();
        let _ = snapshot.parts();
    }
});
