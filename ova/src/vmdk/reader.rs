//! Reads sparse VMDKs (streamOptimized and monolithicSparse, hosted or ESXi-made)
//! as a [`DiskSource`]. Every header field, marker and offset is checked against
//! the file before it is used; a damaged file is a one-line error, never a panic.

use crate::source::{DiskSource, ReadAt};
use crate::vmdk::descriptor::Descriptor;
use crate::vmdk::header::*;
use crate::{format_err, Error, Result};
use flate2::{Decompress, FlushDecompress, Status};
use std::sync::Mutex;

/// Grain table entry meaning "this grain reads as zeros" (with or without the flag).
const GTE_ZERO: u32 = 1;

pub struct VmdkImage<R: ReadAt> {
    src: R,
    header: SparseHeader,
    descriptor: Descriptor,
    /// Sector of each grain table; 0 = none (all its grains read as zero).
    directory: Vec<u32>,
    /// The most recently used grain table.
    cache: Mutex<Option<(u64, Vec<u32>)>>,
}

/// What a full metadata walk found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VmdkFacts {
    pub create_type: String,
    pub version: u32,
    pub capacity: u64,
    pub grain_size: u64,
    pub compressed: bool,
    pub allocated_grains: u64,
    pub populated_size: u64,
    pub file_size: u64,
    pub adapter_type: Option<String>,
    pub hw_version: Option<String>,
}

impl<R: ReadAt> VmdkImage<R> {
    pub fn open(src: R) -> Result<Self> {
        let len = src.len();
        let mut first = [0u8; 512];
        if len < 512 {
            return Err(format_err!("file is {len} bytes, too short for a VMDK"));
        }
        src.read_exact_at(&mut first, 0)?;
        if first.starts_with(b"# Disk DescriptorFile") {
            return Err(Error::Unsupported(
                "this is a text VMDK descriptor: pass its extent file (e.g. the -flat.vmdk, which is raw) instead"
                    .into(),
            ));
        }
        let mut header = SparseHeader::parse(&first)?;
        let sectors = len / SECTOR;
        if header.gd_offset == GD_AT_END {
            header = read_footer(&src, &header)?;
        }
        let descriptor = read_descriptor(&src, &header, sectors)?;
        let gd_entries = header.num_gts();
        let gd_sectors = (gd_entries * 4).div_ceil(SECTOR);
        if header.gd_offset == 0 || header.gd_offset.saturating_add(gd_sectors) > sectors {
            return Err(format_err!(
                "grain directory at sector {} lies past the end of the file ({sectors} sectors): the file is truncated or damaged",
                header.gd_offset
            ));
        }
        let raw = read_vec(&src, header.gd_offset * SECTOR, (gd_entries * 4) as usize)?;
        let gt_sectors = (u64::from(header.num_gtes_per_gt) * 4).div_ceil(SECTOR);
        let mut directory: Vec<u32> = raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4")))
            .collect();
        let table_bytes = (u64::from(header.num_gtes_per_gt) * 4) as usize;
        for (i, gt) in directory.iter_mut().enumerate() {
            if *gt != 0 && u64::from(*gt) + gt_sectors > sectors {
                return Err(format_err!(
                    "grain table {i} at sector {gt} lies past the end of the file ({sectors} sectors): the file is truncated or damaged"
                ));
            }
            // A table whose every grain reads as zero (other tools write one for every
            // part of the disk) is dropped here, so readers skip it as if it were absent
            // instead of walking it grain by grain.
            if *gt != 0 {
                let table = read_vec(&src, u64::from(*gt) * SECTOR, table_bytes)?;
                let holds_data = table.chunks_exact(4).any(|c| {
                    let e = u32::from_le_bytes(c.try_into().expect("4"));
                    e != 0 && e != GTE_ZERO
                });
                if !holds_data {
                    *gt = 0;
                }
            }
        }
        Ok(Self {
            src,
            header,
            descriptor,
            directory,
            cache: Mutex::new(None),
        })
    }

