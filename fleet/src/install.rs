//! ssh-install, ssh-uninstall and esxi status as functions: which hosts (flags, a hosts
//! file, fleet.toml), which VIB (the lock's, re-hashed, or one given), then the parallel
//! per-host job of the `esxi` crate. The CLI and `up` call the same code.

use crate::Result;
use anyhow::Context as _;
use config::Fleet;
use esxi::host::{HostReport, Job, Observer, VIB_NAME};
use esxi::plan::VibFacts;
use esxi::session::ConnectConfig;
use esxi::target::{collect, Source};
use esxi::Target;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Which hosts: fleet.toml's `[esxi] hosts`, then the given ones, then a hosts file.
#[derive(Default)]
pub struct HostChoice<'a> {
    pub fleet: Option<&'a Fleet>,
    pub hosts: Vec<String>,
    pub hosts_file: Option<PathBuf>,
    /// The login user where a host names none (default: fleet.toml's, then root).
    pub user: Option<String>,
}

/// The hosts chosen, in the order given, repeats dropped. An empty or malformed spec is
/// bad input naming it (with the file and line for a hosts file).
pub fn targets(c: &HostChoice) -> Result<Vec<Target>> {
    let section = c.fleet.map(|f| &f.esxi);
    let user = c
        .user
        .clone()
        .or_else(|| section.and_then(|s| s.user.clone()))
        .unwrap_or_else(|| "root".into());
    let mut specs: Vec<(&str, Source)> = section
        .map(|s| s.hosts.as_slice())
        .unwrap_or_default()
        .iter()
        .chain(&c.hosts)
        .map(|h| (h.as_str(), Source::Given))
        .collect();
    let text;
    let shown;
    if let Some(f) = &c.hosts_file {
        text = config::error::read_text(f, "a hosts file")?;
        shown = f.display().to_string();
        specs.extend(text.lines().enumerate().map(|(i, l)| {
            let at = Source::File {
                path: &shown,
                line: i + 1,
            };
            (l, at)
        }));
    }
    Ok(collect(specs, &user)?)
}

/// Why the VIB cannot be installed; nothing was sent to any host.
#[derive(Debug, thiserror::Error)]
pub enum VibProblem {
    #[error("no VIB: neither a lock nor a VIB was given")]
    NoneGiven,
    #[error(
        "{lock}: the VIB does not match the lock ({file}: {detail}): rebuild, or restore the file"
    )]
    LockMismatch {
        lock: String,
        file: String,
        detail: String,
    },
    #[error("{path}: is '{name}', not the vDVS driver VIB ({VIB_NAME})")]
    NotVdvs { path: String, name: String },
    #[error("{path}: {id} is unsigned")]
    Unsigned { path: String, id: String },
}

/// The VIB to install, proven intact (and matching the lock) before any host is touched.
pub fn vib_to_install(
    lock: Option<&Path>,
    vib: Option<&Path>,
    allow_unsigned: bool,
) -> Result<(Vec<u8>, plugin::Vib)> {
    let path = match (lock, vib) {
        (Some(lock_path), _) => {
            config::require_file(lock_path)?;
            let lock = plugin::FleetLock::read(lock_path)
                .with_context(|| lock_path.display().to_string())?;
            let dir = plumbing::folder_of(lock_path);
            // Only the VIB matters here: the plugin bundle and the OVA are not re-hashed.
            let c = lock.verify_vib(dir);
            if !c.ok {
                return Err(VibProblem::LockMismatch {
                    lock: lock_path.display().to_string(),
                    file: c.file.display().to_string(),
                    detail: c.detail,
                }
                .into());
            }
            dir.join(&lock.vib.file)
        }
        (None, Some(v)) => {
            config::require_file(v)?;
            v.to_path_buf()
        }
        (None, None) => return Err(VibProblem::NoneGiven.into()),
    };
    let (bytes, vib) = plugin::open_vib(&path).with_context(|| path.display().to_string())?;
    let shown = path.display().to_string();
    if vib.descriptor.name != VIB_NAME {
        return Err(VibProblem::NotVdvs {
            path: shown,
            name: vib.descriptor.name.clone(),
        }
        .into());
    }
    if !vib.signed && !allow_unsigned {
        return Err(VibProblem::Unsigned {
            path: shown,
            id: vib.id(),
        }
        .into());
    }
    Ok((bytes, vib))
}

/// What a run on many hosts did.
#[derive(Debug, Serialize)]
pub struct FleetReport {
    pub command: String,
    pub vib: Option<VibFacts>,
    pub ok: bool,
    pub hosts: Vec<HostReport>,
}

impl FleetReport {
    /// The hosts that did not end where they should.
    pub fn failed(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|r| !r.ok)
            .map(|r| r.host.as_str())
            .collect()
    }
}

/// Runs `job` on every target, `parallel` at a time; one failing never stops the others.
pub fn run(
    command: &str,
    targets: &[Target],
    cfg: &ConnectConfig,
    job: &Job,
    parallel: usize,
    obs: &dyn Observer,
) -> FleetReport {
    let hosts = esxi::fleet::run(targets, cfg, job, parallel, obs);
    FleetReport {
        command: command.to_string(),
        vib: job.vib.map(|(f, _)| f.clone()),
        ok: hosts.iter().all(|h| h.ok),
        hosts,
    }
}

/// A per-run id for the hosts' upload folders: process and time.
pub fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}-{nanos:08x}", std::process::id())
}
