//! The `esxi` crate: ESXi hosts over SSH. Formats and plans are pure ([`esxcli`],
//! [`plan`], [`known_hosts`], [`target`]); [`session`] is the one connection (host keys
//! checked before anything is sent, SCP as OpenSSH speaks it), [`host`] runs the commands
//! of the per-host job, and [`fleet`] runs it on many hosts at once.
#![forbid(unsafe_code)]

mod error;
pub mod esxcli;
pub mod fleet;
pub mod host;
pub mod known_hosts;
pub mod plan;
pub mod session;
pub mod target;

pub use error::{Error, HostKeyProblem, Result};
pub use target::Target;
