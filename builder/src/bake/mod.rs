//! The bake: a Photon OS base disk opened in place, its filesystems' metadata copied
//! into a sparse work image ([`meta`], [`overlay`]; or the whole disk expanded into it),
//! its root ext4 found through the GPT, optionally grown, and the files of [`files`]
//! written into it with debugfs. The caller then streams the result (the work image
//! over the base) into the new OVA's VMDK.

pub mod consume;
pub mod debugfs;
pub mod files;
pub mod meta;
pub mod overlay;

use crate::bad as usage;
use anyhow::{bail, Context as _, Result};
use debugfs::{cmd, ExtFs};
use files::{Content, Entry};
use indicatif::HumanBytes;
use ova::gpt::{self, Partition, Table};
use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;

/// The base's disk (from an OVA, a VMDK or a raw image) as a source read in place, and
/// the base's kind for reports.
pub fn open_base(base: &Path) -> Result<(&'static str, Box<dyn ova::DiskSource>)> {
    let shown = base.display().to_string();
    let meta = std::fs::metadata(base).with_context(|| shown.clone())?;
    if !meta.is_file() {
        return Err(usage(format!(
            "{shown}: the base must be an .ova, .vmdk or raw disk file"
        )));
    }
    let mut head = [0u8; 512];
    let n = std::io::Read::read(&mut File::open(base)?, &mut head)?;
    let is_tar = n >= 262 && &head[257..262] == b"ustar";
    if is_tar
        || base
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ova"))
    {
        let ova = ova::Ova::open(base).map_err(|e| usage(format!("{shown}: not an OVA: {e}")))?;
        let (_, xml) = ova.ovf().with_context(|| shown.clone())?;
        let info = ova::ovf::parse(&xml).with_context(|| shown.clone())?;
        let hrefs: Vec<&String> = info.disks.iter().filter_map(|d| d.href.as_ref()).collect();
        let [href] = hrefs.as_slice() else {
            return Err(usage(format!(
                "{shown}: the OVA has {} disks; a Photon OS base has exactly one",
                hrefs.len()
            )));
        };
        let disk = ova.disk(href).with_context(|| shown.clone())?;
        return Ok(("ova", Box::new(disk)));
    }
    let (format, src) = ova::open_disk(base).with_context(|| shown.clone())?;
    let kind = match format {
        ova::DiskFormat::Raw => "raw",
        _ => "vmdk",
    };
    Ok((kind, src))
}

/// Copies the whole base disk into `out`, sparse.
pub fn expand(
    base: &dyn ova::DiskSource,
    out: &File,
    shown: &str,
    progress: &dyn ova::Progress,
) -> Result<()> {
    ova::raw::write_raw(base, out, progress).with_context(|| shown.to_string())?;
    Ok(())
}

/// Where the root filesystem is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Root {
    /// The GPT partition, or None for a filesystem covering the whole disk.
    pub partition: Option<Partition>,
    pub offset: u64,
    pub len: u64,
    #[serde(skip)]
    pub table: Option<Table>,
}

/// Finds the root ext4: the Linux partition holding an ext2/3/4 filesystem with /etc.
pub fn find_root(image: &Path, shown: &str) -> Result<Root> {
    let file = File::open(image)?;
    let table = gpt::read(&ova::RawDisk::open(image)?).with_context(|| shown.to_string())?;
    let Some(table) = table else {
        if debugfs::is_ext(&file, 0)? {
            let len = file.metadata()?.len();
            return Ok(Root {
                partition: None,
                offset: 0,
                len,
                table: None,
            });
        }
        if let Some(parts) = mbr_partitions(&file)? {
            return Err(usage(format!(
                "{shown}: MBR (msdos) partition table ({parts}): only GPT is supported; convert it (sgdisk --mbrtogpt) or use a GPT base"
            )));
        }
        return Err(usage(format!(
            "{shown}: no GPT partition table and no ext4 filesystem: not a Photon OS disk image"
        )));
    };
    let mut ext = Vec::new();
    for p in table.partitions.iter().filter(|p| p.may_be_root()) {
        if debugfs::is_ext(&file, p.offset())? {
            ext.push(p.clone());
        }
    }
    if ext.len() > 1 {
        let mut with_etc = Vec::new();
        for p in ext {
            let fs = ExtFs::new(image, p.offset())?;
            if fs.list(&["/etc".to_string()])?["/etc"].is_some() {
                with_etc.push(p);
            }
        }
        ext = with_etc;
    }
    match ext.as_slice() {
        [p] => Ok(Root {
            offset: p.offset(),
            len: p.len(),
            partition: Some(p.clone()),
            table: Some(table),
        }),
        [] => {
            let parts = table
                .partitions
                .iter()
                .map(|p| p.describe())
                .collect::<Vec<_>>()
                .join(", ");
            let lvm = table.partitions.iter().find(|p| {
                p.type_guid == gpt::LINUX_LVM || is_lvm(&file, p.offset()).unwrap_or(false)
            });
            Err(usage(match lvm {
                Some(p) => format!(
                    "{shown}: the root is on LVM (partition {}; partitions: {parts}): photon-fleet bakes into an ext4 partition, not into LVM",
                    p.number
                ),
                None => format!(
                    "{shown}: no Linux partition with an ext4 filesystem (partitions: {parts}): photon-fleet bakes into an ext4 root"
                ),
            }))
        }
        many => Err(usage(format!(
            "{shown}: {} ext4 partitions hold /etc; cannot tell which is the root",
            many.len()
        ))),
    }
}

