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
