//! The Photon installer kickstart for users who install from the ISO (Packer or by
//! hand). Packages docker + open-vm-tools (+ tar, for the postinstall) on linux-esx;
//! the postinstall lays down exactly the files build-ova bakes (the same list, from
//! `bake::files`), the plugin bundle coming in through `additional_files`. [`make`]
//! takes typed inputs and returns the text.

use crate::bake::files::{self, Content, Entry};
use crate::{bad as usage, Result};
use anyhow::Context as _;
use base64::Engine as _;
use config::Fleet;
use kickstart::{
    BootMode, Disk, Filesystem, Kickstart, Network, Partition, Password, PublicKey, ServiceState,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Which Photon installer the kickstart is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installer {
    /// photon-os-installer v2.9 and later: `public_key` as an object, `services`.
    Current,
    /// v2.8: `public_key` as an object, no `services` (services enabled in the postinstall).
    V2_8,
    /// v2.7 and earlier (v2.4 read): `public_key` as a string, no `services`.
    Legacy,
}

impl Installer {
    /// The installer releases (tags of vmware/photon-os-installer, as read into
    /// [`kickstart::installers::RELEASES`]) this kickstart is made for.
    pub fn releases(self) -> &'static [&'static str] {
        match self {
            Installer::Current => &["v2.9", "main (f80e7e6)"],
            Installer::V2_8 => &["v2.8"],
            Installer::Legacy => &["v2.4", "v2.7"],
        }
    }
}

/// What the kickstart is made from.
pub struct KickstartInputs<'a> {
    pub fleet: &'a Fleet,
    pub plugin: PathBuf,
    pub vib: PathBuf,
    /// Where the installer finds the plugin bundle tar.
    pub bundle_source: String,
    /// Target disk device.
    pub disk: String,
    pub installer: Installer,
    /// A crypted root password; the root account is locked without one.
    pub root_password_hash: Option<String>,
}

/// The kickstart, and what went into it.
#[derive(Debug, serde::Serialize)]
pub struct Made {
    #[serde(skip)]
    pub text: String,
    pub plugin_version: String,
    pub vib_version: String,
    pub files: usize,
    pub bundle_source: String,
}

/// Where additional_files puts the bundle tar; the postinstall unpacks and removes it.
const BUNDLE_TAR: &str = "/opt/photon-fleet/vdvs/plugin.tar";

fn sh(s: &str) -> String {
    templates::shell_quote(s)
}

/// The postinstall lines: every path prefixed by `$R` (empty in the installer's chroot;
/// tests point it at a folder to compare the result with a baked image).
pub fn postinstall(entries: &[Entry]) -> Vec<String> {
    let mut lines = vec![
        "set -e".to_string(),
        "R=\"${PHOTON_FLEET_ROOT:-}\"".to_string(),
    ];
    for e in entries {
        let p = format!("\"$R\"{}", sh(e.path()));
        match e {
            Entry::Dir { .. } => lines.push(format!("mkdir -p {p}")),
            Entry::File {
                mode,
                content: Content::Bytes(b),
                ..
            } => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(b);
                lines.push(format!("echo {b64} | base64 -d > {p}"));
                lines.push(format!("chmod {mode:o} {p}"));
            }
            Entry::File { .. } => unreachable!("config entries are in memory"),
            Entry::Link { target, .. } => lines.push(format!("ln -sfn {} {p}", sh(target))),
        }
    }
    lines.push(format!("mkdir -p \"$R\"{}", files::BUNDLE_DIR));
    lines.push(format!(
        "tar -xf \"$R\"{BUNDLE_TAR} -C \"$R\"{} --no-same-owner",
        files::BUNDLE_DIR
    ));
    lines.push(format!("rm -f \"$R\"{BUNDLE_TAR}"));
    lines
}

