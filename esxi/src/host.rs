//! The work on one host: read its state, plan, and (unless it is a dry run) upload,
//! verify, remove/install, verify again and clean up, reporting every step.

use crate::esxcli::{self, EsxiVersion};
use crate::plan::{self, Action, HostFacts, Options, VibFacts};
use crate::session::{ConnectConfig, Connection};
use crate::target::Target;
use serde::Serialize;
use std::time::Instant;

pub const VIB_NAME: &str = "esx-vmdkops-service";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Install,
    /// Connect, read, plan; change nothing.
    DryRun,
    Status,
    Uninstall,
}

pub struct Job<'a> {
    pub mode: Mode,
    /// The VIB to install (Install and DryRun).
    pub vib: Option<(&'a VibFacts, &'a [u8])>,
    pub opts: Options,
    pub no_sig_check: bool,
    pub restart_hostd: bool,
    /// Names the per-run upload folder `/tmp/photon-fleet-<run_id>`.
    pub run_id: String,
}

/// Reports progress; the CLI draws it.
pub trait Observer: Sync {
    fn step(&self, host: &Target, step: &str);
    fn done(&self, host: &Target, report: &HostReport);
}

#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub host: String,
    pub esxi: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub action: Option<Action>,
    /// installed, upgraded, replaced, downgraded, skipped, started, planned, refused,
    /// failed, removed, not-installed, status
    pub result: String,
    pub ok: bool,
    pub message: String,
    pub service: Option<String>,
    pub hostd_restarted: bool,
    pub recorded_host_key: Option<String>,
    pub seconds: f64,
}

impl HostReport {
    fn new(t: &Target) -> Self {
        Self {
            host: t.to_string(),
            esxi: None,
            before: None,
            after: None,
            action: None,
            result: "failed".into(),
            ok: false,
            message: String::new(),
            service: None,
            hostd_restarted: false,
            recorded_host_key: None,
            seconds: 0.0,
        }
    }
}

/// Why a host failed: a line with the remedy.
type Fail = String;

struct Host<'a> {
    t: &'a Target,
    conn: Connection,
    obs: &'a dyn Observer,
}

impl Host<'_> {
    fn run(&self, cmd: &str) -> Result<crate::session::Output, Fail> {
        self.conn.run(cmd).map_err(|e| {
            format!("'{cmd}' failed: {e} (connection lost or the host is too slow; rerun)")
        })
    }

    fn esxcli_change(&self, cmd: &str) -> Result<esxcli::ChangeResult, esxcli::EsxcliError> {
        match self.run(cmd) {
            Ok(o) if o.code == 0 => {
                esxcli::parse_result(&o.text).ok_or_else(|| esxcli::EsxcliError {
                    class: "Error".into(),
                    message: format!("'{cmd}' printed no result block"),
                    remedy: "see /var/log/esxupdate.log on the host".into(),
                })
            }
            Ok(o) => Err(esxcli::parse_error(&o.text)),
            Err(f) => Err(esxcli::EsxcliError {
                class: "Connection".into(),
                message: f,
                remedy: "check the host is reachable, then rerun".into(),
            }),
        }
    }

    fn installed(&self) -> Result<Option<esxcli::InstalledVib>, Fail> {
        let o = self.run(&format!("esxcli software vib get -n {VIB_NAME}"))?;
        if o.code == 0 {
            return esxcli::parse_vib_get(&o.text)
                .map(Some)
                .ok_or_else(|| format!("unexpected 'vib get' output: {}", first_line(&o.text)));
        }
        let e = esxcli::parse_error(&o.text);
        if e.class == "NoMatchError" {
            Ok(None)
        } else {
            Err(e.to_string())
        }
    }

    fn service_running(&self) -> Result<bool, Fail> {
        let o = self.run("/etc/init.d/vmdk-opsd status")?;
        Ok(o.code == 0 && esxcli::opsd_pid(&o.text).is_some())
    }

    fn facts(&self) -> Result<HostFacts, Fail> {
        self.obs.step(self.t, "reading state");
        let v = self.run("vmware -vl")?;
        let esxi = EsxiVersion::parse(&v.text).ok_or_else(|| {
            format!(
                "not an ESXi host ('vmware -vl' said: {})",
                first_line(&v.text)
            )
        })?;
        let acc = self.run("esxcli software acceptance get")?;
        let acceptance = acc.text.trim().to_string();
        let installed = self.installed()?;
        let service_running = installed.is_some() && self.service_running()?;
        let ram = self.run("esxcli system visorfs ramdisk list")?;
        Ok(HostFacts {
            esxi,
            acceptance,
            installed,
            tmp_free_kib: esxcli::tmp_free_kib(&ram.text),
            service_running,
        })
    }
}

