//! The corruption matrix: every fixture in `fixtures/corrupt/` is refused by open or verify, with
//! a message naming what is wrong.

use orgpack_archive::{Archive, VerifyOptions, verify};

use crate::fixtures;

/// (file, fragment of the error) from `fixtures/corrupt/README.md`, without the valid baseline.
pub fn cases() -> Vec<(String, String)> {
    orgpack_archive::sample::corrupt_cases(&fixtures().join("corrupt"))
}

/// A repository in a new temporary directory holding one sample snapshot: the directory (kept
/// alive by the caller), the repository's path, the snapshot's id.
fn one_snapshot_repository() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    orgpack_archive::Digest,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let mut repo =
        orgpack_archive::Repository::init(&path, orgpack_archive::ChunkerParams::default())
            .unwrap();
    let id =
        orgpack_archive::sample::write_sample(&mut repo, "2026-11-26T02:00:00Z", 1000).unwrap();
    (dir, path, id)
}

/// Open and verify with --read-data; the first error or problem as one line.
fn first_error(file: &str) -> Option<String> {
    let archive = match Archive::open(&fixtures().join("corrupt").join(file)) {
        Ok(a) => a,
        Err(e) => return Some(e.to_string()),
    };
    let report = verify(&archive, VerifyOptions::read_data()).expect("verify runs");
    report.problems.first().map(ToString::to_string)
}

#[test]
fn valid_fixture_verifies() {
    assert_eq!(first_error("valid.orgpack"), None);
}

#[test]
fn every_corrupt_fixture_is_refused_with_a_precise_message() {
    for (file, fragment) in cases() {
        let message = first_error(&file).unwrap_or_else(|| panic!("{file}: accepted"));
        assert!(
            message.contains(&fragment),
            "{file}: `{message}` lacks `{fragment}`"
        );
        assert!(
            !message.contains('\n'),
            "{file}: message spans lines: {message}"
        );
    }
}

#[test]
fn every_fixture_file_has_a_row_and_every_row_a_file() {
    let dir = fixtures().join("corrupt");
    let cases = cases();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name != "README.md" && name != "valid.orgpack" {
            assert!(
                cases.iter().any(|(f, _)| *f == name),
                "{name} has no row in README.md"
            );
        }
    }
    for (file, _) in &cases {
        assert!(
            dir.join(file).is_file(),
            "README.md lists `{file}`, which does not exist"
        );
    }
}

#[test]
fn structural_verify_finds_missing_content_without_reading_data() {
    for file in ["missing-blob.orgpack", "dangling-reference.orgpack"] {
        let archive = Archive::open(&fixtures().join("corrupt").join(file)).unwrap();
        let report = verify(&archive, VerifyOptions::default()).unwrap();
        assert!(!report.is_ok(), "{file}");
        assert!(
            report.problems[0].message.contains("is missing"),
            "{file}: {}",
            report.problems[0]
        );
    }
    // A blob whose size is not the manifest's: told from its header alone.
    let archive = Archive::open(&fixtures().join("corrupt/wrong-size.orgpack")).unwrap();
    let report = verify(&archive, VerifyOptions::default()).unwrap();
    assert!(!report.read_data);
    let messages: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("the manifest says"), "{messages:?}");
}

