//! deploy's report for people: where, the template, what is removed, and a line per VM.

use fleet::deploy::{DeployReport, TemplateAction, VmAction};
use indicatif::HumanBytes;
use std::fmt::Write as _;
use vsphere::inventory::NetworkKind;

pub fn text(r: &DeployReport) -> String {
    let p = &r.placement;
    let network = match &p.network_kind {
        NetworkKind::Standard => String::new(),
        NetworkKind::Distributed { .. } => " (distributed port group)".into(),
    };
    let hosts = match (p.drs, p.hosts.as_slice()) {
        (_, []) => String::new(),
        (true, [h]) => format!("\n  host        {}", h.name),
        (false, many) => format!(
            "\n  hosts       {} (DRS is off: the VMs are spread over them)",
            many.iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (true, many) => format!("\n  hosts       {}", many.len()),
    };
    let mut s = String::new();
    if r.standalone {
        s.push_str("standalone ESXi host (no vCenter): no templates or clones; the OVA is imported once as a base VM and each VM gets a copy of its disks\n");
    }
    s += &format!(
        "{}\n  OVA         {} (sha256 {})\n  datacenter  {}\n  compute     {}{hosts}\n  pool        {}\n  folder      {}\n  datastore   {}\n  network     {}{network}\n",
        r.vcenter, r.ova, r.ova_sha256, p.datacenter.name, p.compute.name, p.pool.name, p.vm_folder.name, p.datastore.name, p.network.name
    );
    let t = &r.plan;
    let how = match (
        &r.result.as_ref().and_then(|x| x.upload.as_ref()),
        t.template_action,
    ) {
        (Some(u), _) => format!(
            "imported: {} uploaded in {:.1} s ({:.1} MiB/s)",
            HumanBytes(u.bytes),
            u.seconds,
            u.bytes as f64 / 1048576.0 / u.seconds.max(0.001)
        ),
        (None, TemplateAction::Reuse) => "reused (same OVA sha256): no upload".into(),
        (None, TemplateAction::Import) => "to import".into(),
        (None, TemplateAction::ReplaceLeftover) => {
            "to import again, after removing the leftover below".into()
        }
        (None, TemplateAction::Mark) => "to mark as template".into(),
    };
    let kind = if r.standalone { "base VM " } else { "template" };
    let _ = writeln!(s, "  {kind}    {} ({how})", t.template);
    for gone in &t.remove {
        let _ = writeln!(
            s,
            "  {}      {} ({}): {}",
            if r.result.is_some() {
                "removed"
            } else {
                "remove "
            },
            gone.name,
            gone.power_state,
            gone.reason
        );
    }
    if let Some(u) = r.result.as_ref().and_then(|x| x.upload.as_ref()) {
        for w in &u.warnings {
            let _ = writeln!(s, "  warning     {w}");
        }
    }
    match &r.result {
        None => {
            for vm in &t.vms {
                let on = vm
                    .host
                    .as_ref()
                    .map(|h| format!(" on {}", h.name))
                    .unwrap_or_default();
                let _ = writeln!(s, "  {:<24} {}{on}", vm.name, action_word(vm.action));
            }
            s.push_str("dry run: nothing was changed\n");
        }
        Some(rep) => {
            let placed = rep.vms.iter().any(|v| v.host.is_some());
            let host_col = |h: &str| {
                if placed {
                    format!("{h:<16} ")
                } else {
                    String::new()
                }
            };
            let _ = writeln!(
                s,
                "\n{:<24} {:<10} {:<11} {:<16} {}{:>7}  RESULT",
                "VM",
                "ACTION",
                "POWER",
                "IP",
                host_col("HOST"),
                "SECONDS"
            );
            for v in &rep.vms {
                let _ = writeln!(
                    s,
                    "{:<24} {:<10} {:<11} {:<16} {}{:>7.1}  {}",
                    v.name,
                    action_word(v.action),
                    v.power_state,
                    v.ip.as_deref().unwrap_or("-"),
                    host_col(v.host.as_deref().unwrap_or("-")),
                    v.seconds,
                    v.error.as_deref().unwrap_or("ok")
                );
            }
        }
    }
    s
}

/// What the plan does with the template, in a word or two.
pub fn template_word(a: TemplateAction) -> &'static str {
    match a {
        TemplateAction::Reuse => "reuse",
        TemplateAction::Import => "import",
        TemplateAction::ReplaceLeftover => "import again, after removing a leftover",
        TemplateAction::Mark => "mark as template",
    }
}

pub fn action_word(a: VmAction) -> &'static str {
    match a {
        VmAction::Create => "create",
        VmAction::Exists => "exists",
        VmAction::PowerOn => "power-on",
        VmAction::ExistsOff => "exists",
    }
}
