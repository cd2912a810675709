//! Writing an OVA: a tar with the `.ovf` first, then the `.mf`, then the disk, as
//! ovftool writes it. The streamOptimized disk is deflated straight into its place in
//! the archive (no VMDK file first, no copy afterwards); the descriptor and manifest,
//! which need the disk's size and digest, go into room kept for them in front once the
//! disk is done. Reproducible (fixed mtime, owner 0/0, mode 0644, fixed order) and
//! written under a temporary name that is renamed only once the archive is complete.

use crate::manifest::{sha256_hex, Manifest};
use crate::ovf::{self, OvfDisk};
use crate::progress::Progress;
use crate::source::DiskSource;
use crate::vmdk::{self, WriteOptions, WriteReport};
use crate::writeback::Writeback;
use crate::{Error, Result};
use std::os::unix::fs::FileExt;
use std::path::Path;

const BLOCK: u64 = 512;

/// What [`write_ova`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    pub disk: WriteReport,
    /// SHA-256 of the `.mf` member: the manifest lists the digest of every other member,
    /// so this one digest pins the whole package (it is what an OVF certificate signs).
    pub manifest_sha256: String,
    /// Bytes of the whole archive.
    pub size: u64,
}

/// Writes `out` as an OVA holding `src` as a streamOptimized disk named
/// `opts.file_name`, described by `ovf_for(disk)` (called once with upper bounds to
/// size the descriptor's room, once with the real figures). `mtime` is stamped on
/// every member.
pub fn write_ova(
    out: &Path,
    src: &dyn DiskSource,
    opts: &WriteOptions,
    mtime: u64,
    ovf_for: &dyn Fn(&OvfDisk) -> Result<String>,
    progress: &dyn Progress,
) -> Result<Written> {
    let stem = out.file_stem().and_then(|s| s.to_str()).ok_or_else(|| {
        Error::Invalid(format!(
            "{}: the OVA needs a plain file name",
            out.display()
        ))
    })?;
    let (ovf_name, mf_name) = (format!("{stem}.ovf"), format!("{stem}.mf"));
    for name in [&ovf_name, &opts.file_name] {
        ovf::check_member_name(name)?;
    }
    // Room for the descriptor: rendered with the largest figures the disk can have.
    let capacity = src.size().div_ceil(BLOCK) * BLOCK;
    let widest = OvfDisk {
        file_name: opts.file_name.clone(),
        file_size: u64::MAX,
        capacity,
        populated_size: capacity,
    };
    let ovf_room = blocks(ovf_for(&widest)?.len() as u64);
    // Digests are fixed-length hex, so any stand-in gives the manifest's exact length.
    let stand_in = "0".repeat(64);
    let mf_len = manifest(&ovf_name, &stand_in, &opts.file_name, &stand_in).len() as u64;
    let mf_at = BLOCK + ovf_room * BLOCK;
    let disk_at = mf_at + BLOCK + blocks(mf_len) * BLOCK + BLOCK;

    let tmp = plumbing::Output::create(out)?;
    let file = tmp.file();
    let opts = WriteOptions {
        sha256: true,
        ..opts.clone()
    };
    let disk = vmdk::write_stream_optimized(src, Writeback::at(file, disk_at), &opts, progress)?;
    let disk_sha = disk.sha256.clone().unwrap_or_default();

    let mut ovf_text = ovf_for(&OvfDisk {
        file_name: opts.file_name.clone(),
        file_size: disk.file_size,
        capacity: disk.capacity,
        populated_size: disk.populated_size,
    })?;
    let len = ovf_text.len() as u64;
    if blocks(len) > ovf_room {
        return Err(Error::Internal(format!(
            "the OVF descriptor grew to {len} bytes, more than the {} kept for it",
            ovf_room * BLOCK
        )));
    }
    // Whitespace after the root element (XML allows it) fills the room exactly.
    let fill = ((ovf_room - 1) * BLOCK + 1).saturating_sub(len);
    ovf_text.extend(std::iter::repeat_n(' ', fill as usize));
    let mf_text = manifest(
        &ovf_name,
        &sha256_hex(ovf_text.as_bytes()),
        &opts.file_name,
        &disk_sha,
    );
    debug_assert_eq!(mf_text.len() as u64, mf_len);

    let disk_end = disk_at + disk.file_size;
    let end = blocks(disk_end) * BLOCK + 2 * BLOCK;
    let members = [
        (0, &ovf_name, ovf_text.as_bytes()),
        (mf_at, &mf_name, mf_text.as_bytes()),
    ];
    for (at, name, bytes) in members {
        file.write_all_at(&header(name, bytes.len() as u64, mtime)?, at)?;
        file.write_all_at(bytes, at + BLOCK)?;
        pad(file, at + BLOCK + bytes.len() as u64)?;
    }
    file.write_all_at(
        &header(&opts.file_name, disk.file_size, mtime)?,
        disk_at - BLOCK,
    )?;
    // Zeros to the next block, then the two zero blocks that end a tar.
    file.write_all_at(&vec![0u8; (end - disk_end) as usize], disk_end)?;
    tmp.commit()?;
    Ok(Written {
        disk,
        manifest_sha256: sha256_hex(mf_text.as_bytes()),
        size: end,
    })
}

fn blocks(bytes: u64) -> u64 {
    bytes.div_ceil(BLOCK)
}

fn manifest(ovf_name: &str, ovf_sha: &str, disk_name: &str, disk_sha: &str) -> String {
    let mut m = Manifest::default();
    m.add_sha256(ovf_name, ovf_sha);
    m.add_sha256(disk_name, disk_sha);
    m.render()
}

/// Zeros from `at` to the next block boundary.
fn pad(file: &std::fs::File, at: u64) -> Result<()> {
    let n = (blocks(at) * BLOCK - at) as usize;
    file.write_all_at(&vec![0u8; n], at)?;
    Ok(())
}

fn header(name: &str, size: u64, mtime: u64) -> Result<[u8; 512]> {
    let mut h = tar::Header::new_ustar();
    h.set_path(name)
        .map_err(|e| Error::Invalid(format!("'{name}' cannot be stored in an OVA: {e}")))?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    Ok(*h.as_bytes())
}
