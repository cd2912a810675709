//! Progress reporting: long operations take a `&dyn Progress`; the CLI implements it
//! with indicatif, libraries and tests use [`NoProgress`].

pub trait Progress: Send + Sync {
    /// A new stage begins; `total` is in bytes (0 when unknown).
    fn stage(&self, label: &str, total: u64);
    /// `n` more bytes of the current stage are done.
    fn advance(&self, n: u64);
    /// The current stage is complete.
    fn done(&self);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn done(&self) {}
}
