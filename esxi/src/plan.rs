//! What to do on one host, decided from what the host said and what the VIB is:
//! a pure function, so every case is tested without a network.

use crate::esxcli::{level_rank, numbers, EsxiVersion, InstalledVib, LEVELS};
use plugin::pairing::VibVersion;
use serde::Serialize;
use std::cmp::Ordering;

/// The facts of the VIB to install that matter on a host.
#[derive(Debug, Clone, Serialize)]
pub struct VibFacts {
    pub id: String,
    pub name: String,
    pub version: String,
    pub signed: bool,
    /// The descriptor's level: certified, accepted, partner or community.
    pub acceptance: String,
    /// `esx-version >= X` from the descriptor.
    pub esx_min: Option<String>,
    pub esxi8_checksums: bool,
    pub size: u64,
    pub sha256: String,
}

impl VibFacts {
    pub fn of(vib: &plugin::Vib, bytes: &[u8]) -> Self {
        let d = &vib.descriptor;
        let esx_min = d
            .depends
            .iter()
            .find(|c| c.name == "esx-version" && c.relation.as_deref() == Some(">="))
            .and_then(|c| c.version.clone());
        Self {
            id: vib.id(),
            name: d.name.clone(),
            version: d.version.clone(),
            signed: vib.signed,
            acceptance: d.acceptance_level.clone(),
            esx_min,
            esxi8_checksums: vib.has_esxi8_checksums(),
            size: bytes.len() as u64,
            sha256: plugin::lock::sha256_hex(bytes),
        }
    }
}

/// What a host said before we changed anything.
#[derive(Debug, Clone, Serialize)]
pub struct HostFacts {
    pub esxi: EsxiVersion,
    pub acceptance: String,
    pub installed: Option<InstalledVib>,
    pub tmp_free_kib: Option<u64>,
    pub service_running: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub allow_downgrade: bool,
    /// Lower the host's acceptance level to the VIB's when needed.
    pub set_acceptance: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Already at the target version with vmdk-opsd running.
    Skip,
    /// At the target version, but vmdk-opsd is stopped: start it.
    StartService,
    Install,
    /// Remove the older version, then install.
    Upgrade,
    /// Same version string, other build: remove, then install.
    Replace,
    /// Remove the newer version, then install (only when downgrades are allowed).
    Downgrade,
    /// Nothing is touched; `refusal` says why.
    Refuse,
}

impl Action {
    pub fn removes_first(self) -> bool {
        matches!(self, Action::Upgrade | Action::Replace | Action::Downgrade)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub action: Action,
    pub from: Option<String>,
    pub to: String,
    /// Set the host level to this before installing ([`Options::set_acceptance`]).
    pub set_acceptance: Option<String>,
    /// Why this action, for people.
    pub reason: String,
    /// Why the host is refused, when it is.
    pub refusal: Option<Refusal>,
}

/// Why a host is left alone. The callers add what the user can do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Refusal {
    #[error("ESXi {esxi} is older than the VIB allows (esx-version >= {min}); esxcli would fail with [DependencyError]")]
    EsxiTooOld { esxi: String, min: String },
    #[error("ESXi 8 refuses this VIB (no sha-256 gunzip checksum, [ProfileValidationError])")]
    NoEsxi8Checksums,
    #[error("{installed} is installed, newer than {target} (or not comparable)")]
    Newer { installed: String, target: String },
    #[error(
        "the host's acceptance level is {host}, above the VIB's '{vib}' ([AcceptanceConfigError])"
    )]
    Acceptance {
        host: String,
        vib: String,
        /// The level the host would need.
        needed: String,
    },
    #[error("/tmp has {free_kib} KiB free, the upload needs {need_kib} KiB")]
    TmpFull { free_kib: u64, need_kib: u64 },
}

/// Orders vDVS VIB versions by release tag; pre-0.19 `1.0.0-0.0.1` builds (no commit)
/// are older than every tagged one. `None` when the strings cannot be compared.
pub fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    if a == b {
        return Some(Ordering::Equal);
    }
    let (va, vb) = (VibVersion::parse(a).ok()?, VibVersion::parse(b).ok()?);
    let key = |v: &VibVersion| (v.sha.is_some(), numbers(&v.release_tag()));
    Some(key(&va).cmp(&key(&vb)))
}

pub fn plan(host: &HostFacts, vib: &VibFacts, opts: &Options) -> Plan {
    let from = host.installed.as_ref().map(|i| i.version.clone());
    let refuse = |why: Refusal| Plan {
        action: Action::Refuse,
        from: from.clone(),
        to: vib.version.clone(),
        set_acceptance: None,
        reason: why.to_string(),
        refusal: Some(why),
    };
    if let Some(min) = &vib.esx_min {
        if host.esxi.numbers() < numbers(min) {
            return refuse(Refusal::EsxiTooOld {
                esxi: host.esxi.version.clone(),
                min: min.clone(),
            });
        }
    }
    if host.esxi.numbers() >= vec![8] && !vib.esxi8_checksums {
        return refuse(Refusal::NoEsxi8Checksums);
    }
    let (action, why) = match &host.installed {
        None => (Action::Install, "not installed".to_string()),
        Some(i) if i.version == vib.version && host.service_running => {
            (Action::Skip, format!("{} already installed", i.version))
        }
        Some(i) if i.version == vib.version => (
            Action::StartService,
            format!("{} installed but vmdk-opsd is not running", i.version),
        ),
        Some(i) => match compare_versions(&i.version, &vib.version) {
            Some(Ordering::Less) => (Action::Upgrade, format!("{} is older", i.version)),
            Some(Ordering::Equal) => (
                Action::Replace,
                format!("{} is another build of the same release", i.version),
            ),
            Some(Ordering::Greater) | None if opts.allow_downgrade => (
                Action::Downgrade,
                format!("{} is newer; downgrade allowed", i.version),
            ),
            _ => {
                return refuse(Refusal::Newer {
                    installed: i.version.clone(),
                    target: vib.version.clone(),
                })
            }
        },
    };
    // Nothing is uploaded when skipping or only starting the service.
    let set_acceptance = if matches!(action, Action::Skip | Action::StartService) {
        None
    } else {
        match upload_checks(host, vib, opts) {
            Ok(level) => level,
            Err(why) => return refuse(why),
        }
    };
    Plan {
        action,
        from,
        to: vib.version.clone(),
        set_acceptance,
        reason: why,
        refusal: None,
    }
}

/// Before an upload and install: the acceptance level (the level to set, when allowed)
/// and room in /tmp.
fn upload_checks(
    host: &HostFacts,
    vib: &VibFacts,
    opts: &Options,
) -> Result<Option<String>, Refusal> {
    let mut set_acceptance = None;
    let (vib_rank, host_rank) = (level_rank(&vib.acceptance), level_rank(&host.acceptance));
    if let (Some(v), Some(h)) = (vib_rank, host_rank) {
        if v > h {
            if !opts.set_acceptance {
                return Err(Refusal::Acceptance {
                    host: host.acceptance.clone(),
                    vib: vib.acceptance.clone(),
                    needed: LEVELS[v].to_string(),
                });
            }
            set_acceptance = Some(LEVELS[v].to_string());
        }
    }
    if let Some(free) = host.tmp_free_kib {
        let need = vib.size / 1024 * 2 + 1024;
        if free < need {
            return Err(Refusal::TmpFull {
                free_kib: free,
                need_kib: need,
            });
        }
    }
    Ok(set_acceptance)
}

#[cfg(test)]
mod tests;
