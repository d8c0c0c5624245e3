//! Reading the single-file form: a zip of stored entries that mirrors the repository layout.
//!
//! The central directory is parsed with the `zip` crate and then checked strictly before any entry
//! is used: every entry stored (method 0), no duplicate, absolute, `..` or symlink names, local
//! headers consistent with the central directory, no overlapping entries, every declared size
//! within the layout's limits and inside the file. After that, entries are read by offset with
//! positional reads, so any number of threads read one archive at once, and each read is checked
//! against the entry's CRC-32.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Form, ListKind, Listed, Store};
use crate::error::{Error, Result};
use crate::layout::Key;
use crate::manifest::check_relative_path;

/// Positional reads from a file or a buffer.
pub trait ReadAt: Send + Sync {
    /// Fill `buf` from `offset`.
    ///
    /// # Errors
    /// I/O errors; `UnexpectedEof` past the end.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// The total length.
    fn len(&self) -> u64;

    /// Whether there is nothing to read.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReadAt for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
        }
        #[cfg(windows)]
        {
            let mut done = 0;
            while done < buf.len() {
                let n = std::os::windows::fs::FileExt::seek_read(
                    self,
                    &mut buf[done..],
                    offset + done as u64,
                )?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                done += n;
            }
            Ok(())
        }
    }

    fn len(&self) -> u64 {
        self.metadata().map_or(0, |m| m.len())
    }
}

impl ReadAt for Vec<u8> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start =
            usize::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn len(&self) -> u64 {
        self.len() as u64
    }
}

/// A `Read + Seek` view of a [`ReadAt`], for the zip crate's central-directory parser.
struct Cursor {
    src: Arc<dyn ReadAt>,
    pos: u64,
}

