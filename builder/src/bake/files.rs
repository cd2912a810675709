//! What build-ova lays into the guest, as a list of entries: the same list the bake
//! writes with debugfs and the kickstart's postinstall writes with a shell.

use anyhow::{bail, Context as _, Result};
use config::Fleet;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub const BUNDLE_DIR: &str = "/opt/photon-fleet/vdvs/plugin";
pub const FIRSTBOOT: &str = "/usr/lib/photon-fleet/firstboot";
pub const FIRSTBOOT_UNIT: &str = "photon-fleet-firstboot.service";
pub const WANTS: &str = "/etc/systemd/system/multi-user.target.wants";
/// Units the image starts at boot, and where Photon installs them.
/// The units the base must already have (the first-boot unit is ours to add).
pub const REQUIRED_UNITS: [&str; 2] = [
    "/usr/lib/systemd/system/docker.service",
    "/usr/lib/systemd/system/vmtoolsd.service",
];

pub const ENABLED_UNITS: &[(&str, &str)] = &[
    ("docker.service", REQUIRED_UNITS[0]),
    ("vmtoolsd.service", REQUIRED_UNITS[1]),
    (
        FIRSTBOOT_UNIT,
        "/etc/systemd/system/photon-fleet-firstboot.service",
    ),
];

#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    /// A file on this machine (the plugin bundle's files).
    Host(PathBuf, u64),
}

#[derive(Debug, Clone)]
pub enum Entry {
    Dir {
        path: String,
    },
    File {
        path: String,
        mode: u32,
        content: Content,
    },
    Link {
        path: String,
        target: String,
    },
}

impl Entry {
    pub fn path(&self) -> &str {
        match self {
            Entry::Dir { path } | Entry::File { path, .. } | Entry::Link { path, .. } => path,
        }
    }

    pub fn size(&self) -> u64 {
        match self {
            Entry::File {
                content: Content::Bytes(b),
                ..
            } => b.len() as u64,
            Entry::File {
                content: Content::Host(_, n),
                ..
            } => *n,
            Entry::Link { target, .. } => target.len() as u64,
            Entry::Dir { .. } => 0,
        }
    }
}

/// The two vDVS versions baked in.
pub struct Versions<'a> {
    pub plugin: &'a str,
    pub vib: &'a str,
}

#[derive(Serialize)]
struct FirstbootConf<'a> {
    version: &'a str,
    plugin: String,
    plugin_version: &'a str,
    bundle: &'a str,
    log_level: &'a str,
    socket_gid: &'a str,
    ssh_keys: &'a [String],
    users: Vec<UserConf<'a>>,
}

#[derive(Serialize)]
struct UserConf<'a> {
    name: &'a str,
    groups: String,
    ssh_keys: &'a [String],
}

fn render(name: &str, data: &impl Serialize) -> Result<Vec<u8>> {
    Ok(templates::render_text(name, data)
        .map_err(anyhow::Error::msg)?
        .into_bytes())
}

/// The default daemon.json: rotate container logs so a long-lived host does not fill up.
fn daemon_json(fleet: &Fleet) -> Result<Vec<u8>> {
    let settings = match &fleet.docker {
        Some(m) => serde_json::Value::Object(m.clone()),
        None => serde_json::json!({
            "log-driver": "json-file",
            "log-opts": { "max-file": "3", "max-size": "10m" }
        }),
    };
    let mut text = serde_json::to_string_pretty(&settings)?;
    text.push('\n');
    Ok(text.into_bytes())
}

fn file(path: &str, mode: u32, bytes: Vec<u8>) -> Entry {
    Entry::File {
        path: path.into(),
        mode,
        content: Content::Bytes(bytes),
    }
}

