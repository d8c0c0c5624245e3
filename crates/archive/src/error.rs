//! Errors of the archive crate.
//!
//! Rules: messages start lowercase, carry no trailing period, and quote paths, keys and ids in
//! backticks. Every error names *where* it happened (the archive, the snapshot, the item, the blob)
//! so that a one-line rendering is enough to act on. Callers branch on the class, not the text:
//! [`Error::is_not_found`], [`Error::is_corrupt`], [`Error::is_locked`].

use std::path::PathBuf;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading or writing an archive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No archive at the given path.
    #[error("no archive at `{}`", path.display())]
    ArchiveNotFound {
        /// The path that was opened.
        path: PathBuf,
    },
    /// The path exists but is neither an orgpack repository nor an orgpack single-file archive.
    #[error("`{}` is not an orgpack archive: {reason}", path.display())]
    NotAnArchive {
        /// The path that was opened.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// The archive was written by a newer, incompatible version of the format.
    #[error(
        "`{}` uses archive format {found}, this orgpack reads formats 1.x to {supported}.x: upgrade orgpack",
        path.display()
    )]
    UnsupportedVersion {
        /// The archive.
        path: PathBuf,
        /// The version the archive declares.
        found: String,
        /// The major version this build reads.
        supported: u64,
    },
    /// An object the archive refers to is missing.
    #[error("{location}: missing `{key}`")]
    Missing {
        /// Where the reference was found (archive, snapshot, item, part).
        location: String,
        /// The layout key of the missing object.
        key: String,
    },
    /// Stored bytes do not match what the archive says about them.
    #[error("{location}: {reason}")]
    Corrupt {
        /// Where the damage is (archive, snapshot, item, part, blob).
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// No snapshot matches the id the user gave.
    #[error("no snapshot `{id}` in `{archive}`")]
    SnapshotNotFound {
        /// What the user asked for.
        id: String,
        /// The archive searched.
        archive: String,
    },
    /// A snapshot id prefix matches more than one snapshot.
    #[error("snapshot id `{id}` is ambiguous in `{archive}`: it matches {matches}")]
    AmbiguousSnapshot {
        /// What the user asked for.
        id: String,
        /// The archive searched.
        archive: String,
        /// The matching ids.
        matches: String,
    },
    /// No item with this id in the snapshot.
    #[error("no item `{item}` in snapshot `{snapshot}`")]
    ItemNotFound {
        /// The item id asked for.
        item: String,
        /// The snapshot searched.
        snapshot: String,
    },
    /// The item has no such part.
    #[error("item `{item}` has no {part}")]
    PartNotFound {
        /// The item.
        item: String,
        /// The part asked for (`data`, `resource a/b.json`, …).
        part: String,
    },
    /// Another process holds the repository lock.
    #[error("repository `{}` is locked by another orgpack process ({holder})", path.display())]
    Locked {
        /// The repository.
        path: PathBuf,
        /// What the lock file says about its holder.
        holder: String,
    },
    /// The archive is encrypted and no key was given.
    #[error(
        "`{}` is encrypted: give its passphrase in ORGPACK_REPOSITORY_PASSPHRASE or with \
         --passphrase-file FILE, or its key file with --key-file FILE",
        path.display()
    )]
    KeyNeeded {
        /// The archive.
        path: PathBuf,
    },
    /// None of the archive's keys opens with what was given.
    #[error("`{}`: no key of this encrypted archive opens with the {given} given", path.display())]
    WrongKey {
        /// The archive.
        path: PathBuf,
        /// `passphrase` or `key file`.
        given: &'static str,
    },
    /// A request to the object storage holding a repository failed (after its retries).
    #[error("repository `{repository}`: {action} `{key}` failed: {reason}")]
    Storage {
        /// The repository URL.
        repository: String,
        /// What was being done (`reading`, `writing`, `listing`, `removing`).
        action: &'static str,
        /// The object, by its name inside the repository.
        key: String,
        /// The service's answer, without credentials or signed query strings.
        reason: String,
    },
    /// The operation needs a repository (a directory) and got something else.
    #[error("`{}` is a single-file archive; this needs a repository directory", path.display())]
    NotARepository {
        /// The path given.
        path: PathBuf,
    },
    /// A caller passed a value that cannot be used.
    #[error("{0}")]
    InvalidInput(String),
    /// An I/O error on a named path.
    #[error("{action} `{}`: {source}", path.display())]
    Io {
        /// What was being done (`reading`, `writing`, `renaming`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An I/O error from a caller-provided reader or writer.
    #[error("{context}: {source}")]
    Stream {
        /// What was being read or written.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The same error, for a second owner: I/O errors keep their action, path, kind and message;
    /// others their message.
    #[must_use]
    pub fn duplicate(&self) -> Self {
        match self {
            Self::Io {
                action,
                path,
                source,
            } => Self::Io {
                action,
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            other => Self::InvalidInput(other.to_string()),
        }
    }

    /// The archive, snapshot, item or part does not exist.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::ArchiveNotFound { .. }
                | Self::SnapshotNotFound { .. }
                | Self::ItemNotFound { .. }
                | Self::PartNotFound { .. }
        )
    }

    /// The archive is damaged: missing objects, wrong hashes, unparsable documents.
    #[must_use]
    pub fn is_corrupt(&self) -> bool {
        matches!(
            self,
            Self::Missing { .. } | Self::Corrupt { .. } | Self::NotAnArchive { .. }
        )
    }

    /// Another process holds the repository lock.
    #[must_use]
    pub fn is_locked(&self) -> bool {
        matches!(self, Self::Locked { .. })
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(location: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            location: location.into(),
            reason: reason.into(),
        }
    }

    /// Prefix the location of a `Corrupt` or `Missing` error with more context.
    #[must_use]
    pub(crate) fn within(self, outer: &str) -> Self {
        match self {
            Self::Corrupt { location, reason } => Self::Corrupt {
                location: format!("{outer}: {location}"),
                reason,
            },
            Self::Missing { location, key } => Self::Missing {
                location: format!("{outer}: {location}"),
                key,
            },
            other => other,
        }
    }
}