    pub fn header(&self) -> &SparseHeader {
        &self.header
    }

    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    /// Sector of grain `index`'s data (or marker), 0 if unallocated or zero.
    fn grain_sector(&self, index: u64) -> Result<u64> {
        let per = u64::from(self.header.num_gtes_per_gt);
        let gt = index / per;
        let gt_sector = u64::from(self.directory[gt as usize]);
        if gt_sector == 0 {
            return Ok(0);
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.as_ref().is_none_or(|(g, _)| *g != gt) {
            let raw = read_vec(&self.src, gt_sector * SECTOR, (per * 4) as usize)?;
            let table = raw
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().expect("4")))
                .collect();
            *cache = Some((gt, table));
        }
        let (_, table) = cache.as_ref().expect("filled above");
        let gte = table[(index % per) as usize];
        Ok(if gte == GTE_ZERO { 0 } else { u64::from(gte) })
    }

    /// Reads and (if compressed) inflates grain `index` into `out` (one grain long).
    fn read_grain(&self, index: u64, out: &mut [u8]) -> Result<()> {
        let sector = self.grain_sector(index)?;
        if sector == 0 {
            out.fill(0);
            return Ok(());
        }
        let len = self.src.len();
        let at = sector * SECTOR;
        let grain = self.header.grain_bytes();
        if !self.header.compressed() {
            if at + grain > len {
                return Err(format_err!(
                    "grain {index} at sector {sector} lies past the end of the file"
                ));
            }
            return Ok(self.src.read_exact_at(out, at)?);
        }
        let marker_len = if self.header.has_markers() {
            GRAIN_MARKER_LEN as u64
        } else {
            0
        };
        let (lba, size) = if self.header.has_markers() {
            if at + marker_len > len {
                return Err(format_err!(
                    "grain {index} marker at sector {sector} lies past the end of the file"
                ));
            }
            let mut m = [0u8; 16];
            self.src.read_exact_at(&mut m[..12], at)?;
            let (lba, size, _) = parse_marker(&m);
            (lba, u64::from(size))
        } else {
            (index * self.header.grain_size, grain * 2)
        };
        if lba != index * self.header.grain_size {
            return Err(format_err!(
                "grain marker at sector {sector} says LBA {lba}, but the grain table puts it at {}",
                index * self.header.grain_size
            ));
        }
        if size == 0 || size > grain * 2 + 1024 || at + marker_len + size > len {
            return Err(format_err!(
                "compressed grain at sector {sector} has a bad size {size} (or runs past the end)"
            ));
        }
        let data = read_vec(&self.src, at + marker_len, size as usize)?;
        inflate_grain(&data, out).map_err(|e| format_err!("grain at sector {sector}: {e}"))
    }

    /// Walks every grain table (no inflation) and returns the facts.
    pub fn facts(&self) -> Result<VmdkFacts> {
        let grains = self.header.capacity.div_ceil(self.header.grain_size);
        let len = self.src.len();
        let mut allocated = 0;
        for i in 0..grains {
            let s = self.grain_sector(i)?;
            if s != 0 {
                if s * SECTOR >= len {
                    return Err(format_err!(
                        "grain {i} points at sector {s}, past the end of the file"
                    ));
                }
                allocated += 1;
            }
        }
        let capacity = self.header.capacity * SECTOR;
        Ok(VmdkFacts {
            create_type: self.descriptor.create_type.clone(),
            version: self.header.version,
            capacity,
            grain_size: self.header.grain_size,
            compressed: self.header.compressed(),
            allocated_grains: allocated,
            populated_size: (allocated * self.header.grain_bytes()).min(capacity),
            file_size: len,
            adapter_type: self.descriptor.ddb.get("ddb.adapterType").cloned(),
            hw_version: self.descriptor.ddb.get("ddb.virtualHWVersion").cloned(),
        })
    }
}

