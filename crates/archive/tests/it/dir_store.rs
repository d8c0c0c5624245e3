//! The repository form's store on a file system that answers more than "not found": what is
//! absent is absent (or already deleted), what cannot be reached is an error, and a blob that is
//! a symbolic link is refused when read, not only when listed. (The tests run as root on CI:
//! permission errors cannot be made, so the errors come from paths whose parts are files.)

use orgpack_archive::store::dir::DirStore;
use orgpack_archive::store::{Sink, Store};
use orgpack_archive::{Digest, Error, Key};

fn store() -> (tempfile::TempDir, DirStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path());
    (dir, store)
}

#[test]
fn absent_objects_read_as_missing_and_delete_quietly() {
    let (_dir, store) = store();
    let key = Key::Blob(Digest::of(b"never stored"));
    let err = store.get(&key).unwrap_err();
    assert!(matches!(err, Error::Missing { .. }), "{err}");
    assert_eq!(store.size(&key).unwrap(), None);
    store.delete(&key).unwrap();
    assert!(
        store.temp_files().unwrap().is_empty(),
        "no tmp/ yet: nothing left"
    );
    // Written, read, deleted, gone.
    store.put(&key, b"bytes").unwrap();
    assert_eq!(store.get(&key).unwrap(), b"bytes");
    store.delete(&key).unwrap();
    assert!(matches!(
        store.get(&key).unwrap_err(),
        Error::Missing { .. }
    ));
}

#[test]
fn a_path_that_cannot_be_reached_is_an_error_not_an_absence() {
    let (dir, store) = store();
    let key = Key::Blob(Digest::of(b"content"));
    let path = dir.path().join(key.path());
    // The blob's fan-out directory is a file: opening, deleting and writing the blob fail.
    std::fs::create_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    std::fs::write(path.parent().unwrap(), b"not a directory").unwrap();
    let err = store.get(&key).unwrap_err();
    assert!(!matches!(err, Error::Missing { .. }), "{err}");
    assert!(store.size(&key).is_err());
    assert!(store.delete(&key).is_err());
    // `tmp` is a file: listing temporary files fails, and so does a write.
    std::fs::write(dir.path().join("tmp"), b"not a directory").unwrap();
    assert!(store.temp_files().is_err());
    assert!(
        store
            .put(&Key::Blob(Digest::of(b"other")), b"other")
            .is_err()
    );
}

#[cfg(unix)]
#[test]
fn a_blob_that_is_a_symbolic_link_is_refused_when_read() {
    let (dir, store) = store();
    let key = Key::Blob(Digest::of(b"content"));
    let path = dir.path().join(key.path());
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), b"content").unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(outside.path(), &path).unwrap();
    let err = store.get(&key).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    let err = store.get_prefix(&key, 4).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    let err = store.size(&key).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
}

/// An object may be as large as its kind allows, and not a byte larger (a sparse file: nothing
/// is written).
#[test]
fn an_object_of_exactly_its_size_limit_is_read_and_one_byte_more_is_refused() {
    let (dir, store) = store();
    let key = Key::Layout;
    let path = dir.path().join(key.path());
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(key.size_limit()).unwrap();
    let (prefix, size) = store.get_prefix(&key, 4).unwrap();
    assert_eq!((prefix.len(), size), (4, key.size_limit()));
    file.set_len(key.size_limit() + 1).unwrap();
    let err = store.get_prefix(&key, 4).unwrap_err();
    assert!(err.to_string().contains("over the"), "{err}");
}

/// Names the layout does not have are reported, each of them; the layout's own are not.
#[test]
fn every_name_outside_the_layout_is_reported() {
    use orgpack_archive::{ChunkerParams, Repository};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let mut repo = Repository::init(&root, ChunkerParams::default()).unwrap();
    orgpack_archive::sample::write_sample(&mut repo, "2026-11-26T02:00:00Z", 1000).unwrap();
    drop(repo);
    let store = DirStore::new(&root);
    assert!(
        store.unknown_entries().is_empty(),
        "{:?}",
        store.unknown_entries()
    );
    let sha = root.join("blobs/sha256");
    let fan = std::fs::read_dir(&sha)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .next()
        .unwrap();
    let hex64 = |c: char| std::iter::repeat_n(c, 64).collect::<String>();
    std::fs::create_dir(root.join("snapshots/a-directory")).unwrap();
    std::fs::write(root.join("snapshots/notes.json"), b"{}").unwrap();
    std::fs::write(root.join(format!("snapshots/{}.txt", hex64('a'))), b"").unwrap();
    std::fs::write(root.join("blobs/readme"), b"").unwrap();
    std::fs::create_dir(root.join("blobs/md5")).unwrap();
    std::fs::write(sha.join("ab"), b"a file where a fan-out directory goes").unwrap();
    std::fs::create_dir(sha.join(&fan).join("sub")).unwrap();
    // A blob name that is hex but not under its own first two digits, and one that is not hex.
    std::fs::write(
        sha.join(&fan)
            .join(hex64(if fan.starts_with('f') { 'e' } else { 'f' })),
        b"",
    )
    .unwrap();
    std::fs::write(sha.join(&fan).join(format!("{fan}{}", "z".repeat(62))), b"").unwrap();
    let mut wanted = vec![
        "blobs/md5".to_owned(),
        "blobs/readme".to_owned(),
        "blobs/sha256/ab".to_owned(),
        format!("blobs/sha256/{fan}/sub"),
        format!(
            "blobs/sha256/{fan}/{}",
            hex64(if fan.starts_with('f') { 'e' } else { 'f' })
        ),
        format!("blobs/sha256/{fan}/{fan}{}", "z".repeat(62)),
        "snapshots/a-directory".to_owned(),
        "snapshots/notes.json".to_owned(),
        format!("snapshots/{}.txt", hex64('a')),
    ];
    wanted.sort();
    assert_eq!(store.unknown_entries(), wanted);
}

/// The directories a write made dirty are synced; one removed since is nothing to sync, one that
/// cannot be opened is an error (durability is not given up in silence).
#[test]
fn flushing_syncs_what_is_there_and_says_what_it_cannot_reach() {
    let (dir, store) = store();
    let key = Key::Blob(Digest::of(b"content"));
    store.put(&key, b"content").unwrap();
    store.flush().unwrap();
    // Written, then its directory removed: nothing left to sync.
    let other = Key::Blob(Digest::of(b"other content"));
    store.put(&other, b"other content").unwrap();
    std::fs::remove_dir_all(dir.path().join(other.path()).parent().unwrap()).unwrap();
    store.flush().unwrap();
    // Written, then `blobs/sha256` replaced by a file: the directory cannot be opened.
    let third = Key::Blob(Digest::of(b"third"));
    store.put(&third, b"third").unwrap();
    let sha = dir.path().join("blobs/sha256");
    std::fs::remove_dir_all(&sha).unwrap();
    std::fs::write(&sha, b"not a directory").unwrap();
    assert!(store.flush().is_err());
    // Listing where a directory of the layout is a file is an error too, not an empty list.
    std::fs::write(dir.path().join("snapshots"), b"not a directory").unwrap();
    assert!(
        store
            .list(orgpack_archive::store::ListKind::Snapshots)
            .is_err()
    );
}