/// The primary partitions of an MBR (msdos) table at the disk's start, as
/// `2 (type 0x83)`; None when there is none.
fn mbr_partitions(file: &File) -> Result<Option<String>> {
    use std::os::unix::fs::FileExt;
    let mut s = [0u8; 512];
    if file.read_at(&mut s, 0)? < 512 || s[510..] != [0x55, 0xAA] {
        return Ok(None);
    }
    let parts: Vec<String> = (0..4)
        .filter_map(|i| {
            let kind = s[446 + i * 16 + 4];
            (kind != 0).then(|| format!("{} (type 0x{kind:02x})", i + 1))
        })
        .collect();
    Ok((!parts.is_empty()).then(|| parts.join(", ")))
}

/// Whether an LVM physical volume starts at `offset` (its `LABELONE` label).
fn is_lvm(file: &File, offset: u64) -> Result<bool> {
    use std::os::unix::fs::FileExt;
    let mut label = [0u8; 8];
    Ok(file.read_at(&mut label, offset + 512)? == 8 && &label == b"LABELONE")
}

/// Makes the disk `size` bytes: the GPT moves to the new end, the root partition (the
/// last one) takes the space and resize2fs grows its filesystem.
pub fn grow(image: &Path, root: Root, size: u64) -> Result<Root> {
    let file = std::fs::OpenOptions::new().write(true).open(image)?;
    let old = file.metadata()?.len();
    if size < old {
        return Err(usage(format!(
            "[image] disk_size {} is smaller than the base disk ({}); disks only grow",
            HumanBytes(size),
            HumanBytes(old)
        )));
    }
    if size == old {
        return Ok(root);
    }
    let (Some(table), Some(part)) = (root.table.clone(), root.partition.clone()) else {
        bail!("a disk without a partition table cannot be grown: leave [image] disk_size out");
    };
    let new_len = size - size % gpt::SECTOR;
    file.set_len(new_len)?;
    let grown = gpt::grow(&file, table, part.number)
        .map_err(|e| usage(format!("cannot grow the disk: {e}")))?;
    let part = grown
        .partitions
        .iter()
        .find(|p| p.number == part.number)
        .cloned()
        .context("the grown partition is missing")?;
    let spec = format!("{}?offset={}", image.display(), root.offset);
    // resize2fs stamps the time it ran (and the bake then takes it): pin it to the base's,
    // so a grown disk is as reproducible as one that is not.
    let time = debugfs::ExtFs::new(image, root.offset)?.time();
    let mut resize = std::process::Command::new(debugfs::e2fs_tool("resize2fs"));
    resize
        .arg(&spec)
        .arg(format!("{}K", part.len() / 1024))
        .env("E2FSPROGS_FAKE_TIME", time.to_string());
    debugfs::run_e2fs(resize, "resize2fs")?;
    // resize2fs sizes a regular file to the filesystem's end, ignoring the offset: put
    // the disk's length and its GPT (backup at the end) back.
    file.set_len(new_len)?;
    gpt::write(&file, &grown)?;
    Ok(Root {
        offset: part.offset(),
        len: part.len(),
        partition: Some(part),
        table: Some(grown),
    })
}

/// What the bake did.
#[derive(Debug, serde::Serialize)]
pub struct Baked {
    pub dirs: usize,
    pub files: usize,
    pub links: usize,
    pub bytes: u64,
    pub replaced: Vec<String>,
    pub free_before: u64,
}

fn parent(p: &str) -> String {
    match p.rsplit_once('/') {
        Some(("", _)) | None => "/".into(),
        Some((d, _)) => d.into(),
    }
}

fn name(p: &str) -> &str {
    p.rsplit_once('/').map_or(p, |(_, n)| n)
}

