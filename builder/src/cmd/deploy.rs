//! deploy: check the OVA (manifest, and with --lock the manifest sha256 it records), log
//! in to vCenter, resolve where the VMs go and which already exist, plan, then import
//! once (or reuse the template for this OVA) and clone the missing VMs in parallel,
//! power them on, and optionally wait for their guest IPs. `--dry-run` stops after the plan.

use super::{env_nonempty, human_bytes};
use crate::fleet::{Fleet, VcenterSection, VmEntry};
use crate::govc_options::GovcOptions;
use crate::output::{usage, Context};
use crate::progress::LineBars;
use crate::vc_cli::{DeployArgs, VcArgs};
use anyhow::{Context as _, Result};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Duration;
use vsphere::fleet::{self, FleetProgress, Plan, Report, VmSpec};
use vsphere::import::ImportParams;
use vsphere::inventory::{self, Placement, Wanted};
use vsphere::{Client, Trust};

/// URL, user and password: flags/env first, then govc's variables (GOVC_URL may carry
/// `user:password@`, which is read from the environment only, never from argv).
fn credentials(a: &VcArgs, f: &VcenterSection) -> Result<(String, String, String)> {
    let govc = env_nonempty("GOVC_URL");
    let url = a
        .url
        .clone()
        .or_else(|| f.url.clone())
        .or_else(|| govc.clone())
        .ok_or_else(|| {
            usage("which vCenter? set PHOTON_FLEET_VC_URL (or GOVC_URL), or pass --url")
        })?;
    let (from_url_user, from_url_pass) = match url.split_once("://").map(|(_, r)| r) {
        Some(rest) if rest.split('/').next().unwrap_or("").contains('@') => {
            if a.url.is_some()
                && std::env::var("PHOTON_FLEET_VC_URL").ok().as_deref() != Some(url.as_str())
            {
                return Err(usage(
                    "credentials in --url would be visible to every user of this machine: put them in PHOTON_FLEET_VC_USER / PHOTON_FLEET_VC_PASSWORD",
                ));
            }
            let creds = rest.split('@').next().unwrap_or("");
            let (u, p) = creds.split_once(':').unwrap_or((creds, ""));
            (
                Some(u.to_string()),
                Some(p.to_string()).filter(|p| !p.is_empty()),
            )
        }
        _ => (None, None),
    };
    let user = a
        .user
        .clone()
        .or_else(|| f.user.clone())
        .or_else(|| env_nonempty("GOVC_USERNAME"))
        .or(from_url_user)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            usage("which vCenter user? set PHOTON_FLEET_VC_USER (or GOVC_USERNAME), or pass --user")
        })?;
    let password = match env_nonempty(&a.password_env)
        .or_else(|| env_nonempty("GOVC_PASSWORD"))
        .or(from_url_pass)
    {
        Some(p) => p,
        None if a.ask_password => {
            rpassword::prompt_password(format!("vCenter password for {user}: "))
                .context("cannot read the password from the terminal")?
        }
        None => {
            return Err(usage(format!(
                "no vCenter password: set {} (or GOVC_PASSWORD), or pass --ask-password",
                a.password_env
            )))
        }
    };
    Ok((url, user, password))
}

fn trust(a: &VcArgs, f: &VcenterSection) -> Result<Trust> {
    let govc_insecure =
        env_nonempty("GOVC_INSECURE").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    Ok(match a.thumbprint.as_ref().or(f.thumbprint.as_ref()) {
        Some(t) => Trust::thumbprint(t)?,
        None if a.insecure || f.insecure == Some(true) || govc_insecure => Trust::Insecure,
        None => Trust::SystemRoots,
    })
}

pub fn connect(a: &VcArgs, f: &VcenterSection) -> Result<Client> {
    let (url, user, password) = credentials(a, f)?;
    let client = Client::connect(&url, &trust(a, f)?, Duration::from_secs(a.timeout.max(1)))?;
    client.login(&user, &password)?;
    Ok(client)
}

/// The OVA, checked: manifest digests, and the lock's manifest sha256 when a lock is
/// given. `sha256` (of the whole file) names the template it is imported as.
struct CheckedOva {
    shown: String,
    archive: ova::Ova,
    ovf_text: String,
    info: ova::ovf::OvfInfo,
    sha256: String,
}

