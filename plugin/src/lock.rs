//! `fleet.lock`: the contract between build-ova, deploy and ssh-install. It names the
//! vDVS release, the plugin and the VIB (version + sha256), and, once build-ova has
//! run, the OVA by the sha256 of its manifest (the `.mf` member lists the digest of
//! every other member, so one digest pins the package, as an OVF certificate would).
//! Paths are relative to the lock file's folder.

use crate::{pairing, Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// 2: the OVA is pinned by its manifest's sha256 (1 hashed the whole file).
pub const LOCK_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FleetLock {
    pub lock_version: u32,
    pub vdvs: Release,
    pub plugin: PluginEntry,
    pub vib: VibEntry,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ova: Option<OvaEntry>,
    /// What build-ova was given (a digest of the base's size and time, the plugin, the
    /// VIB and fleet.toml's image sections): `up` rebuilds when it no longer matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<InputsEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InputsEntry {
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub release: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    pub version: String,
    pub file: String,
    /// Bundle digest (see `managed::PluginBundle::sha256`).
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VibEntry {
    pub id: String,
    pub version: String,
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OvaEntry {
    pub file: String,
    /// SHA-256 of the OVA's `.mf` member.
    pub manifest_sha256: String,
}

/// One artifact's re-check.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub what: &'static str,
    pub file: PathBuf,
    pub ok: bool,
    pub detail: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

impl FleetLock {
    pub fn parse(text: &str) -> Result<Self> {
        let lock: Self = toml::from_str(text).map_err(|e| {
            Error::Format(format!(
                "not a valid fleet.lock: {}",
                e.message().lines().next().unwrap_or("")
            ))
        })?;
        if lock.lock_version != LOCK_VERSION {
            return Err(Error::Format(format!(
                "fleet.lock version {} is not supported (this photon-fleet reads {LOCK_VERSION}): run build-ova or `photon-fleet lock create` again to rewrite it",
                lock.lock_version
            )));
        }
        pairing::check(&lock.plugin.version, &lock.vib.version)?;
        Ok(lock)
    }

    pub fn read(path: &Path) -> Result<Self> {
        Self::parse(&std::fs::read_to_string(path)?)
    }

    pub fn render(&self) -> String {
        let body = toml::to_string(self).expect("a lock always serializes");
        format!("# fleet.lock: written by photon-fleet. The plugin and VIB below are one vDVS release;\n# deploy and ssh-install refuse anything else. Paths are relative to this file.\n{body}")
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        plumbing::write_atomically(path, |mut f| Ok(f.write_all(self.render().as_bytes())?))
    }

    /// Re-hashes the VIB the lock names (relative to `dir`).
    pub fn verify_vib(&self, dir: &Path) -> Checked {
        let got = sha256_file(&dir.join(&self.vib.file));
        checked("vib", dir, &self.vib.file, &self.vib.sha256, got)
    }

    /// Re-hashes every file the lock names (relative to `dir`). The plugin bundle is
    /// re-validated, so its digest is the bundle digest; `ova_manifest` opens an OVA,
    /// checks its manifest against its members and returns the manifest's sha256.
    pub fn verify(
        &self,
        dir: &Path,
        ova_manifest: &dyn Fn(&Path) -> Result<String>,
    ) -> Vec<Checked> {
        let plugin = crate::managed::open(&dir.join(&self.plugin.file)).map(|b| b.sha256);
        let mut out = vec![
            checked(
                "plugin",
                dir,
                &self.plugin.file,
                &self.plugin.sha256,
                plugin,
            ),
            self.verify_vib(dir),
        ];
        if let Some(ova) = &self.ova {
            let got = ova_manifest(&dir.join(&ova.file));
            out.push(checked("ova", dir, &ova.file, &ova.manifest_sha256, got));
        }
        out
    }
}

fn checked(what: &'static str, dir: &Path, file: &str, want: &str, got: Result<String>) -> Checked {
    let digest = if what == "ova" {
        "manifest sha256"
    } else {
        "sha256"
    };
    let (ok, detail) = match got {
        Ok(h) if h == want => (true, format!("{digest} matches")),
        Ok(h) => (false, format!("{digest} {h}, the lock says {want}")),
        Err(e) => (false, e.to_string()),
    };
    Checked {
        what,
        file: dir.join(file),
        ok,
        detail,
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder.
/// `file` as a lock records it: relative to the lock's folder `dir` when it is inside it.
pub fn relative_to(file: &Path, dir: &Path) -> String {
    let abs = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let (f, d) = (abs(file), abs(dir));
    f.strip_prefix(&d)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| f.display().to_string())
}

impl PluginEntry {
    /// The entry for `bundle`, read from `path`, in a lock kept in `dir`.
    pub fn of(bundle: &crate::managed::PluginBundle, path: &Path, dir: &Path) -> Self {
        Self {
            version: bundle.version.clone(),
            file: relative_to(path, dir),
            sha256: bundle.sha256.clone(),
        }
    }
}

impl VibEntry {
    /// The entry for `vib` (`sha256` of its file at `path`), in a lock kept in `dir`.
    pub fn of(vib: &crate::Vib, path: &Path, sha256: String, dir: &Path) -> Self {
        Self {
            id: vib.id(),
            version: vib.descriptor.version.clone(),
            file: relative_to(path, dir),
            sha256,
        }
    }
}