/// The repository form refuses a blob that is a symbolic link (reading through it would read
/// outside the archive) and reports names that are not part of the layout.
#[cfg(unix)]
#[test]
fn a_repository_refuses_symlinked_blobs_and_reports_unknown_entries() {
    let (dir, path, _id) = one_snapshot_repository();
    std::fs::write(path.join("notes.txt"), "mine").unwrap();
    std::fs::create_dir_all(path.join("blobs/sha256/zz")).unwrap();
    let archive = Archive::open(&path).unwrap();
    let report = verify(&archive, VerifyOptions::read_data()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(
        report.warnings,
        [
            "unknown entry `blobs/sha256/zz` ignored",
            "unknown entry `notes.txt` ignored"
        ]
    );

    // One blob replaced by a link to a copy of itself, outside the repository.
    let fan = std::fs::read_dir(path.join("blobs/sha256"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name() != "zz")
        .unwrap()
        .path();
    let blob = std::fs::read_dir(&fan)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let outside = dir.path().join("elsewhere");
    std::fs::copy(&blob, &outside).unwrap();
    std::fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink(&outside, &blob).unwrap();
    let refused = Archive::open(&path)
        .map_err(|e| e.to_string())
        .and_then(|a| {
            let report = verify(&a, VerifyOptions::read_data()).map_err(|e| e.to_string())?;
            Ok(report
                .problems
                .first()
                .map(ToString::to_string)
                .unwrap_or_default())
        })
        .unwrap_or_else(|e| e);
    assert!(refused.contains("is a symbolic link"), "{refused}");
}

/// Content cut into chunks is checked as a whole too: a chunk list whose every chunk is a sound
/// blob, but in another order than the content it claims, is refused by a read and by verify.
#[test]
fn chunks_in_the_wrong_order_are_refused_though_each_is_sound() {
    use orgpack_archive::chunk::{ChunkList, ChunkRef};
    use orgpack_archive::{
        ChunkerParams, Descriptor, Digest, Repository, SnapshotWriter as _, WriteOptions,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let mut repo = Repository::init(&path, ChunkerParams::default()).unwrap();
    let (a, b) = (vec![b'a'; 300], vec![b'b'; 200]);
    let whole: Vec<u8> = a.iter().chain(&b).copied().collect();
    let forged = {
        let blobs = repo.blob_writer(WriteOptions::default());
        let (da, db) = (blobs.put_bytes(&a).unwrap(), blobs.put_bytes(&b).unwrap());
        let list = ChunkList {
            digest: Digest::of(&whole),
            size: whole.len() as u64,
            chunks: vec![
                ChunkRef {
                    digest: db.digest,
                    size: 200,
                },
                ChunkRef {
                    digest: da.digest,
                    size: 300,
                },
            ],
        };
        let list = blobs
            .put_bytes(&serde_json::to_vec(&list).unwrap())
            .unwrap();
        Descriptor {
            digest: Digest::of(&whole),
            size: whole.len() as u64,
            chunks: Some(list.digest),
        }
    };
    let mut snapshot =
        orgpack_archive::sample::build_sample(&repo, "2026-11-26T02:00:00Z", 1000).unwrap();
    snapshot
        .items
        .iter_mut()
        .find_map(|i| i.data.as_mut())
        .unwrap()
        .content = forged;
    repo.commit(&mut snapshot).unwrap();
    drop(repo);

    let archive = Archive::open(&path).unwrap();
    let read = archive.read_part(&forged).unwrap_err().to_string();
    assert!(read.contains("the chunks do not add up"), "{read}");
    let report = verify(&archive, VerifyOptions::read_data()).unwrap();
    assert!(
        !report.problems.is_empty(),
        "verify --read-data accepted reordered chunks"
    );
}

#[test]
fn a_snapshot_finds_each_of_its_items_by_id_and_nothing_else() {
    let (_dir, path, id) = one_snapshot_repository();
    let archive = Archive::open(&path).unwrap();
    let snapshot = archive.snapshot(&id).unwrap();
    assert!(!snapshot.items.is_empty());
    for item in &snapshot.items {
        assert_eq!(snapshot.item(&item.id).map(|i| &i.title), Some(&item.title));
    }
    assert!(snapshot.item("00000000000000000000000000000000").is_none());
}

/// A problem is located by the item (or group, or user) and the part that lost its content; a
/// whole archive, in either form, verifies without a warning.
#[test]
fn a_lost_part_is_named_by_its_owner_and_part_and_a_whole_archive_has_no_warning() {
    use orgpack_archive::SingleFileWriter;
    let (dir, path, id) = one_snapshot_repository();
    let archive = Archive::open(&path).unwrap();
    let report = verify(&archive, VerifyOptions::read_data()).unwrap();
    assert!(report.is_ok() && report.warnings.is_empty(), "{report:?}");
    let file = dir.path().join("one.orgpack");
    let mut writer = SingleFileWriter::create(&file, archive.layout().clone()).unwrap();
    orgpack_archive::copy_snapshots(&archive, &[id], &mut writer, true).unwrap();
    writer.finish().unwrap();
    let single = Archive::open(&file).unwrap();
    let report = verify(&single, VerifyOptions::read_data()).unwrap();
    assert!(report.is_ok() && report.warnings.is_empty(), "{report:?}");

    // One item's data is lost.
    let snapshot = archive.snapshot(&id).unwrap();
    let item = snapshot.items.iter().find(|i| i.data.is_some()).unwrap();
    let content = item.data.as_ref().unwrap().content;
    let key = orgpack_archive::Key::Blob(content.chunks.unwrap_or(content.digest));
    std::fs::remove_file(path.join(key.path())).unwrap();
    let report = verify(&Archive::open(&path).unwrap(), VerifyOptions::default()).unwrap();
    let located: Vec<&str> = report
        .problems
        .iter()
        .map(|p| p.location.as_str())
        .collect();
    let wanted = format!("item `{}` data", item.id);
    assert!(
        located.iter().any(|l| l.contains(&wanted)),
        "{wanted} not in {located:?}"
    );
}

/// What writers that were killed leave behind (a blob nothing uses, a manifest never committed)
/// is a warning each, not a problem; the report counts snapshots and items and says whether data
/// was read.
#[test]
fn leftovers_of_killed_writers_are_warnings_and_the_counts_are_the_archives() {
    use orgpack_archive::{ChunkerParams, Key, Repository, SnapshotWriter, WriteOptions};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let mut repo = Repository::init(&path, ChunkerParams::default()).unwrap();
    let first =
        orgpack_archive::sample::write_sample(&mut repo, "2026-11-25T02:00:00Z", 1000).unwrap();
    orgpack_archive::sample::write_sample(&mut repo, "2026-11-26T02:00:00Z", 2000).unwrap();
    let archive = Archive::open(&path).unwrap();
    let items: u64 = archive
        .index()
        .snapshots
        .iter()
        .map(|e| archive.snapshot(&e.id).unwrap().items.len() as u64)
        .sum();
    for read_data in [false, true] {
        let options = if read_data {
            VerifyOptions::read_data()
        } else {
            VerifyOptions::default()
        };
        let report = verify(&archive, options).unwrap();
        assert_eq!(report.read_data, read_data);
        assert_eq!(report.snapshots, 2);
        assert_eq!(report.items, items);
        assert!(report.is_ok() && report.warnings.is_empty(), "{report:?}");
    }
    // A blob written and never used, and a manifest written and never committed.
    repo.blob_writer(WriteOptions::default())
        .put_bytes(b"content of a backup that was killed")
        .unwrap();
    let mut manifest = archive.snapshot(&first).unwrap();
    manifest.tags = vec!["never committed".into()];
    let bytes = serde_json::to_vec(&manifest).unwrap();
    repo.sink()
        .put(&Key::Snapshot(orgpack_archive::Digest::of(&bytes)), &bytes)
        .unwrap();
    drop(repo);
    let report = verify(&Archive::open(&path).unwrap(), VerifyOptions::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(
        report.warnings,
        [
            "1 snapshot manifests were never committed (left by interrupted writers; `orgpack prune` removes them)",
            "1 blobs are not used by any snapshot (`orgpack prune` removes them)"
        ]
    );
}

/// The index's summary of a snapshot (items, size, tags, …) must be the manifest's: a hand-edited
/// index is a problem named on the index, and the strings of problems carry each location once.
#[test]
fn an_index_summary_that_differs_from_its_manifest_is_a_problem() {
    let (_dir, path, id) = one_snapshot_repository();
    let index_path = path.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let items = index["snapshots"][0]["items"].as_u64().unwrap();
    index["snapshots"][0]["items"] = (items + 1).into();
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    let report = verify(&Archive::open(&path).unwrap(), VerifyOptions::default()).unwrap();
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [format!(
            "snapshot `{}`: index.json: its summary does not match the manifest",
            id.short()
        )]
    );
}

/// Each problem names where it is once, from the snapshot down to the blob, then what is wrong:
/// the whole lines, for damage found in a chunk, a manifest and the index.
#[test]
fn problems_carry_their_location_once() {
    let line = |file: &str| {
        let path = fixtures().join("corrupt").join(file);
        let report = verify(&Archive::open(&path).unwrap(), VerifyOptions::read_data()).unwrap();
        let lines: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 1, "{file}: {lines:?}");
        lines[0].replace(&path.display().to_string(), "FILE")
    };
    let chunk = "snapshot `06f6a653`: item `1a2b3c4d5e6f708192a3b4c5d6e7f801` thumbnail: chunk 1: blob `665ad07e`";
    assert_eq!(
        line("flipped-bit-blob-crc-fixed.orgpack"),
        format!(
            "{chunk}: content hashes to `sha256:bc9753a2662ef98148773b19fb91a2524517bf1525ecf1a557644f254d159f5c`"
        )
    );
    assert_eq!(
        line("missing-blob.orgpack"),
        format!(
            "{chunk}: `blobs/sha256/66/665ad07e39d66575fab6dc3fdb7389d32abb397cd025f1f859d7f841ed51f030` is missing"
        )
    );
    assert_eq!(
        line("flipped-bit-blob.orgpack"),
        format!(
            "{chunk}: archive `FILE`: entry `blobs/sha256/66/665ad07e39d66575fab6dc3fdb7389d32abb397cd025f1f859d7f841ed51f030` fails its CRC-32 check"
        )
    );
    assert_eq!(
        line("flipped-bit-manifest.orgpack"),
        "snapshot `06f6a653`: manifest hashes to `60520a5f`, not to its name"
    );
    assert_eq!(
        line("index-names-missing-snapshot.orgpack"),
        "snapshot `06f6a653`: `snapshots/06f6a65390df8389f471705d68eb6c38d3c7fb4381b3a5c29aabee829af1ae0f.json` is missing"
    );
}

/// An item's parts, as a backup that reuses it must find them all: item JSON, data, thumbnail,
/// metadata, resources, payloads, in the snapshot's order.
#[test]
fn an_items_parts_are_all_its_descriptors() {
    let archive = Archive::open(&fixtures().join("corrupt/valid.orgpack")).unwrap();
    let snapshot = archive
        .snapshot(&archive.resolve("latest").unwrap())
        .unwrap();
    for item in &snapshot.items {
        let mut parts = Vec::new();
        item.clone_parts(&mut parts);
        let listed: Vec<_> = snapshot
            .parts()
            .into_iter()
            .filter(
                |p| matches!(p.owner, orgpack_archive::manifest::Owner::Item(id) if id == item.id),
            )
            .map(|p| *p.descriptor)
            .collect();
        assert!(parts.len() > 1, "{}: {parts:?}", item.id);
        assert_eq!(parts, listed, "{}", item.id);
        assert_eq!(parts[0], item.item);
    }
}

/// One thread reads and re-hashes what several do.
#[test]
fn one_thread_verifies_every_byte_as_several_do() {
    let archive = Archive::open(&fixtures().join("corrupt/valid.orgpack")).unwrap();
    let many = verify(&archive, VerifyOptions::read_data()).unwrap();
    let one = verify(
        &archive,
        VerifyOptions {
            threads: 1,
            ..VerifyOptions::read_data()
        },
    )
    .unwrap();
    assert!(one.is_ok() && many.is_ok());
    assert!(one.bytes_read > 0);
    assert_eq!((one.blobs, one.bytes_read), (many.blobs, many.bytes_read));
}

/// A manifest whose stored bytes no longer match their CRC-32: the problem names the snapshot,
/// then the archive entry that is damaged.
#[test]
fn a_damaged_manifest_entry_is_named_with_the_snapshot_and_the_entry() {
    let mut bytes = std::fs::read(fixtures().join("corrupt/valid.orgpack")).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"\"tool\":")
        .expect("the manifest's tool");
    bytes[at + 1] ^= 0x20; // "tool" → "Tool": the entry's CRC-32 is stale
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.orgpack");
    std::fs::write(&path, &bytes).unwrap();
    let report = verify(&Archive::open(&path).unwrap(), VerifyOptions::default()).unwrap();
    let lines: Vec<String> = report
        .problems
        .iter()
        .map(|p| p.to_string().replace(&path.display().to_string(), "FILE"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("snapshot `06f6a653`: archive `FILE`: entry `snapshots/06f6a653")
            && lines[0].ends_with("fails its CRC-32 check"),
        "{lines:?}"
    );
}
