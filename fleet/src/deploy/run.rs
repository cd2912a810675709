//! Carrying out a deploy [`Plan`]: the template first (import, or reuse), then the VMs
//! in a bounded pool: clone with per-VM values, power on, and optionally wait for IPs.

use super::plan::{sha_marker, Plan, PlannedVm, TemplateAction, VmAction, VmSpec, GUESTINFO};
use serde::Serialize;
use std::time::{Duration, Instant};
use vsphere::import::{self, ImportParams, Imported};
use vsphere::inventory::{Placement, Target};
use vsphere::soap::MoRef;
use vsphere::vm::{self, CloneConfig, VmInfo};
use vsphere::{nic, standalone};
use vsphere::{Client, Error, Result};

/// Per-VM progress, implemented by the CLI (bars) and kept free of terminal code here.
pub trait FleetProgress: Sync {
    fn step(&self, vm: &str, what: &str);
    fn finished(&self, vm: &str, ok: bool);
}

pub struct Options<'a> {
    pub import: ImportParams,
    pub power_on: bool,
    /// The clones' annotation.
    pub annotation: Option<String>,
    pub parallel: usize,
    pub wait_ip: Option<Duration>,
    pub timeout: Duration,
    pub upload_progress: &'a dyn ova::Progress,
    pub progress: &'a dyn FleetProgress,
}

#[derive(Debug, Clone, Serialize)]
pub struct VmResult {
    pub name: String,
    pub action: VmAction,
    pub ok: bool,
    pub power_state: String,
    pub ip: Option<String>,
    /// The host the VM was placed on, when photon-fleet chose it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub template: String,
    pub template_action: TemplateAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<Imported>,
    pub vms: Vec<VmResult>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.vms.iter().all(|v| v.ok)
    }
}

/// The OVA a deploy imports: the archive, its descriptor, and the sha256 its template
/// is marked with.
pub struct Source<'a> {
    pub archive: &'a ova::Ova,
    pub ovf_text: &'a str,
    pub sha256: &'a str,
}

/// Carries out `plan`: template first (an import failure stops everything), then the VMs.
pub fn run(
    c: &Client,
    src: &Source,
    at: &Placement,
    wanted: &[VmSpec],
    plan: &Plan,
    o: &Options,
) -> Result<Report> {
    let standalone = c.content.is_standalone_host();
    let (template, upload) = template(c, src, &at.target(0), plan, o, standalone)?;
    let keys = vm::vapp_properties(c, &template)?;
    let backing = nic::backing_xml(at);
    // Every card onto the network this run asks for: a reused template may sit elsewhere.
    let nics = nic::edits(c, &template, &backing)?;
    let hardware = match standalone {
        true => Some(standalone::hardware(c, &template)?),
        false => None,
    };
    let done = plumbing::pool::map(&plan.vms, o.parallel.clamp(1, 32), |i, planned| {
        let start = Instant::now();
        let target = Target {
            host: planned.host.as_ref().map(|h| &h.moref),
            ..at.target(0)
        };
        let clone = Clone {
            template: &template,
            at: &target,
            keys: &keys,
            nics: &nics,
            copy_of: hardware.as_ref().map(|hw| standalone::Base {
                hardware: hw,
                datastore: &at.datastore.name,
                nic_backing: &backing,
            }),
        };
        let r = one_vm(c, src.sha256, &clone, &wanted[i], planned, o);
        o.progress.finished(&planned.name, r.is_ok());
        let (ok, info, error) = match r {
            Ok(v) => (true, v, None),
            Err(e) => (false, VmInfo::default(), Some(e.to_string())),
        };
        let result = VmResult {
            name: planned.name.clone(),
            action: planned.action,
            ok,
            power_state: info.power_state,
            ip: info.ip,
            host: planned.host.as_ref().map(|h| h.name.clone()),
            seconds: start.elapsed().as_secs_f64(),
            error,
        };
        (result, info.moref)
    });
    let mut vms: Vec<VmResult> = done.iter().map(|(r, _)| r.clone()).collect();
    if let Some(limit) = o.wait_ip {
        let refs: Vec<(usize, MoRef)> = done
            .iter()
            .enumerate()
            .filter(|(_, (r, _))| r.ok && r.power_state == "poweredOn")
            .filter_map(|(k, (_, m))| m.clone().map(|m| (k, m)))
            .collect();
        wait_for_ips(c, &refs, &mut vms, limit, o.progress)?;
    }
    Ok(Report {
        template: plan.template.clone(),
        template_action: plan.template_action,
        upload,
        vms,
    })
}

/// The template the clones come from: reused, or imported now (after removing our own
/// leftover of an interrupted import), then noted and marked as a template.
fn template(
    c: &Client,
    src: &Source,
    target: &Target,
    plan: &Plan,
    o: &Options,
    standalone: bool,
) -> Result<(MoRef, Option<Imported>)> {
    let mut upload = None;
    let template = match plan.template_action {
        TemplateAction::Reuse | TemplateAction::Mark => plan.template_ref.clone(),
        TemplateAction::Import | TemplateAction::ReplaceLeftover => {
            if let Some(old) = &plan.template_ref {
                // Ours: the plan chose it for its import marker, and destroy_leftover
                // refuses it unless it still carries one.
                vm::destroy_leftover(c, old, vm::IMPORT_MARKER, o.timeout)?;
            }
            let mut params = o.import.clone();
            params.entity_name = plan.template.clone();
            params.marker = vm::import_marker(&run_id(), src.sha256);
            let done = import::import(
                c,
                src.archive,
                src.ovf_text,
                &params,
                target,
                o.upload_progress,
                o.timeout,
            )?;
            let vm = done.vm.clone();
            upload = Some(done);
            Some(vm)
        }
    }
    .ok_or_else(|| Error::Unexpected("no template reference".into()))?;
    if plan.template_action != TemplateAction::Reuse {
        let what = match standalone {
            // ESXi without vCenter has no templates: the base VM stays, powered off.
            true => "Photon OS Docker host base VM imported by photon-fleet (keep it powered off); photon-fleet deploy copies it",
            false => "Photon OS Docker host template imported by photon-fleet; clone it with photon-fleet deploy",
        };
        let note = format!("{what}.\n{}", sha_marker(src.sha256));
        vm::reconfigure(
            c,
            &template,
            &CloneConfig {
                annotation: Some(note),
                ..CloneConfig::default()
            },
            o.timeout,
        )?;
        if !standalone {
            vm::mark_as_template(c, &template)?;
        }
    }
    Ok((template, upload))
}

