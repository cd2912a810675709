//! `photon-fleet ova pack DISK OUT.ova`: a disk into an OVA with the Docker-host profile.

use super::{human_bytes, vmdk_options};
use crate::cli::{FirmwareArg, PackArgs};
use crate::output::{usage, Context};
use crate::profile::{ovf_spec, BakedVersions, VmShape};
use anyhow::{Context as _, Result};
use ova::ovf::{Firmware, OvfDisk};
use serde::Serialize;

#[derive(Serialize)]
struct Report {
    ova: String,
    sha256: String,
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
    // Fail on a bad shape before spending minutes on the disk.
    ova::ovf::render(&ovf_spec(
        &shape,
        placeholder_disk(&disk_name),
        &BakedVersions::default(),
    ))?;

    let dir = super::folder_of(&a.output);
    let vmdk = tempfile::Builder::new()
        .prefix(".pack-")
        .suffix(".vmdk")
        .tempfile_in(dir)?;
    let opts = vmdk_options(&a.vmdk, &disk_name, true)?;
    let w = ova::vmdk::write_stream_optimized(src.as_ref(), vmdk.as_file(), &opts, &ctx.bars)
        .with_context(|| shown.clone())?;
    let disk = OvfDisk {
        file_name: disk_name.clone(),
        file_size: w.file_size,
        capacity: w.capacity,
        populated_size: w.populated_size,
    };
    let ovf = ova::ovf::render(&ovf_spec(&shape, disk, &BakedVersions::default()))?;
    let files = [ova::DiskFile {
        name: disk_name.clone(),
        path: vmdk.path().to_path_buf(),
        sha256: w.sha256.clone().unwrap_or_default(),
    }];
    // write_ova writes under a temporary name and renames when complete.
    let sha256 = ova::write_ova(&a.output, &ovf, &files, 0, &ctx.bars)
        .with_context(|| a.output.display().to_string())?;
    let report = Report {
        ova: a.output.display().to_string(),
        sha256,
        name: shape.name,
        disk: disk_name,
        capacity: w.capacity,
        populated_size: w.populated_size,
        size: std::fs::metadata(&a.output)?.len(),
    };
    ctx.emit(&report, || {
        format!(
            "{}: VM '{}', disk {} (capacity {}, data {}), {}\nsha256 {}\n",
            report.ova,
            report.name,
            report.disk,
            human_bytes(report.capacity),
            human_bytes(report.populated_size),
            human_bytes(report.size),
            report.sha256
        )
    })
}

fn placeholder_disk(name: &str) -> OvfDisk {
    OvfDisk {
        file_name: name.into(),
        file_size: 0,
        capacity: 0,
        populated_size: 0,
    }
}
