//! `up`: converge the whole fleet fleet.toml describes. [`plan`] reads (the lock, vCenter's
//! hosts and VMs, each host over SSH) and changes nothing; [`run`] carries the plan out in
//! order: the image (build-ova when the lock no longer matches), the VIB on every host of
//! the cluster (before any VM boots; a host left without it is refused unless skipped),
//! the VMs (deploy), then a check inside every guest. A rerun finishes what is missing.

use crate::deploy::{self, DeployInputs, DeployReport, FleetProgress};
use crate::guests::{self, GuestReport};
use crate::hosts::{self, FleetHost};
use crate::image::{self, ImageState};
use crate::install::{self, FleetReport};
use crate::Result;
use esxi::host::{Failure, HostReport, Job, Mode, Observer};
use esxi::plan::{Options, VibFacts};
use esxi::session::ConnectConfig;
use serde::Serialize;
use std::time::Duration;
use vsphere::inventory::{self, Wanted};
use vsphere::Client;

/// What `up` is asked to do, besides fleet.toml.
pub struct UpInputs<'a> {
    pub fleet: &'a config::Fleet,
    /// Hosts of the cluster to leave without the VIB (vCenter name or address).
    pub skip_hosts: Vec<String>,
    /// Start a host's SSH service for the run where it is stopped (and stop it again).
    pub enable_ssh: bool,
    /// How to reach the ESXi hosts (login, host keys) and how many at once.
    pub esxi: &'a ConnectConfig,
    pub esxi_user: String,
    pub parallel_hosts: usize,
    pub install: Options,
    pub no_sig_check: bool,
    /// How to reach the guests: root with the fleet's key, host keys recorded on first use.
    pub guest: &'a ConnectConfig,
    /// How long the guests get to finish first boot.
    pub guest_timeout: Duration,
    /// The deploy, as the deploy command takes it (the OVA and lock are set by `up`).
    pub deploy: DeployInputs<'a>,
    pub vmdk: ova::vmdk::WriteOptions,
}

/// Where `up` reports progress; the CLI draws it.
pub struct Progress<'a> {
    /// Byte stages: the build, the upload.
    pub bytes: &'a dyn ova::Progress,
    pub hosts: &'a dyn Observer,
    pub vms: &'a dyn FleetProgress,
    /// A new stage begins.
    pub stage: &'a dyn Fn(&str),
}

/// One host in the plan.
#[derive(Debug, Clone, Serialize)]
pub struct HostPlan {
    #[serde(flatten)]
    pub host: FleetHost,
    /// Whether its SSH service runs (none: vCenter does not say).
    pub ssh_running: Option<bool>,
    /// What ssh-install would do (read over SSH), when the host could be read.
    pub install: Option<HostReport>,
}

/// What `up` will do.
#[derive(Debug, Serialize)]
pub struct UpPlan {
    pub image: ImageState,
    pub cluster: String,
    pub hosts: Vec<HostPlan>,
    /// The deploy plan, when the image is already built (else it is planned after the
    /// build, for the VMs in `vm_names`).
    pub vms: Option<DeployReport>,
    pub vm_names: Vec<String>,
}

/// What `up` did.
#[derive(Debug, Serialize)]
pub struct UpReport {
    pub dry_run: bool,
    pub plan: UpPlan,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub built: Option<builder::build::Built>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosts: Option<FleetReport>,
    /// Hosts whose SSH service `up` started and stopped again (or could not stop).
    pub ssh_started: Vec<SshToggle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vms: Option<DeployReport>,
    pub guests: Vec<GuestReport>,
    /// The stage that stopped the run, if one did.
    pub stopped_at: Option<&'static str>,
    pub ok: bool,
}

