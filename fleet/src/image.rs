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

/// Whether the image in `[image] out` is what fleet.toml asks for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ImageState {
    /// fleet.lock matches the inputs and every file it names.
    UpToDate { lock: String, ova: String },
    /// build-ova must run, and why.
    Build { why: String },
}

/// Where fleet.lock lives for this fleet.
pub fn lock_path(fleet: &config::Fleet) -> std::path::PathBuf {
    fleet.image.out.join("fleet.lock")
}

/// Compares fleet.lock with the inputs fleet.toml names (see
/// [`builder::build::inputs_digest`]), then checks every file the lock names.
pub fn state(fleet: &config::Fleet) -> crate::Result<ImageState> {
    let path = lock_path(fleet);
    let build = |why: String| Ok(ImageState::Build { why });
    if !path.is_file() {
        return build(format!("no {}", path.display()));
    }
    let lock = match FleetLock::read(&path) {
        Ok(l) => l,
        Err(e) => return build(format!("{}: {e}", path.display())),
    };
    let Some(recorded) = &lock.inputs else {
        return build(format!(
            "{} does not record what it was built from",
            path.display()
        ));
    };
    let need = |p: &Option<std::path::PathBuf>, key: &'static str, what: &'static str| {
        p.clone().ok_or(builder::InputError::Missing { what, key })
    };
    let base = need(&fleet.image.base, "[image] base", "base")?;
    let plugin_path = need(&fleet.vdvs.plugin, "[vdvs] plugin", "plugin")?;
    let vib_path = need(&fleet.vdvs.vib, "[vdvs] vib", "vib")?;
    let bundle = plugin::managed::open(&plugin_path)
        .map_err(|e| anyhow::Error::new(e).context(plugin_path.display().to_string()))?;
    let (vib_bytes, _) = plugin::open_vib(&vib_path)
        .map_err(|e| anyhow::Error::new(e).context(vib_path.display().to_string()))?;
    let now = builder::build::inputs_digest(
        fleet,
        &base,
        &bundle.sha256,
        &plugin::lock::sha256_hex(&vib_bytes),
    )?;
    if now != recorded.sha256 {
        return build("the base, plugin, VIB or fleet.toml's image sections changed".into());
    }
    if let Some(bad) = verify_lock(&lock, &path).into_iter().find(|c| !c.ok) {
        return build(format!(
            "{} {}: {}",
            bad.what,
            bad.file.display(),
            bad.detail
        ));
    }
    let ova = lock
        .ova
        .as_ref()
        .map(|o| {
            plumbing::folder_of(&path)
                .join(&o.file)
                .display()
                .to_string()
        })
        .unwrap_or_default();
    Ok(ImageState::UpToDate {
        lock: path.display().to_string(),
        ova,
    })
}
