//! Round trips: whatever goes in comes out, in both forms, through copies, in bounded memory.

use std::io::Read;

use orgpack_archive::sample::{NoiseReader, write_sample};
use orgpack_archive::{
    Archive, Repository, SingleFileWriter, SnapshotWriter, VerifyOptions, WriteOptions,
    copy_snapshots, verify,
};
use proptest::prelude::*;

use crate::small_chunks;

fn content_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..20_000),
        (proptest::collection::vec(any::<u8>(), 1..64), 1usize..600)
            .prop_map(|(unit, n)| unit.repeat(n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn content_round_trips_through_both_forms(parts in proptest::collection::vec(content_strategy(), 1..5)) {
        let dir = tempfile::tempdir().unwrap();
        let options = WriteOptions { threads: 3, ..WriteOptions::default() };
        let repo = Repository::init(&dir.path().join("repo"), small_chunks()).unwrap();
        let file = dir.path().join("a.orgpack");
        let zip = SingleFileWriter::create(&file, repo.layout().clone()).unwrap();
        let in_repo: Vec<_> = parts.iter().map(|p| repo.blob_writer(options).put_reader(&p[..], "test").unwrap()).collect();
        let in_zip: Vec<_> = parts.iter().map(|p| zip.blob_writer(options).put_bytes(p).unwrap()).collect();
        zip.finish().unwrap();
        prop_assert_eq!(&in_repo, &in_zip, "both forms describe content identically");
        let (repo_archive, zip_archive) = (repo.archive().unwrap(), Archive::open(&file).unwrap());
        for (p, d) in parts.iter().zip(&in_repo) {
            prop_assert_eq!(d.size, p.len() as u64);
            if p.len() > 4096 {
                prop_assert!(d.chunks.is_some(), "content over the max chunk size is chunked");
            }
            if p.len() <= 256 {
                prop_assert!(d.chunks.is_none(), "content under the min chunk size is one blob");
            }
            prop_assert_eq!(&repo_archive.read_part(d).unwrap(), p);
            prop_assert_eq!(&zip_archive.read_part(d).unwrap(), p);
        }
    }
}

#[test]
fn snapshot_survives_export_and_import_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repository::init(&dir.path().join("repo"), small_chunks()).unwrap();
    let id = write_sample(&mut repo, "2026-11-26T02:00:00Z", 50_000).unwrap();
    let source = repo.archive().unwrap();
    let original = source.snapshot(&id).unwrap();

    let file = dir.path().join("copy.orgpack");
    let mut zip = SingleFileWriter::create(&file, source.layout().clone()).unwrap();
    let stats = copy_snapshots(&source, &[id], &mut zip, true).unwrap();
    assert!(stats.blobs_copied > 10);
    zip.finish().unwrap();

    let exported = Archive::open(&file).unwrap();
    assert_eq!(exported.index().snapshots.len(), 1);
    assert_eq!(
        exported.resolve("latest").unwrap(),
        id,
        "the snapshot keeps its id"
    );
    assert_eq!(exported.snapshot(&id).unwrap(), original);
    assert!(
        verify(&exported, VerifyOptions::read_data())
            .unwrap()
            .is_ok()
    );

    let mut back = Repository::init(&dir.path().join("back"), small_chunks()).unwrap();
    copy_snapshots(&exported, &[id], &mut back, true).unwrap();
    let back = back.archive().unwrap();
    assert_eq!(back.snapshot(&id).unwrap(), original);
    // Stored bytes are copied, never recompressed.
    for listed in source
        .store()
        .list(orgpack_archive::store::ListKind::Blobs)
        .unwrap()
    {
        assert_eq!(
            back.store().get(&listed.key).unwrap(),
            source.store().get(&listed.key).unwrap()
        );
    }
    for item in &original.items {
        let mut parts = Vec::new();
        item.clone_parts(&mut parts);
        for d in parts {
            assert_eq!(back.read_part(&d).unwrap(), source.read_part(&d).unwrap());
        }
    }
}

#[test]
fn unchanged_content_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repository::init(
        &dir.path().join("repo"),
        orgpack_archive::ChunkerParams::default(),
    )
    .unwrap();
    write_sample(&mut repo, "2026-11-25T02:00:00Z", 6 << 20).unwrap();
    let blobs = repo.blob_writer(WriteOptions::default());
    let again = blobs
        .put_reader(NoiseReader::new(42, 6 << 20), "payload")
        .unwrap();
    let stats = blobs.stats();
    assert!(again.chunks.is_some());
    assert_eq!(
        stats.blobs_written, 0,
        "a re-export with the same bytes writes nothing new: {stats:?}"
    );
    assert!(stats.blobs_reused >= 2);
}

#[test]
fn large_content_streams_through_and_back() {
    // 64 MiB: far more than the writer's window; the reader checks the whole digest at EOF.
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(
        &dir.path().join("repo"),
        orgpack_archive::ChunkerParams::default(),
    )
    .unwrap();
    let d = repo
        .blob_writer(WriteOptions::default())
        .put_reader(NoiseReader::new(5, 64 << 20), "big")
        .unwrap();
    assert_eq!(d.size, 64 << 20);
    let archive = repo.archive().unwrap();
    let mut reader = archive.open_part(&d).unwrap();
    let mut expected = NoiseReader::new(5, 64 << 20);
    let (mut a, mut b) = (vec![0; 1 << 16], vec![0; 1 << 16]);
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut a).unwrap();
        if n == 0 {
            break;
        }
        expected.read_exact(&mut b[..n]).unwrap();
        assert_eq!(a[..n], b[..n]);
        total += n as u64;
    }
    assert_eq!(total, 64 << 20);
}

#[test]
fn tampered_chunk_is_caught_while_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(&dir.path().join("repo"), small_chunks()).unwrap();
    let data: Vec<u8> = {
        let mut v = vec![0; 30_000];
        NoiseReader::new(9, 30_000).read_exact(&mut v).unwrap();
        v
    };
    let d = repo
        .blob_writer(WriteOptions::default())
        .put_bytes(&data)
        .unwrap();
    let archive = repo.archive().unwrap();
    let list = archive.chunk_list(&d).unwrap().unwrap();
    let victim = orgpack_archive::Key::Blob(list.chunks[3].digest);
    let path = repo.root().join(victim.path());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let err = archive.read_part(&d).unwrap_err();
    assert!(err.is_corrupt(), "{err}");
    assert!(
        err.to_string().contains(&list.chunks[3].digest.short()),
        "{err}"
    );
    // The reader for content checked before skips only the whole-content hash: the changed
    // chunk still fails it.
    let mut out = Vec::new();
    let err = orgpack_archive::archive::unwrap_io(
        archive
            .open_checked_part(&d)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap_err(),
    );
    assert!(err.is_corrupt(), "{err}");
}

#[test]
fn the_checked_reader_returns_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(&dir.path().join("repo"), small_chunks()).unwrap();
    let mut data = vec![0; 30_000];
    NoiseReader::new(4, 30_000).read_exact(&mut data).unwrap();
    let d = repo
        .blob_writer(WriteOptions::default())
        .put_bytes(&data)
        .unwrap();
    let archive = repo.archive().unwrap();
    let mut out = Vec::new();
    archive
        .open_checked_part(&d)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    assert!(out == data);
}