impl UpReport {
    /// The report of a dry run: the plan, nothing done.
    pub fn planned(plan: UpPlan) -> Self {
        Self {
            dry_run: true,
            plan,
            built: None,
            hosts: None,
            ssh_started: Vec::new(),
            vms: None,
            guests: Vec::new(),
            stopped_at: None,
            ok: true,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SshToggle {
    pub host: String,
    pub restored: bool,
}

fn vib_for(
    state: &ImageState,
    fleet: &config::Fleet,
    unsigned: bool,
) -> Result<(Vec<u8>, plugin::Vib)> {
    match state {
        ImageState::UpToDate { .. } => {
            install::vib_to_install(Some(&image::lock_path(fleet)), None, unsigned)
        }
        ImageState::Build { .. } => {
            install::vib_to_install(None, fleet.vdvs.vib.as_deref(), unsigned)
        }
    }
}

/// Where fleet.toml's [vcenter] puts the VMs.
pub fn wanted(fleet: &config::Fleet) -> Wanted {
    let p = fleet.vcenter.placement();
    let network = p.network.clone().unwrap_or_else(|| "VM Network".into());
    crate::deploy::wanted(p, network)
}

/// Reads everything and decides; changes nothing.
pub fn plan(c: &Client, i: &UpInputs, p: &Progress) -> Result<UpPlan> {
    (p.stage)("checking the image");
    let state = image::state(i.fleet)?;
    let (bytes, vib) = vib_for(&state, i.fleet, i.no_sig_check)?;
    let facts = VibFacts::of(&vib, &bytes);
    (p.stage)("reading vCenter");
    let placement = inventory::resolve(c, &wanted(i.fleet))?;
    let found = vsphere::hosts::of_compute(c, &placement.compute.moref)?;
    let fleet_hosts = hosts::merge(&found, &i.fleet.esxi.hosts, &i.esxi_user, &i.skip_hosts)?;
    (p.stage)("reading the hosts");
    let mut plans: Vec<HostPlan> = fleet_hosts
        .into_iter()
        .map(|h| {
            let ssh_running = h
                .service_system
                .as_ref()
                .and_then(|s| vsphere::hosts::ssh_running(c, s).ok().flatten());
            HostPlan {
                host: h,
                ssh_running,
                install: None,
            }
        })
        .collect();
    let readable: Vec<esxi::Target> = plans
        .iter()
        .filter(|h| !h.host.skipped && h.ssh_running != Some(false))
        .map(|h| h.host.target.clone())
        .collect();
    let job = job(Mode::DryRun, &facts, &bytes, i);
    for r in esxi::fleet::run(&readable, i.esxi, &job, i.parallel_hosts, p.hosts) {
        if let Some(h) = plans
            .iter_mut()
            .find(|h| h.host.target.to_string() == r.host)
        {
            h.install = Some(r);
        }
    }
    let vm_names = deploy::wanted_vms(&i.deploy, &ova_info_or_default(&state)?)?
        .into_iter()
        .map(|v| v.name)
        .collect();
    let vms = match &state {
        ImageState::UpToDate { ova, lock } => {
            (p.stage)("planning the VMs");
            let checked = deploy::check_ova(ova.as_ref(), Some(lock.as_ref()), p.bytes)?;
            let d = DeployInputs {
                dry_run: true,
                ..inputs_for(&i.deploy, ova, lock)
            };
            Some(deploy::deploy(c, &d, &checked, p.bytes, p.vms)?)
        }
        ImageState::Build { .. } => None,
    };
    Ok(UpPlan {
        image: state,
        cluster: placement.compute.name,
        hosts: plans,
        vms,
        vm_names,
    })
}

/// The OVF facts the VM names need (only the property keys matter; before a build, the
/// image's properties are those build-ova writes).
fn ova_info_or_default(state: &ImageState) -> Result<ova::ovf::OvfInfo> {
    match state {
        ImageState::UpToDate { ova, .. } => {
            let archive = ova::Ova::open(std::path::Path::new(ova))?;
            let (_, xml) = archive.ovf()?;
            Ok(ova::ovf::parse(&xml)?)
        }
        ImageState::Build { .. } => Ok(ova::ovf::OvfInfo::default()),
    }
}

fn inputs_for<'a>(base: &DeployInputs<'a>, ova: &str, lock: &str) -> DeployInputs<'a> {
    DeployInputs {
        ova: ova.into(),
        lock: Some(lock.into()),
        fleet: base.fleet,
        options: base.options.clone(),
        place: base.place.clone(),
        count: base.count,
        name_prefix: base.name_prefix.clone(),
        template: base.template.clone(),
        disk_provisioning: base.disk_provisioning.clone(),
        set: base.set.clone(),
        parallel: base.parallel,
        power_on: true,
        wait_ip: base.wait_ip.or(Some(Duration::from_secs(600))),
        dry_run: base.dry_run,
        timeout: base.timeout,
    }
}

fn job<'a>(mode: Mode, facts: &'a VibFacts, bytes: &'a [u8], i: &UpInputs) -> Job<'a> {
    Job {
        mode,
        vib: Some((facts, bytes)),
        opts: i.install,
        no_sig_check: i.no_sig_check,
        restart_hostd: false,
        run_id: install::run_id(),
    }
}

/// Carries out `plan`. Stops before the VMs when a host that must carry the VIB does not.
pub fn run(c: &Client, i: &UpInputs, plan: UpPlan, p: &Progress) -> Result<UpReport> {
    let mut r = UpReport {
        dry_run: false,
        plan,
        built: None,
        hosts: None,
        ssh_started: Vec::new(),
        vms: None,
        guests: Vec::new(),
        stopped_at: None,
        ok: false,
    };
    // 1. The image.
    if let ImageState::Build { .. } = r.plan.image {
        (p.stage)("building the image");
        let mut b = builder::build::BuildInputs::from_fleet(
            i.fleet,
            None,
            None,
            None,
            i.fleet.image.out.clone(),
        )?;
        b.force = true;
        b.vmdk = i.vmdk.clone();
        r.built = Some(builder::build::build(&b, p.bytes)?);
    }
    let (lock, ova) = match image::state(i.fleet)? {
        ImageState::UpToDate { lock, ova } => (lock, ova),
        ImageState::Build { why } => {
            anyhow::bail!("the image is still not up to date after the build: {why}")
        }
    };
    // 2. The VIB on every host, before any VM boots.
    (p.stage)("installing the VIB on the hosts");
    let report = install_hosts(c, i, &mut r, &lock, p)?;
    let hosts_ok = report.ok;
    r.hosts = Some(report);
    if !hosts_ok {
        r.stopped_at = Some("hosts");
        return Ok(r);
    }
    // 3. The VMs.
    (p.stage)("deploying the VMs");
    let d = inputs_for(&i.deploy, &ova, &lock);
    let checked = deploy::check_ova(ova.as_ref(), Some(lock.as_ref()), p.bytes)?;
    let deployed = deploy::deploy(c, &d, &checked, p.bytes, p.vms)?;
    // 4. The guests.
    (p.stage)("checking the guests");
    let plugin_lock = plugin::FleetLock::read(std::path::Path::new(&lock))?;
    r.guests = check_guests(i, &deployed, &plugin_lock.plugin.version);
    let vms_ok = deployed.failed().is_empty();
    r.vms = Some(deployed);
    r.ok = vms_ok && r.guests.iter().all(|g| g.ok);
    if !r.ok {
        r.stopped_at = Some(if vms_ok { "guests" } else { "vms" });
    }
    Ok(r)
}

/// Starts SSH where asked, installs, then puts every SSH service back as it was.
fn install_hosts(
    c: &Client,
    i: &UpInputs,
    r: &mut UpReport,
    lock: &str,
    p: &Progress,
) -> Result<FleetReport> {
    let (bytes, vib) = install::vib_to_install(Some(lock.as_ref()), None, i.no_sig_check)?;
    let facts = VibFacts::of(&vib, &bytes);
    let mut started = SshStarted {
        c,
        hosts: Vec::new(),
        restored: Vec::new(),
        on_signal: Vec::new(),
    };
    let mut not_tried = Vec::new();
    let mut targets = Vec::new();
    for h in r.plan.hosts.iter().filter(|h| !h.host.skipped) {
        let stopped = h.ssh_running == Some(false);
        match (&h.host.service_system, stopped && i.enable_ssh) {
            (Some(ss), true) => {
                vsphere::hosts::set_ssh(c, ss, true)?;
                started.hosts.push((h.host.target.to_string(), ss.clone()));
                // Ctrl-C or SIGTERM before the end: stopped again all the same.
                let (c, ss) = (c.clone(), ss.clone());
                started
                    .on_signal
                    .push(plumbing::interrupt::on_interrupt(move || {
                        let _ = vsphere::hosts::set_ssh(&c, &ss, false);
                    }));
                targets.push(h.host.target.clone());
            }
            _ if stopped => not_tried.push(HostReport::not_tried(
                &h.host.target,
                Failure::Connect {
                    error: "the host's SSH service (TSM-SSH) is stopped".into(),
                },
            )),
            _ => targets.push(h.host.target.clone()),
        }
    }
    let report = install::run(
        "up",
        &targets,
        i.esxi,
        &job(Mode::Install, &facts, &bytes, i),
        i.parallel_hosts,
        p.hosts,
    );
    r.ssh_started = started.restore();
    let mut hosts = report.hosts;
    hosts.extend(not_tried);
    Ok(FleetReport {
        ok: hosts.iter().all(|h| h.ok),
        hosts,
        ..report
    })
}

/// SSH services `up` started: stopped again when the install is done, when anything
/// fails on the way (the guard's drop), or on Ctrl-C/SIGTERM (`on_signal`).
struct SshStarted<'a> {
    c: &'a Client,
    hosts: Vec<(String, vsphere::soap::MoRef)>,
    restored: Vec<SshToggle>,
    on_signal: Vec<plumbing::interrupt::Guard<'static>>,
}

