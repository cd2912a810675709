//! The work on one host: read its state, plan, and (unless it is a dry run) clean up what
//! earlier runs left in /tmp, upload, verify, remove/install, verify again and clean up,
//! reporting every step. Results and failures are enums; the text comes from them.

use crate::esxcli::{self, EsxcliError, EsxiVersion};
use crate::plan::{self, Action, HostFacts, Options, Refusal, VibFacts};
use crate::session::{ConnectConfig, Connection};
use crate::target::Target;
use crate::HostKeyProblem;
use serde::Serialize;
use std::time::Instant;

pub const VIB_NAME: &str = plugin::VDVS_VIB_NAME;

/// The folders photon-fleet uploads into: `/tmp/photon-fleet-<run id>`.
pub const UPLOAD_PREFIX: &str = "/tmp/photon-fleet-";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Install,
    /// Connect, read, plan; change nothing.
    DryRun,
    Status,
    Uninstall,
    /// Connect, read, say what an uninstall would do; change nothing.
    UninstallDryRun,
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

/// Where a host ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Installed,
    Upgraded,
    Replaced,
    Downgraded,
    Skipped,
    /// The VIB was there; vmdk-opsd was started.
    Started,
    /// A dry run: what would be done.
    Planned,
    /// Left alone: the plan refused it.
    Refused,
    Failed,
    Removed,
    NotInstalled,
    /// `esxi status`: read only.
    Status,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Installed => "installed",
            Outcome::Upgraded => "upgraded",
            Outcome::Replaced => "replaced",
            Outcome::Downgraded => "downgraded",
            Outcome::Skipped => "skipped",
            Outcome::Started => "started",
            Outcome::Planned => "planned",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
            Outcome::Removed => "removed",
            Outcome::NotInstalled => "not-installed",
            Outcome::Status => "status",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a host did not end where it should. The CLI adds what the user can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Failure {
    #[error("{0}")]
    HostKey(HostKeyProblem),
    /// Could not connect or log in.
    #[error("{error}")]
    Connect { error: String },
    #[error("'{cmd}' failed: {error} (connection lost or the host is too slow)")]
    Command { cmd: String, error: String },
    #[error("not an ESXi host ('vmware -vl' said: {said})")]
    NotEsxi { said: String },
    #[error("unexpected '{cmd}' output: {said}")]
    Output { cmd: String, said: String },
    #[error("{0}")]
    Refused(Refusal),
    #[error("could not set acceptance level {level}: {error}")]
    Acceptance { level: String, error: EsxcliError },
    #[error("cannot create {dir}: {said}")]
    Mkdir { dir: String, said: String },
    #[error("upload failed, nothing was installed: {error}")]
    Upload { error: String },
    #[error("the uploaded VIB's sha256 on the host is '{got}', not {want}: nothing was installed")]
    Checksum { got: String, want: String },
    #[error("removing {old} failed, the host is unchanged: {error}")]
    Remove { old: String, error: EsxcliError },
    #[error("install failed, the host is unchanged: {error}")]
    Install { error: EsxcliError },
    /// ESXi itself says the host is in an unfinished state.
    #[error("install failed and ESXi says the host must be rebooted: {error}")]
    InstallNeedsReboot { error: EsxcliError },
    #[error("REMOVED {old}, THEN THE INSTALL FAILED: the host has no vDVS driver now. {error}. Fix the cause and run the install again to get {target}, or reinstall {old} by hand")]
    RemovedThenFailed {
        old: String,
        target: String,
        error: EsxcliError,
    },
    #[error("esxcli did not install {id}: {message}")]
    NotInstalledByEsxcli { id: String, message: String },
    #[error("after the install the host reports {got} instead of {want}")]
    Version { got: String, want: String },
    #[error("{version} is installed but vmdk-opsd is not running: check /var/log/vmware/vmdk_ops.log on the host, then '/etc/init.d/vmdk-opsd start'")]
    ServiceDown { version: String },
    #[error("vmdk-opsd did not start (exit {code}: {said}): check /var/log/vmware/vmdk_ops.log on the host")]
    StartFailed { code: i32, said: String },
    #[error("remove failed: {error}")]
    Uninstall { error: EsxcliError },
    #[error("esxcli said it removed the VIB, but {version} is still installed")]
    StillInstalled { version: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub host: String,
    pub esxi: Option<String>,
    /// The vDVS VIB version before the run, and after it (re-read after any change).
    pub before: Option<String>,
    pub after: Option<String>,
    pub action: Option<Action>,
    pub result: Outcome,
    pub ok: bool,
    /// Why the host failed or was refused.
    pub failure: Option<Failure>,
    /// What happened, for people, when nothing failed.
    pub note: String,
    /// vmdk-opsd: `running` or `stopped` (none when the VIB is not installed).
    pub service: Option<String>,
    /// The host's acceptance level before, and after (changed only by `set_acceptance`).
    pub acceptance_before: Option<String>,
    pub acceptance_after: Option<String>,
    pub hostd_restarted: bool,
    pub recorded_host_key: Option<String>,
    /// Upload folders of earlier runs removed from /tmp.
    pub removed_leftovers: Vec<String>,
    /// What this run had to leave on the host (cleanup impossible); the next run removes it.
    pub left_on_host: Option<String>,
    pub seconds: f64,
}

impl HostReport {
    /// The report of a host that was not tried (nothing was sent to it).
    pub fn not_tried(t: &Target, failure: Failure) -> Self {
        Self {
            failure: Some(failure),
            ..Self::new(t)
        }
    }

    fn new(t: &Target) -> Self {
        Self {
            host: t.to_string(),
            esxi: None,
            before: None,
            after: None,
            action: None,
            result: Outcome::Failed,
            ok: false,
            failure: None,
            note: String::new(),
            service: None,
            acceptance_before: None,
            acceptance_after: None,
            hostd_restarted: false,
            recorded_host_key: None,
            removed_leftovers: Vec::new(),
            left_on_host: None,
            seconds: 0.0,
        }
    }
}

struct Host<'a> {
    t: &'a Target,
    conn: Connection,
    obs: &'a dyn Observer,
    /// Set once this run's upload folder may exist on the host.
    made_dir: std::cell::Cell<bool>,
}

