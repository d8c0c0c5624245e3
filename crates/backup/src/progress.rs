//! What a backup reports while it runs. The library never prints; the CLI renders these events.

/// Receives events from [`crate::plan`] and [`crate::run`]. Every method has an empty default.
pub trait Progress: Sync {
    /// One item's JSON was read while planning (`found` so far).
    fn planning(&self, _found: usize) {}
    /// A run starts: this many items to capture, this many reused from the parent.
    fn planned(&self, _items: usize, _reused: usize, _estimated_bytes: u64) {}
    /// An item's capture finished (failed parts included).
    fn item_done(&self, _id: &str, _title: &str) {}
    /// Content bytes downloaded.
    fn bytes(&self, _n: u64) {}
    /// Exports running in the source organization went up or down by `delta`.
    fn exports_waiting(&self, _delta: i64) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
