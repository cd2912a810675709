//! deploy as a function: check the OVA (manifest, and with a lock the manifest sha256 it
//! records), resolve where the VMs go and which already exist, plan ([`plan`]), then
//! import once (or reuse the template for this OVA) and clone the missing VMs ([`run`]).
//! [`deploy`] takes typed [`DeployInputs`] and a logged-in client and returns a
//! [`DeployReport`]; the CLI and `up` call the same function.

pub mod plan;
pub mod run;

pub use plan::{plan, survey, Plan, PlannedVm, Removal, TemplateAction, VmAction, VmSpec};
pub use run::{FleetProgress, Options, Report, Source, VmResult};

use crate::{bad, Result};
use anyhow::Context as _;
use config::{Fleet, GovcOptions, VmEntry};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vsphere::import::ImportParams;
use vsphere::inventory::{self, Placement, Wanted};
use vsphere::Client;

/// What deploy is asked to do. Flags win over fleet.toml, which wins over govc options.
#[derive(Default)]
pub struct DeployInputs<'a> {
    pub ova: PathBuf,
    /// fleet.lock: refuse an OVA other than the one it records.
    pub lock: Option<PathBuf>,
    pub fleet: Option<&'a Fleet>,
    pub options: GovcOptions,
    /// Where the VMs go, from the flags (fleet.toml's [vcenter] fills in the rest).
    pub place: config::Placement,
    pub count: Option<u32>,
    pub name_prefix: Option<String>,
    pub template: Option<String>,
    pub disk_provisioning: Option<String>,
    /// `KEY=VALUE` property values for every VM.
    pub set: Vec<String>,
    pub parallel: usize,
    pub power_on: bool,
    pub wait_ip: Option<Duration>,
    pub dry_run: bool,
    pub timeout: Duration,
}

/// The OVA, checked: manifest digests, and the lock's manifest sha256 when a lock is
/// given. `sha256` (of the whole file) names the template it is imported as.
pub struct CheckedOva {
    pub shown: String,
    pub archive: ova::Ova,
    pub ovf_text: String,
    pub info: ova::ovf::OvfInfo,
    pub sha256: String,
    /// What the check could not vouch for (no manifest: nothing verified).
    pub warnings: Vec<String>,
}

/// What deploy found, planned and (unless a dry run) did.
#[derive(Debug, Serialize)]
pub struct DeployReport {
    pub ova: String,
    pub ova_sha256: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub vcenter: String,
    /// A standalone ESXi host, not vCenter: the VMs are copies of a base VM.
    pub standalone: bool,
    pub placement: Placement,
    pub dry_run: bool,
    pub plan: Plan,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Report>,
}

impl DeployReport {
    /// `name (why)` for every VM that failed.
    pub fn failed(&self) -> Vec<String> {
        self.result
            .iter()
            .flat_map(|r| &r.vms)
            .filter(|v| !v.ok)
            .map(|v| format!("{} ({})", v.name, v.error.as_deref().unwrap_or("failed")))
            .collect()
    }
}

/// Opens and verifies the OVA before anything reaches vCenter.
pub fn check_ova(
    path: &Path,
    lock: Option<&Path>,
    progress: &dyn ova::Progress,
) -> Result<CheckedOva> {
    let shown = path.display().to_string();
    config::require_file(path)?;
    let archive = ova::Ova::open(path).with_context(|| shown.clone())?;
    let (info, verified) = archive.verify(progress).with_context(|| shown.clone())?;
    if info.disks.is_empty() {
        return Err(bad(format!("{shown}: the OVF has no disk to import")));
    }
    let (_, ovf_text) = archive.ovf().with_context(|| shown.clone())?;
    if let Some(lock_path) = lock {
        config::require_file(lock_path)?;
        let lock =
            plugin::FleetLock::read(lock_path).with_context(|| lock_path.display().to_string())?;
        check_locked(&shown, &verified, lock.ova.as_ref(), lock_path)?;
    }
    let sha256 = plugin::lock::sha256_file(path).with_context(|| shown.clone())?;
    Ok(CheckedOva {
        shown,
        archive,
        ovf_text,
        info,
        sha256,
        warnings: verified.warnings,
    })
}

