//! The `plugin` crate: both halves of vDVS as files, proven right before anything is
//! pushed to a host or baked into an image.
//! - [`vib`]: VIB read/verify (every checksum), compose and repack;
//! - [`bundle`]: ESXi offline bundles (zip) read/write;
//! - [`managed`]: the Docker managed-plugin bundle (config.json + rootfs/);
//! - [`pairing`]: which plugin goes with which VIB;
//! - [`lock`]: the fleet.lock file.
#![forbid(unsafe_code)]

pub mod ar;
pub mod bundle;
mod error;
pub mod lock;
pub mod managed;
pub mod pairing;
pub mod vib;

pub use error::{Error, Result};
pub use lock::FleetLock;
pub use vib::Vib;

/// The vDVS driver VIB's name.
pub const VDVS_VIB_NAME: &str = "esx-vmdkops-service";

/// Reads a VIB, or the vDVS VIB inside an offline bundle (`.zip`), verified.
/// Returns the VIB's bytes too (a bundle's VIB is what gets installed).
pub fn open_vib(path: &std::path::Path) -> Result<(Vec<u8>, Vib)> {
    let bytes = std::fs::read(path)?;
    if bytes.starts_with(b"PK\x03\x04") {
        return bundle::single_vib(std::io::Cursor::new(bytes), VDVS_VIB_NAME);
    }
    let vib = Vib::parse(&bytes)?;
    Ok((bytes, vib))
}

#[cfg(test)]
mod tests;