impl<R: ReadAt> DiskSource for VmdkImage<R> {
    fn size(&self) -> u64 {
        self.header.capacity * SECTOR
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> Result<()> {
        if off + buf.len() as u64 > self.size() {
            return Err(Error::Invalid(format!(
                "read at {off} past the disk's end ({})",
                self.size()
            )));
        }
        let grain = self.header.grain_bytes();
        let mut scratch = vec![0u8; grain as usize];
        let mut done = 0usize;
        while done < buf.len() {
            let pos = off + done as u64;
            let (index, within) = (pos / grain, (pos % grain) as usize);
            let n = (grain as usize - within).min(buf.len() - done);
            if within == 0 && n == grain as usize {
                self.read_grain(index, &mut buf[done..done + n])?;
            } else {
                self.read_grain(index, &mut scratch)?;
                buf[done..done + n].copy_from_slice(&scratch[within..within + n]);
            }
            done += n;
        }
        Ok(())
    }

    fn next_data(&self, off: u64) -> Result<Option<u64>> {
        if off >= self.size() {
            return Ok(None);
        }
        let grain = self.header.grain_bytes();
        let grains = self.header.capacity.div_ceil(self.header.grain_size);
        let mut index = off / grain;
        while index < grains {
            let per = u64::from(self.header.num_gtes_per_gt);
            if self.directory[(index / per) as usize] == 0 {
                index = (index / per + 1) * per; // whole table unallocated
                continue;
            }
            if self.grain_sector(index)? != 0 {
                return Ok(Some((index * grain).max(off)));
            }
            index += 1;
        }
        Ok(None)
    }

    fn stored_hint(&self) -> u64 {
        self.src.len()
    }
}

fn read_vec<R: ReadAt>(src: &R, off: u64, len: usize) -> Result<Vec<u8>> {
    let mut v = vec![0u8; len];
    src.read_exact_at(&mut v, off).map_err(|_| {
        format_err!(
            "{len} bytes at offset {off} lie past the end of the file ({} bytes)",
            src.len()
        )
    })?;
    Ok(v)
}

/// The footer of a stream whose header defers the grain directory to the end:
/// footer marker, footer (a header with the real `gdOffset`), end-of-stream marker.
fn read_footer<R: ReadAt>(src: &R, header: &SparseHeader) -> Result<SparseHeader> {
    let len = src.len();
    if !header.compressed() || len < 512 * 4 {
        return Err(format_err!(
            "header says the grain directory is at the end, but the file has no stream footer"
        ));
    }
    let tail = read_vec(src, len - 1536, 1536)?;
    let marker = |at: usize| parse_marker(tail[at..at + 16].try_into().expect("16"));
    let (_, fsize, ftype) = marker(0);
    let (eos_val, eos_size, eos_type) = marker(1024);
    if fsize != 0
        || ftype != MARKER_FOOTER
        || eos_val != 0
        || eos_size != 0
        || eos_type != MARKER_EOS
    {
        return Err(format_err!(
            "stream footer or end-of-stream marker is missing: the VMDK is truncated or damaged"
        ));
    }
    let footer =
        SparseHeader::parse(&tail[512..1024]).map_err(|e| format_err!("stream footer: {e}"))?;
    if footer.gd_offset == GD_AT_END
        || footer.capacity != header.capacity
        || footer.grain_size != header.grain_size
    {
        return Err(format_err!("stream footer does not match the header"));
    }
    Ok(footer)
}

fn read_descriptor<R: ReadAt>(src: &R, h: &SparseHeader, sectors: u64) -> Result<Descriptor> {
    if h.descriptor_offset == 0 || h.descriptor_size == 0 {
        return Ok(Descriptor::default());
    }
    if h.descriptor_size > 2048 || h.descriptor_offset.saturating_add(h.descriptor_size) > sectors {
        return Err(format_err!(
            "embedded descriptor (sector {}, {} sectors) lies outside the file",
            h.descriptor_offset,
            h.descriptor_size
        ));
    }
    let raw = read_vec(
        src,
        h.descriptor_offset * SECTOR,
        (h.descriptor_size * SECTOR) as usize,
    )?;
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let text = std::str::from_utf8(&raw[..end])
        .map_err(|_| format_err!("embedded descriptor is not text"))?;
    Descriptor::parse(text)
}

/// Inflates a zlib (or, from some old writers, raw deflate) grain into `out`,
/// zero-filling what the stream does not cover; more than a grain is an error.
fn inflate_grain(data: &[u8], out: &mut [u8]) -> Result<(), String> {
    let zlib = data.len() >= 2
        && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0
        && data[0] & 0x0f == 8;
    let mut z = Decompress::new(zlib);
    let status = z
        .decompress(data, out, FlushDecompress::Finish)
        .map_err(|e| format!("compressed data is damaged ({e})"))?;
    if status != Status::StreamEnd {
        if (z.total_out() as usize) < out.len() {
            return Err("compressed data ends early".into());
        }
        // The grain is full: the stream must end right here.
        let mut probe = [0u8; 1];
        let rest = &data[z.total_in() as usize..];
        if !matches!(
            z.decompress(rest, &mut probe, FlushDecompress::Finish),
            Ok(Status::StreamEnd)
        ) || z.total_out() as usize != out.len()
        {
            return Err("compressed data inflates to more than one grain".into());
        }
    }
    let n = z.total_out() as usize;
    out[n..].fill(0);
    Ok(())
}
