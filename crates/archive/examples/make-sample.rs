//! Write a sample repository (and optionally a single-file archive) for manual testing:
//! `cargo run -p orgpack-archive --example make-sample -- DIR [PAYLOAD_BYTES]`.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use orgpack_archive::sample::write_sample;
use orgpack_archive::{ChunkerParams, Repository};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: make-sample DIR [PAYLOAD_BYTES]")?,
    );
    let size: u64 = args.next().map_or(Ok(3 << 20), |s| s.parse())?;
    let mut repo = Repository::init(&dir, ChunkerParams::default())?;
    let id = write_sample(&mut repo, "2026-11-26T02:00:00Z", size)?;
    println!("{id}");
    Ok(())
}
