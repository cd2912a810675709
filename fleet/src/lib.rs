//! The fleet's runs, as functions with typed inputs and reports: [`deploy`] (import once,
//! clone the VMs), [`install`] (the VIB on every ESXi host) and [`trial`] (`try`: boot the
//! OVA under qemu here and report first boot). The CLI's commands and
//! `up` call the same code. What the user gave wrong is a [`config::BadInput`] (or a
//! typed input error of the crate that found it) in the error chain.
#![forbid(unsafe_code)]

pub mod deploy;
pub mod guests;
pub mod hosts;
pub mod image;
pub mod install;
pub mod status;
pub mod trial;
pub mod up;

pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;

/// An error for input the user gave that cannot be used.
pub fn bad(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(config::BadInput(msg.into()))
}
