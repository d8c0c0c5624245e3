//! One very large payload through a single-file archive: memory stays bounded whatever the size,
//! and archives over 4 GiB (ZIP64 offsets) open in orgpack and in `unzip`.
//!
//! `cargo bench -p orgpack-archive --bench large` (size: `ORGPACK_LARGE_GIB`, default 10; where:
//! `ORGPACK_BENCH_DIR`, default the temp dir; needs that much free disk).

#![allow(clippy::print_stdout, clippy::cast_precision_loss, missing_docs)]

mod support;

use std::time::Instant;
use support::peak_rss_mib;

use orgpack_archive::sample::{NoiseReader, build_sample};
use orgpack_archive::{
    Archive, SingleFileWriter, SnapshotWriter, VerifyOptions, WriteOptions, verify,
};

fn main() {
    let gib: u64 = std::env::var("ORGPACK_LARGE_GIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let size = gib << 30;
    let base = std::env::var_os("ORGPACK_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(base).unwrap();
    let path = dir.path().join("large.orgpack");
    println!(
        "one {gib} GiB incompressible payload through a single-file archive at {}",
        path.display()
    );

    let started = Instant::now();
    let mut writer = SingleFileWriter::create_new(&path).unwrap();
    let payload = writer
        .blob_writer(WriteOptions::default())
        .put_reader(NoiseReader::new(9, size), "payload")
        .unwrap();
    let mut snapshot = build_sample(&writer, "2026-11-26T02:00:00Z", 1024).unwrap();
    snapshot.items[0].payloads[0].content = payload;
    writer.commit(&mut snapshot).unwrap();
    writer.finish().unwrap();
    let secs = started.elapsed().as_secs_f64();
    let file_size = std::fs::metadata(&path).unwrap().len();
    println!(
        "write:  {:>6.0} MB/s, archive {:.2} GiB, peak memory so far {} MiB",
        size as f64 / 1e6 / secs,
        file_size as f64 / f64::from(1 << 30),
        peak_rss_mib()
    );

    let started = Instant::now();
    let archive = Archive::open(&path).unwrap();
    let mut reader = archive.open_part(&payload).unwrap();
    let copied = std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
    assert_eq!(copied, size);
    println!(
        "read:   {:>6.0} MB/s (whole-content SHA-256 checked), peak memory {} MiB",
        size as f64 / 1e6 / started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );

    let started = Instant::now();
    let report = verify(&archive, VerifyOptions::read_data()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    println!(
        "verify: {:>6.0} MB/s (--read-data), peak memory {} MiB",
        report.bytes_read as f64 / 1e6 / started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );

    let unzip = std::process::Command::new("unzip")
        .arg("-l")
        .arg(&path)
        .output();
    match unzip {
        Ok(out) if out.status.success() => println!(
            "unzip -l: ok ({} lines)",
            out.stdout.split(|b| *b == b'\n').count()
        ),
        Ok(out) => println!("unzip -l: FAILED: {}", String::from_utf8_lossy(&out.stderr)),
        Err(_) => println!("unzip -l: unzip not installed"),
    }
    println!(
        "peak memory over the whole run: {} MiB for a {gib} GiB payload",
        peak_rss_mib()
    );
}
