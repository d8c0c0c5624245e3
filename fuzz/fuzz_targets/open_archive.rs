//! Any bytes as a single-file archive: open, list, read and verify must never panic, hang or
//! allocate without bound. Run with `cargo fuzz run open_archive` (seed the corpus with
//! `cp fixtures/corrupt/*.orgpack fuzz/corpus/open_archive/`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = orgpack_archive::store::zip_read::exercise(data.to_vec());
});
