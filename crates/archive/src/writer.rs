//! Writing content into an archive: chunking, hashing, compression and storage in parallel.
//!
//! ```text
//! put_reader(r):
//!   r ──► FastCDC ──► chunk 0, 1, 2 … (≤ window in flight) ──► hashing stage: whole-content SHA-256
//!                        │ on 2 × cores workers:
//!                        │   sha256(chunk) → known? skip : zstd → sink.put
//!                        ▼
//!         one chunk:  Descriptor { digest }                (the chunk is the blob)
//!         several:    chunk list blob → Descriptor { digest, chunks }
//! ```
//!
//! Memory is bounded by the window (4 × cores chunks of at most `maxSize` bytes, shared by the
//! workers and the hashing stage), whatever the length of the input.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;

use crate::blob::{self, Encoding};
use crate::chunk::{ChunkList, ChunkRef, chunker};
use crate::digest::{Digest, Hasher};
use crate::error::{Error, Result};
use crate::layout::{ChunkerParams, Key};
use crate::manifest::Descriptor;
use crate::parallel::{default_threads, ordered_map};
use crate::store::Sink;

/// How content is written.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// zstd level (1–19; 3 by default).
    pub level: i32,
    /// Worker threads for hashing and compression (one per core by default).
    pub threads: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            level: blob::DEFAULT_LEVEL,
            threads: default_threads(),
        }
    }
}

/// What a writer did, for reports and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Content bytes given to the writer.
    pub bytes_in: u64,
    /// Blobs written.
    pub blobs_written: u64,
    /// Blobs found already stored and skipped.
    pub blobs_reused: u64,
    /// Stored bytes of the blobs written.
    pub bytes_stored: u64,
    /// Blobs stored as zstd frames.
    pub blobs_compressed: u64,
}

/// Writes content into a [`Sink`] as blobs and returns [`Descriptor`]s for manifests.
///
/// Shared across threads: many items can be written at once.
pub struct BlobWriter<'a> {
    sink: &'a dyn Sink,
    chunker: ChunkerParams,
    options: WriteOptions,
    bytes_in: AtomicU64,
    blobs_written: AtomicU64,
    blobs_reused: AtomicU64,
    bytes_stored: AtomicU64,
    blobs_compressed: AtomicU64,
    /// The first error of the sink (a full disk, a lost mount): content written after it may be
    /// missing, so nothing that used this writer may be committed.
    store_failure: std::sync::Mutex<Option<Error>>,
    /// Chunked streams being written (at most [`STREAMS_AT_ONCE`]), and their waiters.
    streams: (std::sync::Mutex<usize>, std::sync::Condvar),
}

/// Chunked streams one writer writes at once. Each holds the chunker's buffer (the largest chunk)
/// and a window of chunks in flight, whose storing is parallel already: more streams at once
/// (eight captures each writing an export) added memory, not speed.
const STREAMS_AT_ONCE: usize = 2;

/// A place among the streams being written, given back when dropped.
struct StreamSlot<'w>(&'w (std::sync::Mutex<usize>, std::sync::Condvar));

impl<'w> StreamSlot<'w> {
    fn take(streams: &'w (std::sync::Mutex<usize>, std::sync::Condvar)) -> Self {
        let (count, freed) = streams;
        let mut n = count
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *n >= STREAMS_AT_ONCE {
            n = freed
                .wait(n)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *n += 1;
        Self(streams)
    }
}

impl Drop for StreamSlot<'_> {
    fn drop(&mut self) {
        let (count, freed) = self.0;
        *count
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) -= 1;
        freed.notify_one();
    }
}

impl<'a> BlobWriter<'a> {
    /// A writer into `sink` cutting content with `chunker`.
    #[must_use]
    pub fn new(sink: &'a dyn Sink, chunker: ChunkerParams, options: WriteOptions) -> Self {
        Self {
            sink,
            chunker,
            options,
            bytes_in: AtomicU64::new(0),
            blobs_written: AtomicU64::new(0),
            blobs_reused: AtomicU64::new(0),
            bytes_stored: AtomicU64::new(0),
            blobs_compressed: AtomicU64::new(0),
            store_failure: std::sync::Mutex::new(None),
            streams: (std::sync::Mutex::new(0), std::sync::Condvar::new()),
        }
    }

    /// The first error the sink returned, if any (taken: a second call returns `None`). Errors of
    /// the readers given to [`BlobWriter::put_reader`] are not the sink's and are not kept. A
    /// caller that went on after a failed put (recording it against one item) must not commit.
    pub fn take_store_failure(&self) -> Option<Error> {
        self.store_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    fn sink_failed(&self, e: Error) -> Error {
        let mut first = self
            .store_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if first.is_none() {
            *first = Some(e.duplicate());
        }
        e
    }

    /// The sink this writer stores into.
    #[must_use]
    pub fn sink(&self) -> &'a dyn Sink {
        self.sink
    }

