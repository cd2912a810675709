//! fleet.toml's build-ova sections: [image], [docker], [vdvs], [guest], [network].

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The image build-ova writes.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImageSection {
    /// VM name inside the OVF and the OVA's file stem (`<name>-<photon_version>.ova`).
    pub name: String,
    /// Checked against the base's /etc/photon-release when given.
    pub photon_version: Option<String>,
    /// The Photon OS base: .ova, .vmdk or .raw (relative to fleet.toml).
    pub base: Option<PathBuf>,
    /// Grow the disk to this size ("16GiB"); the root partition and ext4 take the space.
    pub disk_size: Option<String>,
    pub cpus: u32,
    pub memory_mb: u64,
    pub hw_version: u32,
    /// efi or bios.
    pub firmware: String,
    /// The network the NIC is attached to in the OVF.
    pub network: String,
    /// Where build-ova writes (and `up` looks for) the OVA, the VIB and fleet.lock
    /// (relative to fleet.toml).
    pub out: PathBuf,
}

impl Default for ImageSection {
    fn default() -> Self {
        Self {
            name: "photon-docker".into(),
            photon_version: None,
            base: None,
            disk_size: None,
            cpus: 2,
            memory_mb: 2048,
            hw_version: 14,
            firmware: "efi".into(),
            network: "VM Network".into(),
            out: "out".into(),
        }
    }
}

/// vDVS: the two artifacts and how the plugin is set up in the guest.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VdvsSection {
    /// Managed-plugin bundle: folder or .tar with config.json and rootfs/.
    pub plugin: Option<PathBuf>,
    /// The VIB, or an offline bundle .zip holding it.
    pub vib: Option<PathBuf>,
    /// Plugin name in Docker: `docker volume create -d vsphere`.
    pub alias: String,
    pub tag: String,
    pub log_level: String,
    /// Group owning the plugin's socket (docker: members of docker can use it).
    pub socket_gid: String,
}

impl Default for VdvsSection {
    fn default() -> Self {
        Self {
            plugin: None,
            vib: None,
            alias: "vsphere".into(),
            tag: "latest".into(),
            log_level: "info".into(),
            socket_gid: "root".into(),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GuestSection {
    /// e.g. "Europe/Berlin": /etc/localtime points at it (the base must hold the zone).
    pub timezone: Option<String>,
    #[serde(default)]
    pub ntp: Vec<String>,
    /// Added to root's authorized_keys on every VM.
    #[serde(default)]
    pub ssh_keys: Vec<String>,
    #[serde(default)]
    pub users: Vec<GuestUser>,
    /// The private key `up` and `status` log in to the guests with, as root (its public
    /// half belongs in `ssh_keys`); relative to fleet.toml. Not baked into the image.
    pub identity: Option<PathBuf>,
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct GuestUser {
    pub name: String,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub ssh_keys: Vec<String>,
}

/// Defaults for [[vm]] entries with a static address; also the OVF property defaults.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    pub gateway: Option<String>,
    #[serde(default)]
    pub dns: Vec<String>,
}

fn word(s: &str, extra: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

pub fn check_ssh_key(k: &str) -> Result<(), String> {
    if (!k.starts_with("ssh-") && !k.starts_with("ecdsa-") && !k.starts_with("sk-"))
        || k.contains('\n')
        || k.split_whitespace().count() < 2
    {
        return Err(format!(
            "'{}' is not one OpenSSH public key line",
            k.chars().take(24).collect::<String>()
        ));
    }
    Ok(())
}

/// "16GiB", "512MiB", "2G", or bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("size '{s}' is not a number with a unit"))?;
    let mul: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        u => {
            return Err(format!(
                "size '{s}': unit '{u}' is not one of B, KiB, MiB, GiB, TiB"
            ))
        }
    };
    n.checked_mul(mul)
        .ok_or_else(|| format!("size '{s}' is too large"))
}

impl ImageSection {
    pub fn check(&self) -> Result<(), String> {
        if !word(&self.name, "._-") || self.name.len() > 80 {
            return Err(format!(
                "[image] name '{}' may only hold letters, digits, '.', '_', '-' (1-80)",
                self.name
            ));
        }
        if let Some(v) = &self.photon_version {
            if !word(v, ".") {
                return Err(format!(
                    "[image] photon_version '{v}' is not a version such as 5.0"
                ));
            }
        }
        if let Some(s) = &self.disk_size {
            parse_size(s).map_err(|e| format!("[image] disk_size: {e}"))?;
        }
        if !(1..=768).contains(&self.cpus) {
            return Err("[image] cpus must be 1 to 768".into());
        }
        if !(256..=24 * 1024 * 1024).contains(&self.memory_mb) {
            return Err("[image] memory_mb must be 256 to 25165824".into());
        }
        if !["efi", "bios"].contains(&self.firmware.as_str()) {
            return Err(format!(
                "[image] firmware '{}' is not efi or bios",
                self.firmware
            ));
        }
        Ok(())
    }
}

impl VdvsSection {
    pub fn check(&self) -> Result<(), String> {
        if !word(&self.alias, "._-") || self.alias.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "[vdvs] alias '{}' is not a Docker plugin name (lowercase letters, digits, . _ -)",
                self.alias
            ));
        }
        if !word(&self.tag, "._-") || self.tag.len() > 128 {
            return Err(format!("[vdvs] tag '{}' is not a Docker tag", self.tag));
        }
        const LEVELS: [&str; 6] = ["panic", "fatal", "error", "warn", "info", "debug"];
        if !LEVELS.contains(&self.log_level.as_str()) {
            return Err(format!(
                "[vdvs] log_level '{}' is not one of {}",
                self.log_level,
                LEVELS.join(", ")
            ));
        }
        if !word(&self.socket_gid, "_-") {
            return Err(format!(
                "[vdvs] socket_gid '{}' is not a group name or number",
                self.socket_gid
            ));
        }
        Ok(())
    }
}

fn unix_name(n: &str) -> bool {
    n.len() <= 32 && n.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') && word(n, "_-")
}

impl GuestSection {
    pub fn check(&self) -> Result<(), String> {
        if let Some(tz) = &self.timezone {
            if !word(tz, "/_+-") || tz.contains("..") || tz.starts_with('/') {
                return Err(format!(
                    "[guest] timezone '{tz}' is not a zone name such as Europe/Berlin"
                ));
            }
        }
        for s in &self.ntp {
            if !word(s, ".-:") {
                return Err(format!(
                    "[guest] ntp server '{s}' is not a host name or address"
                ));
            }
        }
        for k in self
            .ssh_keys
            .iter()
            .chain(self.users.iter().flat_map(|u| &u.ssh_keys))
        {
            check_ssh_key(k).map_err(|e| format!("[guest] {e}"))?;
        }
        for u in &self.users {
            if !unix_name(&u.name) || u.name == "root" {
                return Err(format!(
                    "[guest] user '{}' is not a valid new user name",
                    u.name
                ));
            }
            if let Some(g) = u.groups.iter().find(|g| !unix_name(g)) {
                return Err(format!(
                    "[guest] user {}: group '{g}' is not a valid group name",
                    u.name
                ));
            }
        }
        Ok(())
    }
}
