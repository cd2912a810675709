//! The bake on a metadata copy: instead of expanding the whole base, build-ova copies
//! only its partition tables and the [`meta`](super::meta) blocks of each Linux
//! filesystem into a sparse work image, debugfs bakes there, and the VMDK writer reads
//! the result through [`Overlay`]: what the work image holds (its allocated ranges, as
//! `SEEK_DATA`/`SEEK_HOLE` report them), the base everywhere else. Copying base bytes
//! into the work image is always safe; this only saves copying the files' contents,
//! which the bake never reads (a file it does read is copied first: [`copy_file`]).

use super::debugfs::{q, ExtFs};
use super::meta::{self, Unfit};
use anyhow::{Context as _, Result};
use nix::errno::Errno;
use nix::unistd::{lseek, Whence};
use ova::source::is_zero;
use ova::{DiskSource, RawDisk};
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};

/// Why the base is copied whole instead (reported; the result is the same disk).
#[derive(Debug, Clone, serde::Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum WholeCopy {
    #[error("asked for")]
    Asked,
    #[error("the disk is grown ([image] disk_size)")]
    Growing,
    #[error("the output folder's filesystem does not report holes block by block (SEEK_DATA/SEEK_HOLE with {unit}-byte blocks)")]
    Imprecise { unit: u64 },
    #[error("the output folder's filesystem allocates {unit}-byte blocks, coarser than the root filesystem's {block_size}-byte blocks or its partition's alignment")]
    Coarse { unit: u64, block_size: u64 },
    #[error("partition at byte {offset}: {why}")]
    Filesystem { offset: u64, why: String },
    #[error("no ext2/3/4 filesystem found")]
    NoFilesystem,
}

/// What was copied into the work image.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Copied {
    /// (byte offset, block size) of each filesystem whose metadata was copied.
    pub filesystems: Vec<(u64, u64)>,
    /// Metadata bytes of those filesystems (zero blocks among them stay holes).
    pub metadata_bytes: u64,
}

impl Copied {
    /// The (offset, block size) of the filesystem at `offset`.
    pub fn filesystem_at(&self, offset: u64) -> Result<(u64, u64)> {
        self.filesystems
            .iter()
            .copied()
            .find(|f| f.0 == offset)
            .with_context(|| format!("no filesystem metadata was copied for byte {offset}"))
    }
}

/// `work` must be empty: it is sized to the base and receives the partition tables and
/// every Linux filesystem's metadata. `Err` says why this cannot be done (nothing useful
/// was written; the caller expands the whole base into `work` instead).
pub fn prepare(
    base: &dyn DiskSource,
    work: &File,
    progress: &dyn ova::Progress,
) -> Result<std::result::Result<Copied, WholeCopy>> {
    let size = base.size();
    let mut copier = Copier::new(base, work)?;
    let unit = copier.unit;
    if !holes_exact(work, size, unit)? {
        return Ok(Err(WholeCopy::Imprecise { unit }));
    }
    let table = ova::gpt::read(base)?;
    let (mut regions, candidates) = match &table {
        Some(t) => {
            let tail = (t.last_usable + 1) * ova::gpt::SECTOR;
            let head = (0, t.first_usable * ova::gpt::SECTOR);
            let parts = t.partitions.iter().filter(|p| p.may_be_root());
            (
                vec![head, (tail, size.saturating_sub(tail))],
                parts.map(|p| p.offset()).collect(),
            )
        }
        None => (Vec::new(), vec![0]),
    };
    let mut copied = Copied {
        filesystems: Vec::new(),
        metadata_bytes: 0,
    };
    for offset in candidates {
        let m = match meta::metadata(base, offset) {
            Ok(m) => m,
            Err(Unfit::NotExt) => continue,
            Err(Unfit::Read(e)) => return Err(e.into()),
            Err(why) => {
                let why = why.to_string();
                return Ok(Err(WholeCopy::Filesystem { offset, why }));
            }
        };
        if m.block_size % unit != 0 || offset % unit != 0 {
            let block_size = m.block_size;
            return Ok(Err(WholeCopy::Coarse { unit, block_size }));
        }
        copied.filesystems.push((offset, m.block_size));
        copied.metadata_bytes += m.bytes();
        regions.extend(
            m.runs
                .iter()
                .map(|&(b, n)| (offset + b * m.block_size, n * m.block_size)),
        );
    }
    if copied.filesystems.is_empty() {
        return Ok(Err(WholeCopy::NoFilesystem));
    }
    let total = regions.iter().map(|r| r.1).sum();
    progress.stage("metadata", total);
    for (start, len) in regions {
        copier.copy(start, len)?;
        progress.advance(len);
    }
    progress.done();
    Ok(Ok(copied))
}