/// Every baked entry except the plugin bundle's own files, sorted by path.
pub fn config_entries(fleet: &Fleet, v: &Versions) -> Result<Vec<Entry>> {
    let version = env!("CARGO_PKG_VERSION");
    let d = &fleet.vdvs;
    let conf = FirstbootConf {
        version,
        plugin: format!("{}:{}", d.alias, d.tag),
        plugin_version: v.plugin,
        bundle: BUNDLE_DIR,
        log_level: &d.log_level,
        socket_gid: &d.socket_gid,
        ssh_keys: &fleet.guest.ssh_keys,
        users: fleet
            .guest
            .users
            .iter()
            .map(|u| UserConf {
                name: &u.name,
                groups: u.groups.join(","),
                ssh_keys: &u.ssh_keys,
            })
            .collect(),
    };
    let ver = serde_json::json!({ "version": version, "log_level": d.log_level, "socket_gid": d.socket_gid,
        "units": ENABLED_UNITS.iter().map(|(u, _)| *u).collect::<Vec<_>>(), "ntp": fleet.guest.ntp });
    let conf = render("firstboot.conf", &conf)?;
    let mut out = vec![file("/etc/docker/daemon.json", 0o644, daemon_json(fleet)?)];
    for (path, mode, template) in [
        ("/etc/vsphere-storage-for-docker.conf", 0o644, "vdvs.conf"),
        (FIRSTBOOT, 0o755, "firstboot.sh"),
        (
            "/etc/systemd/system/photon-fleet-firstboot.service",
            0o644,
            "firstboot.service",
        ),
        (
            "/etc/systemd/system-preset/10-photon-fleet.preset",
            0o644,
            "systemd.preset",
        ),
    ] {
        out.push(file(path, mode, render(template, &ver)?));
    }
    out.push(file("/etc/photon-fleet/firstboot.conf", 0o644, conf));
    out.push(file(
        "/etc/photon-fleet/versions",
        0o644,
        format!(
            "VDVS_PLUGIN={}\nVDVS_VIB={}\nPHOTON_FLEET={version}\n",
            v.plugin, v.vib
        )
        .into_bytes(),
    ));
    for (unit, target) in ENABLED_UNITS {
        out.push(Entry::Link {
            path: format!("{WANTS}/{unit}"),
            target: target.to_string(),
        });
    }
    if let Some(tz) = &fleet.guest.timezone {
        out.push(Entry::Link {
            path: "/etc/localtime".into(),
            target: format!("/usr/share/zoneinfo/{tz}"),
        });
    }
    if !fleet.guest.ntp.is_empty() {
        out.push(file(
            "/etc/systemd/timesyncd.conf.d/photon-fleet.conf",
            0o644,
            render("timesyncd.conf", &ver)?,
        ));
    }
    Ok(with_parents(out))
}

/// The bundle's files (a folder on this machine) placed under [`BUNDLE_DIR`].
pub fn bundle_entries(dir: &Path) -> Result<Vec<Entry>> {
    use plumbing::walk::{tree, Kind};
    let mut out = Vec::new();
    for item in tree(dir).with_context(|| dir.display().to_string())? {
        let path = format!("{BUNDLE_DIR}/{}", item.rel);
        out.push(match item.kind {
            Kind::Dir => Entry::Dir { path },
            Kind::Link { target } => Entry::Link { path, target },
            Kind::File { mode, len } => Entry::File {
                path,
                mode,
                content: Content::Host(item.path, len),
            },
            Kind::Other => bail!(
                "{}: plugin bundles hold files, folders and symlinks only",
                item.path.display()
            ),
        });
    }
    Ok(out)
}

/// Adds every missing parent folder and sorts (parents before children).
pub fn with_parents(mut entries: Vec<Entry>) -> Vec<Entry> {
    let mut dirs: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for e in &entries {
        let mut p = Path::new(e.path()).parent();
        while let Some(d) = p.filter(|d| *d != Path::new("/")) {
            dirs.insert(d.to_string_lossy().into_owned());
            p = d.parent();
        }
    }
    for e in &entries {
        if let Entry::Dir { path } = e {
            dirs.remove(path);
        }
    }
    entries.extend(dirs.into_iter().map(|path| Entry::Dir { path }));
    entries.sort_by(|a, b| a.path().cmp(b.path()));
    entries
}
