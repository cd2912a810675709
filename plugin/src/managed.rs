//! The vDVS Docker managed plugin as files: a folder or tar holding `config.json` and
//! `rootfs/` (what `docker plugin create NAME DIR` takes), validated before it is
//! baked into an image.

use crate::{bad, Error, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

pub const VOLUME_DRIVER: &str = "docker.volumedriver/1.0";
/// Env the administrator must be able to set (`docker plugin set`).
pub const SETTABLE_ENV: &[&str] = &["VDVS_LOG_LEVEL", "VDVS_SOCKET_GID"];

#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginBundle {
    /// From the `VDVS_VERSION` env default in config.json.
    pub version: String,
    pub socket: String,
    pub entrypoint: Vec<String>,
    pub propagated_mount: String,
    pub settable_env: Vec<String>,
    /// SHA-256 over the bundle's sorted (path, mode, bytes): the same for the folder and its tar.
    pub sha256: String,
    pub files: usize,
}

/// A file of the bundle: relative path -> (mode, contents).
type Tree = BTreeMap<String, (u32, Vec<u8>)>;

fn read_dir_tree(root: &Path) -> Result<Tree> {
    use plumbing::walk::{tree, Kind};
    let mut out = Tree::new();
    for item in tree(root)? {
        match item.kind {
            Kind::Dir => {}
            Kind::Link { target } => {
                out.insert(item.rel, (0o120777, target.into_bytes()));
            }
            Kind::File { mode, .. } => {
                out.insert(item.rel, (mode, std::fs::read(&item.path)?));
            }
            Kind::Other => {
                return Err(bad!(
                    "{}: plugin bundles hold files, folders and symlinks only",
                    item.path.display()
                ))
            }
        }
    }
    Ok(out)
}

fn read_tar_tree(r: impl Read) -> Result<Tree> {
    let mut tree = Tree::new();
    let mut a = tar::Archive::new(r);
    for e in a.entries().map_err(|e| bad!("not a tar archive: {e}"))? {
        let mut e = e.map_err(|e| bad!("damaged tar archive: {e}"))?;
        let path = e
            .path()
            .map_err(|e| bad!("bad tar member name: {e}"))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let kind = e.header().entry_type();
        if kind.is_dir() || path.is_empty() {
            continue;
        }
        if kind.is_symlink() {
            let target = e
                .link_name()
                .ok()
                .flatten()
                .map(|p| p.to_string_lossy().as_bytes().to_vec())
                .unwrap_or_default();
            tree.insert(path, (0o120777, target));
            continue;
        }
        let mode = e.header().mode().unwrap_or(0o644) & 0o7777;
        let mut data = Vec::new();
        e.read_to_end(&mut data)
            .map_err(|e| bad!("{path}: damaged tar data ({e})"))?;
        tree.insert(path, (mode, data));
    }
    Ok(tree)
}

fn tree_digest(tree: &Tree) -> String {
    let mut h = Sha256::new();
    for (path, (mode, data)) in tree {
        h.update(format!("{path}\0{mode:o}\0{}\0", data.len()).as_bytes());
        h.update(data);
    }
    hex::encode(h.finalize())
}

