//! ssh-install / ssh-uninstall / esxi status for people: the table, and one line per
//! host with the reason and what to do about it (the library knows no flags; the remedy
//! is added here).

use esxi::host::{Failure, HostReport};
use esxi::plan::{Refusal, VibFacts};
use esxi::HostKeyProblem;
use fleet::install::FleetReport;
use serde::Serialize;
use std::fmt::Write as _;

/// A host's report as printed: the library's typed report, plus one line for people
/// (the failure with what to do about it, or the note).
#[derive(Serialize)]
struct HostView<'a> {
    #[serde(flatten)]
    report: &'a HostReport,
    message: String,
}

/// The run's report as printed: the library's, each host with its line for people.
#[derive(Serialize)]
pub struct FleetView<'a> {
    command: &'a str,
    vib: Option<&'a VibFacts>,
    ok: bool,
    hosts: Vec<HostView<'a>>,
}

pub fn view(r: &FleetReport) -> FleetView<'_> {
    FleetView {
        command: &r.command,
        vib: r.vib.as_ref(),
        ok: r.ok,
        hosts: r
            .hosts
            .iter()
            .map(|h| HostView {
                report: h,
                message: message(h),
            })
            .collect(),
    }
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

pub fn table(reports: &[HostReport]) -> String {
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
