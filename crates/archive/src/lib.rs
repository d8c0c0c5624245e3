//! # orgpack-archive
//!
//! The orgpack archive format: a versioned, content-addressed store of ArcGIS portal content, in
//! two forms that share one layout (normative text: `spec/archive-format.md`).
//!
//! - a **repository**: a directory holding many snapshots that share blobs (scheduled backups);
//! - a **single-file archive** `NAME.orgpack`: a zip of stored entries mirroring the same layout,
//!   which any unzip tool lists and extracts.
//!
//! ```text
//! orgpack-layout               format marker, version, chunker parameters
//! blobs/sha256/ab/abcd…        content, named by the SHA-256 of the uncompressed bytes
//! snapshots/<sha256>.json      one manifest per backup run
//! index.json                   committed snapshots: the single commit point, written last
//! ```
//!
//! Main types: [`Archive`] reads either form; [`Repository`] and [`SingleFileWriter`] write
//! snapshots through [`SnapshotWriter`] and a [`BlobWriter`] (streaming, chunked, compressed on
//! all cores); [`Snapshot`] is the manifest; [`verify()`](verify::verify), [`prune`] and
//! [`copy_snapshots`] work on whole archives. A 2.x snapshot's items live in item pages:
//! [`Archive::snapshot`] reads them all, [`Archive::items`] one page at a time, and
//! [`walk::for_each_part`] walks every descriptor so (what `verify` and `prune` do).
//!
//! ```
//! use orgpack_archive::{Archive, Repository, SnapshotWriter, WriteOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let mut repo = Repository::init(&dir.path().join("repo"), Default::default())?;
//! let data = repo.blob_writer(WriteOptions::default()).put_bytes(br#"{"operationalLayers":[]}"#)?;
//! # let _ = data;
//! let archive = Archive::open(repo.root())?;
//! assert!(archive.index().snapshots.is_empty());
//! # Ok(()) }
//! ```
//!
//! This crate has no feature flags. It never prints: callers render its reports.

pub mod archive;
mod backend;
pub mod blob;
pub mod chunk;
pub mod copy;
pub mod crypt;
pub mod diff;
pub mod digest;
pub mod error;
pub mod index;
pub mod layout;
pub mod location;
pub mod lock;
pub mod manifest;
mod pages;
mod parallel;
pub mod progress;
pub mod prune;
pub mod repository;
pub mod sample;
pub mod store;
pub mod verify;
pub mod walk;
pub mod writer;

pub use archive::{Archive, PartReader};
pub use copy::{CopyStats, copy_snapshots, copy_snapshots_with};
pub use diff::{SnapshotDiff, diff};
pub use digest::Digest;
pub use error::{Error, Result};
pub use index::{Index, IndexEntry};
pub use layout::{ChunkerParams, Key, Layout};
pub use location::Location;
pub use manifest::{Descriptor, Item, Snapshot};
pub use parallel::default_threads;
pub use progress::{NoProgress, Progress};
pub use repository::{Repository, SingleFileWriter, SnapshotWriter};
pub use store::Form;
pub use verify::{VerifyOptions, VerifyReport, verify, verify_with};
pub use writer::{BlobWriter, WriteOptions, WriteStats};