/// With a lock: the OVA must be the one the lock pins (by its manifest's sha256; the
/// manifest's own digests were checked against every member just before).
fn check_locked(
    shown: &str,
    verified: &ova::archive::Verified,
    locked: Option<&plugin::lock::OvaEntry>,
    lock_path: &Path,
) -> Result<()> {
    let lock = lock_path.display();
    let Some(o) = locked else {
        return Err(bad(format!(
            "{lock}: records no OVA (made by `photon-fleet lock create`, not build-ova): deploy without the lock, or run build-ova"
        )));
    };
    match &verified.manifest_sha256 {
        Some(got) if *got == o.manifest_sha256 => Ok(()),
        Some(got) => Err(bad(format!(
            "{shown}: manifest sha256 {got} is not the OVA {lock} records ({}): deploy the OVA build-ova made with that lock",
            o.manifest_sha256
        ))),
        None => Err(bad(format!(
            "{shown}: has no manifest, so it cannot be the OVA {lock} records: deploy the OVA build-ova made with that lock"
        ))),
    }
}

/// The VMs asked for: fleet.toml's [[vm]] list, or PREFIX-01..NN; each with its values,
/// weakest first: the govc options' PropertyMapping, fleet.toml's [network] (gateway and
/// DNS of a static VM), `--set`, then what the VM's own [[vm]] entry says.
pub fn wanted_vms(i: &DeployInputs, info: &ova::ovf::OvfInfo) -> Result<Vec<VmSpec>> {
    let mut set = Vec::new();
    for kv in &i.set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| bad(format!("property value '{kv}': expected KEY=VALUE")))?;
        set.push((k.to_string(), v.to_string()));
    }
    let options = i.options.property_defaults();
    for (k, _) in options.iter().chain(&set) {
        if info.property(k).is_some_and(|p| !p.user_configurable) {
            return Err(bad(format!(
                "property '{k}' is read-only in the OVA's ProductSection: it cannot be set per VM"
            )));
        }
        if info.property(k).is_none() {
            let known: Vec<&str> = info.properties.iter().map(|p| p.key.as_str()).collect();
            return Err(bad(format!(
                "property '{k}' is not in the OVA's ProductSection (it has: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let listed = i.fleet.map(|f| f.vm.as_slice()).unwrap_or_default();
    let numbered: Vec<VmEntry>;
    let entries: &[VmEntry] = if listed.is_empty() {
        let prefix = i.name_prefix.as_deref().unwrap_or("photon-docker");
        numbered = (1..=i.count.unwrap_or(1))
            .map(|n| VmEntry {
                name: format!("{prefix}-{n:02}"),
                ..VmEntry::default()
            })
            .collect();
        &numbered
    } else if i.count.is_some() || i.name_prefix.is_some() {
        return Err(bad(
            "the fleet file lists its VMs ([[vm]]): a VM count or name prefix cannot be given as well",
        ));
    } else {
        listed
    };
    let network = i.fleet.map(|f| f.network.clone()).unwrap_or_default();
    Ok(entries
        .iter()
        .map(|e| {
            let mut values = Vec::new();
            let layers = [
                options.clone(),
                e.network_defaults(&network),
                set.clone(),
                e.values(),
            ];
            for (k, v) in layers.into_iter().flatten() {
                values.retain(|(dk, _)| *dk != k);
                values.push((k, v));
            }
            VmSpec {
                name: e.name.clone(),
                values,
            }
        })
        .collect())
}

/// Where the VMs go, by precedence: the inputs, fleet.toml's [vcenter], the govc
/// options' network mapping, then "VM Network".
pub fn wanted_placement(i: &DeployInputs, info: &ova::ovf::OvfInfo) -> Result<Wanted> {
    for m in &i.options.network_mapping {
        if !info.networks.contains(&m.name) {
            return Err(bad(format!(
                "NetworkMapping names '{}', which the OVF does not have (it has: {})",
                m.name,
                info.networks.join(", ")
            )));
        }
    }
    let from_file = i.fleet.map(|f| f.vcenter.placement()).unwrap_or_default();
    let p = i.place.clone().or(from_file);
    let network = p
        .network
        .clone()
        .or_else(|| {
            i.options
                .network_mapping
                .iter()
                .find(|m| !m.network.is_empty())
                .map(|m| m.network.clone())
        })
        .unwrap_or_else(|| "VM Network".into());
    Ok(wanted(p, network))
}

/// The inventory's terms for a placement and the network decided for it.
pub fn wanted(p: config::Placement, network: String) -> Wanted {
    Wanted {
        datacenter: p.datacenter,
        cluster: p.cluster,
        host: p.host,
        pool: p.pool,
        folder: p.folder,
        datastore: p.datastore,
        network,
    }
}

/// The template's name: given, from fleet.toml, from the govc options, else the OVF's
/// name and the OVA's sha256 prefix.
pub fn template_name(i: &DeployInputs, ova: &CheckedOva) -> String {
    i.template
        .clone()
        .or_else(|| i.fleet.and_then(|f| f.vcenter.template.clone()))
        .or_else(|| i.options.name.clone())
        .unwrap_or_else(|| format!("{}-{}", ova.info.name, &ova.sha256[..12]))
}

fn import_params(i: &DeployInputs, ova: &CheckedOva, at: &Placement, name: &str) -> ImportParams {
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    ImportParams {
        entity_name: name.to_string(),
        network_mapping: ova
            .info
            .networks
            .iter()
            .map(|n| (n.clone(), at.network.moref.clone()))
            .collect(),
        ip_allocation_policy: nonempty(&i.options.ip_allocation_policy),
        ip_protocol: nonempty(&i.options.ip_protocol),
        property_mapping: Vec::new(),
        disk_provisioning: nonempty(
            &i.disk_provisioning
                .clone()
                .or_else(|| i.options.disk_provisioning.clone()),
        ),
        marker: String::new(),
    }
}

/// Gives each VM to create its host when vCenter does not choose: the hosts in turn,
/// after the template's import (placement 0).
pub fn place_on_hosts(plan: &mut Plan, at: &Placement) {
    let new = plan.vms.iter_mut().filter(|v| v.action == VmAction::Create);
    for (k, vm) in new.enumerate() {
        vm.host = at.host(k + 1).cloned();
    }
}

/// Plans and (unless `dry_run`) carries out the deploy on a logged-in client.
pub fn deploy(
    c: &Client,
    i: &DeployInputs,
    ova: &CheckedOva,
    upload: &dyn ova::Progress,
    progress: &dyn FleetProgress,
) -> Result<DeployReport> {
    let wanted = wanted_vms(i, &ova.info)?;
    let place = wanted_placement(i, &ova.info)?;
    let template = template_name(i, ova);
    let placement = inventory::resolve(c, &place)?;
    let existing = survey(c, &placement.datacenter.moref, &wanted)?;
    let standalone = c.content.is_standalone_host();
    let mut plan = plan(
        &existing,
        &wanted,
        &template,
        &ova.sha256,
        i.power_on,
        standalone,
    )?;
    place_on_hosts(&mut plan, &placement);
    let mut report = DeployReport {
        ova: ova.shown.clone(),
        ova_sha256: ova.sha256.clone(),
        warnings: ova.warnings.clone(),
        vcenter: c.content.about.clone(),
        standalone,
        placement,
        dry_run: i.dry_run,
        plan,
        result: None,
    };
    if i.dry_run {
        return Ok(report);
    }
    let options = Options {
        import: import_params(i, ova, &report.placement, &template),
        power_on: i.power_on,
        annotation: i.options.annotation.clone().filter(|s| !s.is_empty()),
        parallel: i.parallel,
        wait_ip: i.wait_ip,
        timeout: i.timeout,
        upload_progress: upload,
        progress,
    };
    let src = Source {
        archive: &ova.archive,
        ovf_text: &ova.ovf_text,
        sha256: &ova.sha256,
    };
    report.result = Some(run::run(
        c,
        &src,
        &report.placement,
        &wanted,
        &report.plan,
        &options,
    )?);
    Ok(report)
}
