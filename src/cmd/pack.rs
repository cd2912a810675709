//! `photon-fleet ova pack DISK OUT.ova`: a disk into an OVA with the Docker-host profile.

use super::vmdk_options;
use crate::cli::{FirmwareArg, PackArgs};
use crate::output::{usage, Context};
use anyhow::{Context as _, Result};
use builder::profile::{ovf_spec, BakedVersions, VmShape};
use indicatif::HumanBytes;
use ova::ovf::{Firmware, OvfDisk};
use serde::Serialize;

#[derive(Serialize)]
struct Report {
    ova: String,
    /// SHA-256 of the OVA's manifest, which lists the digest of every other member.
    manifest_sha256: String,
    name: String,
    disk: String,
    capacity: u64,
    populated_size: u64,
    size: u64,
}

pub fn run(ctx: &Context, a: &PackArgs) -> Result<()> {
    let stem = a
        .output
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|_| a.output.extension().is_some_and(|e| e == "ova"))
        .ok_or_else(|| {
            usage(format!(
                "{}: the output must be a .ova file",
                a.output.display()
            ))
        })?;
    super::refuse_existing(&a.output, a.force)?;
    let shape = VmShape {
        name: a.name.clone().unwrap_or_else(|| stem.to_string()),
        cpus: a.cpus,
        memory_mb: a.memory,
        hw_version: a.hw_version,
        network: a.network.clone(),
        firmware: match a.firmware {
            FirmwareArg::Efi => Firmware::Efi,
            FirmwareArg::Bios => Firmware::Bios,
        },
    };
    let disk_name = format!("{stem}-disk1.vmdk");
    ova::ovf::check_member_name(&disk_name)?;
    let shown = a.disk.display().to_string();
    let (_, src) = ova::open_disk(&a.disk).with_context(|| shown.clone())?;
    let opts = vmdk_options(&a.vmdk, &disk_name, ova::vmdk::AdapterType::Pvscsi)?;
    let ovf = |disk: &OvfDisk| {
        ova::ovf::render(&ovf_spec(&shape, disk.clone(), &BakedVersions::default()))
    };
    // write_ova renders the descriptor once before the disk (a bad shape fails at once)
    // and writes under a temporary name that it renames when complete.
    let w = ova::write_ova(&a.output, src.as_ref(), &opts, 0, &ovf, &ctx.bars)
        .with_context(|| format!("{shown} -> {}", a.output.display()))?;
    let report = Report {
        ova: a.output.display().to_string(),
        manifest_sha256: w.manifest_sha256,
        name: shape.name,
        disk: disk_name,
        capacity: w.disk.capacity,
        populated_size: w.disk.populated_size,
        size: w.size,
    };
    ctx.emit(&report, || {
        format!(
            "{}: VM '{}', disk {} (capacity {}, data {}), {}\nmanifest sha256 {}\n",
            report.ova,
            report.name,
            report.disk,
            HumanBytes(report.capacity),
            HumanBytes(report.populated_size),
            HumanBytes(report.size),
            report.manifest_sha256
        )
    })
}