/// What a host said, beyond the plan's facts.
struct Read {
    facts: HostFacts,
    /// `/tmp/photon-fleet-*` folders already there.
    leftovers: Vec<String>,
}

impl Host<'_> {
    fn run(&self, cmd: &str) -> Result<crate::session::Output, Failure> {
        self.conn.run(cmd).map_err(|e| Failure::Command {
            cmd: cmd.to_string(),
            error: e.to_string(),
        })
    }

    fn esxcli_change(&self, cmd: &str) -> Result<esxcli::ChangeResult, EsxcliError> {
        match self.run(cmd) {
            Ok(o) if o.code == 0 => esxcli::parse_result(&o.text).ok_or_else(|| EsxcliError {
                class: "Error".into(),
                message: format!("'{cmd}' printed no result block"),
                remedy: "see /var/log/esxupdate.log on the host".into(),
            }),
            Ok(o) => Err(esxcli::parse_error(&o.text)),
            Err(f) => Err(EsxcliError {
                class: "Connection".into(),
                message: f.to_string(),
                remedy: "check the host is reachable, then run again".into(),
            }),
        }
    }

    fn installed(&self) -> Result<Option<esxcli::InstalledVib>, Failure> {
        let cmd = format!("esxcli software vib get -n {VIB_NAME}");
        let o = self.run(&cmd)?;
        if o.code == 0 {
            return esxcli::parse_vib_get(&o.text)
                .map(Some)
                .ok_or_else(|| Failure::Output {
                    cmd,
                    said: first_line(&o.text).to_string(),
                });
        }
        let e = esxcli::parse_error(&o.text);
        if e.class == "NoMatchError" {
            Ok(None)
        } else {
            Err(Failure::Output {
                cmd,
                said: e.to_string(),
            })
        }
    }

    fn service_running(&self) -> Result<bool, Failure> {
        let o = self.run("/etc/init.d/vmdk-opsd status")?;
        Ok(o.code == 0 && esxcli::opsd_pid(&o.text).is_some())
    }

    fn acceptance(&self) -> Result<String, Failure> {
        Ok(self
            .run("esxcli software acceptance get")?
            .text
            .trim()
            .to_string())
    }

    fn read(&self) -> Result<Read, Failure> {
        self.obs.step(self.t, "reading state");
        let v = self.run("vmware -vl")?;
        let esxi = EsxiVersion::parse(&v.text).ok_or_else(|| Failure::NotEsxi {
            said: first_line(&v.text).to_string(),
        })?;
        let acceptance = self.acceptance()?;
        let installed = self.installed()?;
        let service_running = installed.is_some() && self.service_running()?;
        let ram = self.run("esxcli system visorfs ramdisk list")?;
        let listed = self.run(&format!(
            "for d in {UPLOAD_PREFIX}*; do [ -d \"$d\" ] && echo \"$d\"; done; :"
        ))?;
        Ok(Read {
            facts: HostFacts {
                esxi,
                acceptance,
                installed,
                tmp_free_kib: esxcli::tmp_free_kib(&ram.text),
                service_running,
            },
            leftovers: listed.text.lines().filter_map(upload_folder).collect(),
        })
    }
}

