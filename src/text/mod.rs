//! Reports as text for people, one module per command family; `--json` prints the
//! library's typed reports instead.

pub mod build;
pub mod deploy;
pub mod esxi;
pub mod inspect;
pub mod trial;
pub mod up;
pub mod vdvs;
