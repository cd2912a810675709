use super::header::*;
use super::*;
use crate::source::DiskSource;
use crate::{NoProgress, Result};

/// An in-memory disk.
struct MemDisk(Vec<u8>);

impl DiskSource for MemDisk {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&self, buf: &mut [u8], off: u64) -> Result<()> {
        buf.copy_from_slice(&self.0[off as usize..off as usize + buf.len()]);
        Ok(())
    }
    fn next_data(&self, off: u64) -> Result<Option<u64>> {
        Ok((off < self.size()).then_some(off))
    }
}

/// Deterministic incompressible bytes: SHA-256 over (seed, block number).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = Vec::with_capacity(len + 32);
    for block in 0u64.. {
        if out.len() >= len {
            break;
        }
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        h.update(block.to_le_bytes());
        out.extend_from_slice(&h.finalize());
    }
    out.truncate(len);
    out
}

/// 3 GTs' worth minus a bit: random, text, zeros, and a partial last grain.
fn sample_disk() -> Vec<u8> {
    let mut d = vec![0u8; 70 * 1024 * 1024 + 3 * 512];
    d[..1 << 20].copy_from_slice(&noise(1, 1 << 20));
    let text = b"Photon OS docker host; vDVS plugin vsphere:latest\n".repeat(20_000);
    d[5 << 20..(5 << 20) + text.len()].copy_from_slice(&text);
    let tail = d.len() - 700;
    d[tail..].copy_from_slice(&noise(2, 700));
    d
}

fn write(disk: &[u8], threads: usize) -> (Vec<u8>, WriteReport) {
    let opts = WriteOptions {
        threads,
        sha256: true,
        file_name: "t.vmdk".into(),
        ..Default::default()
    };
    let mut out = Vec::new();
    let r = write_stream_optimized(&MemDisk(disk.to_vec()), &mut out, &opts, &NoProgress).unwrap();
    (out, r)
}

fn read_all(img: &dyn DiskSource) -> Result<Vec<u8>> {
    let mut v = vec![0u8; img.size() as usize];
    img.read_at(&mut v, 0)?;
    Ok(v)
}

#[test]
fn writes_what_it_reads_back() {
    let disk = sample_disk();
    let (vmdk, report) = write(&disk, 2);
    assert_eq!(report.file_size, vmdk.len() as u64);
    assert_eq!(
        report.sha256.as_deref(),
        Some(crate::manifest::sha256_hex(&vmdk).as_str())
    );
    let img = VmdkImage::open(vmdk).unwrap();
    let back = read_all(&img).unwrap();
    assert_eq!(back.len(), disk.len().next_multiple_of(512));
    assert!(
        back[..disk.len()] == disk[..],
        "round trip changed the data"
    );
    let facts = img.facts().unwrap();
    assert_eq!(facts.create_type, "streamOptimized");
    assert_eq!(facts.allocated_grains, report.allocated_grains);
    // 16 random grains + text grains + 1 tail grain; the zero grains are not stored.
    assert!(
        report.allocated_grains < 40,
        "{} grains",
        report.allocated_grains
    );
}

#[test]
fn stream_layout_matches_the_spec() {
    let disk = sample_disk();
    let (v, _) = write(&disk, 2);
    let head = SparseHeader::parse(&v[..512]).unwrap();
    assert_eq!(
        head.gd_offset, GD_AT_END,
        "a stream defers the GD to the footer"
    );
    assert_eq!(
        head.flags,
        FLAG_NEWLINE_CHECK | FLAG_COMPRESSED | FLAG_MARKERS
    );
    let n = v.len();
    assert_eq!(n % 512, 0);
    assert!(v[n - 512..].iter().all(|&b| b == 0), "end-of-stream marker");
    let footer_marker: [u8; 16] = v[n - 1536..n - 1520].try_into().unwrap();
    assert_eq!(parse_marker(&footer_marker), (1, 0, MARKER_FOOTER));
    let footer = SparseHeader::parse(&v[n - 1024..n - 512]).unwrap();
    let gd_marker: [u8; 16] = v[(footer.gd_offset as usize - 1) * 512..][..16]
        .try_into()
        .unwrap();
    assert_eq!(parse_marker(&gd_marker), (1, 0, MARKER_GD));
    // The first grain follows header + descriptor, behind a marker with LBA 0.
    let first = head.overhead as usize * 512;
    assert_eq!(
        u64::from_le_bytes(v[first..first + 8].try_into().unwrap()),
        0
    );
    assert_eq!(
        &v[first + 12..first + 14],
        &[0x78, 0x9c],
        "zlib-wrapped deflate, default level"
    );
}

