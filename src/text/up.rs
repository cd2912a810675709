//! `up` and `status` for people: the plan (printed before anything changes), what was
//! done stage by stage, and the fleet's state against the lock.

use fleet::guests::GuestReport;
use fleet::image::ImageState;
use fleet::status::StatusReport;
use fleet::up::{UpPlan, UpReport};
use std::fmt::Write as _;

fn image_line(i: &ImageState) -> String {
    match i {
        ImageState::UpToDate { lock, .. } => format!("up to date ({lock})"),
        ImageState::Build { why } => format!("build-ova ({why})"),
    }
}

pub fn plan(p: &UpPlan) -> String {
    let mut s = format!("plan\n  image   {}\n", image_line(&p.image));
    let _ = writeln!(s, "  hosts   the VIB on every host of {}:", p.cluster);
    for h in &p.hosts {
        let what = match (&h.host.skipped, h.ssh_running, &h.install) {
            (true, _, _) => "skipped on request".to_string(),
            (_, Some(false), _) => "SSH stopped: start it, install, stop it again".into(),
            (_, _, Some(r)) if r.failure.is_some() => {
                format!(
                    "cannot be read: {}",
                    r.failure
                        .as_ref()
                        .map(|f| f.to_string())
                        .unwrap_or_default()
                )
            }
            (_, _, Some(r)) => format!(
                "{} ({} -> {})",
                r.action
                    .map_or("-".into(), |a| format!("{a:?}").to_lowercase()),
                r.before.as_deref().unwrap_or("none"),
                r.after.as_deref().unwrap_or("-")
            ),
            _ => "not read".into(),
        };
        let name = h.host.name.as_deref().unwrap_or("(fleet.toml)");
        let _ = writeln!(
            s,
            "          {:<18} {:<22} {what}",
            name,
            h.host.target.to_string()
        );
    }
    match &p.vms {
        Some(d) => {
            let t = &d.plan;
            let _ = writeln!(
                s,
                "  VMs     template {} ({})",
                t.template,
                super::deploy::template_word(t.template_action)
            );
            for v in &t.vms {
                let _ = writeln!(
                    s,
                    "          {:<24} {}",
                    v.name,
                    super::deploy::action_word(v.action)
                );
            }
        }
        None => {
            let _ = writeln!(s, "  VMs     after the build: {}", p.vm_names.join(", "));
        }
    }
    let _ = writeln!(
        s,
        "  guests  check {}: first boot done, docker active, the plugin enabled at the lock's version",
        p.vm_names.join(", ")
    );
    s
}

fn guests_table(guests: &[GuestReport]) -> String {
    let mut s = format!(
        "{:<24} {:<16} {:<10} {:<9} {:<26} RESULT\n",
        "VM", "IP", "FIRST BOOT", "DOCKER", "PLUGIN"
    );
    for g in guests {
        let plugin = g.plugin.as_ref().map_or("-".to_string(), |p| {
            format!(
                "{} {} {}",
                p.name,
                p.version.as_deref().unwrap_or("?"),
                if p.enabled { "enabled" } else { "disabled" }
            )
        });
        let _ = writeln!(
            s,
            "{:<24} {:<16} {:<10} {:<9} {:<26} {}",
            g.vm,
            g.address.as_deref().unwrap_or("-"),
            if g.first_boot_done {
                "done"
            } else {
                "not done"
            },
            g.docker.as_deref().unwrap_or("-"),
            plugin,
            if g.ok {
                "ok".to_string()
            } else {
                g.problems.join("; ")
            }
        );
    }
    s
}

pub fn report(r: &UpReport) -> String {
    if r.dry_run {
        return plan(&r.plan) + "dry run: nothing was changed\n";
    }
    let mut s = String::from("\n== image\n");
    match &r.built {
        Some(b) => s.push_str(&super::build::built(b)),
        None => s.push_str("up to date\n"),
    }
    if let Some(h) = &r.hosts {
        s.push_str("\n== hosts\n");
        s.push_str(&super::esxi::table(&h.hosts));
        for t in &r.ssh_started {
            let _ = writeln!(
                s,
                "{}: SSH started for the run, {}",
                t.host,
                if t.restored {
                    "stopped again"
                } else {
                    "COULD NOT BE STOPPED AGAIN: stop it in vCenter"
                }
            );
        }
    }
    if let Some(v) = &r.vms {
        s.push_str("\n== VMs\n");
        s.push_str(&super::deploy::text(v));
    }
    if !r.guests.is_empty() {
        s.push_str("\n== guests\n");
        s.push_str(&guests_table(&r.guests));
    }
    s.push_str(if r.ok {
        "\nthe fleet is up: every host carries the VIB, every VM is a working Docker host\n"
    } else {
        "\n"
    });
    s
}

/// The one line an `up` that did not finish ends with.
pub fn failure(r: &UpReport) -> String {
    let stage = r.stopped_at.unwrap_or("?");
    let why: Vec<String> = match stage {
        "hosts" => r
            .hosts
            .iter()
            .flat_map(|h| &h.hosts)
            .filter(|h| !h.ok)
            .map(|h| {
                format!(
                    "{} ({})",
                    h.host,
                    h.failure
                        .as_ref()
                        .map(|f| f.to_string())
                        .unwrap_or_default()
                )
            })
            .collect(),
        "vms" => r.vms.as_ref().map(|v| v.failed()).unwrap_or_default(),
        _ => r
            .guests
            .iter()
            .filter(|g| !g.ok)
            .map(|g| format!("{} ({})", g.vm, g.problems.join("; ")))
            .collect(),
    };
    let hint = if stage == "hosts" {
        "; no VM was touched: fix the hosts (or --skip-host, --enable-ssh) and run up again"
    } else {
        "; run up again to finish what is missing"
    };
    format!("up stopped at the {stage}: {}{hint}", why.join(", "))
}

pub fn status(r: &StatusReport) -> String {
    let mut s = format!(
        "{} (vDVS {})\n\n== ESXi hosts\n",
        r.lock,
        r.vdvs_release.as_deref().unwrap_or("?")
    );
    s.push_str(&super::esxi::table(&r.hosts.hosts));
    s.push_str("\n== VMs\n");
    let _ = writeln!(s, "{:<24} {:<11} {:<16} OVA", "VM", "POWER", "IP");
    for v in &r.vms {
        let ova = match (&v.ova_sha256, v.current) {
            (_, true) => "the lock's".to_string(),
            (Some(sha), false) => format!("ANOTHER ({})", &sha[..sha.len().min(12)]),
            (None, _) => "-".into(),
        };
        let _ = writeln!(
            s,
            "{:<24} {:<11} {:<16} {ova}",
            v.name,
            v.power,
            v.ip.as_deref().unwrap_or("-")
        );
    }
    s.push_str("\n== guests\n");
    s.push_str(&guests_table(&r.guests));
    if r.differences.is_empty() {
        s.push_str("\neverything matches fleet.lock\n");
    } else {
        s.push_str("\ndifferences from fleet.lock:\n");
        for d in &r.differences {
            let _ = writeln!(s, "  {d}");
        }
    }
    s
}
