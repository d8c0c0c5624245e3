//! Throughput of the archive pipeline on this machine: writes and reads mixed data through both
//! forms and prints MB/s, with `zstd -3 -T0` on the same bytes as the yardstick and the process's
//! peak memory. Not a timed test: it prints figures (record them in `benches/README.md`).
//!
//! `cargo bench -p orgpack-archive --bench throughput` (size: `ORGPACK_BENCH_MIB`, default 1024,
//! half compressible JSON-like, half incompressible zip-like).

#![allow(clippy::print_stdout, clippy::cast_precision_loss, missing_docs)]

use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use orgpack_archive::sample::NoiseReader;
use orgpack_archive::{
    Archive, ChunkerParams, Descriptor, Repository, SingleFileWriter, SnapshotWriter,
    VerifyOptions, WriteOptions,
};

/// Deterministic JSON-like records, as portal item JSON and feature data compress (about 4–5×).
struct JsonLike {
    n: u64,
    remaining: u64,
    line: Vec<u8>,
    pos: usize,
}

impl JsonLike {
    fn new(len: u64) -> Self {
        Self {
            n: 0,
            remaining: len,
            line: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for JsonLike {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        if self.pos == self.line.len() {
            self.n += 1;
            let n = self.n;
            let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            self.line = format!(
                "{{\"attributes\":{{\"OBJECTID\":{n},\"PARCEL_ID\":\"P-{:08}\",\"OWNER\":\"owner {}\",\"AREA\":{}.{:03},\"ZONE\":\"{}\"}},\"geometry\":{{\"rings\":[[[{},{}],[{},{}]]]}}}},\n",
                h % 100_000_000,
                h % 977,
                h % 10_000,
                h % 1000,
                ["R1", "R2", "C1", "I1", "AG"][(h % 5) as usize],
                -12_000_000 + (h % 100_000) as i64,
                4_000_000 + (h % 70_000) as i64,
                -12_000_000 + (h % 100_003) as i64,
                4_000_000 + (h % 70_001) as i64,
            )
            .into_bytes();
            self.pos = 0;
        }
        let n = buf
            .len()
            .min(self.line.len() - self.pos)
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
        self.pos += n;
        self.remaining -= n as u64;
        Ok(n)
    }
}

fn mb_s(bytes: u64, secs: f64) -> String {
    format!("{:>8.0}", bytes as f64 / 1e6 / secs)
}

fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn write(w: &dyn SnapshotWriter, reader: impl Read) -> (Descriptor, f64) {
    let started = Instant::now();
    let d = w
        .blob_writer(WriteOptions::default())
        .put_reader(reader, "bench")
        .unwrap();
    w.sink().flush().unwrap();
    (d, started.elapsed().as_secs_f64())
}

fn read_back(archive: &Archive, d: &Descriptor) -> f64 {
    let started = Instant::now();
    let mut reader = archive.open_part(d).unwrap();
    let copied = std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
    assert_eq!(copied, d.size);
    started.elapsed().as_secs_f64()
}

fn zstd_cli(dir: &Path, len: u64) -> Option<f64> {
    let file = dir.join("json.bin");
    let mut f = std::fs::File::create(&file).ok()?;
    std::io::copy(&mut JsonLike::new(len), &mut f).ok()?;
    f.flush().ok()?;
    let started = Instant::now();
    let status = std::process::Command::new("zstd")
        .args(["-3", "-T0", "-q", "-f", "-o"])
        .arg(dir.join("json.zst"))
        .arg(&file)
        .status()
        .ok()?;
    let secs = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(dir.join("json.zst"));
    status.success().then_some(secs)
}

fn main() {
    let mib: u64 = std::env::var("ORGPACK_BENCH_MIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let half = mib / 2 << 20;
    let dir = tempfile::tempdir_in(
        std::env::var_os("ORGPACK_BENCH_DIR").unwrap_or_else(|| std::env::temp_dir().into()),
    )
    .unwrap();
    println!(
        "orgpack-archive throughput: {mib} MiB ({} MiB JSON-like + {} MiB incompressible), {} cores",
        mib / 2,
        mib / 2,
        orgpack_archive::default_threads()
    );
    println!();
    println!("{:<28} {:>8}  {:>8}", "", "dir MB/s", "zip MB/s");

    let repo = Repository::init(&dir.path().join("repo"), ChunkerParams::default()).unwrap();
    let zip_path = dir.path().join("bench.orgpack");
    let zip = SingleFileWriter::create_new(&zip_path).unwrap();
    let (dj, tj_dir) = write(&repo, JsonLike::new(half));
    let (_, tj_zip) = write(&zip, JsonLike::new(half));
    println!(
        "{:<28} {}  {}",
        "write compressible",
        mb_s(half, tj_dir),
        mb_s(half, tj_zip)
    );
    let (dn, tn_dir) = write(&repo, NoiseReader::new(1, half));
    let (_, tn_zip) = write(&zip, NoiseReader::new(1, half));
    println!(
        "{:<28} {}  {}",
        "write incompressible",
        mb_s(half, tn_dir),
        mb_s(half, tn_zip)
    );
    let stats = repo.blob_writer(WriteOptions::default()).stats();
    let _ = stats;
    zip.finish().unwrap();

    let repo_archive = repo.archive().unwrap();
    let zip_archive = Archive::open(&zip_path).unwrap();
    let rj = (read_back(&repo_archive, &dj), read_back(&zip_archive, &dj));
    println!(
        "{:<28} {}  {}",
        "read compressible",
        mb_s(half, rj.0),
        mb_s(half, rj.1)
    );
    let rn = (read_back(&repo_archive, &dn), read_back(&zip_archive, &dn));
    println!(
        "{:<28} {}  {}",
        "read incompressible",
        mb_s(half, rn.0),
        mb_s(half, rn.1)
    );

    let verify = |archive: &Archive| {
        let started = Instant::now();
        let report = orgpack_archive::verify(
            archive,
            VerifyOptions {
                read_data: true,
                ..VerifyOptions::default()
            },
        )
        .unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        (report.bytes_read, started.elapsed().as_secs_f64())
    };
    // Blobs written outside any snapshot are not verified by `verify`; commit one that uses both.
    let mut repo = repo;
    let mut snapshot =
        orgpack_archive::sample::build_sample(&repo, "2026-11-26T02:00:00Z", 1024).unwrap();
    snapshot.items[0].payloads[0].content = dj;
    let mut extra = snapshot.items[0].payloads[0].clone();
    extra.file_name = "noise.zip".into();
    extra.content = dn;
    snapshot.items[0].payloads.push(extra);
    repo.commit(&snapshot).unwrap();
    let (bytes, secs) = verify(&repo.archive().unwrap());
    let stored: u64 = std::fs::read_dir(dir.path().join("repo/blobs/sha256"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|f| f.unwrap().metadata().unwrap().len())
        .sum();
    println!("{:<28} {}", "verify --read-data (dir)", mb_s(bytes, secs));
    println!();
    match zstd_cli(dir.path(), half) {
        Some(secs) => println!(
            "yardstick: zstd -3 -T0 on the same JSON-like bytes: {} MB/s",
            mb_s(half, secs).trim()
        ),
        None => println!("yardstick: zstd CLI not found"),
    }
    println!(
        "stored {:.0} MiB for {mib} MiB of content (JSON-like ratio {:.1}x); peak memory {} MiB",
        stored as f64 / 1048576.0,
        half as f64 / (stored.saturating_sub(half) as f64).max(1.0),
        peak_rss_mib()
    );
}
