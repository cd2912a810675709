//! `try`'s report for people: how it booted, first boot's lines, the verdict.

use fleet::trial::{Accel, TryReport, Verdict};

/// First boot's result, docker's and the plugin's state, as first boot reported them.
fn states(r: &TryReport) -> (&str, &str, &str) {
    match &r.result {
        Some(x) => (&x.result, &x.docker, &x.plugin),
        None => ("?", "?", "?"),
    }
}

/// The verdict in one line.
pub fn verdict(r: &TryReport) -> String {
    let (result, docker, plugin) = states(r);
    match &r.verdict {
        Verdict::Ready => format!(
            "{}: a working Docker host (first boot {result}, docker {docker}, plugin {plugin})",
            r.vm
        ),
        Verdict::NotReady => format!(
            "{}: not a working Docker host: first boot {result}, docker {docker}, plugin {plugin} (the lines above say why; journalctl -u photon-fleet-firstboot in the guest)",
            r.vm
        ),
        Verdict::CannotBoot { line, meaning } => format!(
            "{}: the disk does not boot: {meaning} (the console said: {line})",
            r.ova
        ),
        Verdict::TimedOut { seconds } => format!(
            "{}: first boot reported nothing within {seconds} s (is the serial console, console=ttyS0, on the kernel command line? raise --timeout on a slow machine)",
            r.vm
        ),
        Verdict::QemuEnded { status, stderr } => format!(
            "qemu ended ({status}) before first boot reported{}",
            if stderr.is_empty() {
                String::new()
            } else {
                format!(": {stderr}")
            }
        ),
    }
}

/// The report; `with_lines`: first boot's lines too (unless they were shown live).
pub fn text(r: &TryReport, with_lines: bool) -> String {
    let mut s = format!(
        "{} booted as {} under qemu ({}: {}; {} firmware; disk on {})\n",
        r.ova,
        r.vm,
        match r.accel.accel {
            Accel::Kvm => "KVM",
            Accel::Tcg => "TCG",
        },
        r.accel.why,
        r.firmware,
        r.disk_on
    );
    if with_lines {
        for line in &r.firstboot {
            s.push_str(&format!("  first boot: {line}\n"));
        }
    }
    if let Some(k) = &r.kept {
        s.push_str(&format!(
            "kept: {k} (boot it again: photon-fleet try --again {})\n",
            r.ova
        ));
    }
    s.push_str(&format!("{} ({} s)\n", verdict(r), r.seconds));
    s
}