/// `line` when it is one of our upload folders (nothing else is ever removed).
fn upload_folder(line: &str) -> Option<String> {
    let id = line.trim().strip_prefix(UPLOAD_PREFIX)?;
    let ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then(|| line.trim().to_string())
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
        Err(crate::Error::HostKey(k)) => rep.failure = Some(Failure::HostKey(k)),
        Err(e) => {
            rep.failure = Some(Failure::Connect {
                error: e.to_string(),
            })
        }
        Ok(conn) => {
            rep.recorded_host_key = conn.recorded_key.clone();
            let h = Host {
                t,
                conn,
                obs,
                made_dir: std::cell::Cell::new(false),
            };
            if let Err(f) = work(&h, job, &mut rep) {
                rep.ok = false;
                if rep.result != Outcome::Refused {
                    rep.result = Outcome::Failed;
                }
                rep.failure = Some(f);
            }
            if h.made_dir.get() {
                clean_up(&h, cfg, job, &mut rep);
            }
        }
    }
    rep.seconds = start.elapsed().as_secs_f64();
    obs.done(t, &rep);
    rep
}

fn work(h: &Host, job: &Job, rep: &mut HostReport) -> Result<(), Failure> {
    let read = h.read()?;
    let facts = &read.facts;
    rep.esxi = Some(facts.esxi.version.clone());
    rep.before = facts.installed.as_ref().map(|i| i.version.clone());
    // Nothing has changed yet: until something does, after is before.
    rep.after = rep.before.clone();
    rep.acceptance_before = Some(facts.acceptance.clone());
    rep.acceptance_after = rep.acceptance_before.clone();
    rep.service = rep
        .before
        .as_ref()
        .map(|_| service_word(facts.service_running).into());
    match job.mode {
        Mode::Status => {
            rep.result = Outcome::Status;
            rep.ok = facts.service_running;
            rep.note = format!("{} ({})", facts.esxi.release, facts.esxi.build);
            if !read.leftovers.is_empty() {
                rep.note += &format!("; earlier uploads in /tmp: {}", read.leftovers.join(" "));
            }
            Ok(())
        }
        Mode::UninstallDryRun => {
            rep.ok = true;
            match &rep.before {
                None => {
                    rep.result = Outcome::NotInstalled;
                    rep.note = "nothing to remove".into();
                }
                Some(v) => {
                    rep.result = Outcome::Planned;
                    rep.after = None;
                    rep.note = format!("would remove {v}");
                }
            }
            Ok(())
        }
        Mode::Uninstall => uninstall(h, rep),
        Mode::Install | Mode::DryRun => {
            let (vib, bytes) = job.vib.ok_or(Failure::Output {
                cmd: "install".into(),
                said: "no VIB given".into(),
            })?;
            let p = plan::plan(facts, vib, &job.opts);
            rep.action = Some(p.action);
            rep.note = p.reason.clone();
            if let Some(why) = p.refusal.clone() {
                rep.result = Outcome::Refused;
                return Err(Failure::Refused(why));
            }
            if p.action == Action::Skip {
                rep.result = Outcome::Skipped;
                rep.ok = true;
                return Ok(());
            }
            if job.mode == Mode::DryRun {
                rep.result = Outcome::Planned;
                rep.after = Some(p.to.clone());
                rep.acceptance_after = p.set_acceptance.clone().or(rep.acceptance_after.take());
                rep.ok = true;
                if !read.leftovers.is_empty() {
                    rep.note += &format!(
                        "; would remove earlier uploads {}",
                        read.leftovers.join(" ")
                    );
                }
                return Ok(());
            }
            remove_leftovers(h, &read.leftovers, rep);
            install(h, job, &p, vib, bytes, rep)
        }
    }
}

