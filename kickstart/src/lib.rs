//! The Photon OS installer's kickstart (photon-os-installer `ks_config.md`) as typed Rust:
//! read (unknown keys refused), validated the way the installer validates, rendered as JSON.
//! Only crypted passwords are accepted: a kickstart is a file people copy around.
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod installers;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kickstart: {0}")]
    Invalid(String),
    #[error("kickstart: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Invalid(msg.into()))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kickstart {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub password: Password,
    pub disks: BTreeMap<String, Disk>,
    pub partitions: Vec<Partition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packagelist_file: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub postinstall: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_flavor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootmode: Option<BootMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// `[{ "src": "dest" }]`: files copied from the installer's media into the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_files: Vec<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, ServiceState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Password {
    pub crypted: bool,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// MiB, with `filename`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector_size: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mountpoint: Option<String>,
    /// MiB; 0 = the rest of the disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizepercent: Option<u8>,
    pub filesystem: Filesystem,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lvm: Option<Lvm>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lvm {
    pub vg_name: String,
    pub lv_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Filesystem {
    Ext4,
    Xfs,
    Btrfs,
    Vfat,
    Swap,
}

/// Newer installers take `{key, reason}`; older ones (and most samples) a plain string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PublicKey {
    Plain(String),
    WithReason { key: String, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BootMode {
    Efi,
    Bios,
    Dualboot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    Enabled,
    Disabled,
    Masked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    X86_64,
    Aarch64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "lowercase")]
pub enum Network {
    Dhcp,
    Static {
        ip_addr: String,
        netmask: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nameserver: Option<String>,
    },
}

impl Kickstart {
    /// Parses and validates a kickstart (JSON).
    pub fn parse(text: &str) -> Result<Self> {
        let ks: Self = serde_json::from_str(text)?;
        ks.validate()?;
        Ok(ks)
    }

    /// The installer's own checks, plus ours (crypted password, safe names).
    pub fn validate(&self) -> Result<()> {
        let p = &self.password;
        if !p.crypted {
            return invalid("password must be crypted (mkpasswd -m sha-512), never clear text");
        }
        let crypt_like = p.text == "*"
            || ["$6$", "$5$", "$y$", "$2b$"]
                .iter()
                .any(|pre| p.text.starts_with(pre));
        if !crypt_like {
            return invalid("password.text is not a crypt(3) hash ($6$..., $y$...) or '*'");
        }
        if p.age.is_some_and(|a| a < -1) {
            return invalid("password.age must be -1 or more");
        }
        if let Some(h) = &self.hostname {
            let ok = !h.is_empty()
                && h.len() <= 253
                && h.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && !l.starts_with('-')
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !ok {
                return invalid(format!("hostname '{h}' is not a valid host name"));
            }
        }
        if !self.disks.contains_key("default") {
            return invalid("disks needs a 'default' entry");
        }
        for (id, d) in &self.disks {
            match (&d.device, &d.filename, d.size) {
                (Some(_), None, _) => {}
                (None, Some(_), Some(s)) if s > 0 => {}
                _ => {
                    return invalid(format!(
                        "disk '{id}' needs a device, or a filename and a size"
                    ))
                }
            }
            if d.sector_size.is_some_and(|s| s != 512 && s != 4096) {
                return invalid(format!("disk '{id}': sector_size is 512 or 4096"));
            }
        }
        self.validate_partitions()?;
        for (i, f) in self.additional_files.iter().enumerate() {
            if f.len() != 1 || f.values().any(|d| !d.starts_with('/')) {
                return invalid(format!(
                    "additional_files[{i}] must be one {{\"src\": \"/absolute/dest\"}}"
                ));
            }
        }
        Ok(())
    }

    fn validate_partitions(&self) -> Result<()> {
        let mut mounts: Vec<&str> = Vec::new();
        let mut rest = BTreeMap::new();
        for (i, part) in self.partitions.iter().enumerate() {
            let disk = part.disk_id.as_deref().unwrap_or("default");
            if !self.disks.contains_key(disk) {
                return invalid(format!("partitions[{i}]: no disk '{disk}'"));
            }
            match (part.size, part.sizepercent) {
                (Some(_), None) => {}
                (None, Some(p)) if (1..=100).contains(&p) => {}
                _ => return invalid(format!("partitions[{i}]: give size or sizepercent (1-100)")),
            }
            if part.size == Some(0) {
                let n = rest.entry(disk).or_insert(0);
                *n += 1;
                if *n > 1 {
                    return invalid(format!("disk '{disk}': more than one partition of size 0"));
                }
            }
            if let Some(m) = part.mountpoint.as_deref() {
                if !m.starts_with('/') {
                    return invalid(format!("partitions[{i}]: mountpoint '{m}' is not absolute"));
                }
                if mounts.contains(&m) {
                    return invalid(format!("mountpoint {m} is used twice"));
                }
                mounts.push(m);
                if m == "/boot" && part.lvm.is_some() {
                    return invalid("/boot cannot be on LVM");
                }
                if m == "/boot/efi" && part.filesystem != Filesystem::Vfat {
                    return invalid("/boot/efi must be vfat");
                }
            } else if part.filesystem != Filesystem::Swap {
                return invalid(format!(
                    "partitions[{i}]: no mountpoint (only swap has none)"
                ));
            }
        }
        if !mounts.contains(&"/") {
            return invalid("no partition is mounted at /");
        }
        Ok(())
    }

    /// The kickstart as the installer reads it (stable key order).
    pub fn render(&self) -> Result<String> {
        self.validate()?;
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }
}

#[cfg(test)]
mod tests;