/// The vApp property edits for `values`: by the keys vCenter gave the template's
/// properties (read, never assumed), and only for properties a value may be set on.
pub fn vapp_edits(props: &[vm::VAppProperty], values: &[(String, String)]) -> Vec<(i32, String)> {
    values
        .iter()
        .filter_map(|(id, v)| {
            props
                .iter()
                .find(|p| p.id == *id && p.user_configurable)
                .map(|p| (p.key, v.clone()))
        })
        .collect()
}

/// A run's id for its import marker: the time and process, in hex.
fn run_id() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{:x}-{:x}", t.as_secs(), std::process::id())
}

/// What every clone of a run is made from and where it goes.
struct Clone<'a> {
    template: &'a MoRef,
    at: &'a Target<'a>,
    /// The template's vApp properties.
    keys: &'a [vm::VAppProperty],
    /// `deviceChange` edits of the template's network cards.
    nics: &'a [String],
    /// On a standalone ESXi host: VMs are copies of the base VM, not clones.
    copy_of: Option<standalone::Base<'a>>,
}

fn one_vm(
    c: &Client,
    sha256: &str,
    from: &Clone,
    spec: &VmSpec,
    planned: &PlannedVm,
    o: &Options,
) -> Result<VmInfo> {
    let p = o.progress;
    let action = planned.action;
    let vm = match (action, &planned.moref) {
        (VmAction::Create, _) | (_, None) => {
            p.step(&spec.name, "cloning");
            let cfg = CloneConfig {
                annotation: None,
                extra_config: std::iter::once((vm::FLEET_VM_KEY.to_string(), sha256.to_string()))
                    .chain(
                        spec.values
                            .iter()
                            .map(|(k, v)| (format!("{GUESTINFO}{k}"), v.clone())),
                    )
                    .collect(),
                vapp_values: vapp_edits(from.keys, &spec.values),
                device_change: from.nics.to_vec(),
            };
            let vm = match &from.copy_of {
                None => vm::clone(c, from.template, &spec.name, from.at, &cfg, o.timeout)?,
                Some(base) => {
                    standalone::create_from(c, base, &spec.name, from.at, &cfg, o.timeout)?
                }
            };
            // Set apart from the clone: not every endpoint applies a clone spec's annotation.
            if let Some(note) = &o.annotation {
                let cfg = CloneConfig {
                    annotation: Some(note.clone()),
                    ..CloneConfig::default()
                };
                vm::reconfigure(c, &vm, &cfg, o.timeout)?;
            }
            vm
        }
        (_, Some(existing)) => existing.clone(),
    };
    if o.power_on && matches!(action, VmAction::Create | VmAction::PowerOn) {
        p.step(&spec.name, "powering on");
        vm::power_on(c, &vm, o.timeout)?;
    }
    vm::refresh(c, std::slice::from_ref(&vm))?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Unexpected(format!("{} vanished", spec.name)))
}

fn wait_for_ips(
    c: &Client,
    refs: &[(usize, MoRef)],
    vms: &mut [VmResult],
    limit: Duration,
    p: &dyn FleetProgress,
) -> Result<()> {
    use plumbing::poll::{until, Poll};
    for (k, _) in refs {
        p.step(&vms[*k].name, "waiting for IP");
    }
    let all: Vec<MoRef> = refs.iter().map(|(_, m)| m.clone()).collect();
    let done = until(limit, Duration::from_secs(2), || {
        let now = vm::refresh(c, &all)?;
        for (k, m) in refs {
            vms[*k].ip = now
                .iter()
                .find(|i| i.moref.as_ref() == Some(m))
                .and_then(|i| i.ip.clone());
        }
        Ok::<_, Error>(if refs.iter().all(|(k, _)| vms[*k].ip.is_some()) {
            Poll::Ready(())
        } else {
            Poll::NotYet
        })
    })?;
    if done.is_none() {
        for (k, _) in refs {
            if vms[*k].ip.is_none() {
                vms[*k].ok = false;
                vms[*k].error = Some(format!(
                    "no guest IP after {} s (is open-vm-tools running in the guest?)",
                    limit.as_secs()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vapp_edits_use_the_templates_keys_and_skip_read_only_properties() {
        let p = |id: &str, key, user| vm::VAppProperty {
            id: id.into(),
            key,
            user_configurable: user,
        };
        let props = [p("vdvs.plugin_version", 0, false), p("hostname", 42, true)];
        let values = [
            ("hostname".to_string(), "web-01".to_string()),
            ("vdvs.plugin_version".into(), "9.9".into()),
            ("network.dns".into(), "10.0.0.2".into()),
        ];
        assert_eq!(vapp_edits(&props, &values), [(42, "web-01".to_string())]);
    }
}