fn service_word(running: bool) -> &'static str {
    if running {
        "running"
    } else {
        "stopped"
    }
}

/// Removes the upload folders earlier runs left (only those: `/tmp/photon-fleet-<id>`).
fn remove_leftovers(h: &Host, leftovers: &[String], rep: &mut HostReport) {
    if leftovers.is_empty() {
        return;
    }
    h.obs.step(h.t, "removing earlier uploads");
    if let Ok(o) = h.run(&format!("rm -rf {}", leftovers.join(" "))) {
        if o.code == 0 {
            rep.removed_leftovers = leftovers.to_vec();
        }
    }
}

/// After an install: this run's upload folder goes, whatever happened. When the
/// connection died, one new connection tries; failing that, the report says what stays.
fn clean_up(h: &Host, cfg: &ConnectConfig, job: &Job, rep: &mut HostReport) {
    let dir = format!("{UPLOAD_PREFIX}{}", job.run_id);
    let cmd = format!("rm -rf {dir}");
    let done = |c: &Connection| c.run(&cmd).is_ok_and(|o| o.code == 0);
    if !(done(&h.conn) || Connection::open(h.t, cfg).is_ok_and(|c| done(&c))) {
        rep.left_on_host = Some(dir);
    }
}

fn uninstall(h: &Host, rep: &mut HostReport) -> Result<(), Failure> {
    if rep.before.is_none() {
        rep.result = Outcome::NotInstalled;
        rep.ok = true;
        rep.note = "nothing to remove".into();
        return Ok(());
    }
    h.obs.step(h.t, "removing");
    h.esxcli_change(&format!("esxcli software vib remove -n {VIB_NAME}"))
        .map_err(|error| Failure::Uninstall { error })?;
    rep.after = h.installed()?.map(|i| i.version);
    if let Some(v) = &rep.after {
        return Err(Failure::StillInstalled { version: v.clone() });
    }
    rep.service = None;
    rep.result = Outcome::Removed;
    rep.ok = true;
    rep.note =
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
) -> Result<(), Failure> {
    if p.action == Action::StartService {
        h.obs.step(h.t, "starting vmdk-opsd");
        let o = h.run("/etc/init.d/vmdk-opsd start")?;
        if o.code != 0 {
            return Err(Failure::StartFailed {
                code: o.code,
                said: first_line(&o.text).to_string(),
            });
        }
        return verify(h, job, vib, rep, Outcome::Started);
    }
    if let Some(level) = &p.set_acceptance {
        h.obs.step(h.t, "setting acceptance");
        let o = h.run(&format!("esxcli software acceptance set --level={level}"))?;
        rep.acceptance_after = Some(h.acceptance()?);
        if o.code != 0 {
            return Err(Failure::Acceptance {
                level: level.clone(),
                error: esxcli::parse_error(&o.text),
            });
        }
    }
    let dir = format!("{UPLOAD_PREFIX}{}", job.run_id);
    let path = format!("{dir}/{}.vib", vib.id);
    h.obs.step(h.t, "uploading");
    h.made_dir.set(true);
    let o = h.run(&format!("mkdir -p {dir}"))?;
    if o.code != 0 {
        return Err(Failure::Mkdir {
            dir,
            said: first_line(&o.text).to_string(),
        });
    }
    h.conn.upload(&path, bytes).map_err(|e| Failure::Upload {
        error: e.to_string(),
    })?;
    let sum = h.run(&format!("sha256sum {path}"))?;
    let got = sum.text.split_whitespace().next().unwrap_or("");
    if got != vib.sha256 {
        return Err(Failure::Checksum {
            got: got.to_string(),
            want: vib.sha256.clone(),
        });
    }
    let mut removed = None;
    if p.action.removes_first() {
        h.obs.step(h.t, "removing old");
        let old = p.from.clone().unwrap_or_default();
        h.esxcli_change(&format!("esxcli software vib remove -n {VIB_NAME}"))
            .map_err(|error| Failure::Remove {
                old: old.clone(),
                error,
            })?;
        removed = Some(old);
    }
    h.obs.step(h.t, "installing");
    let sig = if !vib.signed && job.no_sig_check {
        " --no-sig-check"
    } else {
        ""
    };
    let installed = h.esxcli_change(&format!("esxcli software vib install{sig} -v {path}"));
    if installed.is_err() || removed.is_some() {
        // What the host holds now, whatever esxcli said.
        rep.after = h.installed().ok().flatten().map(|i| i.version);
    }
    match installed {
        Ok(r) if r.message == "Host is not changed." && removed.is_none() => {}
        Ok(r) if r.installed.iter().any(|i| i == &vib.id) => {}
        Ok(r) => {
            return Err(Failure::NotInstalledByEsxcli {
                id: vib.id.clone(),
                message: r.message,
            })
        }
        Err(error) => {
            return Err(match removed {
                Some(old) => Failure::RemovedThenFailed {
                    old,
                    target: vib.version.clone(),
                    error,
                },
                None if error.message.contains("reboot") => Failure::InstallNeedsReboot { error },
                None => Failure::Install { error },
            })
        }
    }
    if job.restart_hostd {
        h.obs.step(h.t, "restarting hostd");
        let o = h.run("/etc/init.d/hostd restart")?;
        rep.hostd_restarted = o.code == 0;
    }
    let done = match p.action {
        Action::Upgrade => Outcome::Upgraded,
        Action::Replace => Outcome::Replaced,
        Action::Downgrade => Outcome::Downgraded,
        _ => Outcome::Installed,
    };
    verify(h, job, vib, rep, done)
}

