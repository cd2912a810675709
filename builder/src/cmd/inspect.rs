//! `photon-fleet inspect FILE`: OVA (manifest verified), OVF, or disk facts.

use super::human_bytes;
use crate::cli::InspectArgs;
use crate::output::Context;
use anyhow::{Context as _, Result};
use ova::ovf::OvfInfo;
use ova::vmdk::VmdkFacts;
use ova::{DiskFormat, DiskSource, Progress};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Serialize)]
struct DiskReport {
    file: String,
    #[serde(flatten)]
    facts: VmdkFacts,
    /// Set by --deep: every grain inflated without error.
    grains_verified: bool,
}

#[derive(Serialize)]
struct OvaReport {
    kind: &'static str,
    file: String,
    size: u64,
    members: Vec<ova::archive::Member>,
    verified: ova::archive::Verified,
    ovf: OvfInfo,
    disks: Vec<DiskReport>,
}

#[derive(Serialize)]
struct RawReport {
    kind: &'static str,
    file: String,
    format: DiskFormat,
    capacity: u64,
    stored: u64,
}

pub fn run(ctx: &Context, a: &InspectArgs) -> Result<()> {
    let shown = a.file.display().to_string();
    let ext = a
        .file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if a.file.is_dir() || matches!(ext.as_deref(), Some("tar" | "tgz")) {
        return super::vdvs::inspect_plugin(ctx, &a.file).with_context(|| shown);
    }
    if a.file
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".lock"))
    {
        return super::vdvs::inspect_lock(ctx, &a.file).with_context(|| shown);
    }
    match ext.as_deref() {
        Some("vib" | "zip") => super::vdvs::inspect_vib(ctx, &a.file).with_context(|| shown),
        Some("ova") => inspect_ova(ctx, &a.file, a.deep).with_context(|| shown),
        Some("ovf") => {
            let text = std::fs::read_to_string(&a.file).with_context(|| shown.clone())?;
            let info = ova::ovf::parse(&text).with_context(|| shown.clone())?;
            ctx.emit(&info, || ovf_text(&info))
        }
        _ => inspect_disk(ctx, &a.file, a.deep).with_context(|| shown),
    }
}

fn inspect_ova(ctx: &Context, path: &Path, deep: bool) -> Result<()> {
    let archive = ova::Ova::open(path)?;
    let (ovf, verified) = archive.verify(&ctx.bars)?;
    let mut disks = Vec::new();
    for d in &ovf.disks {
        let Some(href) = &d.href else { continue };
        let image = archive.disk(href)?;
        let facts = image.facts().with_context(|| href.clone())?;
        if deep {
            inflate_all(&image, &ctx.bars).with_context(|| href.clone())?;
        }
        disks.push(DiskReport {
            file: href.clone(),
            facts,
            grains_verified: deep,
        });
    }
    let report = OvaReport {
        kind: "ova",
        file: path.display().to_string(),
        size: std::fs::metadata(path)?.len(),
        members: archive.members().to_vec(),
        verified,
        ovf,
        disks,
    };
    ctx.emit(&report, || ova_text(&report))
}

fn inspect_disk(ctx: &Context, path: &Path, deep: bool) -> Result<()> {
    let (format, src) = ova::open_disk(path)?;
    if format == DiskFormat::SparseVmdk {
        let image = ova::vmdk::VmdkImage::open(ova::FileWindow::open(path)?)?;
        let facts = image.facts()?;
        if deep {
            inflate_all(&image, &ctx.bars)?;
        }
        let report = DiskReport {
            file: path.display().to_string(),
            facts,
            grains_verified: deep,
        };
        return ctx.emit(&report, || disk_text(&report));
    }
    let report = RawReport {
        kind: "disk",
        file: path.display().to_string(),
        format,
        capacity: src.size(),
        stored: src.stored_hint(),
    };
    ctx.emit(&report, || {
        format!(
            "{}: {:?} disk, capacity {}, {} stored\n",
            report.file,
            report.format,
            human_bytes(report.capacity),
            human_bytes(report.stored)
        )
    })
}

/// Reads every allocated grain (inflating compressed ones), failing on the first bad one.
fn inflate_all(src: &dyn DiskSource, progress: &dyn Progress) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    progress.stage("inflate grains", src.size());
    let mut pos = 0;
    while let Some(at) = src.next_data(pos)? {
        let start = at - at % buf.len() as u64;
        let n = (src.size() - start).min(buf.len() as u64) as usize;
        src.read_at(&mut buf[..n], start)?;
        progress.advance(start + n as u64 - pos);
        pos = start + n as u64;
    }
    progress.done();
    Ok(())
}

fn disk_text(d: &DiskReport) -> String {
    let f = &d.facts;
    format!(
        "{}: sparse VMDK v{} ({}), capacity {}, {} grains of {} allocated ({} of data), file {}{}, adapter {}, hw {}{}\n",
        d.file,
        f.version,
        if f.create_type.is_empty() { "no descriptor" } else { &f.create_type },
        human_bytes(f.capacity),
        f.allocated_grains,
        human_bytes(f.grain_size * 512),
        human_bytes(f.populated_size),
        human_bytes(f.file_size),
        if f.compressed { ", deflate-compressed" } else { "" },
        f.adapter_type.as_deref().unwrap_or("-"),
        f.hw_version.as_deref().unwrap_or("-"),
        if d.grains_verified { ", every grain verified" } else { "" },
    )
}

fn ovf_text(o: &OvfInfo) -> String {
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

fn ova_text(r: &OvaReport) -> String {
    let mut s = format!(
        "OVA         {} ({} members, {})\n",
        r.file,
        r.members.len(),
        human_bytes(r.size)
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
