//! Encrypted repositories and single-file archives (spec/archive-format.md §3.7).

use std::io::Read as _;
use std::path::Path;

use orgpack_archive::crypt::Unlock;
use orgpack_archive::prune::{self, Retention};
use orgpack_archive::sample::{NoiseReader, SERVICE_ID, WEB_MAP_ID, write_sample};
use orgpack_archive::{
    Archive, ChunkerParams, Digest, Error, Location, Repository, SingleFileWriter, VerifyOptions,
    copy_snapshots, verify,
};
use zeroize::Zeroizing;

fn pass(p: &str) -> Unlock {
    Unlock::Passphrase(Zeroizing::new(p.to_owned()))
}

fn local(p: &Path) -> Location {
    Location::Local(p.to_owned())
}

/// Every file under `dir` with its bytes (a zip's entries as stored count as the file's bytes).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        if d.is_file() {
            out.push((d.display().to_string(), std::fs::read(&d).unwrap()));
            continue;
        }
        for e in std::fs::read_dir(&d).unwrap() {
            stack.push(e.unwrap().path());
        }
    }
    out
}

/// `verify --read-data`.
fn read_all(archive: &Archive) -> orgpack_archive::VerifyReport {
    verify(
        archive,
        VerifyOptions {
            read_data: true,
            ..Default::default()
        },
    )
    .unwrap()
}

fn noise(seed: u64, len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    NoiseReader::new(seed, len).read_to_end(&mut out).unwrap();
    out
}

/// What a plaintext reader of the stored bytes could find: titles, item ids, a chunk of the
/// thumbnail (random bytes, stored uncompressed in a plain repository), and the digest of the
/// thumbnail as a name.
fn leaks(stored: &[(String, Vec<u8>)]) -> Vec<String> {
    let thumbnail = noise(7, 9000);
    let thumbnail_name = Digest::of(&thumbnail).hex();
    let needles: Vec<(&str, Vec<u8>)> = vec![
        ("the web map's title", b"Parcels overview".to_vec()),
        ("the web map's id", WEB_MAP_ID.as_bytes().to_vec()),
        ("the service's id", SERVICE_ID.as_bytes().to_vec()),
        ("the owner", b"gis_admin".to_vec()),
        ("the service URL", b"services.example.com".to_vec()),
        ("a chunk of the thumbnail", thumbnail[4000..4064].to_vec()),
    ];
    let mut out = Vec::new();
    for (name, bytes) in stored {
        for (what, needle) in &needles {
            if bytes.windows(needle.len()).any(|w| w == needle.as_slice()) {
                out.push(format!("{what} in {name}"));
            }
        }
        if name.contains(&thumbnail_name) {
            out.push(format!("the thumbnail's digest names {name}"));
        }
    }
    out
}

#[test]
fn an_encrypted_repository_stores_no_title_id_or_plaintext_chunk_and_reads_back_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, sealed) = (dir.path().join("plain"), dir.path().join("sealed"));
    let mut repo = Repository::init(&plain, ChunkerParams::default()).unwrap();
    let id = write_sample(&mut repo, "2026-12-01T02:00:00Z", 300_000).unwrap();
    drop(repo);
    // The check would find each of these in a plain repository: it can fail.
    let found = leaks(&files(&plain));
    assert!(found.len() >= 6, "{found:?}");

    let key = pass("correct horse battery staple");
    let mut repo =
        Repository::init_at(&local(&sealed), ChunkerParams::default(), Some(&key)).unwrap();
    let same = write_sample(&mut repo, "2026-12-01T02:00:00Z", 300_000).unwrap();
    drop(repo);
    assert_eq!(
        same, id,
        "the snapshot id is the plain one's: manifests are the same"
    );
    assert_eq!(leaks(&files(&sealed)), Vec::<String>::new());

    assert!(matches!(
        Archive::open(&sealed),
        Err(Error::KeyNeeded { .. })
    ));
    assert!(matches!(
        Archive::open_at(&local(&sealed), Some(&pass("wrong"))),
        Err(Error::WrongKey { .. })
    ));
    let archive = Archive::open_at(&local(&sealed), Some(&key)).unwrap();
    assert!(archive.is_encrypted());
    assert_eq!(archive.layout().format_version, "3.0.0");
    let plain_archive = Archive::open(&plain).unwrap();
    let (a, b) = (
        archive.snapshot(&id).unwrap(),
        plain_archive.snapshot(&id).unwrap(),
    );
    assert_eq!(a, b);
    for (x, y) in a.parts().iter().zip(b.parts()) {
        assert_eq!(
            archive.read_part(x.descriptor).unwrap(),
            plain_archive.read_part(y.descriptor).unwrap()
        );
    }
    let report = read_all(&archive);
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn a_flipped_byte_fails_authentication_and_verify_names_the_blob() {
    let dir = tempfile::tempdir().unwrap();
    let key = pass("k");
    let path = dir.path().join("r");
    let mut repo =
        Repository::init_at(&local(&path), ChunkerParams::default(), Some(&key)).unwrap();
    write_sample(&mut repo, "2026-12-01T02:00:00Z", 100_000).unwrap();
    drop(repo);
    let blob = files(&path.join("blobs"))
        .into_iter()
        .max_by_key(|(_, b)| b.len())
        .unwrap();
    let mut bytes = blob.1.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&blob.0, &bytes).unwrap();
    let archive = Archive::open_at(&local(&path), Some(&key)).unwrap();
    let report = read_all(&archive);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.to_string().contains("does not authenticate")),
        "{:?}",
        report.problems
    );
}

