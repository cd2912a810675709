//! The 512-byte sparse extent header and the stream markers of VMware's VMDK 5.0
//! format, as little-endian bytes.

use crate::{format_err, Result};

pub const SECTOR: u64 = 512;
pub const MAGIC: &[u8; 4] = b"KDMV";
/// Header `gdOffset` value meaning "the grain directory is in the footer".
pub const GD_AT_END: u64 = u64::MAX;
pub const FLAG_NEWLINE_CHECK: u32 = 1;
pub const FLAG_REDUNDANT_GT: u32 = 1 << 1;
pub const FLAG_ZEROED_GTE: u32 = 1 << 2;
pub const FLAG_COMPRESSED: u32 = 1 << 16;
pub const FLAG_MARKERS: u32 = 1 << 17;
pub const COMPRESS_DEFLATE: u16 = 1;
pub const DEFAULT_GRAIN_SECTORS: u64 = 128;
pub const DEFAULT_GTES_PER_GT: u32 = 512;

pub const MARKER_EOS: u32 = 0;
pub const MARKER_GT: u32 = 1;
pub const MARKER_GD: u32 = 2;
pub const MARKER_FOOTER: u32 = 3;
/// Size of a grain marker's fixed part: `u64 lba, u32 size`.
pub const GRAIN_MARKER_LEN: usize = 12;

/// The sparse extent header (also used, with a real `gd_offset`, as the stream footer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseHeader {
    pub version: u32,
    pub flags: u32,
    pub capacity: u64,
    pub grain_size: u64,
    pub descriptor_offset: u64,
    pub descriptor_size: u64,
    pub num_gtes_per_gt: u32,
    pub rgd_offset: u64,
    pub gd_offset: u64,
    pub overhead: u64,
    pub unclean_shutdown: bool,
    pub compress_algorithm: u16,
}

impl SparseHeader {
    /// A header for a streamOptimized extent of `capacity` sectors.
    pub fn stream_optimized(capacity: u64, descriptor_sectors: u64) -> Self {
        Self {
            version: 3,
            flags: FLAG_NEWLINE_CHECK | FLAG_COMPRESSED | FLAG_MARKERS,
            capacity,
            grain_size: DEFAULT_GRAIN_SECTORS,
            descriptor_offset: 1,
            descriptor_size: descriptor_sectors,
            num_gtes_per_gt: DEFAULT_GTES_PER_GT,
            rgd_offset: 0,
            gd_offset: GD_AT_END,
            overhead: 1 + descriptor_sectors,
            unclean_shutdown: false,
            compress_algorithm: COMPRESS_DEFLATE,
        }
    }

    pub fn compressed(&self) -> bool {
        self.flags & FLAG_COMPRESSED != 0 && self.compress_algorithm == COMPRESS_DEFLATE
    }

    pub fn has_markers(&self) -> bool {
        self.flags & FLAG_MARKERS != 0
    }

    pub fn grain_bytes(&self) -> u64 {
        self.grain_size * SECTOR
    }

    /// Sectors covered by one grain table.
    pub fn gt_coverage(&self) -> u64 {
        self.grain_size * u64::from(self.num_gtes_per_gt)
    }

    /// Number of grain tables (= grain directory entries).
    pub fn num_gts(&self) -> u64 {
        self.capacity.div_ceil(self.gt_coverage())
    }

    pub fn to_bytes(&self) -> [u8; 512] {
        let mut b = [0u8; 512];
        b[0..4].copy_from_slice(MAGIC);
        b[4..8].copy_from_slice(&self.version.to_le_bytes());
        b[8..12].copy_from_slice(&self.flags.to_le_bytes());
        b[12..20].copy_from_slice(&self.capacity.to_le_bytes());
        b[20..28].copy_from_slice(&self.grain_size.to_le_bytes());
        b[28..36].copy_from_slice(&self.descriptor_offset.to_le_bytes());
        b[36..44].copy_from_slice(&self.descriptor_size.to_le_bytes());
        b[44..48].copy_from_slice(&self.num_gtes_per_gt.to_le_bytes());
        b[48..56].copy_from_slice(&self.rgd_offset.to_le_bytes());
        b[56..64].copy_from_slice(&self.gd_offset.to_le_bytes());
        b[64..72].copy_from_slice(&self.overhead.to_le_bytes());
        b[72] = u8::from(self.unclean_shutdown);
        b[73..77].copy_from_slice(b"\n \r\n");
        b[77..79].copy_from_slice(&self.compress_algorithm.to_le_bytes());
        b
    }

