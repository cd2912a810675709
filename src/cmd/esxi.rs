//! ssh-install, ssh-uninstall and esxi status: hosts and credentials from the arguments,
//! the VIB checked before any connection, the run ([`fleet::install::run`]), the table (or
//! JSON); exit 1 unless every host ended where it should.

use crate::esxi_cli::{HostArgs, InstallArgs, UninstallArgs};
use crate::output::{usage, Context};
use crate::progress::LineBars;
use anyhow::Result;
use esxi::host::{HostReport, Job, Mode, Observer};
use esxi::plan::{Options, VibFacts};
use esxi::Target;
use fleet::install::{self, HostChoice};

impl Observer for LineBars {
    fn step(&self, host: &Target, step: &str) {
        self.line(&host.to_string(), step);
    }

    fn done(&self, host: &Target, report: &HostReport) {
        let line = format!("{host}: {} ({:.1} s)", report.result, report.seconds);
        self.finish(&host.to_string(), &line);
    }
}

fn run_fleet(ctx: &Context, command: &str, a: &HostArgs, job: Job, want: &str) -> Result<()> {
    let fleet = super::fleet(a.fleet.as_deref())?;
    let targets = install::targets(&HostChoice {
        fleet: Some(&fleet),
        hosts: a.hosts.clone(),
        hosts_file: a.hosts_file.clone(),
        user: a.user.clone(),
    })?;
    if targets.is_empty() {
        return Err(usage(
            "no hosts: pass --host, --hosts-file or --fleet with [esxi] hosts",
        ));
    }
    let cfg = crate::ssh_login::esxi(a, &fleet)?;
    let bars = LineBars::new(ctx.bars.visible(), targets.len(), "hosts");
    let report = install::run(
        command,
        &targets,
        &cfg,
        &job,
        usize::from(a.parallel),
        &bars,
    );
    bars.total.finish_and_clear();
    ctx.emit(&crate::text::esxi::view(&report), || {
        crate::text::esxi::table(&report.hosts)
    })?;
    let failed = report.failed();
    if failed.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} of {} hosts did not end {want}: {}",
        failed.len(),
        report.hosts.len(),
        failed.join(", ")
    )
}

fn job<'a>(mode: Mode, vib: Option<(&'a VibFacts, &'a [u8])>, a: Option<&InstallArgs>) -> Job<'a> {
    Job {
        mode,
        vib,
        opts: Options {
            allow_downgrade: a.is_some_and(|a| a.allow_downgrade),
            set_acceptance: a.is_some_and(|a| a.set_acceptance),
        },
        no_sig_check: a.is_some_and(|a| a.no_sig_check),
        restart_hostd: a.is_some_and(|a| a.restart_hostd),
        run_id: install::run_id(),
    }
}

pub fn install(ctx: &Context, a: &InstallArgs) -> Result<()> {
    let (bytes, vib) =
        install::vib_to_install(a.lock.as_deref(), a.vib.as_deref(), a.no_sig_check)?;
    let facts = VibFacts::of(&vib, &bytes);
    let mode = if a.dry_run {
        Mode::DryRun
    } else {
        Mode::Install
    };
    let want = if a.dry_run {
        format!("with a plan that can reach {}", facts.version)
    } else {
        format!("at {} with vmdk-opsd running", facts.version)
    };
    let job = job(mode, Some((&facts, &bytes)), Some(a));
    run_fleet(ctx, "ssh-install", &a.hosts, job, &want)
}

pub fn uninstall(ctx: &Context, a: &UninstallArgs) -> Result<()> {
    let mode = if a.dry_run {
        Mode::UninstallDryRun
    } else {
        Mode::Uninstall
    };
    let job = job(mode, None, None);
    run_fleet(
        ctx,
        "ssh-uninstall",
        &a.hosts,
        job,
        "without the vDVS driver",
    )
}

pub fn status(ctx: &Context, a: &HostArgs) -> Result<()> {
    let job = job(Mode::Status, None, None);
    run_fleet(ctx, "esxi status", a, job, "with vmdk-opsd running")
}
