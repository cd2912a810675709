//! `photon-fleet try` as a function: boot an OVA's disk under qemu on this machine and
//! report what first boot did. The disk is read in place from the OVA behind a qcow2
//! overlay (the OVA is never written); the VM's values reach it on an OVF environment
//! CD-ROM (the OVF standard's ISO transport), taken from `--set` and fleet.toml's [[vm]]
//! exactly as deploy takes them; the serial console is followed until first boot's result
//! line, then qemu is stopped. [`run`] takes typed [`TryInputs`] and returns a
//! [`TryReport`]; qemu is killed and the temporary folder removed however it ends.

pub mod console;
pub mod qemu;
mod state;

use crate::deploy::{check_ova, wanted_vms, CheckedOva, DeployInputs};
use crate::{bad, Result};
use anyhow::Context as _;
use config::Fleet;
pub use console::FirstBootResult;
use console::Line;
pub use qemu::{Accel, AccelChoice, AccelWish};
use serde::Serialize;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the user asked for that cannot be done, typed so the CLI can name the flag that
/// changes it.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("KVM cannot be used: {why}")]
    KvmUnusable { why: String },
    #[error("{}: no kept boot of this OVA", .dir.display())]
    NoKeptBoot { dir: PathBuf },
    #[error("{ova}: changed since the boot kept in {}", .dir.display())]
    OvaChanged { ova: String, dir: PathBuf },
}

/// What `try` is asked to do.
#[derive(Default)]
pub struct TryInputs<'a> {
    pub ova: PathBuf,
    /// fleet.toml: its [[vm]] entries and [network] give the VM's values, as for deploy.
    pub fleet: Option<&'a Fleet>,
    /// Which [[vm]] entry to be (default: the first).
    pub vm: Option<String>,
    /// `KEY=VALUE` property values.
    pub set: Vec<String>,
    pub accel: AccelWish,
    pub timeout: Duration,
    /// Keep the overlay (`<ova>.try/`) for `again`.
    pub keep: bool,
    /// Boot the kept overlay once more instead of a fresh one.
    pub again: bool,
    /// Follow the console until the guest powers itself off, not just to first boot's
    /// result (for images that report and shut down, like the boot test's).
    pub until_poweroff: bool,
    /// Also write the whole serial console here.
    pub console_log: Option<PathBuf>,
}

/// How the boot ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// First boot done (now, or on an earlier boot), docker running, the plugin enabled.
    Ready,
    /// First boot reported, but the host is not a working Docker host.
    NotReady,
    /// The firmware, boot loader or kernel gave up: what it printed, and what that means.
    CannotBoot { line: String, meaning: String },
    /// No result from first boot within the timeout.
    TimedOut { seconds: u64 },
    /// qemu ended before first boot reported.
    QemuEnded { status: String, stderr: String },
}

#[derive(Debug, Serialize)]
pub struct TryReport {
    pub ova: String,
    pub vm: String,
    pub accel: AccelChoice,
    pub firmware: String,
    /// The controller the disk is on.
    pub disk_on: String,
    /// The OVF environment the guest got (password properties' values hidden).
    pub values: Vec<(String, String)>,
    /// First boot's lines as it printed them on the console.
    pub firstboot: Vec<String>,
    pub result: Option<FirstBootResult>,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub seconds: u64,
    /// The kept overlay's folder (`--keep`, `--again`).
    pub kept: Option<String>,
}

impl TryReport {
    pub fn ok(&self) -> bool {
        matches!(self.verdict, Verdict::Ready)
    }
}

/// What `run` tells as it goes.
pub trait Watch: Sync {
    /// A step before the boot (checking the OVA, making the overlay).
    fn step(&self, what: &str);
    /// A first-boot line as it appears on the console.
    fn firstboot(&self, line: &str);
}

/// The guest's OVF environment: every ProductSection property at its OVF default,
/// overridden by the VM's values as deploy computes them.
fn environment(i: &TryInputs, ova: &CheckedOva) -> Result<(String, Vec<(String, String)>)> {
    let d = DeployInputs {
        fleet: i.fleet,
        set: i.set.clone(),
        ..Default::default()
    };
    let vms = wanted_vms(&d, &ova.info)?;
    let spec = match &i.vm {
        Some(name) => vms.iter().find(|v| &v.name == name).ok_or_else(|| {
            let names: Vec<&str> = vms.iter().map(|v| v.name.as_str()).collect();
            bad(format!(
                "no VM named '{name}' in the fleet file (it has: {})",
                names.join(", ")
            ))
        })?,
        None => vms.first().context("no VM to be")?,
    };
    let mut values: Vec<(String, String)> = ova
        .info
        .properties
        .iter()
        .map(|p| (p.key.clone(), p.value.clone()))
        .collect();
    for (k, v) in &spec.values {
        match values.iter_mut().find(|(dk, _)| dk == k) {
            Some(slot) => slot.1 = v.clone(),
            None => values.push((k.clone(), v.clone())),
        }
    }
    Ok((spec.name.clone(), values))
}

