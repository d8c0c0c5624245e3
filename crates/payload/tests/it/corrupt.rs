//! Damaged and hostile payloads: a clear error naming the part, never a panic or a hang.

use std::io::{Cursor, Write};

use orgpack_payload::{Error, inspect};
use proptest::prelude::*;

use crate::payloads;

fn city() -> Vec<u8> {
    std::fs::read(payloads().join("City.gdb.zip")).unwrap()
}

/// Rebuild a zip with one entry's bytes changed.
fn with_entry(original: &[u8], name: &str, edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(original)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let entry_name = entry.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        if entry_name == name {
            edit(&mut bytes);
        }
        out.start_file(entry_name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn error_of(bytes: Vec<u8>, name: &str) -> String {
    match inspect(Cursor::new(bytes), name) {
        Ok(s) => panic!("{name}: accepted as {s:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_corrupt_payload_matrix() {
    let table = "City.gdb/a00000009.gdbtable";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated zip",
            city()[..city().len() / 2].to_vec(),
            "not a readable zip",
        ),
        (
            "not a zip at all",
            b"PK\x03\x04 and then nonsense".to_vec(),
            "not a readable zip",
        ),
        (
            "table signature damaged",
            with_entry(&city(), table, |b| b[0] = 9),
            "signature 9",
        ),
        (
            "table cut after its header",
            with_entry(&city(), table, |b| b.truncate(60)),
            "truncated",
        ),
        (
            "field section length absurd",
            with_entry(&city(), table, |b| {
                b[54..58].copy_from_slice(&i32::MAX.to_le_bytes());
            }),
            "impossible",
        ),
        (
            "catalog index damaged",
            with_entry(&city(), "City.gdb/a00000001.gdbtablx", |b| {
                b[12..16].copy_from_slice(&99i32.to_le_bytes());
            }),
            "catalog index",
        ),
        (
            "catalog missing",
            with_entry(&city(), "City.gdb/a00000001.gdbtable", Vec::clear),
            "a00000001.gdbtable",
        ),
    ];
    for (what, bytes, fragment) in cases {
        let message = error_of(bytes, "City.gdb.zip");
        assert!(
            message.contains(fragment),
            "{what}: `{message}` lacks `{fragment}`"
        );
        assert!(
            message.contains("City.gdb"),
            "{what}: the message names the file: {message}"
        );
    }
}

#[test]
fn zip_slip_names_are_refused() {
    for name in ["../../etc/cron.d/x", "/etc/passwd", "C:\\Windows\\x.dll"] {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(b"x").unwrap();
        let bytes = out.finish().unwrap().into_inner();
        let err = inspect(Cursor::new(bytes), "evil.zip").unwrap_err();
        assert!(matches!(err, Error::Refused { .. }), "{name}: {err}");
        assert!(err.to_string().contains("escape"), "{name}: {err}");
    }
}

#[test]
fn a_zip_bomb_is_read_only_as_far_as_needed() {
    // 1 GiB of zeros deflates to about 1 MiB: reported, and read no further than headers.
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    out.start_file("Bomb.gdb/a00000001.gdbtable", options)
        .unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        out.write_all(&zeros).unwrap();
    }
    let bytes = out.finish().unwrap().into_inner();
    assert!(bytes.len() < 8 << 20);
    let started = std::time::Instant::now();
    let err = inspect(Cursor::new(bytes), "Bomb.gdb.zip").unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "bounded work"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn damaged_geodatabases_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8)) {
        let mut bytes = city();
        for (at, mask) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        let _ = inspect(Cursor::new(bytes), "City.gdb.zip");
    }

    #[test]
    fn damaged_tables_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut archive = zip::ZipArchive::new(Cursor::new(city())).unwrap();
        let mut table = Vec::new();
        std::io::Read::read_to_end(&mut archive.by_name("City.gdb/a00000009.gdbtable").unwrap(), &mut table).unwrap();
        for (at, value) in flips {
            let i = at.index(table.len());
            table[i] = value;
        }
        let len = cut.index(table.len() + 1);
        let _ = orgpack_payload::fgdb::parse_table(&table[..len]);
    }
}
