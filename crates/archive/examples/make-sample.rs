//! Add a sample snapshot to a repository (created when missing), for trying orgpack's commands:
//! `cargo run -p orgpack-archive --example make-sample -- DIR [PAYLOAD_BYTES]`.
//! Run it twice to see two snapshots share their unchanged content.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use orgpack_archive::Repository;
use orgpack_archive::sample::write_sample;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: make-sample DIR [PAYLOAD_BYTES]")?,
    );
    let size: u64 = args.next().map_or(Ok(3 << 20), |s| s.parse())?;
    let mut repo = Repository::open_or_init(&dir)?;
    let now = jiff::Timestamp::now()
        .round(jiff::Unit::Second)?
        .to_string();
    let id = write_sample(&mut repo, &now, size)?;
    println!("{id}");
    Ok(())
}