impl Read for Cursor {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let remaining = self.src.len().saturating_sub(self.pos);
        #[allow(clippy::cast_possible_truncation)]
        let n = (buf.len() as u64).min(remaining) as usize;
        self.src.read_exact_at(&mut buf[..n], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Cursor {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.src.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos =
            new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    data_start: u64,
    size: u64,
    crc32: u32,
}

/// A single-file archive opened for reading.
pub struct ZipStore {
    path: PathBuf,
    src: Arc<dyn ReadAt>,
    entries: HashMap<Key, Entry>,
    unknown: Vec<String>,
}

impl std::fmt::Debug for ZipStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipStore")
            .field("path", &self.path)
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl ZipStore {
    /// Open and check the zip at `path`.
    ///
    /// # Errors
    /// [`Error::ArchiveNotFound`], [`Error::NotAnArchive`] for files that are not zips, and
    /// [`Error::Corrupt`] for zips that break the rules above.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::ArchiveNotFound {
                path: path.to_owned(),
            },
            _ => Error::io("opening", path, e),
        })?;
        Self::from_source(path.to_owned(), Arc::new(file))
    }

    /// Check and open a zip held by any [`ReadAt`]; `path` is used in messages only.
    ///
    /// # Errors
    /// As [`ZipStore::open`].
    pub fn from_source(path: PathBuf, src: Arc<dyn ReadAt>) -> Result<Self> {
        let file_len = src.len();
        let not_archive = |reason: String| Error::NotAnArchive {
            path: path.clone(),
            reason,
        };
        let corrupt =
            |reason: String| Error::corrupt(format!("archive `{}`", path.display()), reason);
        let mut zip = zip::ZipArchive::new(Cursor {
            src: Arc::clone(&src),
            pos: 0,
        })
        .map_err(|e| {
            not_archive(format!(
                "not a readable zip ({e}); a truncated archive has lost its central directory"
            ))
        })?;
        if zip.has_duplicate_names() {
            return Err(corrupt(
                "the zip holds two entries with the same name".into(),
            ));
        }
        let mut entries = HashMap::new();
        let mut unknown = Vec::new();
        let mut spans: Vec<(u64, u64, String)> = Vec::new();
        for i in 0..zip.len() {
            let file = zip
                .by_index_raw(i)
                .map_err(|e| corrupt(format!("entry {i} is unreadable ({e})")))?;
            let name = String::from_utf8(file.name_raw().to_vec())
                .map_err(|_| corrupt(format!("entry {i} has a name that is not UTF-8")))?;
            let shown: String = name.chars().take(120).collect();
            let trimmed = name.strip_suffix('/').unwrap_or(&name);
            if let Err(why) = check_relative_path(trimmed) {
                return Err(corrupt(format!(
                    "entry `{shown}` {why}: it would escape the archive"
                )));
            }
            if file.is_symlink() {
                return Err(corrupt(format!("entry `{shown}` is a symbolic link")));
            }
            if file.is_dir() {
                continue;
            }
            if file.compression() != zip::CompressionMethod::Stored {
                return Err(corrupt(format!(
                    "entry `{shown}` is compressed ({}); orgpack archives store every entry (method 0)",
                    file.compression()
                )));
            }
            let size = file.size();
            if file.compressed_size() != size {
                return Err(corrupt(format!(
                    "entry `{shown}` declares {size} bytes but occupies {}",
                    file.compressed_size()
                )));
            }
            let data_start = file
                .data_start()
                .ok_or_else(|| corrupt(format!("entry `{shown}` has no data offset")))?;
            if data_start
                .checked_add(size)
                .is_none_or(|end| end > file_len)
            {
                return Err(corrupt(format!(
                    "entry `{shown}` declares {size} bytes, past the end of the file"
                )));
            }
            spans.push((file.header_start(), data_start + size, shown.clone()));
            let Some(key) = Key::parse(&name) else {
                unknown.push(name);
                continue;
            };
            if size > key.size_limit() {
                return Err(corrupt(format!(
                    "entry `{shown}` declares {size} bytes, over the {}-byte limit for this kind of entry",
                    key.size_limit()
                )));
            }
            entries.insert(
                key,
                Entry {
                    data_start,
                    size,
                    crc32: file.crc32(),
                },
            );
        }
        // Overlaps first: the zip crate finds them too, but without naming the entries.
        spans.sort();
        for pair in spans.windows(2) {
            if pair[1].0 < pair[0].1 {
                return Err(corrupt(format!(
                    "entries `{}` and `{}` overlap",
                    pair[0].2, pair[1].2
                )));
            }
        }
        zip.validate_header_consistency().map_err(|e| {
            corrupt(format!(
                "local headers disagree with the central directory ({e})"
            ))
        })?;
        Ok(Self {
            path,
            src,
            entries,
            unknown,
        })
    }

    fn entry(&self, key: &Key) -> Result<Entry> {
        self.entries
            .get(key)
            .copied()
            .ok_or_else(|| Error::Missing {
                location: format!("archive `{}`", self.path.display()),
                key: key.path(),
            })
    }

    fn read_range(&self, key: &Key, e: Entry, len: u64) -> Result<Vec<u8>> {
        #[allow(clippy::cast_possible_truncation)] // entries are bounded by Key::size_limit
        let mut buf = vec![0; len as usize];
        self.src
            .read_exact_at(&mut buf, e.data_start)
            .map_err(|err| Error::io("reading", &self.path, err))?;
        if len == e.size && crc32fast::hash(&buf) != e.crc32 {
            return Err(Error::corrupt(
                format!("archive `{}`", self.path.display()),
                format!("entry `{key}` fails its CRC-32 check"),
            ));
        }
        Ok(buf)
    }
}

impl Store for ZipStore {
    fn location(&self) -> &Path {
        &self.path
    }

    fn form(&self) -> Form {
        Form::SingleFile
    }

    fn get(&self, key: &Key) -> Result<Vec<u8>> {
        let e = self.entry(key)?;
        self.read_range(key, e, e.size)
    }

    fn get_prefix(&self, key: &Key, len: usize) -> Result<(Vec<u8>, u64)> {
        let e = self.entry(key)?;
        Ok((self.read_range(key, e, e.size.min(len as u64))?, e.size))
    }