/// Whether `work`'s filesystem reports data and holes exactly, `unit` by `unit`: one
/// unit written into the empty file must be data from its first byte to its last and
/// nowhere else (a filesystem that allocates larger records, or reports every byte as
/// data, fails). Leaves `work` empty, `size` bytes long.
fn holes_exact(work: &File, size: u64, unit: u64) -> Result<bool> {
    let at = 3 * unit;
    if size < 8 * unit {
        return Ok(false);
    }
    work.set_len(size)?;
    let empty = next(work, 0, Whence::SeekData)?.is_none();
    work.write_all_at(&vec![0xA5; unit as usize], at)?;
    work.sync_data()?;
    let data = next(work, 0, Whence::SeekData)?;
    let hole = next(work, at, Whence::SeekHole)?;
    work.set_len(0)?;
    work.set_len(size)?;
    Ok(empty && data == Some(at) && hole == Some(at + unit))
}

/// Base bytes into the work image, whole `unit`s at a time (the work image's allocation
/// blocks: a partly written one would read as zeros where the base has data).
struct Copier<'a> {
    base: &'a dyn DiskSource,
    work: &'a File,
    unit: u64,
    buf: Vec<u8>,
}

impl<'a> Copier<'a> {
    const CHUNK: u64 = 1 << 20;

    fn new(base: &'a dyn DiskSource, work: &'a File) -> Result<Self> {
        Ok(Self {
            base,
            work,
            unit: work.metadata()?.blksize().max(512),
            buf: vec![0u8; Self::CHUNK as usize],
        })
    }

    /// Copies `[start, start+len)`, widened to whole units. Zero units are left as holes,
    /// which read from the base anyway.
    fn copy(&mut self, start: u64, len: u64) -> Result<()> {
        let unit = self.unit;
        let end = (start + len)
            .div_ceil(unit)
            .saturating_mul(unit)
            .min(self.base.size());
        let mut at = start / unit * unit;
        while at < end {
            match self.base.next_data(at)? {
                Some(d) if d < end => at = at.max(d / unit * unit),
                _ => break,
            }
            let n = (end - at).min(Self::CHUNK) as usize;
            self.base.read_at(&mut self.buf[..n], at)?;
            for (i, piece) in self.buf[..n].chunks(unit as usize).enumerate() {
                if !is_zero(piece) {
                    self.work.write_all_at(piece, at + (i as u64) * unit)?;
                }
            }
            at += n as u64;
        }
        Ok(())
    }
}

/// Copies the blocks of one file of the filesystem `fs` (at `offset`, `block_size`-byte
/// blocks) from the base into the work image, so that reading it there gives its bytes.
pub fn copy_file(
    fs: &ExtFs,
    base: &dyn DiskSource,
    work: &File,
    (offset, block_size): (u64, u64),
    path: &str,
) -> Result<()> {
    let text = fs.query(&[format!("blocks {}", q(path)?)])?.remove(0);
    let mut copier = Copier::new(base, work)?;
    for b in text.split_whitespace() {
        let b: u64 = b
            .parse()
            .with_context(|| format!("debugfs blocks {path}: {b:?} is not a block number"))?;
        copier.copy(offset + b * block_size, block_size)?;
    }
    Ok(())
}

/// The next offset at or after `off` where `file` has data (or a hole); `None` past the
/// last data.
fn next(file: &File, off: u64, whence: Whence) -> Result<Option<u64>> {
    let signed = i64::try_from(off).context("offset beyond i64")?;
    match lseek(file, signed, whence) {
        Ok(at) => Ok(Some(at as u64)),
        Err(Errno::ENXIO) => Ok(None),
        Err(e) => Err(std::io::Error::from(e).into()),
    }
}

/// The baked disk: the work image's allocated ranges over the base.
pub struct Overlay {
    work: File,
    raw: RawDisk,
    base: Box<dyn DiskSource>,
}