impl SshStarted<'_> {
    fn restore(&mut self) -> Vec<SshToggle> {
        for (host, ss) in std::mem::take(&mut self.hosts) {
            let restored = vsphere::hosts::set_ssh(self.c, &ss, false).is_ok();
            self.restored.push(SshToggle { host, restored });
        }
        self.on_signal.clear();
        std::mem::take(&mut self.restored)
    }
}

impl Drop for SshStarted<'_> {
    fn drop(&mut self) {
        self.restore();
    }
}

/// Checks every deployed VM, again and again until all are working Docker hosts or the
/// time is up (first boot takes a while).
fn check_guests(i: &UpInputs, d: &DeployReport, version: &str) -> Vec<GuestReport> {
    let vms: Vec<(String, Option<String>)> = d
        .result
        .iter()
        .flat_map(|r| &r.vms)
        .map(|v| (v.name.clone(), v.ip.clone()))
        .collect();
    let vdvs = &i.fleet.vdvs;
    let plugin = format!("{}:{}", vdvs.alias, vdvs.tag);
    let want = guests::Want {
        plugin: &plugin,
        version,
    };
    let check = || {
        plumbing::pool::map(&vms, 8, |_, (name, ip)| {
            guests::check(name, ip.as_deref(), i.guest, &want)
        })
    };
    let mut last = check();
    let _ = plumbing::poll::until(i.guest_timeout, Duration::from_secs(5), || {
        if last.iter().all(|g| g.ok) {
            return Ok::<_, ()>(plumbing::poll::Poll::Ready(()));
        }
        last = check();
        Ok(if last.iter().all(|g| g.ok) {
            plumbing::poll::Poll::Ready(())
        } else {
            plumbing::poll::Poll::NotYet
        })
    });
    last
}
