//! Integration tests of orgpack-archive: one binary, one module per concern.

#![allow(clippy::cast_possible_truncation, clippy::print_stdout)]

mod atomicity;
mod corruption;
mod dir_store;
mod encryption;
mod external_tools;
mod layers;
mod mutation;
mod prune;
mod roundtrip;
mod schema;

use std::path::PathBuf;

/// The workspace's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Small chunker parameters so that small test inputs are cut into many chunks.
pub fn small_chunks() -> orgpack_archive::ChunkerParams {
    orgpack_archive::ChunkerParams {
        algorithm: orgpack_archive::layout::ChunkerAlgorithm::FastCdc2020,
        min_size: 256,
        avg_size: 1024,
        max_size: 4096,
        normalization: 1,
    }
}