    /// Parses and sanity-checks a 512-byte header (magic, version, grain size, flags);
    /// the reader bounds its offsets by the file it reads.
    pub fn parse(b: &[u8]) -> Result<Self> {
        if b.len() < 512 {
            return Err(format_err!(
                "file is shorter than a VMDK header (512 bytes)"
            ));
        }
        if &b[0..4] != MAGIC {
            return Err(format_err!(
                "not a sparse VMDK: bad magic {:02x?} (expected \"KDMV\")",
                &b[0..4]
            ));
        }
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        let h = Self {
            version: u32_at(4),
            flags: u32_at(8),
            capacity: u64_at(12),
            grain_size: u64_at(20),
            descriptor_offset: u64_at(28),
            descriptor_size: u64_at(36),
            num_gtes_per_gt: u32_at(44),
            rgd_offset: u64_at(48),
            gd_offset: u64_at(56),
            overhead: u64_at(64),
            unclean_shutdown: b[72] != 0,
            compress_algorithm: u16::from_le_bytes([b[77], b[78]]),
        };
        if !(1..=3).contains(&h.version) {
            return Err(format_err!(
                "unsupported sparse VMDK version {} (1 to 3 are known)",
                h.version
            ));
        }
        if h.flags & FLAG_NEWLINE_CHECK != 0 && &b[73..77] != b"\n \r\n" {
            return Err(format_err!(
                "VMDK header line-end check bytes are damaged (the file was transferred in text mode?)"
            ));
        }
        if h.grain_size < 8 || h.grain_size > 2048 || !h.grain_size.is_power_of_two() {
            return Err(format_err!(
                "bad grain size {} sectors (a power of two from 8 to 2048)",
                h.grain_size
            ));
        }
        if h.num_gtes_per_gt == 0 || h.num_gtes_per_gt > 8192 {
            return Err(format_err!(
                "bad grain table size {} entries",
                h.num_gtes_per_gt
            ));
        }
        if h.capacity == 0 || h.capacity > (1 << 40) {
            return Err(format_err!("bad capacity {} sectors", h.capacity));
        }
        if h.flags & FLAG_COMPRESSED != 0 && h.compress_algorithm != COMPRESS_DEFLATE {
            return Err(format_err!(
                "unknown grain compression algorithm {}",
                h.compress_algorithm
            ));
        }
        Ok(h)
    }
}

/// A metadata marker sector: `val` sectors of `kind` follow (size field 0).
pub fn metadata_marker(val: u64, kind: u32) -> [u8; 512] {
    let mut b = [0u8; 512];
    b[0..8].copy_from_slice(&val.to_le_bytes());
    b[12..16].copy_from_slice(&kind.to_le_bytes());
    b
}

/// Parses a marker's fixed part: `(val, size, type)`; `type` is meaningful only when `size == 0`.
pub fn parse_marker(b: &[u8; 16]) -> (u64, u32, u32) {
    (
        u64::from_le_bytes(b[0..8].try_into().expect("8 bytes")),
        u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
        u32::from_le_bytes(b[12..16].try_into().expect("4 bytes")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_has_vmware_layout() {
        let h = SparseHeader::stream_optimized(2048 * 1024, 2);
        let b = h.to_bytes();
        assert_eq!(&b[0..4], b"KDMV");
        assert_eq!(u32::from_le_bytes(b[4..8].try_into().unwrap()), 3);
        assert_eq!(u32::from_le_bytes(b[8..12].try_into().unwrap()), 0x30001);
        assert_eq!(&b[73..77], b"\n \r\n");
        assert_eq!(u16::from_le_bytes([b[77], b[78]]), 1);
        assert!(b[79..].iter().all(|&x| x == 0));
        assert_eq!(SparseHeader::parse(&b).unwrap(), h);
    }

    #[test]
    fn header_rejects_damage() {
        let good = SparseHeader::stream_optimized(4096, 1).to_bytes();
        let mut bad = good;
        bad[0] = b'X';
        assert!(SparseHeader::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("bad magic"));
        let mut bad = good;
        bad[75] = b'\n';
        assert!(SparseHeader::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("line-end"));
        let mut bad = good;
        bad[20] = 100; // grain size 100: not a power of two
        assert!(SparseHeader::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("grain size"));
        let mut bad = good;
        bad[4] = 9;
        assert!(SparseHeader::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("version 9"));
        assert!(SparseHeader::parse(&good[..100]).is_err());
    }

    #[test]
    fn gt_geometry() {
        let h = SparseHeader::stream_optimized(512 * 128 * 3 + 1, 1);
        assert_eq!(h.gt_coverage(), 65536);
        assert_eq!(h.num_gts(), 4);
        assert_eq!(h.grain_bytes(), 65536);
    }
}
