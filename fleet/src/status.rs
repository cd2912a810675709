//! `status`: the fleet as it is, against fleet.lock: every ESXi host of the cluster (VIB
//! version, vmdk-opsd), every fleet VM (power, IP, the OVA its template came from), every
//! guest (the plugin's version and state). Anything that differs from the lock is listed.

use crate::deploy::{self, DeployInputs};
use crate::guests::{self, GuestReport};
use crate::hosts;
use crate::image;
use crate::install::{self, FleetReport};
use crate::Result;
use esxi::host::{Job, Mode, Observer};
use esxi::plan::Options;
use esxi::session::ConnectConfig;
use serde::Serialize;
use vsphere::Client;

/// What `status` looks at, besides fleet.toml.
pub struct StatusInputs<'a> {
    pub fleet: &'a config::Fleet,
    pub esxi: &'a ConnectConfig,
    pub esxi_user: String,
    pub parallel_hosts: usize,
    pub guest: &'a ConnectConfig,
    pub deploy: DeployInputs<'a>,
}

/// One fleet VM.
#[derive(Debug, Clone, Serialize)]
pub struct VmStatus {
    pub name: String,
    pub exists: bool,
    pub power: String,
    pub ip: Option<String>,
    /// The sha256 of the OVA its template came from (photon-fleet's clone mark).
    pub ova_sha256: Option<String>,
    /// Whether that is the OVA fleet.lock names.
    pub current: bool,
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub lock: String,
    pub vdvs_release: Option<String>,
    pub hosts: FleetReport,
    pub vms: Vec<VmStatus>,
    pub guests: Vec<GuestReport>,
    /// Everything that differs from the lock, one line each.
    pub differences: Vec<String>,
    pub ok: bool,
}

pub fn status(c: &Client, i: &StatusInputs, obs: &dyn Observer) -> Result<StatusReport> {
    let lock_path = image::lock_path(i.fleet);
    config::require_file(&lock_path)?;
    let lock = plugin::FleetLock::read(&lock_path)?;
    let mut differences = Vec::new();
    // The hosts.
    let placement = vsphere::inventory::resolve(c, &crate::up::wanted(i.fleet))?;
    let found = vsphere::hosts::of_compute(c, &placement.compute.moref)?;
    let all = hosts::merge(&found, &i.fleet.esxi.hosts, &i.esxi_user, &[])?;
    let targets: Vec<esxi::Target> = all.iter().map(|h| h.target.clone()).collect();
    let job = Job {
        mode: Mode::Status,
        vib: None,
        opts: Options::default(),
        no_sig_check: false,
        restart_hostd: false,
        run_id: install::run_id(),
    };
    let hosts = install::run("status", &targets, i.esxi, &job, i.parallel_hosts, obs);
    for h in &hosts.hosts {
        match (&h.failure, h.before.as_deref()) {
            (Some(f), _) => differences.push(format!("host {}: {f}", h.host)),
            (None, Some(v)) if v != lock.vib.version => differences.push(format!(
                "host {}: VIB {v}, the lock names {}",
                h.host, lock.vib.version
            )),
            (None, None) => differences.push(format!("host {}: no vDVS VIB", h.host)),
            _ if !h.ok => differences.push(format!("host {}: vmdk-opsd is not running", h.host)),
            _ => {}
        }
    }
    // The VMs.
    let ova_sha = lock
        .ova
        .as_ref()
        .map(|o| plumbing::folder_of(&lock_path).join(&o.file))
        .and_then(|p| plugin::lock::sha256_file(&p).ok());
    let names: Vec<deploy::VmSpec> = deploy::wanted_vms(&i.deploy, &ova::ovf::OvfInfo::default())?;
    let existing = deploy::survey(c, &placement.datacenter.moref, &names)?;
    let vms: Vec<VmStatus> = names
        .iter()
        .map(|w| match existing.iter().find(|v| v.name == w.name) {
            Some(v) => VmStatus {
                name: w.name.clone(),
                exists: true,
                power: v.power_state.clone(),
                ip: v.ip.clone(),
                ova_sha256: v.fleet_ova.clone(),
                current: v.fleet_ova.is_some() && v.fleet_ova == ova_sha,
            },
            None => VmStatus {
                name: w.name.clone(),
                exists: false,
                power: "-".into(),
                ip: None,
                ova_sha256: None,
                current: false,
            },
        })
        .collect();
    for v in &vms {
        if !v.exists {
            differences.push(format!("VM {}: missing", v.name));
        } else if v.power != "poweredOn" {
            differences.push(format!("VM {}: {}", v.name, v.power));
        } else if !v.current {
            differences.push(format!(
                "VM {}: made from another OVA than the lock's",
                v.name
            ));
        }
    }
    // The guests.
    let vdvs = &i.fleet.vdvs;
    let plugin = format!("{}:{}", vdvs.alias, vdvs.tag);
    let want = guests::Want {
        plugin: &plugin,
        version: &lock.plugin.version,
    };
    let running: Vec<&VmStatus> = vms.iter().filter(|v| v.power == "poweredOn").collect();
    let guests = plumbing::pool::map(&running, 8, |_, v| {
        guests::check(&v.name, v.ip.as_deref(), i.guest, &want)
    });
    for g in &guests {
        for p in &g.problems {
            differences.push(format!("guest {}: {p}", g.vm));
        }
    }
    Ok(StatusReport {
        lock: lock_path.display().to_string(),
        vdvs_release: Some(lock.vdvs.release.clone()),
        ok: differences.is_empty(),
        hosts,
        vms,
        guests,
        differences,
    })
}
