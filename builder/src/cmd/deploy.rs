//! deploy: check the OVA (manifest, and the lock's sha256), log in to vCenter, resolve
//! where the VMs go and which already exist, and print the plan. This release stops
//! there (`--dry-run`); the import and clones are issue 6's next step.

use super::env_nonempty;
use crate::output::{usage, Context};
use crate::vc_cli::{DeployArgs, VcArgs};
use anyhow::{Context as _, Result};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Duration;
use vsphere::inventory::{self, Placement, Wanted};
use vsphere::{Client, Trust};

/// URL, user and password: flags/env first, then govc's variables (GOVC_URL may carry
/// `user:password@`, which is read from the environment only, never from argv).
fn credentials(a: &VcArgs) -> Result<(String, String, String)> {
    let govc = env_nonempty("GOVC_URL");
    let url = a.url.clone().or_else(|| govc.clone()).ok_or_else(|| {
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

fn trust(a: &VcArgs) -> Result<Trust> {
    let govc_insecure =
        env_nonempty("GOVC_INSECURE").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    Ok(match &a.thumbprint {
        Some(t) => Trust::thumbprint(t)?,
        None if a.insecure || govc_insecure => Trust::Insecure,
        None => Trust::SystemRoots,
    })
}

pub fn connect(a: &VcArgs) -> Result<Client> {
    let (url, user, password) = credentials(a)?;
    let client = Client::connect(&url, &trust(a)?, Duration::from_secs(a.timeout.max(1)))?;
    client.login(&user, &password)?;
    Ok(client)
}

#[derive(Serialize)]
struct VmPlan {
    name: String,
    action: &'static str,
}

#[derive(Serialize)]
struct DeployPlan {
    ova: String,
    ova_sha256: String,
    vcenter: String,
    placement: Placement,
    vms: Vec<VmPlan>,
    dry_run: bool,
}

pub fn run(ctx: &Context, a: &DeployArgs) -> Result<()> {
    if !a.dry_run {
        return Err(usage(
            "deploy imports and clones in the next release (issue 6); run it with --dry-run to check the OVA, vCenter and the plan",
        ));
    }
    let shown = a.ova.display().to_string();
    let archive = ova::Ova::open(&a.ova).with_context(|| shown.clone())?;
    let (ovf, _) = archive.verify(&ctx.bars).with_context(|| shown.clone())?;
    if ovf.disks.is_empty() {
        return Err(usage(format!("{shown}: the OVF has no disk to import")));
    }
    let sha = plugin::lock::sha256_file(&a.ova).with_context(|| shown.clone())?;
    if let Some(lock_path) = &a.lock {
        let lock =
            plugin::FleetLock::read(lock_path).with_context(|| lock_path.display().to_string())?;
        match &lock.ova {
            Some(o) if o.sha256 == sha => {}
            Some(o) => {
                return Err(usage(format!(
                    "{shown}: sha256 {sha} is not the OVA {} records ({}): deploy the OVA build-ova made with that lock",
                    lock_path.display(),
                    o.sha256
                )))
            }
            None => {
                return Err(usage(format!(
                    "{}: records no OVA (made before build-ova?): deploy without --lock, or rebuild",
                    lock_path.display()
                )))
            }
        }
    }
    let client = connect(&a.vc)?;
    let placement = inventory::resolve(
        &client,
        &Wanted {
            datacenter: a.datacenter.clone(),
            cluster: a.cluster.clone(),
            datastore: a.datastore.clone(),
            network: a.network.clone(),
        },
    )?;
    let mut vms = Vec::new();
    for i in 1..=a.count {
        let name = format!("{}-{i:02}", a.name_prefix);
        let exists = inventory::find_vm(&client, &placement.datacenter.name, &name)?.is_some();
        vms.push(VmPlan {
            name,
            action: if exists { "exists" } else { "create" },
        });
    }
    let _ = client.logout();
    let plan = DeployPlan {
        ova: shown,
        ova_sha256: sha,
        vcenter: client.content.about.clone(),
        placement,
        vms,
        dry_run: a.dry_run,
    };
    ctx.emit(&plan, || {
        let p = &plan.placement;
        let mut s = format!(
            "{}\n  OVA         {} (sha256 {})\n  datacenter  {}\n  compute     {}\n  datastore   {}\n  network     {}\n",
            plan.vcenter, plan.ova, plan.ova_sha256, p.datacenter.name, p.compute.name, p.datastore.name, p.network.name
        );
        for vm in &plan.vms {
            let _ = writeln!(s, "  {:<24} {}", vm.name, vm.action);
        }
        s.push_str("dry run: nothing was changed\n");
        s
    })
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
