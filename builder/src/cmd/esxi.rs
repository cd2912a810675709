//! ssh-install, ssh-uninstall and esxi status: resolve hosts and credentials, check the
//! VIB before any connection, run the fleet, print a table (or JSON), exit 1 unless every
//! host ended where it should.

use crate::esxi_cli::{HostArgs, InstallArgs, UninstallArgs};
use crate::fleet::Fleet;
use crate::output::{usage, Context};
use crate::progress::LineBars;
use anyhow::{Context as _, Result};
use esxi::host::{Failure, HostReport, Job, Mode, Observer};
use esxi::plan::{Options, Refusal, VibFacts};
use esxi::session::{Auth, ConnectConfig, HostKeys, Password};
use esxi::HostKeyProblem;
use esxi::Target;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

fn targets(a: &HostArgs, fleet: &Fleet) -> Result<Vec<Target>> {
    let user = a
        .user
        .clone()
        .or_else(|| fleet.esxi.user.clone())
        .unwrap_or_else(|| "root".into());
    use esxi::target::Source;
    let mut specs: Vec<(&str, Source)> = fleet
        .esxi
        .hosts
        .iter()
        .chain(&a.hosts)
        .map(|h| (h.as_str(), Source::Given))
        .collect();
    let text;
    let shown;
    if let Some(f) = &a.hosts_file {
        super::require_file(f)?;
        text = std::fs::read_to_string(f)
            .map_err(|e| usage(format!("{}: cannot read it as text: {e}", f.display())))?;
        shown = f.display().to_string();
        specs.extend(text.lines().enumerate().map(|(i, l)| {
            (
                l,
                Source::File {
                    path: &shown,
                    line: i + 1,
                },
            )
        }));
    }
    let t = esxi::target::collect(specs, &user).map_err(|e| usage(e.to_string()))?;
    if t.is_empty() {
        return Err(usage(
            "no hosts: pass --host, --hosts-file or --fleet with [esxi] hosts",
        ));
    }
    Ok(t)
}

fn credentials(a: &HostArgs) -> Result<Vec<Auth>> {
    let mut auth = Vec::new();
    if let Some(k) = &a.identity {
        if !k.is_file() {
            return Err(usage(format!("{}: no such key file", k.display())));
        }
        auth.push(Auth::KeyFile(k.clone()));
    } else {
        if std::env::var_os("SSH_AUTH_SOCK").is_some() {
            auth.push(Auth::Agent);
        }
        for k in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            let p = home().join(".ssh").join(k);
            if p.is_file() {
                auth.push(Auth::KeyFile(p));
            }
        }
    }
    match super::env_nonempty(&a.password_env) {
        Some(pw) => auth.push(Auth::Password(Password::new(pw))),
        None if a.ask_password => {
            let pw = rpassword::prompt_password("ESXi SSH password: ")
                .context("cannot read the password from the terminal")?;
            auth.push(Auth::Password(Password::new(pw)));
        }
        None => {}
    }
    Ok(auth)
}

fn connect_config(a: &HostArgs, fleet: &Fleet) -> Result<ConnectConfig> {
    let known_hosts = a
        .known_hosts
        .clone()
        .or_else(|| fleet.esxi.known_hosts.clone())
        .unwrap_or_else(|| home().join(".ssh/known_hosts"));
    Ok(ConnectConfig {
        auth: credentials(a)?,
        host_keys: HostKeys {
            known_hosts,
            pinned: fleet.esxi.host_keys.clone(),
            accept_new: a.accept_new_host_keys,
            write_lock: Mutex::new(()),
        },
        connect_timeout: Duration::from_secs(a.connect_timeout.max(1)),
        timeout: Duration::from_secs(a.timeout.max(1)),
    })
}

fn fleet_of(a: &HostArgs) -> Result<Fleet> {
    a.fleet.as_deref().map_or(Ok(Fleet::default()), Fleet::read)
}