#[test]
fn output_is_deterministic_whatever_the_thread_count() {
    let disk = sample_disk();
    let (a, _) = write(&disk, 1);
    let (b, _) = write(&disk, 2);
    let (c, _) = write(&disk, 5);
    assert!(a == b && b == c);
}

#[test]
fn all_zero_disk_stores_no_grain() {
    let (v, r) = write(&vec![0u8; 3 << 20], 2);
    assert_eq!(r.allocated_grains, 0);
    assert_eq!(r.populated_size, 0);
    let img = VmdkImage::open(v).unwrap();
    assert_eq!(img.next_data(0).unwrap(), None);
    assert!(read_all(&img).unwrap().iter().all(|&b| b == 0));
}

#[test]
fn odd_sizes_round_up_to_a_sector() {
    let disk = noise(9, 100_001);
    let (v, r) = write(&disk, 2);
    assert_eq!(r.capacity, 100_352);
    let back = read_all(&VmdkImage::open(v).unwrap()).unwrap();
    assert_eq!(&back[..disk.len()], &disk[..]);
    assert!(back[disk.len()..].iter().all(|&b| b == 0));
}

#[test]
fn bad_options_are_refused() {
    let opts = WriteOptions {
        level: 0,
        ..Default::default()
    };
    let err =
        write_stream_optimized(&MemDisk(vec![1; 512]), Vec::new(), &opts, &NoProgress).unwrap_err();
    assert!(err.to_string().contains("level"));
    // libdeflate's 10-12 are levels too; 13 is not.
    for (level, ok) in [(12, true), (13, false)] {
        let opts = WriteOptions {
            level,
            ..Default::default()
        };
        let r = write_stream_optimized(&MemDisk(vec![7; 1 << 20]), Vec::new(), &opts, &NoProgress);
        assert_eq!(r.is_ok(), ok, "level {level}");
    }
    let err = write_stream_optimized(
        &MemDisk(vec![]),
        Vec::new(),
        &WriteOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(err.to_string().contains("empty"));
}

fn open_err(v: Vec<u8>) -> String {
    match VmdkImage::open(v) {
        Ok(img) => img
            .facts()
            .and_then(|_| read_all(&img))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn broken_files_give_clear_errors() {
    let (good, _) = write(&sample_disk(), 2);
    let n = good.len();
    assert!(
        open_err(good[..n - 700].to_vec()).contains("truncated"),
        "{}",
        open_err(good[..n - 700].to_vec())
    );
    assert!(open_err(good[..300].to_vec()).contains("too short"));
    let mut bad = good.clone();
    bad[1] = b'X';
    assert!(open_err(bad).contains("bad magic"));
    // The footer's grain directory pointer aimed past the end of the file.
    let mut bad = good.clone();
    bad[n - 1024 + 56..n - 1024 + 64].copy_from_slice(&(n as u64).to_le_bytes());
    assert!(open_err(bad).contains("past the end"), "GD past EOF");
    // Damaged compressed data in the first grain.
    let mut bad = good.clone();
    let first = SparseHeader::parse(&good[..512]).unwrap().overhead as usize * 512;
    bad[first + 40..first + 60].fill(0xAA);
    let e = open_err(bad);
    assert!(
        e.contains("grain at sector") || e.contains("damaged"),
        "{e}"
    );
    // A grain marker whose LBA disagrees with the grain table.
    let mut bad = good.clone();
    bad[first] = 0x80;
    assert!(open_err(bad).contains("LBA"));
}

#[test]
fn random_damage_never_panics() {
    let disk = {
        let mut d = vec![0u8; 9 << 20];
        d[..64 << 10].copy_from_slice(&noise(3, 64 << 10));
        d[(8 << 20)..(8 << 20) + 4096].fill(7);
        d
    };
    let (good, _) = write(&disk, 1);
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for round in 0..3000 {
        let mut v = good.clone();
        match round % 3 {
            0 => v.truncate((next() % v.len() as u64) as usize),
            _ => {
                for _ in 0..(1 + next() % 8) {
                    let i = (next() % v.len() as u64) as usize;
                    v[i] = next() as u8;
                }
            }
        }
        let outcome = std::panic::catch_unwind(|| {
            if let Ok(img) = VmdkImage::open(v) {
                let _ = img.facts();
                let mut head = vec![0u8; img.size().min(16 << 20) as usize];
                let _ = img.read_at(&mut head, 0);
            }
        });
        assert!(outcome.is_ok(), "reader panicked on mutation round {round}");
    }
}
