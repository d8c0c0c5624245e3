//! Exit codes (spec/cli.md). A single place maps error classes to codes.

use orgpack_archive::Error as ArchiveError;

/// Success.
pub const OK: u8 = 0;
/// Any failure without a more specific code, including a damaged archive.
pub const FAILURE: u8 = 1;
/// The command line is wrong (clap's own code).
pub const USAGE: u8 = 2;
/// The command finished, but some items or parts failed; the output and the snapshot or report
/// say which.
pub const PARTIAL: u8 = 3;
/// The archive, snapshot or item asked for does not exist.
pub const NOT_FOUND: u8 = 10;
/// The repository is locked by another process.
pub const LOCKED: u8 = 11;

/// The exit code for an error.
#[must_use]
pub fn code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<ArchiveError>() {
            if e.is_not_found() {
                return NOT_FOUND;
            }
            if e.is_locked() {
                return LOCKED;
            }
            if matches!(e, ArchiveError::InvalidInput(_)) {
                return USAGE;
            }
            return FAILURE;
        }
    }
    FAILURE
}
