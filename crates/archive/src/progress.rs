//! Progress of long operations, reported to whoever renders it. The library never prints: the
//! CLI implements [`Progress`] with a terminal bar, JSON lines, or nothing.

/// What a total counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes of content.
    Bytes,
    /// Objects (blobs, snapshots, items).
    Objects,
}

/// Receives progress. Called from worker threads, so implementations must be cheap and `Sync`.
pub trait Progress: Sync {
    /// A phase starts: `total` units are expected (unknown when `None`).
    fn start(&self, phase: &str, total: Option<u64>, unit: Unit) {
        let _ = (phase, total, unit);
    }

    /// `n` more units are done.
    fn advance(&self, n: u64) {
        let _ = n;
    }

    /// The current phase is over.
    fn finish(&self) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
