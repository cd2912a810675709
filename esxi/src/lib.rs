//! The `esxi` crate: ESXi hosts over SSH. Formats and plans are pure ([`esxcli`],
//! [`plan`], [`known_hosts`], [`target`]); effects sit in [`session`] and [`fleet`].

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
