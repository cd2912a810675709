//! `photon-fleet up` and `photon-fleet status`: fleet.toml to [`fleet::up`] and
//! [`fleet::status`]; the plan printed before anything changes.

use crate::output::Context;
use crate::progress::LineBars;
use crate::up_cli::{FleetArgs, UpArgs};
use anyhow::Result;
use fleet::deploy::DeployInputs;
use fleet::up::{self, Progress, UpInputs};
use std::io::Write as _;
use std::time::Duration;

fn esxi_login(a: &FleetArgs, f: &config::Fleet) -> Result<esxi::session::ConnectConfig> {
    crate::ssh_login::connect_config(&crate::ssh_login::Login {
        identity: a.esxi_identity.clone(),
        password_env: Some(a.esxi_password_env.clone()),
        ask_password: false,
        known_hosts: a
            .known_hosts
            .clone()
            .or_else(|| f.esxi.known_hosts.clone())
            .unwrap_or_else(|| crate::ssh_login::home().join(".ssh/known_hosts")),
        pinned: f.esxi.host_keys.clone(),
        accept_new: a.accept_new_host_keys,
        timeout: Duration::from_secs(a.esxi_timeout.max(1)),
        connect_timeout: Duration::from_secs(10),
    })
}

fn deploy_inputs<'a>(f: &'a config::Fleet, a: &FleetArgs, wait_ip: u64) -> DeployInputs<'a> {
    DeployInputs {
        fleet: Some(f),
        parallel: 4,
        power_on: true,
        wait_ip: Some(Duration::from_secs(wait_ip)),
        timeout: Duration::from_secs(a.vc.timeout.max(1)),
        ..DeployInputs::default()
    }
}

pub fn run(ctx: &Context, a: &UpArgs) -> Result<()> {
    let f = super::fleet(a.common.fleet.as_deref())?;
    let (esxi, guest) = (
        esxi_login(&a.common, &f)?,
        crate::ssh_login::guests(a.common.guest_identity.clone(), &f)?,
    );
    let inputs = UpInputs {
        fleet: &f,
        skip_hosts: a.skip_hosts.clone(),
        enable_ssh: a.enable_ssh,
        esxi: &esxi,
        esxi_user: f.esxi.user.clone().unwrap_or(a.common.esxi_user.clone()),
        parallel_hosts: usize::from(a.common.parallel),
        install: esxi::plan::Options {
            allow_downgrade: a.allow_downgrade,
            set_acceptance: a.set_acceptance,
        },
        no_sig_check: a.no_sig_check,
        guest: &guest,
        guest_timeout: Duration::from_secs(a.guest_timeout),
        deploy: deploy_inputs(&f, &a.common, a.wait_ip_timeout),
        vmdk: ova::vmdk::WriteOptions::default(),
    };
    let client = crate::vcenter::connect(&a.common.vc, &f.vcenter)?;
    let (hosts, vms) = (
        LineBars::new(ctx.bars.visible(), 0, "hosts"),
        LineBars::new(ctx.bars.visible(), 0, "VMs"),
    );
    let say = |what: &str| {
        if ctx.bars.visible() {
            eprintln!("== {what}");
        }
    };
    let p = Progress {
        bytes: &ctx.bars,
        hosts: &hosts,
        vms: &vms,
        stage: &say,
    };
    let done = (|| {
        let plan = up::plan(&client, &inputs, &p)?;
        if a.dry_run {
            return Ok(up::UpReport::planned(plan));
        }
        if !ctx.json {
            let mut out = std::io::stdout().lock();
            out.write_all(crate::text::up::plan(&plan).as_bytes())?;
            out.flush()?;
        }
        up::run(&client, &inputs, plan, &p)
    })();
    let _ = client.logout();
    let report = done?;
    ctx.emit(&report, || crate::text::up::report(&report))?;
    if report.ok || report.dry_run {
        return Ok(());
    }
    anyhow::bail!("{}", crate::text::up::failure(&report))
}

pub fn status(ctx: &Context, a: &FleetArgs) -> Result<()> {
    let f = super::fleet(a.fleet.as_deref())?;
    let (esxi, guest) = (
        esxi_login(a, &f)?,
        crate::ssh_login::guests(a.guest_identity.clone(), &f)?,
    );
    let inputs = fleet::status::StatusInputs {
        fleet: &f,
        esxi: &esxi,
        esxi_user: f.esxi.user.clone().unwrap_or(a.esxi_user.clone()),
        parallel_hosts: usize::from(a.parallel),
        guest: &guest,
        deploy: deploy_inputs(&f, a, 0),
    };
    let client = crate::vcenter::connect(&a.vc, &f.vcenter)?;
    let bars = LineBars::new(ctx.bars.visible(), 0, "hosts");
    let done = fleet::status::status(&client, &inputs, &bars);
    let _ = client.logout();
    let report = done?;
    ctx.emit(&report, || crate::text::up::status(&report))?;
    if report.ok {
        return Ok(());
    }
    anyhow::bail!(
        "{} difference(s) from the lock: {}",
        report.differences.len(),
        report.differences.join("; ")
    )
}
