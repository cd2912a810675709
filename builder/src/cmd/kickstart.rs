//! `photon-fleet kickstart`: the Photon installer kickstart for users who install from
//! the ISO (Packer or by hand). Packages docker + open-vm-tools on linux-esx; the
//! postinstall lays down exactly the files build-ova bakes (the same list, from
//! `bake::files`), the plugin bundle coming in through `additional_files`.

use super::{env_nonempty, write_atomically};
use crate::bake::files::{self, Content, Entry};
use crate::cli::{InstallerArg, KickstartArgs};
use crate::fleet::Fleet;
use crate::output::{usage, Context};
use anyhow::{Context as _, Result};
use base64::Engine as _;
use kickstart::{
    BootMode, Disk, Filesystem, Kickstart, Network, Partition, Password, PublicKey, ServiceState,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

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

pub fn run(ctx: &Context, a: &KickstartArgs) -> Result<()> {
    let fleet_path = a
        .fleet
        .clone()
        .or_else(|| Some(PathBuf::from("fleet.toml")).filter(|p| p.exists()));
    let fleet = fleet_path
        .as_deref()
        .map_or(Ok(Fleet::default()), Fleet::read)?;
    let pick = |flag: &Option<PathBuf>, f: &Option<PathBuf>, what: &str| {
        flag.clone().or_else(|| f.clone()).ok_or_else(|| {
            usage(format!(
                "no {what}: pass --{what} or set [vdvs] {what} in fleet.toml"
            ))
        })
    };
    let plugin_path = pick(&a.plugin, &fleet.vdvs.plugin, "plugin")?;
    let vib_path = pick(&a.vib, &fleet.vdvs.vib, "vib")?;
    let bundle =
        plugin::managed::open(&plugin_path).with_context(|| plugin_path.display().to_string())?;
    let (_, vib) = plugin::open_vib(&vib_path).with_context(|| vib_path.display().to_string())?;
    plugin::pairing::check(&bundle.version, &vib.descriptor.version)?;
    if !a.bundle_source.starts_with('/') {
        return Err(usage(format!(
            "--bundle-source '{}' must be an absolute path in the installer",
            a.bundle_source
        )));
    }

    let versions = files::Versions {
        plugin: &bundle.version,
        vib: &vib.descriptor.version,
    };
    let entries = files::config_entries(&fleet, &versions)?;
    let password = match env_nonempty("PHOTON_FLEET_ROOT_PASSWORD_HASH") {
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
        InstallerArg::Current => PublicKey::WithReason {
            key: k.clone(),
            reason: "photon-fleet [guest] ssh_keys".into(),
        },
        InstallerArg::Legacy => PublicKey::Plain(k.clone()),
    });
    let mut services = BTreeMap::from([
        ("docker".to_string(), ServiceState::Enabled),
        ("vmtoolsd".to_string(), ServiceState::Enabled),
    ]);
    if public_key.is_some() {
        services.insert("sshd".into(), ServiceState::Enabled);
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
        packages: ["minimal", "linux-esx", "docker", "open-vm-tools"]
            .map(String::from)
            .to_vec(),
        packagelist_file: None,
        postinstall: postinstall(&entries),
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
        .map_err(|e| usage(format!("the kickstart photon-fleet made is not valid: {e}")))?;
    let text = ks.render()?;
    write_atomically(&a.output, a.force, |f| {
        std::io::Write::write_all(&mut &*f, text.as_bytes())?;
        Ok(())
    })?;
    #[derive(serde::Serialize)]
    struct Report {
        kickstart: String,
        plugin_version: String,
        vib_version: String,
        files: usize,
        bundle_source: String,
    }
    let r = Report {
        kickstart: a.output.display().to_string(),
        plugin_version: bundle.version,
        vib_version: vib.descriptor.version.clone(),
        files: entries.len(),
        bundle_source: a.bundle_source.clone(),
    };
    ctx.emit(&r, || {
        format!(
            "{}: Photon kickstart (linux-esx, docker, open-vm-tools, vDVS {}); the installer must find the plugin bundle tar at {}\n",
            r.kickstart, r.plugin_version, r.bundle_source
        )
    })
}
