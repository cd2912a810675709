//! The image as fleet.lock records it: every file the lock names checked again (the
//! plugin bundle re-validated, the VIB re-hashed, the OVA's manifest checked against
//! every member and then against the lock).

use plugin::lock::{Checked, FleetLock};
use std::path::Path;

/// Checks every file `lock` (read from `path`) names; paths are relative to its folder.
pub fn verify_lock(lock: &FleetLock, path: &Path) -> Vec<Checked> {
    lock.verify(plumbing::folder_of(path), &ova_manifest_sha256)
}

/// The OVA checked as deploy checks it (every manifest digest against its member); its
/// manifest's sha256, which fleet.lock records.
fn ova_manifest_sha256(path: &Path) -> plugin::Result<String> {
    let fail = |e: ova::Error| plugin::Error::Integrity(e.to_string());
    let (_, verified) = ova::Ova::open(path)
        .map_err(fail)?
        .verify(&ova::NoProgress)
        .map_err(fail)?;
    verified
        .manifest_sha256
        .ok_or_else(|| plugin::Error::Format("the OVA has no manifest (.mf)".into()))
}