    fn size(&self, key: &Key) -> Result<Option<u64>> {
        Ok(self.entries.get(key).map(|e| e.size))
    }

    fn list(&self, kind: ListKind) -> Result<Vec<Listed>> {
        let mut out: Vec<Listed> = self
            .entries
            .iter()
            .filter(|(k, _)| match kind {
                ListKind::Blobs => matches!(k, Key::Blob(_)),
                ListKind::Snapshots => matches!(k, Key::Snapshot(_)),
                ListKind::Keys => matches!(k, Key::KeyFile(_)),
            })
            .map(|(k, e)| Listed {
                key: *k,
                size: e.size,
            })
            .collect();
        out.sort_by_key(|l| l.key);
        Ok(out)
    }

    fn unknown_entries(&self) -> Vec<String> {
        self.unknown.clone()
    }
}

/// Open `bytes` as a single-file archive and read everything in it: the body of the fuzz target
/// (`fuzz/`) and of the mutation test. It must never panic, hang or allocate without bound,
/// whatever the bytes. Returns how many parts it read whole (every part of a valid archive).
#[doc(hidden)]
pub fn exercise(bytes: Vec<u8>) -> usize {
    let Ok(store) = ZipStore::from_source(PathBuf::from("fuzz.orgpack"), Arc::new(bytes)) else {
        return 0;
    };
    let Ok(archive) = crate::Archive::from_store(Box::new(store)) else {
        return 0;
    };
    let options = crate::VerifyOptions {
        read_data: true,
        threads: 1,
    };
    let _ = crate::verify(&archive, options);
    let mut read = 0;
    for entry in &archive.index().snapshots {
        if let Ok(snapshot) = archive.snapshot(&entry.id) {
            for part in snapshot.parts() {
                read += usize::from(archive.read_part(part.descriptor).is_ok());
            }
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::ReadAt;

    #[test]
    fn a_source_is_empty_exactly_when_it_has_no_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"").unwrap();
        let empty = std::fs::File::open(&path).unwrap();
        assert!(ReadAt::is_empty(&empty) && ReadAt::is_empty(&Vec::<u8>::new()));
        std::fs::write(&path, b"PK").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        assert!(!ReadAt::is_empty(&file) && !ReadAt::is_empty(&b"PK".to_vec()));
        let mut two = [0u8; 2];
        file.read_exact_at(&mut two, 0).unwrap();
        assert_eq!(&two, b"PK");
        assert!(file.read_exact_at(&mut two, 1).is_err(), "past the end");
        let bytes = b"PKzip".to_vec();
        assert_eq!(ReadAt::len(&bytes), 5);
        let mut three = [0u8; 3];
        bytes.read_exact_at(&mut three, 2).unwrap();
        assert_eq!(&three, b"zip");
        assert!(bytes.read_exact_at(&mut three, 3).is_err(), "past the end");
    }

    /// A stored (method 0) zip written byte by byte: the local headers and data of `entries`
    /// back to back, then a central directory naming `(name, data, header offset)` for each of
    /// `central` (the local headers unless a test points one elsewhere), then the end record.
    fn raw_zip(entries: &[(&str, &[u8])], central: &[(&str, &[u8], u32)]) -> Vec<u8> {
        fn common(out: &mut Vec<u8>, name: &str, data: &[u8]) {
            out.extend_from_slice(&[0, 0, 0x21, 0]); // 00:00, 1980-01-01
            out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
            let len = u32::try_from(data.len()).unwrap().to_le_bytes();
            out.extend_from_slice(&len); // compressed
            out.extend_from_slice(&len); // uncompressed
            out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // extra field
        }
        let mut out = Vec::new();
        for (name, data) in entries {
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0]); // version 2.0, flags, stored
            common(&mut out, name, data);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
        }
        let start = u32::try_from(out.len()).unwrap();
        for (name, data, offset) in central {
            out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            out.extend_from_slice(&[20, 3, 20, 0, 0, 0, 0, 0]); // made by Unix 2.0, needs 2.0
            common(&mut out, name, data);
            out.extend_from_slice(&[0; 6]); // comment, disk, internal attributes
            out.extend_from_slice(&[0, 0, 0xa4, 0x81]); // -rw-r--r--
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
        }
        let size = u32::try_from(out.len()).unwrap() - start;
        let count = u16::try_from(central.len()).unwrap().to_le_bytes();
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]); // this disk, the directory's disk
        out.extend_from_slice(&count);
        out.extend_from_slice(&count);
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&[0; 2]); // comment
        out
    }

    /// A zip of `entries` as a zip writer lays them out.
    fn plain_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut offset = 0;
        let central: Vec<(&str, &[u8], u32)> = entries
            .iter()
            .map(|(name, data)| {
                let at = offset;
                offset += u32::try_from(30 + name.len() + data.len()).unwrap();
                (*name, *data, at)
            })
            .collect();
        raw_zip(entries, &central)
    }

    fn open(bytes: Vec<u8>) -> crate::Result<super::ZipStore> {
        super::ZipStore::from_source("t.orgpack".into(), std::sync::Arc::new(bytes))
    }

    #[test]
    fn sizes_are_the_entries_and_entries_outside_the_layout_are_reported() {
        use crate::layout::Key;
        use crate::store::Store;
        let layout = Key::Layout.path();
        let store = open(plain_zip(&[
            (layout.as_str(), b"{\"version\": 1}"),
            ("notes/stray.txt", b"left by hand"),
        ]))
        .unwrap();
        assert_eq!(store.size(&Key::Layout).unwrap(), Some(14));
        assert_eq!(store.size(&Key::Index).unwrap(), None);
        assert_eq!(store.unknown_entries(), vec!["notes/stray.txt".to_owned()]);
        assert_eq!(store.get(&Key::Layout).unwrap(), b"{\"version\": 1}");
    }

    #[test]
    fn an_entry_may_be_as_large_as_its_kinds_limit_and_no_larger() {
        use crate::layout::{Key, MAX_LAYOUT_SIZE};
        use crate::store::Store;
        let layout = Key::Layout.path();
        let limit = usize::try_from(MAX_LAYOUT_SIZE).unwrap();
        let at_limit = vec![b' '; limit];
        let store = open(plain_zip(&[(layout.as_str(), &at_limit)])).unwrap();
        assert_eq!(store.size(&Key::Layout).unwrap(), Some(MAX_LAYOUT_SIZE));
        let over = vec![b' '; limit + 1];
        let err = open(plain_zip(&[(layout.as_str(), &over)])).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("over the {MAX_LAYOUT_SIZE}-byte limit")),
            "{err}"
        );
    }

    #[test]
    fn entries_that_overlap_are_refused() {
        // The second entry's local header and data lie inside the first entry's data: each
        // header agrees with the central directory, but one byte would belong to two entries.
        let inner = plain_zip(&[("b", b"inner")]);
        let inner_entry = &inner[..30 + 1 + 5];
        let bytes = raw_zip(
            &[("a", inner_entry)],
            &[("a", inner_entry, 0), ("b", b"inner", 30 + 1)],
        );
        let err = open(bytes).unwrap_err();
        assert!(
            err.to_string().contains("entries `a` and `b` overlap"),
            "{err}"
        );
        // Side by side, the same two entries open.
        assert!(open(plain_zip(&[("a", b"outer"), ("b", b"inner")])).is_ok());
    }

    #[test]
    fn a_missing_file_is_not_found_and_a_store_shows_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nowhere.orgpack");
        let err = super::ZipStore::open(&missing).unwrap_err();
        assert!(matches!(err, crate::Error::ArchiveNotFound { .. }), "{err}");
        let valid = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/corrupt/valid.orgpack");
        let store = super::ZipStore::open(&valid).unwrap();
        let shown = format!("{store:?}");
        assert!(
            shown.starts_with("ZipStore") && shown.contains("valid.orgpack"),
            "{shown}"
        );
    }
}
