//! Errors of payload inspection. Every one names the file part it is about.

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A payload that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not what their kind requires (truncated, damaged, inconsistent).
    #[error("{part}: {reason}")]
    Corrupt {
        /// The file or zip entry.
        part: String,
        /// What is wrong.
        reason: String,
    },
    /// The payload is hostile or too large to read safely.
    #[error("{part}: refused: {reason}")]
    Refused {
        /// The file or zip entry.
        part: String,
        /// Why.
        reason: String,
    },
    /// Reading failed.
    #[error("reading {part}: {source}")]
    Io {
        /// The file or zip entry.
        part: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn corrupt(part: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            part: part.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn refused(part: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Refused {
            part: part.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(part: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            part: part.into(),
            source,
        }
    }
}
