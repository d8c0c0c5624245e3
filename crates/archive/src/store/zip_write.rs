//! Writing the single-file form.
//!
//! Entries are appended as they come (stored, method 0; ZIP64 records appear when offsets or
//! counts need them) to `NAME.orgpack.tmp` beside the final name. [`ZipSink::finish`] writes the
//! central directory, fsyncs, renames to the final name and fsyncs the directory, so a reader never
//! sees a half-written archive under the final name: an interrupted write leaves only the temp file,
//! which is removed when the sink is dropped.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zip::write::SimpleFileOptions;

use super::Sink;
use super::dir::sync_dir;
use crate::error::{Error, Result};
use crate::layout::Key;

struct State {
    writer: Option<zip::ZipWriter<BufWriter<File>>>,
    names: HashSet<Key>,
}

/// A single-file archive being written.
pub struct ZipSink {
    final_path: PathBuf,
    tmp_path: PathBuf,
    state: Mutex<State>,
    finished: bool,
}

impl std::fmt::Debug for ZipSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipSink")
            .field("final_path", &self.final_path)
            .finish_non_exhaustive()
    }
}

impl ZipSink {
    /// Start writing the archive that will be named `path`.
    ///
    /// # Errors
    /// When `path` exists already (an archive is never overwritten) or the temp file cannot be
    /// created.
    pub fn create(path: &Path) -> Result<Self> {
        if path.exists() {
            return Err(Error::InvalidInput(format!(
                "`{}` exists already; choose a new name or remove it first",
                path.display()
            )));
        }
        let mut tmp_name = path
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
            .unwrap_or_default();
        tmp_name.push(".tmp");
        let tmp_path = path.with_file_name(tmp_name);
        let file = File::create(&tmp_path).map_err(|e| Error::io("creating", &tmp_path, e))?;
        let writer = zip::ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
        Ok(Self {
            final_path: path.to_owned(),
            tmp_path,
            state: Mutex::new(State {
                writer: Some(writer),
                names: HashSet::new(),
            }),
            finished: false,
        })
    }

    /// Write the central directory and move the archive to its final name.
    ///
    /// # Errors
    /// I/O errors; the temp file is removed.
    pub fn finish(mut self) -> Result<PathBuf> {
        let writer = self.state.get_mut().expect("lock poisoned").writer.take();
        let writer =
            writer.ok_or_else(|| Error::InvalidInput("archive already finished".into()))?;
        let buf = writer.finish().map_err(|e| self.zip_err(e))?;
        let file = buf
            .into_inner()
            .map_err(|e| Error::io("writing", &self.tmp_path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io("syncing", &self.tmp_path, e))?;
        drop(file);
        fs::rename(&self.tmp_path, &self.final_path)
            .map_err(|e| Error::io("renaming into", &self.final_path, e))?;
        if let Some(parent) = self.final_path.parent() {
            sync_dir(if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            })?;
        }
        self.finished = true;
        Ok(self.final_path.clone())
    }

    fn zip_err(&self, e: zip::result::ZipError) -> Error {
        match e {
            zip::result::ZipError::Io(io) => Error::io("writing", &self.tmp_path, io),
            other => Error::io(
                "writing",
                &self.tmp_path,
                std::io::Error::other(other.to_string()),
            ),
        }
    }
}

impl Sink for ZipSink {
    fn contains(&self, key: &Key) -> Result<bool> {
        Ok(self
            .state
            .lock()
            .expect("lock poisoned")
            .names
            .contains(key))
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<()> {
        let mut state = self.state.lock().expect("lock poisoned");
        if state.names.contains(key) {
            if matches!(key, Key::Blob(_) | Key::Snapshot(_)) {
                return Ok(());
            }
            return Err(Error::InvalidInput(format!(
                "`{key}` is written once per single-file archive"
            )));
        }
        let writer = state
            .writer
            .as_mut()
            .ok_or_else(|| Error::InvalidInput("archive already finished".into()))?;
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .unix_permissions(0o644)
            .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
        writer
            .start_file(key.path(), options)
            .map_err(|e| self.zip_err(e))?;
        writer
            .write_all(bytes)
            .map_err(|e| Error::io("writing", &self.tmp_path, e))?;
        state.names.insert(*key);
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        // Durability comes from `finish`: until then the archive has no central directory and
        // no reader accepts it.
        Ok(())
    }
}

impl Drop for ZipSink {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_file(&self.tmp_path);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sink_dropped_unfinished_leaves_nothing_and_one_finished_leaves_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.orgpack");
        let sink = super::ZipSink::create(&path).unwrap();
        let shown = format!("{sink:?}");
        assert!(
            shown.starts_with("ZipSink") && shown.contains("a.orgpack"),
            "{shown}"
        );
        assert!(dir.path().join("a.orgpack.tmp").exists());
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let finished = super::ZipSink::create(&path).unwrap().finish().unwrap();
        assert_eq!(finished, path);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.orgpack"]);
    }
}
