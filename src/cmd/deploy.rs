//! `photon-fleet deploy`: arguments to [`fleet::deploy::DeployInputs`], the OVA checked
//! before anything reaches vCenter, the deploy, the report. `vc thumbprint` too.

use crate::output::Context;
use crate::progress::LineBars;
use crate::vc_cli::DeployArgs;
use anyhow::Result;
use fleet::deploy::{check_ova, deploy, DeployInputs, FleetProgress};
use serde::Serialize;
use std::time::Duration;

impl FleetProgress for LineBars {
    fn step(&self, vm: &str, what: &str) {
        self.line(vm, what);
    }

    fn finished(&self, vm: &str, ok: bool) {
        self.finish(vm, &format!("{vm}: {}", if ok { "done" } else { "failed" }));
    }
}

pub fn run(ctx: &Context, a: &DeployArgs) -> Result<()> {
    let fleet = super::fleet(a.fleet.as_deref())?;
    let options = match &a.options {
        Some(p) => config::GovcOptions::read(p)?,
        None => config::GovcOptions::default(),
    };
    let options_wait_ip = options.wait_for_ip == Some(true);
    let inputs = DeployInputs {
        ova: a.ova.clone(),
        lock: a.lock.clone(),
        fleet: Some(&fleet),
        options,
        place: config::Placement {
            datacenter: a.datacenter.clone(),
            cluster: a.cluster.clone(),
            host: a.host.clone(),
            pool: a.pool.clone(),
            folder: a.folder.clone(),
            datastore: a.datastore.clone(),
            network: a.network.clone(),
        },
        count: a.count,
        name_prefix: a.name_prefix.clone(),
        template: a.template.clone(),
        disk_provisioning: a.disk_provisioning.clone(),
        set: a.set.clone(),
        parallel: usize::from(a.parallel),
        power_on: !a.no_power_on,
        wait_ip: (a.wait_ip || options_wait_ip).then(|| Duration::from_secs(a.wait_ip_timeout)),
        dry_run: a.dry_run,
        timeout: Duration::from_secs(a.vc.timeout.max(1)),
    };
    let ova = check_ova(&a.ova, a.lock.as_deref(), &ctx.bars)?;
    for w in &ova.warnings {
        eprintln!("photon-fleet: warning: {}: {w}", ova.shown);
    }
    // Fail on what the inputs say before logging in.
    let vms = fleet::deploy::wanted_vms(&inputs, &ova.info)?.len();
    fleet::deploy::wanted_placement(&inputs, &ova.info)?;
    let client = crate::vcenter::connect(&a.vc, &fleet.vcenter)?;
    let bars = LineBars::new(ctx.bars.visible(), vms, "VMs");
    let done = deploy(&client, &inputs, &ova, &ctx.bars, &bars);
    bars.total.finish_and_clear();
    let _ = client.logout();
    let report = done?;
    ctx.emit(&report, || crate::text::deploy::text(&report))?;
    let failed = report.failed();
    if failed.is_empty() {
        return Ok(());
    }
    let total = report.result.as_ref().map_or(0, |r| r.vms.len());
    anyhow::bail!(
        "{} of {total} VMs failed: {}",
        failed.len(),
        failed.join(", ")
    )
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
