//! What ESXi prints, read into structs: `vmware -vl`, `esxcli software vib get`,
//! `acceptance get`, `visorfs ramdisk list`, the Installation/Removal Result block and
//! the `[ErrorClass]` errors, each with the remedy an administrator needs.

use serde::Serialize;

/// `vmware -vl`: "VMware ESXi 7.0.3 build-21930508" + "VMware ESXi 7.0 Update 3".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EsxiVersion {
    pub version: String,
    pub build: String,
    pub release: String,
}

impl EsxiVersion {
    pub fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.next()?;
        let rest = first.strip_prefix("VMware ESXi ")?;
        let (version, build) = rest.split_once(" build-")?;
        version
            .split('.')
            .try_for_each(|p| p.parse::<u32>().map(|_| ()))
            .ok()?;
        Some(Self {
            version: version.to_string(),
            build: build.trim().to_string(),
            release: lines.next().unwrap_or(first).to_string(),
        })
    }

    pub fn numbers(&self) -> Vec<u32> {
        numbers(&self.version)
    }
}

pub fn numbers(v: &str) -> Vec<u32> {
    v.split('.').map_while(|p| p.parse().ok()).collect()
}

/// Host acceptance levels, most trusted first; a host takes VIBs at its level or above.
pub const LEVELS: [&str; 4] = [
    "VMwareCertified",
    "VMwareAccepted",
    "PartnerSupported",
    "CommunitySupported",
];

/// The rank of a host level (`PartnerSupported`) or a VIB level (`partner`).
pub fn level_rank(level: &str) -> Option<usize> {
    let l = level.trim().to_ascii_lowercase();
    LEVELS
        .iter()
        .position(|x| x.to_ascii_lowercase() == l)
        .or(match l.as_str() {
            "certified" => Some(0),
            "accepted" => Some(1),
            "partner" => Some(2),
            "community" => Some(3),
            _ => None,
        })
}

/// One installed VIB from `esxcli software vib get -n NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledVib {
    pub id: String,
    pub name: String,
    pub version: String,
    pub acceptance: String,
}

/// Parses `vib get` output; `None` when it is not a vib get block.
pub fn parse_vib_get(text: &str) -> Option<InstalledVib> {
    let id = text.lines().next()?.trim().to_string();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(k).map(|v| v.trim().to_string()))
    };
    Some(InstalledVib {
        id,
        name: field("Name:")?,
        version: field("Version:")?,
        acceptance: field("Acceptance Level:").unwrap_or_default(),
    })
}

/// Free KiB of the `/tmp` ramdisk from `esxcli system visorfs ramdisk list`.
pub fn tmp_free_kib(text: &str) -> Option<u64> {
    let row = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some("tmp"))?;
    // Columns: name system coredumps reserved KiB maximum KiB used KiB ...
    let f: Vec<&str> = row.split_whitespace().collect();
    let kib: Vec<u64> = f
        .windows(2)
        .filter(|w| w[1] == "KiB")
        .filter_map(|w| w[0].parse().ok())
        .collect();
    let (max, used) = (kib.get(1)?, kib.get(2)?);
    max.checked_sub(*used)
}

/// The `Installation Result` / `Removal Result` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeResult {
    pub message: String,
    pub reboot_required: bool,
    pub installed: Vec<String>,
    pub removed: Vec<String>,
    pub skipped: Vec<String>,
}

pub fn parse_result(text: &str) -> Option<ChangeResult> {
    let start = text
        .lines()
        .position(|l| l.trim() == "Installation Result" || l.trim() == "Removal Result")?;
    let mut r = ChangeResult::default();
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    for line in text.lines().skip(start + 1) {
        let Some((k, v)) = line.trim().split_once(':') else {
            continue;
        };
        match k {
            "Message" => r.message = v.trim().to_string(),
            "Reboot Required" => r.reboot_required = v.trim() == "true",
            "VIBs Installed" => r.installed = list(v),
            "VIBs Removed" => r.removed = list(v),
            "VIBs Skipped" => r.skipped = list(v),
            _ => {}
        }
    }
    Some(r)
}

/// An esxcli failure: `[Class]`, its message, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EsxcliError {
    pub class: String,
    pub message: String,
    pub remedy: String,
}

impl std::fmt::Display for EsxcliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}: {}", self.class, self.message, self.remedy)
    }
}

/// Reads esxcli's error shape; any other failure text becomes class `Error`.
pub fn parse_error(text: &str) -> EsxcliError {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Please refer to the log file"))
        .collect();
    let (class, body) = match lines.first().and_then(|l| {
        l.strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .map(|(c, rest)| (c.to_string(), rest.trim().to_string()))
    }) {
        Some((c, rest)) => {
            let mut body: Vec<String> = Vec::new();
            if !rest.is_empty() {
                body.push(rest);
            }
            body.extend(lines[1..].iter().map(|s| s.to_string()));
            (c, body)
        }
        None => (
            "Error".to_string(),
            lines.iter().map(|s| s.to_string()).collect(),
        ),
    };
    let message = body
        .iter()
        .filter(|l| !l.starts_with("url =") && !l.starts_with("vibs ="))
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let remedy = remedy(&class, &message).to_string();
    EsxcliError {
        class,
        message,
        remedy,
    }
}

fn remedy(class: &str, message: &str) -> &'static str {
    match class {
        "DependencyError" if message.contains("acceptance level") => {
            "another installed VIB's acceptance level blocks this install; check 'esxcli software vib list' (vDVS issue #764)"
        }
        "DependencyError" => {
            "the host does not meet the VIB's requirements (vDVS needs ESXi 6.0 or later); upgrade the host"
        }
        "AcceptanceConfigError" => {
            "lower the host's acceptance level ('esxcli software acceptance set --level=CommunitySupported') or use a signed VIB"
        }
        "VibDownloadError" => {
            "the VIB path on the host must be absolute and the file must exist; rerun to upload it again"
        }
        "MetadataDownloadError" => "the offline bundle could not be read on the host; rerun to upload it again",
        "InstallationError" if message.contains("trusted signer") => {
            "the VIB is unsigned: install it without the signature check, on a host at CommunitySupported"
        }
        "InstallationError" if message.contains("vmdk-opsd") => {
            "the vmdk-opsd service did not start, so ESXi rolled the install back; check /var/log/vmware/vmdk_ops.log, reboot the host as ESXi asks, then rerun"
        }
        "InstallationError" if message.contains("altbootbank") => {
            "the altbootbank file system needs repair (VMware KB 2033564), then rerun"
        }
        "InstallationError" => "see /var/log/esxupdate.log on the host, fix the cause, then rerun",
        "LiveInstallationError" => {
            "the live change failed; put the host in maintenance mode or reboot it, then rerun"
        }
        "ProfileValidationError" if message.contains("sha-256 gunzip") => {
            "ESXi 8 needs sha-256 gunzip checksums: make the VIB with 'photon-fleet vib repack', then rerun"
        }
        "ProfileValidationError" => "the VIB does not fit the host's image profile; see /var/log/esxupdate.log",
        "VibValidationError" => "the VIB breaks ESXi's extensibility rules; use a VIB built for this ESXi release",
        "NoMatchError" => "the VIB is not installed on this host",
        _ => "see /var/log/esxupdate.log on the host",
    }
}

/// `/etc/init.d/vmdk-opsd status`: the pid when it runs.
pub fn opsd_pid(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("vmdkops-opsd is running pid="))
        .and_then(|p| p.trim().parse().ok())
}

#[cfg(test)]
mod tests;