/// Checks the filesystem can take `entries`, then writes them.
pub fn bake(fs: &ExtFs, entries: &[Entry], must_exist: &[&str], shown: &str) -> Result<Baked> {
    // What exists already: the listing of every folder we touch.
    let mut dirs: BTreeSet<String> = entries.iter().map(|e| parent(e.path())).collect();
    dirs.extend(
        entries
            .iter()
            .filter(|e| matches!(e, Entry::Dir { .. }))
            .map(|e| e.path().to_string()),
    );
    dirs.extend(must_exist.iter().map(|p| parent(p)));
    // The checks below look up /etc and /opt/photon-fleet whatever is baked.
    dirs.extend(["/".to_string(), "/opt".to_string()]);
    let dirs: Vec<String> = dirs.into_iter().collect();
    let listing = fs.list(&dirs)?;
    let lookup = |path: &str| -> Option<debugfs::DirEntry> {
        listing
            .get(&parent(path))?
            .as_ref()?
            .iter()
            .find(|e| e.name == name(path))
            .cloned()
    };
    if lookup("/etc").is_none() {
        return Err(usage(format!(
            "{shown}: the root filesystem has no /etc: not a Linux root"
        )));
    }
    for p in must_exist {
        if lookup(p).is_none() {
            return Err(usage(format!(
                "{shown}: the base has no {p}: {}",
                why_needed(p)
            )));
        }
    }
    if lookup("/opt/photon-fleet").is_some() {
        return Err(usage(format!(
            "{shown}: the base already holds /opt/photon-fleet (an image photon-fleet built?): start from the original Photon OS base"
        )));
    }

    // Room: data blocks, a block per folder, extent and inode overheads, 2% slack.
    let st = fs.stats()?;
    let bs = st.block_size.max(1024);
    let need_blocks: u64 = entries
        .iter()
        .map(|e| match e {
            Entry::Dir { .. } => 1,
            Entry::Link { target, .. } if target.len() < 60 => 0,
            e => e.size().div_ceil(bs) + 1,
        })
        .sum::<u64>()
        * 102
        / 100;
    let free = st.free_blocks.saturating_sub(st.reserved_blocks);
    if need_blocks > free || entries.len() as u64 > st.free_inodes {
        return Err(usage(format!(
            "{shown}: the root filesystem is too full for the bake: it needs {} and {} inodes, {} and {} inodes are free; set [image] disk_size in fleet.toml to grow the disk",
            HumanBytes(need_blocks * bs),
            entries.len(),
            HumanBytes(free * bs),
            st.free_inodes
        )));
    }

    let mut c = Vec::new();
    let mut report = Baked {
        dirs: 0,
        files: 0,
        links: 0,
        bytes: 0,
        replaced: Vec::new(),
        free_before: free * bs,
    };
    for e in entries {
        let path = e.path();
        let existing = lookup(path);
        match (e, &existing) {
            (Entry::Dir { .. }, Some(x)) if x.is_dir() => continue,
            (Entry::Dir { .. }, None) => {
                c.push(cmd::mkdir(path)?);
                c.extend(cmd::own(path, 0o040755)?);
                report.dirs += 1;
                continue;
            }
            (_, Some(x)) if x.is_dir() => {
                return Err(usage(format!(
                    "{shown}: {path} is a folder in the base; photon-fleet writes a file there"
                )));
            }
            (Entry::Dir { .. }, Some(_)) => {
                return Err(usage(format!(
                    "{shown}: {path} is a file in the base; photon-fleet needs a folder there"
                )));
            }
            _ => {}
        }
        if existing.is_some() {
            c.push(cmd::rm(path)?);
            report.replaced.push(path.to_string());
        }
        match e {
            Entry::File { mode, content, .. } => {
                let host = match content {
                    Content::Host(p, _) => p.display().to_string(),
                    Content::Bytes(_) => unreachable!("staged by the caller"),
                };
                c.push(cmd::write(&host, path)?);
                c.extend(cmd::own(path, 0o100000 | mode)?);
                report.files += 1;
                report.bytes += e.size();
            }
            Entry::Link { target, .. } => {
                c.push(cmd::symlink(path, target)?);
                c.extend(cmd::own(path, 0o120777)?);
                report.links += 1;
            }
            Entry::Dir { .. } => unreachable!(),
        }
    }
    fs.apply(&c)?;
    Ok(report)
}

fn why_needed(p: &str) -> &'static str {
    if p.contains("docker") {
        "the image must carry Docker (Photon's docker package; the OVA ships it)"
    } else if p.contains("vmtoolsd") {
        "the image must carry open-vm-tools (for the OVF environment and VMCI)"
    } else {
        "fleet.toml [guest] timezone names a zone the base does not have (install tzdata or leave it out)"
    }
}

/// Writes every in-memory file of `entries` to `dir` so debugfs can copy it; the
/// result only holds host files.
pub fn stage(entries: Vec<Entry>, dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::with_capacity(entries.len());
    for (n, e) in entries.into_iter().enumerate() {
        if let Entry::File {
            path,
            mode,
            content: Content::Bytes(b),
        } = e
        {
            let host = dir.join(format!("{n:04}-{}", name(&path)));
            std::fs::write(&host, &b)?;
            out.push(Entry::File {
                path,
                mode,
                content: Content::Host(host, b.len() as u64),
            });
        } else {
            out.push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod meta_tests;
#[cfg(test)]
mod tests;