impl Overlay {
    pub fn new(work_path: &std::path::Path, base: Box<dyn DiskSource>) -> std::io::Result<Self> {
        Ok(Self {
            work: File::open(work_path)?,
            raw: RawDisk::open(work_path)?,
            base,
        })
    }
}

fn io(e: anyhow::Error) -> ova::Error {
    match e.downcast::<std::io::Error>() {
        Ok(io) => ova::Error::Io(io),
        Err(e) => ova::Error::Internal(e.to_string()),
    }
}

impl DiskSource for Overlay {
    fn size(&self) -> u64 {
        self.base.size()
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> ova::Result<()> {
        let end = off + buf.len() as u64;
        let mut at = off;
        while at < end {
            let data = next(&self.work, at, Whence::SeekData)
                .map_err(io)?
                .map_or(end, |d| d.min(end));
            if data > at {
                let range = (at - off) as usize..(data - off) as usize;
                self.base.read_at(&mut buf[range], at)?;
            }
            if data >= end {
                break;
            }
            let hole = next(&self.work, data, Whence::SeekHole)
                .map_err(io)?
                .map_or(end, |h| h.min(end));
            let range = (data - off) as usize..(hole - off) as usize;
            self.raw.read_at(&mut buf[range], data)?;
            at = hole;
        }
        Ok(())
    }

    fn next_data(&self, off: u64) -> ova::Result<Option<u64>> {
        let (w, b) = (self.raw.next_data(off)?, self.base.next_data(off)?);
        Ok(match (w, b) {
            (Some(w), Some(b)) => Some(w.min(b)),
            (w, b) => w.or(b),
        })
    }

    fn stored_hint(&self) -> u64 {
        self.base.stored_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe finds this machine's filesystems exact (the build tests depend on it)
    /// and leaves the file as it found it: empty, with no data anywhere.
    #[test]
    fn the_hole_probe_leaves_the_work_image_empty() {
        let d = tempfile::tempdir().unwrap();
        let work = File::create(d.path().join("work")).unwrap();
        let unit = work.metadata().unwrap().blksize();
        assert!(holes_exact(&work, 1 << 20, unit).unwrap());
        assert_eq!(work.metadata().unwrap().len(), 1 << 20);
        assert_eq!(next(&work, 0, Whence::SeekData).unwrap(), None);
        // Too small to probe: not exact.
        assert!(!holes_exact(&work, 4 * unit, unit).unwrap());
    }

    /// Reads through the overlay give the work image's bytes where it has data (also
    /// zeros written there) and the base's everywhere else, at any offset and length.
    #[test]
    fn reads_take_the_work_image_where_it_has_data() {
        let d = tempfile::tempdir().unwrap();
        let (base_path, work_path) = (d.path().join("base"), d.path().join("work"));
        let size = 1u64 << 20;
        let base_bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8 | 1).collect();
        std::fs::write(&base_path, &base_bytes).unwrap();
        let work = File::create(&work_path).unwrap();
        work.set_len(size).unwrap();
        if next(&work, 0, Whence::SeekData).unwrap().is_some() {
            eprintln!("skipped: this filesystem does not report holes");
            return;
        }
        let unit = work.metadata().unwrap().blksize();
        let mut want = base_bytes.clone();
        for (at, fill) in [(0, 7u8), (5 * unit, 0), (6 * unit, 9), (100 * unit, 3)] {
            let piece = vec![fill; unit as usize];
            work.write_all_at(&piece, at).unwrap();
            want[at as usize..(at + unit) as usize].copy_from_slice(&piece);
        }
        work.sync_all().unwrap();
        let base = Box::new(RawDisk::open(&base_path).unwrap());
        let o = Overlay::new(&work_path, base).unwrap();
        assert_eq!(o.size(), size);
        for (off, len) in [
            (0, size),
            (1, 10),
            (unit - 3, 7),
            (4 * unit + 1, 3 * unit),
            (99 * unit, 3 * unit),
        ] {
            let mut buf = vec![0xEE; len as usize];
            o.read_at(&mut buf, off).unwrap();
            assert!(
                buf == want[off as usize..(off + len) as usize],
                "{off}+{len}"
            );
        }
    }
}
