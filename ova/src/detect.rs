//! Opens a disk image file as a [`DiskSource`], whatever it is: a sparse VMDK
//! (stream-optimized or monolithic), a flat VMDK descriptor, or a raw image.

use crate::source::{DiskSource, FileWindow, RawDisk, ReadAt};
use crate::vmdk::header::{MAGIC, SECTOR};
use crate::vmdk::{Descriptor, VmdkImage};
use crate::{format_err, Error, Result};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiskFormat {
    SparseVmdk,
    FlatVmdk,
    Raw,
}

pub fn sniff(path: &Path) -> Result<DiskFormat> {
    let w = FileWindow::open(path)?;
    let mut head = [0u8; 21];
    let n = w.len().min(head.len() as u64) as usize;
    w.read_exact_at(&mut head[..n], 0)?;
    Ok(if head.starts_with(MAGIC) {
        DiskFormat::SparseVmdk
    } else if head.starts_with(b"# Disk DescriptorFile") {
        DiskFormat::FlatVmdk
    } else {
        DiskFormat::Raw
    })
}

/// Opens `path` as a virtual disk.
pub fn open_disk(path: &Path) -> Result<(DiskFormat, Box<dyn DiskSource>)> {
    let format = sniff(path)?;
    let src: Box<dyn DiskSource> = match format {
        DiskFormat::SparseVmdk => Box::new(VmdkImage::open(FileWindow::open(path)?)?),
        DiskFormat::FlatVmdk => Box::new(open_flat(path)?),
        DiskFormat::Raw if looks_like_sparse_vmdk_name(path) => {
            let mut head = [0u8; 4];
            let w = FileWindow::open(path)?;
            w.read_exact_at(&mut head[..w.len().min(4) as usize], 0)?;
            return Err(format_err!(
                "not a VMDK: bad magic {head:02x?} (expected \"KDMV\" or a text descriptor); if it is a raw disk, name it .raw or .img"
            ));
        }
        DiskFormat::Raw => {
            let raw = RawDisk::open(path)?;
            if raw.size() == 0 {
                return Err(Error::Invalid("the disk image is empty (0 bytes)".into()));
            }
            Box::new(raw)
        }
    };
    Ok((format, src))
}

/// `.vmdk` names a sparse or descriptor file, except a flat extent (`-flat.vmdk`), which is raw.
fn looks_like_sparse_vmdk_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    name.ends_with(".vmdk") && !name.ends_with("-flat.vmdk")
}

/// A monolithicFlat descriptor with one FLAT extent: the extent file is raw.
fn open_flat(path: &Path) -> Result<RawDisk> {
    let text =
        std::fs::read_to_string(path).map_err(|_| format_err!("VMDK descriptor is not text"))?;
    let d = Descriptor::parse(&text)?;
    let [ext] = d.extents.as_slice() else {
        return Err(Error::Unsupported(format!(
            "VMDK descriptor has {} extents; only single-extent flat disks are read (convert with qemu-img first)",
            d.extents.len()
        )));
    };
    if ext.kind != "FLAT" && ext.kind != "VMFS" {
        return Err(Error::Unsupported(format!(
            "VMDK extent type {} is not read (FLAT or VMFS only)",
            ext.kind
        )));
    }
    let extent_path = path.parent().unwrap_or(Path::new(".")).join(&ext.file);
    let file = File::open(&extent_path)
        .map_err(|e| format_err!("extent {}: {e}", extent_path.display()))?;
    let (start, len) = (ext.offset * SECTOR, ext.sectors * SECTOR);
    if file.metadata()?.len() < start + len {
        return Err(format_err!(
            "extent {} is shorter than the descriptor says ({len} bytes)",
            ext.file
        ));
    }
    Ok(RawDisk::from_window(FileWindow::new(
        Arc::new(file),
        start,
        len,
    )))
}
