//! What stops a restore into a target as a whole. Failures of single items are not errors: they
//! are reported per item and the restore goes on.

/// A restore could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The archive is damaged or the snapshot breaks an invariant: nothing is sent anywhere.
    #[error("the archive did not validate, so nothing was sent to any target: {0}")]
    Invalid(String),
    /// Reading the archive failed.
    #[error(transparent)]
    Archive(#[from] orgpack_archive::Error),
    /// A call the restore cannot do without (sign-in, `portals/self`) failed.
    #[error(transparent)]
    Portal(#[from] orgpack_portal::Error),
    /// The journal could not be opened or written.
    #[error("journal {path}: {message}")]
    Journal {
        /// The journal file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// An in-place restore could not compare an item of the target with the snapshot.
    #[error("{0}")]
    Compare(String),
    /// The options name something the snapshot does not hold.
    #[error("{0}")]
    Options(String),
}

/// `Result` with the restore [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
