//! A single-file archive is an ordinary zip: `unzip` and Python's `zipfile` list and test it.

use std::process::Command;

use orgpack_archive::SingleFileWriter;
use orgpack_archive::sample::write_sample;

fn sample_archive(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("sample.orgpack");
    let mut w = SingleFileWriter::create_new(&path).unwrap();
    write_sample(&mut w, "2026-11-26T02:00:00Z", 3 << 20).unwrap();
    w.finish().unwrap()
}

#[test]
fn unzip_lists_and_tests_a_single_file_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_archive(dir.path());
    let out = Command::new("unzip")
        .arg("-l")
        .arg(&path)
        .output()
        .expect("`unzip` is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(listing.contains("orgpack-layout"));
    assert!(listing.contains("index.json"));
    assert!(listing.contains("snapshots/"));
    assert!(listing.contains("blobs/sha256/"));
    let out = Command::new("unzip")
        .arg("-tq")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unzip -t: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn python_zipfile_reads_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_archive(dir.path());
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n\
                  assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())\nprint(len(z.infolist()))";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("python3 is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: usize = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(entries > 10);
}

#[test]
fn zstd_cli_decodes_a_compressed_blob() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_archive(dir.path());
    let archive = orgpack_archive::Archive::open(&path).unwrap();
    let id = archive.resolve("latest").unwrap();
    let snapshot = archive.snapshot(&id).unwrap();
    let d = snapshot
        .items
        .iter()
        .find(|i| i.data.is_some())
        .unwrap()
        .data
        .as_ref()
        .unwrap()
        .content;
    let stored = archive
        .store()
        .get(&orgpack_archive::Key::Blob(d.digest))
        .unwrap();
    assert!(
        stored.starts_with(&orgpack_archive::blob::ZSTD_MAGIC),
        "JSON data is compressed"
    );
    let frame = dir.path().join("blob.zst");
    std::fs::write(&frame, stored).unwrap();
    let out = Command::new("zstd")
        .args(["-dc", "-q"])
        .arg(&frame)
        .output()
        .expect("`zstd` is installed");
    assert!(out.status.success());
    assert_eq!(out.stdout, archive.read_blob(&d.digest).unwrap());
}

#[test]
fn more_than_65535_entries_use_zip64_and_stay_readable() {
    // 70 000 blobs force the ZIP64 end-of-central-directory records without gigabytes of data.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.orgpack");
    let writer = SingleFileWriter::create_new(&path).unwrap();
    let blobs = orgpack_archive::SnapshotWriter::blob_writer(
        &writer,
        orgpack_archive::WriteOptions::default(),
    );
    let descriptors: Vec<_> = (0..70_000u32)
        .map(|i| blobs.put_bytes(format!("blob {i}").as_bytes()).unwrap())
        .collect();
    writer.finish().unwrap();

    let bytes = std::fs::read(&path).unwrap();
    let zip64_eocd = [0x50, 0x4b, 0x06, 0x06];
    assert!(
        bytes.windows(4).rev().take(200).any(|w| w == zip64_eocd),
        "a ZIP64 end record is present"
    );

    let archive = orgpack_archive::Archive::open(&path).unwrap();
    assert_eq!(
        archive
            .store()
            .list(orgpack_archive::store::ListKind::Blobs)
            .unwrap()
            .len(),
        70_000
    );
    assert_eq!(
        archive.read_part(&descriptors[69_999]).unwrap(),
        b"blob 69999"
    );

    let out = Command::new("unzip").arg("-l").arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("70002 files"),
        "layout + index + 70 000 blobs"
    );
    let script = "import sys, zipfile\nprint(len(zipfile.ZipFile(sys.argv[1]).infolist()))";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "70002");
}