    /// Store `bytes`.
    ///
    /// # Errors
    /// Errors of the sink.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Descriptor> {
        // No cut falls before the smallest chunk: such content is one chunk, stored as is.
        if bytes.len() as u64 <= u64::from(self.chunker.min_size) {
            return self.single(bytes);
        }
        self.put_reader(bytes, "content")
    }

    /// Store a JSON document exactly as serialized.
    ///
    /// # Errors
    /// Errors of the sink.
    pub fn put_json<T: serde::Serialize>(&self, value: &T) -> Result<Descriptor> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::InvalidInput(format!("serializing JSON: {e}")))?;
        self.put_bytes(&bytes)
    }

    /// Store everything `reader` yields, streaming. `what` names the content in errors. At most
    /// two streams of one writer are chunked at once; a third call waits for one to end.
    ///
    /// # Errors
    /// Read errors of `reader` (as [`Error::Stream`]) and errors of the sink.
    pub fn put_reader(&self, reader: impl Read, what: &str) -> Result<Descriptor> {
        let _slot = StreamSlot::take(&self.streams);
        let mut chunks = chunker(reader, &self.chunker).map(|c| {
            c.map(|c| c.data).map_err(|e| Error::Stream {
                context: format!("reading {what}"),
                source: match e {
                    fastcdc::v2020::Error::IoError(io) => io,
                    other => std::io::Error::other(other.to_string()),
                },
            })
        });
        let Some(first) = chunks.next().transpose()? else {
            return self.single(&[]);
        };
        let Some(second) = chunks.next().transpose()? else {
            // One chunk: its digest is the content's digest.
            return self.single(&first);
        };
        // Several chunks. The whole content's digest is computed on a stage of its own, fed in
        // order, while the workers hash, compress and store each chunk.
        let workers = self.options.threads * 2; // a worker waiting on an fsync leaves its core to another
        let window = workers * 2;
        let mut refs = Vec::new();
        let (digest, size, stored) = std::thread::scope(|scope| {
            let (to_hasher, from_reader) = sync_channel::<Arc<Vec<u8>>>(window);
            let hasher = scope.spawn(move || {
                let mut hasher = Hasher::new();
                let mut size = 0u64;
                for chunk in from_reader {
                    hasher.update(&chunk);
                    size += chunk.len() as u64;
                }
                (hasher.finish(), size)
            });
            let inputs = [Ok(first), Ok(second)]
                .into_iter()
                .chain(chunks)
                .map(move |chunk| {
                    let chunk = Arc::new(chunk?);
                    // The hasher outlives the inputs; a send fails only if it panicked, seen at join.
                    let _ = to_hasher.send(Arc::clone(&chunk));
                    Ok(chunk)
                });
            let stored = ordered_map(
                workers,
                window,
                inputs,
                |chunk: Arc<Vec<u8>>| self.store_chunk(&chunk),
                |r| {
                    refs.push(r);
                    Ok(())
                },
            );
            let (digest, size) = hasher.join().expect("the hashing stage does not panic");
            (digest, size, stored)
        });
        stored?;
        let list = ChunkList {
            digest,
            size,
            chunks: refs,
        };
        let list_bytes = serde_json::to_vec(&list).expect("chunk lists serialize");
        let list_ref = self.store_chunk(&list_bytes)?;
        Ok(Descriptor {
            digest,
            size,
            chunks: Some(list_ref.digest),
        })
    }

    /// Store `bytes` as one blob, whatever the chunker would cut (at most 16 MiB): for
    /// documents read whole, such as item pages.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] over 16 MiB; errors of the sink.
    pub fn put_single(&self, bytes: &[u8]) -> Result<Descriptor> {
        if bytes.len() as u64 > crate::layout::MAX_BLOB_SIZE {
            return Err(Error::InvalidInput(format!(
                "{} bytes do not fit in one blob",
                bytes.len()
            )));
        }
        self.single(bytes)
    }

    fn single(&self, data: &[u8]) -> Result<Descriptor> {
        let r = self.store_chunk(data)?;
        Ok(Descriptor {
            digest: r.digest,
            size: r.size,
            chunks: None,
        })
    }

    fn store_chunk(&self, data: &[u8]) -> Result<ChunkRef> {
        let digest = Digest::of(data);
        let size = data.len() as u64;
        let key = Key::Blob(digest);
        self.bytes_in.fetch_add(size, Ordering::Relaxed);
        if self.sink.contains(&key).map_err(|e| self.sink_failed(e))? {
            self.blobs_reused.fetch_add(1, Ordering::Relaxed);
        } else {
            let (stored, encoding) = blob::encode(data, self.options.level);
            self.sink
                .put(&key, &stored)
                .map_err(|e| self.sink_failed(e))?;
            self.blobs_written.fetch_add(1, Ordering::Relaxed);
            self.bytes_stored
                .fetch_add(stored.len() as u64, Ordering::Relaxed);
            if encoding == Encoding::Zstd {
                self.blobs_compressed.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(ChunkRef { digest, size })
    }

    /// What this writer has done so far.
    #[must_use]
    pub fn stats(&self) -> WriteStats {
        WriteStats {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            blobs_written: self.blobs_written.load(Ordering::Relaxed),
            blobs_reused: self.blobs_reused.load(Ordering::Relaxed),
            bytes_stored: self.bytes_stored.load(Ordering::Relaxed),
            blobs_compressed: self.blobs_compressed.load(Ordering::Relaxed),
        }
    }
}