fn first_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

/// Does `job` on `t`; never panics, never returns early without a report.
pub fn run(t: &Target, cfg: &ConnectConfig, job: &Job, obs: &dyn Observer) -> HostReport {
    let start = Instant::now();
    let mut rep = HostReport::new(t);
    obs.step(t, "connecting");
    match Connection::open(t, cfg) {
        Err(e) => rep.message = e.to_string(),
        Ok(conn) => {
            rep.recorded_host_key = conn.recorded_key.clone();
            let h = Host { t, conn, obs };
            if let Err(f) = work(&h, job, &mut rep) {
                rep.ok = false;
                if rep.result != "refused" {
                    rep.result = "failed".into();
                }
                rep.message = f;
            }
        }
    }
    rep.seconds = start.elapsed().as_secs_f64();
    obs.done(t, &rep);
    rep
}

fn work(h: &Host, job: &Job, rep: &mut HostReport) -> Result<(), Fail> {
    let facts = h.facts()?;
    rep.esxi = Some(facts.esxi.version.clone());
    rep.before = facts.installed.as_ref().map(|i| i.version.clone());
    rep.service = Some(
        if facts.service_running {
            "running"
        } else {
            "stopped"
        }
        .into(),
    );
    match job.mode {
        Mode::Status => {
            rep.after = rep.before.clone();
            rep.result = "status".into();
            rep.ok = true;
            rep.message = format!(
                "{} ({}), acceptance {}",
                facts.esxi.release, facts.esxi.build, facts.acceptance
            );
            Ok(())
        }
        Mode::Uninstall => uninstall(h, rep),
        Mode::Install | Mode::DryRun => {
            let (vib, bytes) = job.vib.ok_or("no VIB given")?;
            let p = plan::plan(&facts, vib, &job.opts);
            rep.action = Some(p.action);
            rep.message = p.reason.clone();
            if p.action == Action::Refuse {
                rep.result = "refused".into();
                return Err(p.reason);
            }
            if p.action == Action::Skip {
                rep.result = "skipped".into();
                rep.after = rep.before.clone();
                rep.ok = true;
                return Ok(());
            }
            if job.mode == Mode::DryRun {
                rep.result = "planned".into();
                rep.after = Some(p.to.clone());
                rep.ok = true;
                return Ok(());
            }
            install(h, job, &p, vib, bytes, rep)
        }
    }
}

fn uninstall(h: &Host, rep: &mut HostReport) -> Result<(), Fail> {
    if rep.before.is_none() {
        rep.result = "not-installed".into();
        rep.ok = true;
        rep.message = "nothing to remove".into();
        return Ok(());
    }
    h.obs.step(h.t, "removing");
    h.esxcli_change(&format!("esxcli software vib remove -n {VIB_NAME}"))
        .map_err(|e| format!("remove failed: {e}"))?;
    rep.after = h.installed()?.map(|i| i.version);
    if let Some(v) = &rep.after {
        return Err(format!(
            "esxcli said it removed the VIB, but {v} is still installed"
        ));
    }
    rep.service = None;
    rep.result = "removed".into();
    rep.ok = true;
    rep.message =
        "removed; Docker volumes on VMs of this host stop working until it is reinstalled".into();
    Ok(())
}

fn install(
    h: &Host,
    job: &Job,
    p: &plan::Plan,
    vib: &VibFacts,
    bytes: &[u8],
    rep: &mut HostReport,
) -> Result<(), Fail> {
    if p.action == Action::StartService {
        h.obs.step(h.t, "starting vmdk-opsd");
        let o = h.run("/etc/init.d/vmdk-opsd start")?;
        if o.code != 0 {
            return Err(format!(
                "vmdk-opsd did not start (exit {}: {}): check /var/log/vmware/vmdk_ops.log on the host",
                o.code,
                first_line(&o.text)
            ));
        }
        return verify(h, job, vib, rep, "started");
    }
    if let Some(level) = &p.set_acceptance {
        h.obs.step(h.t, "setting acceptance");
        let o = h.run(&format!("esxcli software acceptance set --level={level}"))?;
        if o.code != 0 {
            return Err(format!(
                "could not set acceptance level {level}: {}",
                esxcli::parse_error(&o.text)
            ));
        }
    }
    let dir = format!("/tmp/photon-fleet-{}", job.run_id);
    let path = format!("{dir}/{}.vib", vib.id);
    let result = upload_and_install(h, job, p, vib, bytes, &dir, &path, rep);
    // The upload folder goes whatever happened (best effort on a dead connection).
    let _ = h.conn.run(&format!("rm -rf {dir}"));
    result
}