/// Boots the OVA and reports.
pub fn run(i: &TryInputs, progress: &dyn ova::Progress, watch: &dyn Watch) -> Result<TryReport> {
    if i.timeout.is_zero() {
        return Err(bad("the timeout must be at least 1 second"));
    }
    let accel = qemu::choose(i.accel).map_err(|why| InputError::KvmUnusable { why })?;
    watch.step("checking the OVA");
    let ova = check_ova(&i.ova, None, progress)?;
    let (vm, values) = environment(i, &ova)?;
    let disk = ova.info.disks.first().context("the OVF has no disk")?;
    let href = disk
        .href
        .as_deref()
        .ok_or_else(|| bad(format!("{}: the first disk has no file", ova.shown)))?;
    let member = ova
        .archive
        .member(href)
        .ok_or_else(|| bad(format!("{}: no member {href}", ova.shown)))?;
    let ovmf = if qemu::Machine::wants_efi(&ova.info) {
        Some(qemu::ovmf().ok_or_else(|| {
            bad("the OVF asks for EFI firmware and OVMF is not installed (apt-get install ovmf)")
        })?)
    } else {
        None
    };

    watch.step("preparing the overlay");
    let place = state::Place::open(i, &ova)?;
    let overlay = place.dir.join(state::OVERLAY);
    if !i.again {
        state::create_overlay(&i.ova, member.offset, member.size, &overlay)?;
        place.record(&ova.sha256)?;
    }
    let mut machine = qemu::Machine::from_ovf(&ova.info, accel.accel, overlay);
    let firmware = if ovmf.is_some() { "efi" } else { "bios" };
    let efi = match ovmf {
        Some((code, vars_template)) => {
            let vars = place.dir.join(state::VARS);
            if !vars.exists() {
                std::fs::copy(&vars_template, &vars)
                    .with_context(|| format!("copying {}", vars_template.display()))?;
            }
            Some((code, vars))
        }
        None => None,
    };
    let disk_on = machine.for_firmware(efi);
    let xml = ova::ovf::env::render(&vm, "qemu (photon-fleet try)", &values);
    let iso = place.dir.join(state::ENV_ISO);
    builder::iso::ovf_env_iso(&xml, &iso)?;
    machine.env_iso = Some(iso);

    watch.step(match accel.accel {
        Accel::Kvm => "booting under qemu (KVM)",
        Accel::Tcg => "booting under qemu (TCG)",
    });
    let started = Instant::now();
    let followed = follow(i, &machine, &place.dir, watch)?;
    let shown_values = hide_secrets(&values, &ova.info);
    Ok(TryReport {
        ova: ova.shown,
        vm,
        accel,
        firmware: firmware.into(),
        disk_on,
        values: shown_values,
        firstboot: followed.lines,
        result: followed.result,
        verdict: followed.verdict,
        seconds: started.elapsed().as_secs(),
        kept: place.kept(),
    })
}

/// `values` for the report: a password property's value (`ovf:password="true"`) hidden.
fn hide_secrets(values: &[(String, String)], info: &ova::ovf::OvfInfo) -> Vec<(String, String)> {
    values
        .iter()
        .map(|(k, v)| {
            let secret = info.property(k).is_some_and(|p| p.password);
            let v = if secret && !v.is_empty() {
                "(hidden)"
            } else {
                v
            };
            (k.clone(), v.to_string())
        })
        .collect()
}

struct Followed {
    lines: Vec<String>,
    result: Option<FirstBootResult>,
    verdict: Verdict,
}

