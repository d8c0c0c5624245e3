//! What can stop a backup as a whole. Failures of single items are not errors: they are recorded
//! in the snapshot (`failures`) and the backup goes on.

/// A backup could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The source portal refused a call the backup cannot do without (sign-in, `portals/self`,
    /// listing the selection).
    #[error(transparent)]
    Portal(#[from] orgpack_portal::Error),
    /// Reading the parent snapshot or writing the archive failed.
    #[error(transparent)]
    Archive(#[from] orgpack_archive::Error),
    /// The selection names something the organization does not have.
    #[error("{0}")]
    Selection(String),
    /// A local file (a spool file for a download) could not be written or read.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// `Result` with the backup [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