#[allow(clippy::too_many_arguments)]
fn upload_and_install(
    h: &Host,
    job: &Job,
    p: &plan::Plan,
    vib: &VibFacts,
    bytes: &[u8],
    dir: &str,
    path: &str,
    rep: &mut HostReport,
) -> Result<(), Fail> {
    h.obs.step(h.t, "uploading");
    let o = h.run(&format!("mkdir -p {dir}"))?;
    if o.code != 0 {
        return Err(format!("cannot create {dir}: {}", first_line(&o.text)));
    }
    h.conn
        .upload(path, bytes)
        .map_err(|e| format!("upload failed, nothing was changed on the host: {e}; rerun"))?;
    let sum = h.run(&format!("sha256sum {path}"))?;
    let got = sum.text.split_whitespace().next().unwrap_or("");
    if got != vib.sha256 {
        return Err(format!(
            "the uploaded VIB's sha256 on the host is '{got}', not {}: nothing was changed; rerun",
            vib.sha256
        ));
    }
    let mut removed = None;
    if p.action.removes_first() {
        h.obs.step(h.t, "removing old");
        h.esxcli_change(&format!("esxcli software vib remove -n {VIB_NAME}"))
            .map_err(|e| {
                format!(
                    "removing {} failed, the host is unchanged: {e}",
                    p.from.as_deref().unwrap_or("?")
                )
            })?;
        removed = p.from.clone();
    }
    h.obs.step(h.t, "installing");
    let sig = if !vib.signed && job.no_sig_check {
        " --no-sig-check"
    } else {
        ""
    };
    match h.esxcli_change(&format!("esxcli software vib install{sig} -v {path}")) {
        Ok(r) if r.message == "Host is not changed." && removed.is_none() => {}
        Ok(r) if r.installed.iter().any(|i| i == &vib.id) => {}
        Ok(r) => return Err(format!("esxcli did not install {}: {}", vib.id, r.message)),
        Err(e) => {
            return Err(match removed {
                Some(old) => format!(
                    "REMOVED {old}, THEN THE INSTALL FAILED: the host has no vDVS driver now. {e}. Fix the cause and rerun this command to install {}, or reinstall {old} by hand",
                    vib.version
                ),
                None => format!("install failed, the host is unchanged: {e}"),
            })
        }
    }
    if job.restart_hostd {
        h.obs.step(h.t, "restarting hostd");
        let o = h.run("/etc/init.d/hostd restart")?;
        rep.hostd_restarted = o.code == 0;
    }
    let done = match p.action {
        Action::Upgrade => "upgraded",
        Action::Replace => "replaced",
        Action::Downgrade => "downgraded",
        _ => "installed",
    };
    verify(h, job, vib, rep, done)
}

fn verify(
    h: &Host,
    job: &Job,
    vib: &VibFacts,
    rep: &mut HostReport,
    done: &str,
) -> Result<(), Fail> {
    h.obs.step(h.t, "verifying");
    rep.after = h.installed()?.map(|i| i.version);
    if rep.after.as_deref() != Some(vib.version.as_str()) {
        return Err(format!(
            "after the install the host reports {} instead of {}",
            rep.after.as_deref().unwrap_or("no vDVS VIB"),
            vib.version
        ));
    }
    let running = h.service_running()?;
    rep.service = Some(if running { "running" } else { "stopped" }.into());
    if !running {
        return Err(format!(
            "{} is installed but vmdk-opsd is not running: check /var/log/vmware/vmdk_ops.log, then '/etc/init.d/vmdk-opsd start' or rerun",
            vib.version
        ));
    }
    rep.result = done.into();
    rep.ok = true;
    if !job.restart_hostd && done != "started" {
        rep.message =
            "esxcli storage guestvol appears after a hostd restart (--restart-hostd)".into();
    }
    Ok(())
}
