//! Where a `try` boot keeps its files: a temporary folder removed afterwards (and on
//! Ctrl-C), or with `--keep` the folder `<ova>.try` beside the OVA, which `--again` boots
//! once more. The overlay over the OVA's VMDK is made here with `qemu-img`.

use super::{InputError, TryInputs};
use crate::deploy::CheckedOva;
use crate::{bad, Result};
use anyhow::{bail, Context as _};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const OVERLAY: &str = "overlay.qcow2";
pub const VARS: &str = "efi-vars.fd";
pub const ENV_ISO: &str = "ovf-env.iso";
pub const CONSOLE: &str = "console.log";
/// The sha256 of the OVA the overlay was made over.
const OVA_SHA: &str = "ova.sha256";

pub struct Place {
    pub dir: PathBuf,
    kept: bool,
    _temp: Option<tempfile::TempDir>,
    _removed_on_interrupt: Option<plumbing::interrupt::Guard<'static>>,
}

/// `x.ova` → `x.ova.try` in the same folder.
pub fn kept_dir(ova: &Path) -> PathBuf {
    let mut name = ova.file_name().unwrap_or_default().to_os_string();
    name.push(".try");
    ova.with_file_name(name)
}

impl Place {
    pub fn open(i: &TryInputs, ova: &CheckedOva) -> Result<Place> {
        if i.again || i.keep {
            let dir = kept_dir(&i.ova);
            if i.again {
                let recorded = std::fs::read_to_string(dir.join(OVA_SHA))
                    .map_err(|_| InputError::NoKeptBoot { dir: dir.clone() })?;
                if recorded.trim() != ova.sha256 {
                    return Err(InputError::OvaChanged {
                        ova: ova.shown.clone(),
                        dir,
                    }
                    .into());
                }
            } else if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing the earlier kept boot {}", dir.display()))?;
            }
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("{}: cannot make the folder", dir.display()))?;
            return Ok(Place {
                dir,
                kept: true,
                _temp: None,
                _removed_on_interrupt: None,
            });
        }
        let temp = tempfile::Builder::new()
            .prefix("photon-fleet-try-")
            .tempdir()
            .context("making a temporary folder")?;
        let guard = plumbing::interrupt::remove_on_interrupt(temp.path());
        Ok(Place {
            dir: temp.path().to_path_buf(),
            kept: false,
            _temp: Some(temp),
            _removed_on_interrupt: Some(guard),
        })
    }

    pub fn record(&self, ova_sha256: &str) -> Result<()> {
        if self.kept {
            std::fs::write(self.dir.join(OVA_SHA), format!("{ova_sha256}\n"))?;
        }
        Ok(())
    }

    pub fn kept(&self) -> Option<String> {
        self.kept.then(|| self.dir.display().to_string())
    }
}

/// A qcow2 overlay whose backing file is the VMDK at `offset`..+`size` inside the OVA,
/// read in place (qemu's raw driver with an offset under its vmdk driver).
pub fn create_overlay(ova: &Path, offset: u64, size: u64, overlay: &Path) -> Result<()> {
    let abs = ova
        .canonicalize()
        .with_context(|| ova.display().to_string())?;
    let backing = serde_json::json!({
        "driver": "vmdk",
        "file": {
            "driver": "raw",
            "offset": offset,
            "size": size,
            "file": { "driver": "file", "filename": abs },
        },
    });
    let out = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "vmdk", "-b"])
        .arg(format!("json:{backing}"))
        .arg(overlay)
        .output()
        .map_err(|e| bad(format!("cannot run qemu-img: {e} (scripts/install-deps)")))?;
    if !out.status.success() {
        bail!(
            "qemu-img could not open the disk inside {}: {}",
            ova.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
