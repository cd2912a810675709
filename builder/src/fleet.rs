//! fleet.toml: the file that describes a fleet. This release reads its [esxi] table.
//!
//! ```toml
//! [esxi]
//! hosts = ["esx1.lab", "root@esx2.lab:22"]
//! user = "root"
//! known_hosts = "known_hosts"          # relative to fleet.toml
//! [esxi.host_keys]                     # pinned: checked instead of known_hosts
//! "esx1.lab" = "SHA256:Vv0p0k5yC1xXbmJwT1kq2cU1cH6yWcJ0m6v4bC3n2dA"
//! ```

use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
pub struct Fleet {
    #[serde(default)]
    pub esxi: EsxiSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsxiSection {
    #[serde(default)]
    pub hosts: Vec<String>,
    pub user: Option<String>,
    pub known_hosts: Option<PathBuf>,
    #[serde(default)]
    pub host_keys: BTreeMap<String, String>,
}

impl Fleet {
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        let mut f: Fleet = toml::from_str(&text).map_err(|e| {
            crate::output::usage(format!(
                "{}: {}",
                path.display(),
                e.to_string().replace('\n', " ")
            ))
        })?;
        for (host, fp) in &f.esxi.host_keys {
            if !fp.starts_with("SHA256:") {
                return Err(crate::output::usage(format!(
                    "{}: host_keys.\"{host}\" must be a SHA256:... fingerprint (ssh-keygen -l -E sha256)",
                    path.display()
                )));
            }
        }
        if let Some(kh) = &f.esxi.known_hosts {
            let base = path.parent().unwrap_or(Path::new("."));
            f.esxi.known_hosts = Some(base.join(kh));
        }
        Ok(f)
    }
}