/// qemu-system-x86_64, or the one `PHOTON_FLEET_QEMU` names.
fn qemu_binary() -> String {
    std::env::var("PHOTON_FLEET_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into())
}

/// Runs qemu and reads its console until a verdict; qemu is always gone afterwards.
fn follow(i: &TryInputs, m: &qemu::Machine, dir: &Path, watch: &dyn Watch) -> Result<Followed> {
    let bin = qemu_binary();
    let child = Command::new(&bin)
        .args(qemu::args(m))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            bad(format!(
                "cannot run {bin}: {e} (install qemu-system-x86: scripts/install-deps)"
            ))
        })?;
    let child = Arc::new(Mutex::new(child));
    let kill = {
        let child = Arc::clone(&child);
        move || {
            let mut c = child.lock().unwrap_or_else(|p| p.into_inner());
            let _ = c.kill();
            let _ = c.wait();
        }
    };
    let _killed_on_interrupt = plumbing::interrupt::on_interrupt(kill.clone());
    let (stdout, mut stderr) = {
        let mut c = child.lock().unwrap_or_else(|p| p.into_inner());
        (
            c.stdout.take().context("qemu's stdout")?,
            c.stderr.take().context("qemu's stderr")?,
        )
    };
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut stdout = stdout;
        let mut buf = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut log = std::fs::File::create(dir.join(state::CONSOLE))
        .with_context(|| format!("{}: cannot write the console log", dir.display()))?;
    let mut copy = match &i.console_log {
        Some(p) => Some(
            std::fs::File::create(p)
                .with_context(|| format!("{}: cannot write the console log", p.display()))?,
        ),
        None => None,
    };
    let deadline = Instant::now() + i.timeout;
    let mut pending: Vec<u8> = Vec::new();
    let mut out = Followed {
        lines: Vec::new(),
        result: None,
        verdict: Verdict::TimedOut {
            seconds: i.timeout.as_secs(),
        },
    };
    let mut decided = false;
    let mut ended = false;
    while !decided {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        match rx.recv_timeout((deadline - now).min(Duration::from_secs(2))) {
            Ok(bytes) => {
                log.write_all(&bytes)?;
                if let Some(c) = copy.as_mut() {
                    c.write_all(&bytes)?;
                }
                pending.extend_from_slice(&bytes);
                while let Some(at) = pending.iter().position(|b| *b == b'\n') {
                    let raw: Vec<u8> = pending.drain(..=at).collect();
                    if let Some(v) = take_line(&console::clean(&raw), &mut out, i, watch) {
                        out.verdict = v;
                        decided = true;
                        break;
                    }
                }
            }
            // Quiet for a moment: a prompt without a newline ("Shell> ") may be waiting.
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Line::CannotBoot(line, meaning) =
                    console::classify(&console::clean(&pending))
                {
                    out.verdict = Verdict::CannotBoot {
                        line,
                        meaning: meaning.into(),
                    };
                    decided = true;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                ended = true;
                break;
            }
        }
    }
    // Ctrl-C/SIGTERM killed qemu: the handler is exiting, nothing to report.
    plumbing::interrupt::wait_if_undoing();
    if !ended {
        kill();
    }
    let status = {
        let mut c = child.lock().unwrap_or_else(|p| p.into_inner());
        c.wait().map(|s| s.to_string()).unwrap_or_default()
    };
    let stderr = errors.join().unwrap_or_default();
    if ended && !decided {
        out.verdict = match &out.result {
            Some(r) if r.ready() => Verdict::Ready,
            Some(_) => Verdict::NotReady,
            None => Verdict::QemuEnded {
                status,
                stderr: stderr.lines().last().unwrap_or_default().to_string(),
            },
        };
    }
    Ok(out)
}

/// Takes one console line; a verdict when it ends the run.
fn take_line(line: &str, out: &mut Followed, i: &TryInputs, watch: &dyn Watch) -> Option<Verdict> {
    match console::classify(line) {
        Line::FirstBoot(text) => {
            watch.firstboot(&text);
            out.lines.push(text);
            None
        }
        Line::Result(r) => {
            watch.firstboot(&format!(
                "result={} docker={} plugin={}",
                r.result, r.docker, r.plugin
            ));
            let verdict = if r.ready() {
                Verdict::Ready
            } else {
                Verdict::NotReady
            };
            out.result = Some(r);
            // Following on to the power-off: the verdict waits for qemu to end.
            (!i.until_poweroff).then_some(verdict)
        }
        // Before first boot reported; afterwards (an image powering off) it is no news.
        Line::CannotBoot(line, meaning) if out.result.is_none() => Some(Verdict::CannotBoot {
            line,
            meaning: meaning.into(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_properties_are_hidden_in_the_report() {
        let info = ova::ovf::parse(
            r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References/>
  <VirtualSystem ovf:id="vm">
    <ProductSection>
      <Property ovf:key="hostname" ovf:type="string" ovf:userConfigurable="true" ovf:value=""/>
      <Property ovf:key="root.password" ovf:type="string" ovf:password="true" ovf:userConfigurable="true" ovf:value=""/>
    </ProductSection>
  </VirtualSystem>
</Envelope>"#,
        )
        .unwrap();
        let values = vec![
            ("hostname".to_string(), "dh-01".to_string()),
            ("root.password".to_string(), "s3cret".to_string()),
        ];
        assert_eq!(
            hide_secrets(&values, &info),
            vec![
                ("hostname".to_string(), "dh-01".to_string()),
                ("root.password".to_string(), "(hidden)".to_string()),
            ]
        );
    }
}