fn check_ova(ctx: &Context, a: &DeployArgs) -> Result<CheckedOva> {
    let shown = a.ova.display().to_string();
    let archive = ova::Ova::open(&a.ova).with_context(|| shown.clone())?;
    let (info, verified) = archive.verify(&ctx.bars).with_context(|| shown.clone())?;
    if info.disks.is_empty() {
        return Err(usage(format!("{shown}: the OVF has no disk to import")));
    }
    let (_, ovf_text) = archive.ovf().with_context(|| shown.clone())?;
    if let Some(lock_path) = &a.lock {
        let lock =
            plugin::FleetLock::read(lock_path).with_context(|| lock_path.display().to_string())?;
        check_locked(&shown, &verified, lock.ova.as_ref(), lock_path)?;
    }
    let sha256 = plugin::lock::sha256_file(&a.ova).with_context(|| shown.clone())?;
    Ok(CheckedOva {
        shown,
        archive,
        ovf_text,
        info,
        sha256,
    })
}

/// With --lock: the OVA must be the one the lock pins (by its manifest's sha256; the
/// manifest's own digests were checked against every member just before).
fn check_locked(
    shown: &str,
    verified: &ova::archive::Verified,
    locked: Option<&plugin::lock::OvaEntry>,
    lock_path: &std::path::Path,
) -> Result<()> {
    let lock = lock_path.display();
    let Some(o) = locked else {
        return Err(usage(format!(
            "{lock}: records no OVA (made by `vdvs lock`, not build-ova): deploy without --lock, or run build-ova"
        )));
    };
    match &verified.manifest_sha256 {
        Some(got) if *got == o.manifest_sha256 => Ok(()),
        Some(got) => Err(usage(format!(
            "{shown}: manifest sha256 {got} is not the OVA {lock} records ({}): deploy the OVA build-ova made with that lock",
            o.manifest_sha256
        ))),
        None => Err(usage(format!(
            "{shown}: has no manifest, so it cannot be the OVA {lock} records: deploy the OVA build-ova made with that lock"
        ))),
    }
}

