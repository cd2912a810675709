//! `inspect`'s reports and their text: OVA, OVF, disks.

use indicatif::HumanBytes;
use ova::ovf::OvfInfo;
use ova::vmdk::VmdkFacts;
use ova::DiskFormat;
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Serialize)]
pub struct DiskReport {
    pub file: String,
    #[serde(flatten)]
    pub facts: VmdkFacts,
    /// Set by --deep: every grain inflated without error.
    pub grains_verified: bool,
}

#[derive(Serialize)]
pub struct OvaReport {
    pub kind: &'static str,
    pub file: String,
    pub size: u64,
    pub members: Vec<ova::archive::Member>,
    pub verified: ova::archive::Verified,
    pub ovf: OvfInfo,
    pub disks: Vec<DiskReport>,
}

#[derive(Serialize)]
pub struct RawReport {
    pub kind: &'static str,
    pub file: String,
    pub format: DiskFormat,
    pub capacity: u64,
    pub stored: u64,
}

pub fn raw_text(r: &RawReport) -> String {
    format!(
        "{}: {:?} disk, capacity {}, {} stored\n",
        r.file,
        r.format,
        HumanBytes(r.capacity),
        HumanBytes(r.stored)
    )
}

pub fn disk_text(d: &DiskReport) -> String {
    let f = &d.facts;
    format!(
        "{}: sparse VMDK v{} ({}), capacity {}, {} grains of {} allocated ({} of data), file {}{}, adapter {}, hw {}{}\n",
        d.file,
        f.version,
        if f.create_type.is_empty() { "no descriptor" } else { &f.create_type },
        HumanBytes(f.capacity),
        f.allocated_grains,
        HumanBytes(f.grain_size * 512),
        HumanBytes(f.populated_size),
        HumanBytes(f.file_size),
        if f.compressed { ", deflate-compressed" } else { "" },
        f.adapter_type.as_deref().unwrap_or("-"),
        f.hw_version.as_deref().unwrap_or("-"),
        if d.grains_verified { ", every grain verified" } else { "" },
    )
}

pub fn ovf_text(o: &OvfInfo) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "VM          {} ({}, {}, {} CPU, {} MB, firmware {})",
        o.name,
        o.os_type.as_deref().unwrap_or("unknown OS"),
        o.hardware_versions.join(" "),
        o.cpus.map_or("?".into(), |c| c.to_string()),
        o.memory_mb.map_or("?".into(), |m| m.to_string()),
        o.firmware.as_deref().unwrap_or("bios")
    );
    let _ = writeln!(
        s,
        "Networks    {} (NICs: {})",
        o.networks.join(", "),
        o.nic_types.join(", ")
    );
    if let Some(p) = &o.product {
        let _ = writeln!(
            s,
            "Product     {p} {}",
            o.product_version.as_deref().unwrap_or("")
        );
    }
    for p in &o.properties {
        let how = if p.user_configurable {
            "set per VM"
        } else {
            "read-only"
        };
        let _ = writeln!(s, "Property    {} = {:?} ({how})", p.key, p.value);
    }
    s
}

pub fn ova_text(r: &OvaReport) -> String {
    let mut s = format!(
        "OVA         {} ({} members, {})\n",
        r.file,
        r.members.len(),
        HumanBytes(r.size)
    );
    match &r.verified.manifest {
        Some(mf) => {
            let algos: std::collections::BTreeSet<_> =
                r.verified.checked.iter().map(|(_, a)| a.name()).collect();
            let _ = writeln!(
                s,
                "Manifest    {mf}: {} files verified ({}), sha256 {}",
                r.verified.checked.len(),
                algos.into_iter().collect::<Vec<_>>().join(", "),
                r.verified.manifest_sha256.as_deref().unwrap_or("-")
            );
        }
        None => s.push_str("Manifest    none\n"),
    }
    s.push_str(&ovf_text(&r.ovf));
    for (i, d) in r.disks.iter().enumerate() {
        let _ = write!(s, "Disk {:<6} {}", i + 1, disk_text(d));
    }
    for w in &r.verified.warnings {
        let _ = writeln!(s, "Warning     {w}");
    }
    for u in &r.verified.unlisted {
        let _ = writeln!(s, "Warning     {u} is not covered by the manifest");
    }
    s
}
