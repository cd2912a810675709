//! The Docker-host image: build-ova ([`build`], its footprint in `--out`: [`workspace`]),
//! the installer kickstart for the same host ([`kickstart`]) and the installer ISO that
//! carries it ([`iso`]), a Photon-like demo base ([`demo_base`]), and what they share:
//! the bake into a base's ext4 ([`bake`]) and the OVF hardware profile ([`profile`]).
//! Typed inputs in, typed reports out; what the user gave wrong is a
//! [`config::BadInput`] in the error chain (exit 2 in the CLI), anything else a failure.
#![forbid(unsafe_code)]

pub mod bake;
pub mod build;
pub mod demo_base;
pub mod iso;
pub mod kickstart;
pub mod profile;
pub mod workspace;

pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;

/// Input the build cannot use, typed so the CLI can say which flag changes it.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("no {what}: set {key} in fleet.toml")]
    Missing {
        what: &'static str,
        key: &'static str,
    },
    #[error("{} already exists", .0.display())]
    Exists(std::path::PathBuf),
}

/// An error for input the user gave that cannot be used.
pub fn bad(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(config::BadInput(msg.into()))
}
