//! Downloads land in a [`Spool`]: memory up to a threshold, a temporary file beyond it, so that a
//! payload of any size costs a bounded amount of memory, and a download that fails half way can
//! start again from nothing. Once complete, the spool is read back into the archive's blob writer.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use tempfile::SpooledTempFile;

/// Content kept in memory up to this size; larger content goes to a temporary file.
pub const IN_MEMORY: usize = 1 << 20;

/// A download buffer: memory, then a temporary file (deleted when dropped).
pub struct Spool {
    inner: SpooledTempFile,
    len: u64,
}

impl Spool {
    /// An empty spool whose temporary file, if one is needed, goes into `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            inner: SpooledTempFile::new_in(IN_MEMORY, dir),
            len: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A reader over everything written, from the start.
    ///
    /// # Errors
    /// When the temporary file cannot be rewound.
    pub fn into_reader(mut self) -> std::io::Result<impl Read + Seek + Send> {
        self.inner.seek(SeekFrom::Start(0))?;
        Ok(self.inner)
    }

    /// Everything written, in memory: for documents known to be small (JSON parsed for
    /// references).
    ///
    /// # Errors
    /// When the temporary file cannot be read.
    pub fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        let len = usize::try_from(self.len).unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(len.min(64 << 20));
        self.into_reader()?.read_to_end(&mut out)?;
        Ok(out)
    }
}

// Writes go to memory or to the page cache and return at once; they are done inline rather than
// on a blocking thread, which would cost more than the write.
impl tokio::io::AsyncWrite for Spool {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let n = this.inner.write(buf)?;
        this.len += n as u64;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.get_mut().inner.flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