/// Opens a bundle folder or `.tar` (optionally gzipped) and validates it.
pub fn open(path: &Path) -> Result<PluginBundle> {
    let tree = if path.is_dir() {
        read_dir_tree(path)?
    } else {
        let f = std::fs::File::open(path)?;
        let name = path.to_string_lossy();
        if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            read_tar_tree(flate2::read::GzDecoder::new(f))?
        } else {
            read_tar_tree(f)?
        }
    };
    validate(&tree)
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn validate(tree: &Tree) -> Result<PluginBundle> {
    let (_, raw) = tree
        .get("config.json")
        .ok_or_else(|| bad!("no config.json: not a Docker managed-plugin bundle"))?;
    let c: Value =
        serde_json::from_slice(raw).map_err(|e| bad!("config.json is not valid JSON: {e}"))?;
    let types = str_list(&c["interface"]["types"]);
    if !types.iter().any(|t| t == VOLUME_DRIVER) {
        return Err(bad!("config.json interface.types is {types:?}; a volume plugin declares \"{VOLUME_DRIVER}\""));
    }
    let socket = c["interface"]["socket"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !socket.ends_with(".sock") || socket.contains('/') {
        return Err(bad!("config.json interface.socket '{socket}' must be a socket file name such as vsphere.sock"));
    }
    let entrypoint = str_list(&c["entrypoint"]);
    let exe = entrypoint
        .first()
        .ok_or_else(|| bad!("config.json has no entrypoint"))?;
    let in_rootfs = format!("rootfs/{}", exe.trim_start_matches('/'));
    match tree.get(&in_rootfs) {
        Some((mode, _)) if mode & 0o111 != 0 => {}
        Some(_) => return Err(bad!("entrypoint {exe} is in rootfs/ but not executable")),
        None => {
            return Err(bad!(
                "entrypoint {exe} is not in rootfs/ (expected {in_rootfs})"
            ))
        }
    }
    let propagated_mount = c["propagatedMount"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if propagated_mount.is_empty() {
        return Err(bad!(
            "config.json has no propagatedMount (vDVS mounts volumes under /mnt/vmdk)"
        ));
    }
    let caps = str_list(&c["linux"]["capabilities"]);
    if !caps.iter().any(|x| x == "CAP_SYS_ADMIN") {
        return Err(bad!(
            "config.json linux.capabilities lacks CAP_SYS_ADMIN, which mounting volumes needs"
        ));
    }
    let env = c["env"].as_array().cloned().unwrap_or_default();
    let env_named = |n: &str| env.iter().find(|e| e["name"] == n);
    let settable: Vec<String> = env
        .iter()
        .filter(|e| str_list(&e["settable"]).iter().any(|s| s == "value"))
        .filter_map(|e| e["name"].as_str().map(String::from))
        .collect();
    for want in SETTABLE_ENV {
        if !settable.iter().any(|s| s == want) {
            return Err(bad!(
                "config.json env {want} is missing or not settable (\"settable\": [\"value\"])"
            ));
        }
    }
    let version = env_named("VDVS_VERSION")
        .and_then(|e| e["value"].as_str())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            bad!("config.json env VDVS_VERSION is missing: the plugin's version cannot be known")
        })?
        .to_string();
    if !tree.keys().any(|k| k.starts_with("rootfs/")) {
        return Err(Error::Format("no rootfs/ in the bundle".into()));
    }
    Ok(PluginBundle {
        version,
        socket,
        entrypoint,
        propagated_mount,
        settable_env: settable,
        sha256: tree_digest(tree),
        files: tree.len(),
    })
}

/// The vDVS plugin's config.json, as its release builds declare it (for tests and
/// for building a bundle around a locally built binary).
pub fn vdvs_config(version: &str) -> Value {
    let env = |name: &str, value: &str, settable: bool| {
        let mut e = serde_json::json!({ "name": name, "description": name, "value": value });
        if settable {
            e["settable"] = serde_json::json!(["value"]);
        }
        e
    };
    let bind = |p: &str, opts: &[&str]| serde_json::json!({ "source": p, "destination": p, "type": "bind", "options": opts });
    serde_json::json!({
        "description": "VMWare vSphere Docker Volume plugin",
        "documentation": "https://github.com/vmware-archive/vsphere-storage-for-docker",
        "entrypoint": ["/usr/bin/vsphere-storage-for-docker", "--config", "/etc/vsphere-storage-for-docker.conf"],
        "env": [
            env("VDVS_LOG_LEVEL", "info", true),
            env("VDVS_VERSION", version, false),
            env("VDVS_SOCKET_GID", "root", true),
        ],
        "interface": { "socket": "vsphere.sock", "types": [VOLUME_DRIVER] },
        "linux": { "allowAllDevices": true, "capabilities": ["CAP_SYS_ADMIN"], "devices": null },
        "mounts": [
            bind("/dev", &["rbind", "shared"]),
            bind("/var/run", &["rbind"]),
            bind("/etc", &["rbind"]),
            bind("/var/log", &["rbind"]),
        ],
        "network": { "type": "host" },
        "propagatedMount": "/mnt/vmdk",
    })
}
