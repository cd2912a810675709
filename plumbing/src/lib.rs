//! The small mechanisms every photon-fleet crate shares, one copy each:
//! [`output`] (write under a temporary name, rename when complete), [`pool`] (a bounded
//! set of worker threads over a list), [`poll`] (wait for a condition with one back-off
//! policy), [`interrupt`] (undo what a run made when Ctrl-C or SIGTERM arrives) and
//! [`text`] (shell and XML escaping).
#![forbid(unsafe_code)]

pub mod interrupt;
pub mod output;
pub mod poll;
pub mod pool;
pub mod text;
pub mod walk;

pub use output::{folder_of, write_atomically, Output};