#[test]
fn keys_are_added_and_removed_and_copies_re_encrypt_between_any_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (pass("first"), pass("second"));
    let a = local(&dir.path().join("a"));
    let mut repo = Repository::init_at(&a, ChunkerParams::default(), Some(&first)).unwrap();
    let id = write_sample(&mut repo, "2026-12-01T02:00:00Z", 50_000).unwrap();
    let added = repo.add_key(&second).unwrap();
    let file_key = Unlock::KeyFile(Zeroizing::new(vec![7u8; 32]));
    repo.add_key(&file_key).unwrap();
    assert_eq!(repo.keys().unwrap().len(), 3);
    drop(repo);
    for k in [&first, &second, &file_key] {
        assert!(Archive::open_at(&a, Some(k)).is_ok());
    }
    let repo = Repository::open_at(&a, Some(&second)).unwrap();
    repo.remove_key(&added.hex()[..10]).unwrap();
    assert!(matches!(
        Archive::open_at(&a, Some(&second)),
        Err(Error::WrongKey { .. })
    ));
    drop(repo);

    // Encrypted -> plain -> encrypted under another key: the same snapshot, byte for byte.
    let source = Archive::open_at(&a, Some(&first)).unwrap();
    let mut plain = Repository::init(&dir.path().join("p"), ChunkerParams::default()).unwrap();
    copy_snapshots(&source, &[id], &mut plain, true).unwrap();
    let other = pass("other");
    let b = local(&dir.path().join("b"));
    let mut sealed_b = Repository::init_at(&b, ChunkerParams::default(), Some(&other)).unwrap();
    copy_snapshots(&plain.archive().unwrap(), &[id], &mut sealed_b, true).unwrap();
    drop(sealed_b);
    let copied = Archive::open_at(&b, Some(&other)).unwrap();
    let original = source.snapshot(&id).unwrap();
    assert_eq!(copied.snapshot(&id).unwrap(), original);
    for part in original.parts() {
        assert_eq!(
            copied.read_part(part.descriptor).unwrap(),
            source.read_part(part.descriptor).unwrap()
        );
    }
    assert!(matches!(
        Archive::open_at(&b, Some(&first)),
        Err(Error::WrongKey { .. })
    ));
    assert_eq!(leaks(&files(&dir.path().join("b"))), Vec::<String>::new());

    // A single-file archive exported from an encrypted repository is encrypted with its keys.
    let file = dir.path().join("a.orgpack");
    let mut writer = SingleFileWriter::create_like(&file, &source).unwrap();
    copy_snapshots(&source, &[id], &mut writer, true).unwrap();
    writer.finish().unwrap();
    assert_eq!(leaks(&files(&file)), Vec::<String>::new());
    assert!(matches!(Archive::open(&file), Err(Error::KeyNeeded { .. })));
    let single = Archive::open_at(&local(&file), Some(&first)).unwrap();
    assert_eq!(single.snapshot(&id).unwrap(), original);
}

#[test]
fn prune_of_an_encrypted_repository_keeps_what_is_used_and_removes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let key = pass("k");
    let at = local(&dir.path().join("r"));
    let mut repo = Repository::init_at(&at, ChunkerParams::default(), Some(&key)).unwrap();
    write_sample(&mut repo, "2026-11-01T02:00:00Z", 200_000).unwrap();
    let kept = write_sample(&mut repo, "2026-11-02T02:00:00Z", 200_001).unwrap();
    drop(repo);
    let repo = Repository::open_exclusive_at(&at, "prune", Some(&key)).unwrap();
    let plan = prune::plan(
        &repo,
        Retention {
            keep_last: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(plan.forget.len(), 1);
    assert!(!plan.blobs.is_empty(), "the first payload's chunks go");
    prune::run(&repo, &plan).unwrap();
    drop(repo);
    let archive = Archive::open_at(&at, Some(&key)).unwrap();
    assert_eq!(
        archive
            .index()
            .snapshots
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        vec![kept]
    );
    let report = read_all(&archive);
    assert!(
        report.is_ok() && report.warnings.is_empty(),
        "{:?} {:?}",
        report.problems,
        report.warnings
    );
}