/// The VIB to install, proven intact (and matching the lock) before any host is touched.
fn load_vib(a: &InstallArgs) -> Result<(Vec<u8>, plugin::Vib)> {
    let path = match (&a.lock, &a.vib) {
        (Some(lock_path), _) => {
            super::require_file(lock_path)?;
            let lock = plugin::FleetLock::read(lock_path)
                .with_context(|| lock_path.display().to_string())?;
            let dir = super::folder_of(lock_path);
            // Only the VIB matters here: the plugin bundle and the OVA are not re-hashed.
            let c = lock.verify_vib(dir);
            if !c.ok {
                return Err(usage(format!(
                    "{}: the VIB does not match the lock ({}: {}): rebuild, or restore the file",
                    lock_path.display(),
                    c.file.display(),
                    c.detail
                )));
            }
            dir.join(&lock.vib.file)
        }
        (None, Some(v)) => {
            super::require_file(v)?;
            v.clone()
        }
        (None, None) => {
            return Err(usage(
                "which VIB? pass --lock fleet.lock (preferred) or --vib FILE",
            ))
        }
    };
    let (bytes, vib) = plugin::open_vib(&path).with_context(|| path.display().to_string())?;
    if vib.descriptor.name != esxi::host::VIB_NAME {
        return Err(usage(format!(
            "{}: is '{}', not the vDVS driver VIB ({})",
            path.display(),
            vib.descriptor.name,
            esxi::host::VIB_NAME
        )));
    }
    if !vib.signed && !a.no_sig_check {
        return Err(usage(format!(
            "{}: {} is unsigned: pass --no-sig-check to install it (hosts must be at CommunitySupported; see --set-acceptance)",
            path.display(),
            vib.id()
        )));
    }
    Ok((bytes, vib))
}

impl Observer for LineBars {
    fn step(&self, host: &Target, step: &str) {
        self.line(&host.to_string(), step);
    }

    fn done(&self, host: &Target, report: &HostReport) {
        self.finish(
            &host.to_string(),
            &format!("{host}: {} ({:.1} s)", report.result, report.seconds),
        );
    }
}

/// A host's report as printed: the library's typed report, plus one line for people
/// (the failure with what to do about it, or the note).
#[derive(Serialize)]
struct HostView<'a> {
    #[serde(flatten)]
    report: &'a HostReport,
    message: String,
}

#[derive(Serialize)]
struct FleetReport<'a> {
    command: &'a str,
    vib: Option<&'a VibFacts>,
    ok: bool,
    hosts: Vec<HostView<'a>>,
}

/// What the user can do about a failure, where the library cannot say (it knows no flags).
fn remedy(f: &Failure) -> Option<String> {
    Some(match f {
        Failure::HostKey(HostKeyProblem::Unknown { .. }) => {
            "compare it with the host's console, then rerun with --accept-new-host-keys to record it".into()
        }
        Failure::Refused(Refusal::EsxiTooOld { .. }) => "upgrade the host first".into(),
        Failure::Refused(Refusal::NoEsxi8Checksums) => {
            "make one with 'photon-fleet vib repack'".into()
        }
        Failure::Refused(Refusal::Newer { .. }) => "pass --allow-downgrade to replace it".into(),
        Failure::Refused(Refusal::Acceptance { needed, .. }) => {
            format!("rerun with --set-acceptance to set it to {needed}, or use a signed VIB")
        }
        Failure::Refused(Refusal::TmpFull { .. }) => {
            "free space on the host's tmp ramdisk".into()
        }
        Failure::Connect { .. }
        | Failure::Command { .. }
        | Failure::Upload { .. }
        | Failure::Checksum { .. } => "rerun the same command".into(),
        _ => return None,
    })
}

fn message(r: &HostReport) -> String {
    let mut m = match &r.failure {
        Some(f) => match remedy(f) {
            Some(what) => format!("{f}: {what}"),
            None => f.to_string(),
        },
        None => r.note.clone(),
    };
    let mut add = |s: String| {
        if !m.is_empty() {
            m.push_str("; ");
        }
        m.push_str(&s);
    };
    if !r.removed_leftovers.is_empty() {
        add(format!(
            "removed uploads earlier runs left: {}",
            r.removed_leftovers.join(" ")
        ));
    }
    if let Some(dir) = &r.left_on_host {
        add(format!(
            "LEFT ON THE HOST: {dir} (a partial upload; the next run on this host removes it)"
        ));
    }
    m
}

