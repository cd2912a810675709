//! The small mechanisms every photon-fleet crate shares, one copy each:
//! [`output`] (write under a temporary name, rename when complete), [`pool`] (a bounded
//! set of worker threads over a list), [`poll`] (wait for a condition with one back-off
//! policy) and [`interrupt`] (undo what a run made when Ctrl-C or SIGTERM arrives).
#![forbid(unsafe_code)]

pub mod interrupt;
pub mod output;
pub mod poll;
pub mod pool;

pub use output::{folder_of, write_atomically, Output};