/// Makes the kickstart (validated as the installer validates it).
pub fn make(a: &KickstartInputs) -> Result<Made> {
    let fleet = a.fleet;
    let (plugin_path, vib_path) = (&a.plugin, &a.vib);
    let bundle =
        plugin::managed::open(plugin_path).with_context(|| plugin_path.display().to_string())?;
    let (_, vib) = plugin::open_vib(vib_path).with_context(|| vib_path.display().to_string())?;
    plugin::pairing::check(&bundle.version, &vib.descriptor.version)?;
    if !a.bundle_source.starts_with('/') {
        return Err(usage(format!(
            "the plugin bundle's source '{}' must be an absolute path in the installer",
            a.bundle_source
        )));
    }

    let versions = files::Versions {
        plugin: &bundle.version,
        vib: &vib.descriptor.version,
    };
    let entries = files::config_entries(fleet, &versions)?;
    let password = match a.root_password_hash.clone() {
        Some(hash) => Password {
            crypted: true,
            text: hash,
            age: None,
        },
        None => Password {
            crypted: true,
            text: "*".into(),
            age: None,
        },
    };
    let public_key = fleet.guest.ssh_keys.first().map(|k| match a.installer {
        Installer::Current | Installer::V2_8 => PublicKey::WithReason {
            key: k.clone(),
            reason: "photon-fleet [guest] ssh_keys".into(),
        },
        Installer::Legacy => PublicKey::Plain(k.clone()),
    });
    let mut services = BTreeMap::from([
        ("docker".to_string(), ServiceState::Enabled),
        ("vmtoolsd".to_string(), ServiceState::Enabled),
    ]);
    if public_key.is_some() {
        services.insert("sshd".into(), ServiceState::Enabled);
    }
    let mut postinstall = postinstall(&entries);
    if a.installer != Installer::Current {
        // No `services` key before v2.9: the postinstall (run in the new root) enables them.
        let names: Vec<&str> = services.keys().map(String::as_str).collect();
        postinstall.push(format!("systemctl enable {}", names.join(" ")));
        services.clear();
    }
    let efi = fleet.image.firmware == "efi";
    let mut partitions = Vec::new();
    if efi {
        partitions.push(Partition {
            mountpoint: Some("/boot/efi".into()),
            size: Some(10),
            sizepercent: None,
            filesystem: Filesystem::Vfat,
            disk_id: None,
            lvm: None,
        });
    }
    partitions.push(Partition {
        mountpoint: Some("/".into()),
        size: Some(0),
        sizepercent: None,
        filesystem: Filesystem::Ext4,
        disk_id: None,
        lvm: None,
    });
    let ks = Kickstart {
        hostname: Some(fleet.image.name.clone()),
        password,
        disks: BTreeMap::from([(
            "default".to_string(),
            Disk {
                device: Some(a.disk.clone()),
                filename: None,
                size: None,
                sector_size: None,
            },
        )]),
        partitions,
        // tar: the postinstall unpacks the plugin bundle with it, and Photon's minimal
        // set does not pull it in.
        packages: ["minimal", "linux-esx", "docker", "open-vm-tools", "tar"]
            .map(String::from)
            .to_vec(),
        packagelist_file: None,
        postinstall,
        public_key,
        linux_flavor: Some("linux-esx".into()),
        bootmode: Some(if efi { BootMode::Efi } else { BootMode::Bios }),
        network: Some(Network::Dhcp),
        additional_files: vec![BTreeMap::from([(
            a.bundle_source.clone(),
            BUNDLE_TAR.to_string(),
        )])],
        services,
        arch: None,
    };
    ks.validate()
        .map_err(|e| anyhow::anyhow!("the kickstart photon-fleet made is not valid: {e}"))?;
    let json: serde_json::Value = serde_json::from_str(&ks.render()?)?;
    for tag in a.installer.releases() {
        let release = kickstart::installers::release(tag).context("an installer release")?;
        kickstart::installers::check(&json, release).map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(Made {
        text: ks.render()?,
        plugin_version: bundle.version,
        vib_version: vib.descriptor.version.clone(),
        files: entries.len(),
        bundle_source: a.bundle_source.clone(),
    })
}