fn table(reports: &[HostReport]) -> String {
    let w = reports
        .iter()
        .map(|r| r.host.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut s = format!(
        "{:<w$}  {:<6}  {:<42}  {:<9}  {:<13}  {:<13}  {:>6}\n",
        "HOST", "ESXI", "BEFORE -> AFTER", "VMDK-OPSD", "ACTION", "RESULT", "SECS"
    );
    for r in reports {
        let ver = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let action = r
            .action
            .map(|a| {
                serde_json::to_value(a)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            })
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "{:<w$}  {:<6}  {:<42}  {:<9}  {:<13}  {:<13}  {:>6.1}",
            r.host,
            r.esxi.as_deref().unwrap_or("?"),
            format!("{} -> {}", ver(&r.before), ver(&r.after)),
            r.service.as_deref().unwrap_or("-"),
            action,
            r.result,
            r.seconds
        );
    }
    for r in reports {
        if r.acceptance_before != r.acceptance_after {
            let _ = writeln!(
                s,
                "{}: acceptance level {} -> {}",
                r.host,
                ver_or(&r.acceptance_before),
                ver_or(&r.acceptance_after)
            );
        }
        let m = message(r);
        if !m.is_empty() {
            let _ = writeln!(s, "{}: {m}", r.host);
        }
    }
    for r in reports
        .iter()
        .filter_map(|r| r.recorded_host_key.as_ref().map(|k| (r, k)))
    {
        let _ = writeln!(s, "{}: recorded new host key {}", r.0.host, r.1);
    }
    s
}

fn ver_or(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("?")
}

fn run_fleet(
    ctx: &Context,
    command: &str,
    a: &HostArgs,
    job: Job,
    vib: Option<&VibFacts>,
    want: &str,
) -> Result<()> {
    let fleet = fleet_of(a)?;
    let targets = targets(a, &fleet)?;
    let cfg = connect_config(a, &fleet)?;
    let bars = LineBars::new(ctx.bars.visible(), targets.len(), "hosts");
    let reports = esxi::fleet::run(&targets, &cfg, &job, usize::from(a.parallel), &bars);
    bars.total.finish_and_clear();
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.host.as_str())
        .collect();
    let report = FleetReport {
        command,
        vib,
        ok: failed.is_empty(),
        hosts: reports
            .iter()
            .map(|r| HostView {
                report: r,
                message: message(r),
            })
            .collect(),
    };
    ctx.emit(&report, || table(&reports))?;
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} of {} hosts did not end {want}: {}",
            failed.len(),
            reports.len(),
            failed.join(", ")
        )
    }
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}-{nanos:08x}", std::process::id())
}

pub fn install(ctx: &Context, a: &InstallArgs) -> Result<()> {
    let (bytes, vib) = load_vib(a)?;
    let facts = VibFacts::of(&vib, &bytes);
    let job = Job {
        mode: if a.dry_run {
            Mode::DryRun
        } else {
            Mode::Install
        },
        vib: Some((&facts, &bytes)),
        opts: Options {
            allow_downgrade: a.allow_downgrade,
            set_acceptance: a.set_acceptance,
        },
        no_sig_check: a.no_sig_check,
        restart_hostd: a.restart_hostd,
        run_id: run_id(),
    };
    let want = if a.dry_run {
        "with a plan that can reach ".to_string() + &facts.version
    } else {
        format!("at {} with vmdk-opsd running", facts.version)
    };
    run_fleet(ctx, "ssh-install", &a.hosts, job, Some(&facts), &want)
}

pub fn uninstall(ctx: &Context, a: &UninstallArgs) -> Result<()> {
    let job = Job {
        mode: if a.dry_run {
            Mode::UninstallDryRun
        } else {
            Mode::Uninstall
        },
        vib: None,
        opts: Options::default(),
        no_sig_check: false,
        restart_hostd: false,
        run_id: run_id(),
    };
    run_fleet(
        ctx,
        "ssh-uninstall",
        &a.hosts,
        job,
        None,
        "without the vDVS driver",
    )
}

pub fn status(ctx: &Context, a: &HostArgs) -> Result<()> {
    let job = Job {
        mode: Mode::Status,
        vib: None,
        opts: Options::default(),
        no_sig_check: false,
        restart_hostd: false,
        run_id: run_id(),
    };
    run_fleet(ctx, "esxi status", a, job, None, "with vmdk-opsd running")
}
