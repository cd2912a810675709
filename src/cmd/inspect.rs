//! `photon-fleet inspect FILE`: by what the file is, an OVA (manifest verified), an OVF,
//! a disk, a VIB or offline bundle, a plugin bundle, or fleet.lock (files re-hashed).

use crate::cli::InspectArgs;
use crate::output::Context;
use crate::text::inspect::{
    disk_text, ova_text, ovf_text, raw_text, DiskReport, OvaReport, RawReport,
};
use anyhow::{Context as _, Result};
use ova::DiskFormat;
use std::path::Path;

pub fn run(ctx: &Context, a: &InspectArgs) -> Result<()> {
    let shown = a.file.display().to_string();
    let ext = a
        .file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if a.file.is_dir() || matches!(ext.as_deref(), Some("tar" | "tgz")) {
        return super::vib::inspect_plugin(ctx, &a.file).with_context(|| shown);
    }
    config::require_file(&a.file)?;
    if a.file
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".lock"))
    {
        return super::lock::inspect(ctx, &a.file).with_context(|| shown);
    }
    match ext.as_deref() {
        Some("vib" | "zip") => super::vib::inspect_vib(ctx, &a.file).with_context(|| shown),
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
            ova::vmdk::inflate_all(&image, &ctx.bars).with_context(|| href.clone())?;
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
            ova::vmdk::inflate_all(&image, &ctx.bars)?;
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
    ctx.emit(&report, || raw_text(&report))
}