/// The VMs asked for: fleet.toml's [[vm]] list, or PREFIX-01..NN; each with its values
/// (defaults from --options and --set, then the VM's own).
fn wanted_vms(
    a: &DeployArgs,
    fleet: &Fleet,
    opts: &GovcOptions,
    info: &ova::ovf::OvfInfo,
) -> Result<Vec<VmSpec>> {
    let mut defaults = opts.property_defaults();
    for kv in &a.set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| usage(format!("--set {kv}: expected KEY=VALUE")))?;
        defaults.retain(|(dk, _)| dk != k);
        defaults.push((k.to_string(), v.to_string()));
    }
    for (k, _) in &defaults {
        if info.property(k).is_none() {
            let known: Vec<&str> = info.properties.iter().map(|p| p.key.as_str()).collect();
            return Err(usage(format!(
                "property '{k}' is not in the OVA's ProductSection (it has: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let numbered: Vec<VmEntry>;
    let entries: &[VmEntry] = if fleet.vm.is_empty() {
        let prefix = a.name_prefix.as_deref().unwrap_or("photon-docker");
        numbered = (1..=a.count.unwrap_or(1))
            .map(|i| VmEntry {
                name: format!("{prefix}-{i:02}"),
                ..VmEntry::default()
            })
            .collect();
        &numbered
    } else if a.count.is_some() || a.name_prefix.is_some() {
        return Err(usage(
            "the fleet file lists its VMs ([[vm]]): drop --count/--name-prefix, or the [[vm]] list",
        ));
    } else {
        &fleet.vm
    };
    Ok(entries
        .iter()
        .map(|e| {
            let mut values = defaults.clone();
            for (k, v) in e.values() {
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

#[derive(Serialize)]
struct DeployReport<'a> {
    ova: &'a str,
    ova_sha256: &'a str,
    vcenter: &'a str,
    placement: &'a Placement,
    dry_run: bool,
    plan: &'a Plan,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Report>,
}

impl FleetProgress for LineBars {
    fn step(&self, vm: &str, what: &str) {
        self.line(vm, what);
    }

    fn finished(&self, vm: &str, ok: bool) {
        self.finish(vm, &format!("{vm}: {}", if ok { "done" } else { "failed" }));
    }
}

pub fn run(ctx: &Context, a: &DeployArgs) -> Result<()> {
    let fleet = a
        .fleet
        .as_deref()
        .map_or(Ok(Fleet::default()), Fleet::read)?;
    let opts = match &a.options {
        Some(p) => GovcOptions::read(p)?,
        None => GovcOptions::default(),
    };
    let ova = check_ova(ctx, a)?;
    let wanted = wanted_vms(a, &fleet, &opts, &ova.info)?;
    let vc = &fleet.vcenter;
    let network = a
        .network
        .clone()
        .or_else(|| vc.network.clone())
        .or_else(|| {
            opts.network_mapping
                .iter()
                .find(|m| !m.network.is_empty())
                .map(|m| m.network.clone())
        })
        .unwrap_or_else(|| "VM Network".into());
    for m in &opts.network_mapping {
        if !ova.info.networks.contains(&m.name) {
            return Err(usage(format!(
                "NetworkMapping names '{}', which the OVF does not have (it has: {})",
                m.name,
                ova.info.networks.join(", ")
            )));
        }
    }
    let template_name = a
        .template
        .clone()
        .or_else(|| vc.template.clone())
        .or_else(|| opts.name.clone())
        .unwrap_or_else(|| format!("{}-{}", ova.info.name, &ova.sha256[..12]));
    let power_on = !a.no_power_on;
    let client = connect(&a.vc, vc)?;
    let timeout = Duration::from_secs(a.vc.timeout.max(1));
    let result = (|| -> Result<_> {
        let placement = inventory::resolve(
            &client,
            &Wanted {
                datacenter: a.datacenter.clone().or_else(|| vc.datacenter.clone()),
                cluster: a.cluster.clone().or_else(|| vc.cluster.clone()),
                datastore: a.datastore.clone().or_else(|| vc.datastore.clone()),
                network,
            },
        )?;
        let existing = fleet::survey(&client, &placement.datacenter.moref, &wanted)?;
        let plan = fleet::plan(&existing, &wanted, &template_name, &ova.sha256, power_on)
            .map_err(with_remedy)?;
        if a.dry_run {
            return Ok((placement, plan, None));
        }
        let bars = LineBars::new(ctx.bars.visible(), wanted.len(), "VMs");
        let import = ImportParams {
            entity_name: template_name.clone(),
            network_mapping: ova
                .info
                .networks
                .iter()
                .map(|n| (n.clone(), placement.network.moref.clone()))
                .collect(),
            ip_allocation_policy: opts.ip_allocation_policy.clone().filter(|s| !s.is_empty()),
            ip_protocol: opts.ip_protocol.clone().filter(|s| !s.is_empty()),
            property_mapping: Vec::new(),
            disk_provisioning: a
                .disk_provisioning
                .clone()
                .or_else(|| opts.disk_provisioning.clone())
                .filter(|s| !s.is_empty()),
            marker: String::new(),
        };
        let options = fleet::Options {
            import,
            power_on,
            annotation: opts.annotation.clone().filter(|s| !s.is_empty()),
            parallel: usize::from(a.parallel),
            wait_ip: (a.wait_ip || opts.wait_for_ip == Some(true))
                .then(|| Duration::from_secs(a.wait_ip_timeout)),
            timeout,
            upload_progress: &ctx.bars,
            progress: &bars,
        };
        let report = fleet::run(
            &client,
            &ova.archive,
            &ova.ovf_text,
            &ova.sha256,
            &placement,
            &wanted,
            &plan,
            &options,
        );
        bars.total.finish_and_clear();
        Ok((placement, plan, Some(report?)))
    })();
    let _ = client.logout();
    let (placement, plan, report) = result?;
    let out = DeployReport {
        ova: &ova.shown,
        ova_sha256: &ova.sha256,
        vcenter: &client.content.about,
        placement: &placement,
        dry_run: a.dry_run,
        plan: &plan,
        result: report.as_ref(),
    };
    ctx.emit(&out, || text(&out))?;
    match &report {
        Some(r) if !r.ok() => {
            let failed: Vec<String> = r
                .vms
                .iter()
                .filter(|v| !v.ok)
                .map(|v| format!("{} ({})", v.name, v.error.as_deref().unwrap_or("failed")))
                .collect();
            anyhow::bail!(
                "{} of {} VMs failed: {}",
                failed.len(),
                r.vms.len(),
                failed.join(", ")
            )
        }
        _ => Ok(()),
    }
}

/// A name deploy may not use gets the flag that picks another one.
fn with_remedy(e: vsphere::Error) -> anyhow::Error {
    let remedy = match &e {
        vsphere::Error::NameTaken {
            role: vsphere::Role::Template,
            ..
        } => "photon-fleet never replaces it: choose another template name with --template (or [vcenter] template in fleet.toml)",
        vsphere::Error::NameTaken {
            role: vsphere::Role::FleetVm,
            ..
        } => "photon-fleet never replaces it: choose other VM names with --name-prefix (or the [[vm]] names in fleet.toml)",
        _ => return e.into(),
    };
    usage(format!("{e}; {remedy}"))
}

fn text(r: &DeployReport) -> String {
    let p = r.placement;
    let mut s = format!(
        "{}\n  OVA         {} (sha256 {})\n  datacenter  {}\n  compute     {}\n  datastore   {}\n  network     {}\n",
        r.vcenter, r.ova, r.ova_sha256, p.datacenter.name, p.compute.name, p.datastore.name, p.network.name
    );
    let t = &r.plan;
    let how = match (&r.result.and_then(|x| x.upload.as_ref()), t.template_action) {
        (Some(u), _) => format!(
            "imported: {} uploaded in {:.1} s ({:.1} MiB/s)",
            human_bytes(u.bytes),
            u.seconds,
            u.bytes as f64 / 1048576.0 / u.seconds.max(0.001)
        ),
        (None, fleet::TemplateAction::Reuse) => "reused (same OVA sha256): no upload".into(),
        (None, fleet::TemplateAction::Import) => "to import".into(),
        (None, fleet::TemplateAction::ReplaceLeftover) => {
            "to import again, after removing the leftover below".into()
        }
        (None, fleet::TemplateAction::Mark) => "to mark as template".into(),
    };
    let _ = writeln!(s, "  template    {} ({how})", t.template);
    for gone in &t.remove {
        let _ = writeln!(
            s,
            "  {}      {} ({}): {}",
            if r.result.is_some() {
                "removed"
            } else {
                "remove "
            },
            gone.name,
            gone.power_state,
            gone.reason
        );
    }
    if let Some(u) = r.result.and_then(|x| x.upload.as_ref()) {
        for w in &u.warnings {
            let _ = writeln!(s, "  warning     {w}");
        }
    }
    match r.result {
        None => {
            for vm in &t.vms {
                let _ = writeln!(s, "  {:<24} {}", vm.name, action_word(vm.action));
            }
            s.push_str("dry run: nothing was changed\n");
        }
        Some(rep) => {
            let _ = writeln!(
                s,
                "\n{:<24} {:<10} {:<11} {:<16} {:>7}  RESULT",
                "VM", "ACTION", "POWER", "IP", "SECONDS"
            );
            for v in &rep.vms {
                let _ = writeln!(
                    s,
                    "{:<24} {:<10} {:<11} {:<16} {:>7.1}  {}",
                    v.name,
                    action_word(v.action),
                    v.power_state,
                    v.ip.as_deref().unwrap_or("-"),
                    v.seconds,
                    v.error.as_deref().unwrap_or("ok")
                );
            }
        }
    }
    s
}

fn action_word(a: fleet::VmAction) -> &'static str {
    match a {
        fleet::VmAction::Create => "create",
        fleet::VmAction::Exists => "exists",
        fleet::VmAction::PowerOn => "power-on",
        fleet::VmAction::ExistsOff => "exists",
    }
}

pub fn thumbprint(ctx: &Context, url: &str) -> Result<()> {
    let t = vsphere::client::fetch_thumbprint(url, Duration::from_secs(15))?;
    #[derive(Serialize)]
    struct T<'a> {
        url: &'a str,
        sha1_thumbprint: &'a str,
    }
    ctx.emit(
        &T {
            url,
            sha1_thumbprint: &t,
        },
        || format!("{t}\n"),
    )
}