fn verify(
    h: &Host,
    job: &Job,
    vib: &VibFacts,
    rep: &mut HostReport,
    done: Outcome,
) -> Result<(), Failure> {
    h.obs.step(h.t, "verifying");
    rep.after = h.installed()?.map(|i| i.version);
    if rep.after.as_deref() != Some(vib.version.as_str()) {
        return Err(Failure::Version {
            got: rep.after.clone().unwrap_or_else(|| "no vDVS VIB".into()),
            want: vib.version.clone(),
        });
    }
    let running = h.service_running()?;
    rep.service = Some(service_word(running).into());
    if !running {
        return Err(Failure::ServiceDown {
            version: vib.version.clone(),
        });
    }
    rep.result = done;
    rep.ok = true;
    rep.note = if !job.restart_hostd && done != Outcome::Started {
        "esxcli storage guestvol appears after a hostd restart".into()
    } else {
        String::new()
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_upload_folders_count_as_leftovers() {
        assert_eq!(
            upload_folder("/tmp/photon-fleet-123-0a1b2c3d\n").as_deref(),
            Some("/tmp/photon-fleet-123-0a1b2c3d")
        );
        for other in [
            "/tmp/photon-fleet-",
            "/tmp/photon-fleet-*",
            "/tmp/photon-fleet-a b",
            "/tmp/photon-fleet-x;rm -rf /",
            "/tmp/vmware-root",
            "/tmp/photon-fleet-../etc",
        ] {
            assert_eq!(upload_folder(other), None, "{other}");
        }
    }
}
