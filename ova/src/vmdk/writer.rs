//! The streamOptimized writer. It reads the source in batches of grains, deflates
//! them on every core in parallel, and writes the results strictly in order:
//! header + descriptor, compressed grains (each behind a grain marker), one grain
//! table per 32 MiB after its grains, then the grain directory, the footer and the
//! end-of-stream marker. It only ever appends, so `out` can be a pipe or a socket.
//! Memory is bounded by a fixed number of batches in flight, whatever the disk size.

use crate::progress::Progress;
use crate::source::{is_zero, DiskSource};
use crate::vmdk::descriptor::{render_stream_descriptor, AdapterType};
use crate::vmdk::header::*;
use crate::{Error, Result};
use crossbeam_channel::{bounded, Receiver, Sender};
use libdeflater::{CompressionLvl, Compressor};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Grains per batch: a batch never straddles two grain tables (512 is a multiple).
const BATCH_GRAINS: u64 = 16;

#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// File name recorded in the descriptor's extent line.
    pub file_name: String,
    pub adapter: AdapterType,
    /// `ddb.virtualHWVersion` (VMware's own tools write 4).
    pub hw_version: u32,
    /// Deflate threads; 0 means one per core.
    pub threads: usize,
    /// Deflate level, 1 (fast) to 9 (small), as zlib counts; libdeflate's 10-12 go further.
    pub level: u32,
    /// Compute the SHA-256 of the output while writing it.
    pub sha256: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            file_name: "disk.vmdk".into(),
            adapter: AdapterType::LsiLogic,
            hw_version: 4,
            threads: 0,
            level: 6,
            sha256: false,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct WriteReport {
    /// Virtual size in bytes (the source size rounded up to a sector).
    pub capacity: u64,
    pub allocated_grains: u64,
    /// Bytes of allocated grains: the OVF `populatedSize`.
    pub populated_size: u64,
    /// Bytes written.
    pub file_size: u64,
    /// Hex SHA-256 of the output, when asked for.
    pub sha256: Option<String>,
}

struct Job {
    seq: u64,
    first_grain: u64,
    /// Source bytes covered before and by this batch (for progress).
    span: u64,
    data: Vec<u8>,
}

struct Packed {
    seq: u64,
    span: u64,
    /// Marker + compressed data of each non-zero grain, each padded to a sector.
    bytes: Vec<u8>,
    /// (grain index, offset of its marker in `bytes`)
    grains: Vec<(u64, usize)>,
}

/// Writes `src` as a streamOptimized VMDK to `out`.
pub fn write_stream_optimized<W: Write + Send>(
    src: &dyn DiskSource,
    out: W,
    opts: &WriteOptions,
    progress: &dyn Progress,
) -> Result<WriteReport> {
    if !(1..=12).contains(&opts.level) {
        return Err(Error::Invalid(format!(
            "deflate level {} is out of range 1-12",
            opts.level
        )));
    }
    let sectors = src.size().div_ceil(SECTOR);
    if sectors == 0 {
        return Err(Error::Invalid("the source disk is empty (0 bytes)".into()));
    }
    let descriptor =
        render_stream_descriptor(&opts.file_name, sectors, opts.adapter, opts.hw_version)?;
    let desc_sectors = (descriptor.len() as u64).div_ceil(SECTOR);
    let header = SparseHeader::stream_optimized(sectors, desc_sectors);
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let in_flight = threads * 4;
    let batch_bytes = (BATCH_GRAINS * header.grain_bytes()) as usize;

    let (job_tx, job_rx) = bounded::<Job>(in_flight);
    let (packed_tx, packed_rx) = bounded::<Result<Packed>>(in_flight);
    let (permit_tx, permit_rx) = bounded::<Vec<u8>>(in_flight);
    for _ in 0..in_flight {
        permit_tx.send(Vec::new()).expect("permit channel has room");
    }

    progress.stage("deflate", src.size());
    let mut sink = StreamSink::new(out, opts.sha256);
    let result: Result<u64> = std::thread::scope(|s| {
        for _ in 0..threads {
            let (rx, tx) = (job_rx.clone(), packed_tx.clone());
            let (level, grain) = (opts.level, header.grain_bytes() as usize);
            s.spawn(move || deflate_worker(rx, tx, level, grain));
        }
        drop((job_rx, packed_tx));
        let header = &header;
        let descriptor = &descriptor;
        let sink = &mut sink;
        let writer = s.spawn(move || -> Result<u64> {
            sink.write_all(&header.to_bytes())?;
            let mut desc = descriptor.as_bytes().to_vec();
            desc.resize((desc_sectors * SECTOR) as usize, 0);
            sink.write_all(&desc)?;
            let mut tables = GrainTables::new(header);
            let mut pending = BTreeMap::new();
            let mut next = 0u64;
            for packed in packed_rx {
                let packed = packed?;
                pending.insert(packed.seq, packed);
                while let Some(p) = pending.remove(&next) {
                    tables.append_grains(sink, &p)?;
                    progress.advance(p.span);
                    next += 1;
                    // Hand a buffer back: one more batch may be read.
                    let _ = permit_tx.send(Vec::new());
                }
            }
            tables.finish(sink, header)
        });
        let read = read_batches(src, header, batch_bytes, job_tx, permit_rx);
        let written = writer
            .join()
            .map_err(|_| Error::Invalid("VMDK writer thread panicked".into()))?;
        // A writer error (disk full) ends the reader too; report the root cause.
        let allocated = written?;
        read?;
        Ok(allocated)
    });
    let allocated_grains = result?;
    let (file_size, sha256) = sink.finish()?;
    progress.done();
    let capacity = sectors * SECTOR;
    Ok(WriteReport {
        capacity,
        allocated_grains,
        populated_size: (allocated_grains * header.grain_bytes()).min(capacity),
        file_size,
        sha256,
    })
}

/// Reads the source batch by batch, skipping holes, and hands batches to the workers.
fn read_batches(
    src: &dyn DiskSource,
    header: &SparseHeader,
    batch_bytes: usize,
    jobs: Sender<Job>,
    permits: Receiver<Vec<u8>>,
) -> Result<()> {
    let size = src.size();
    let padded = header.capacity * SECTOR;
    let mut pos = 0u64;
    let mut seq = 0u64;
    let mut last_end = 0u64;
    while let Some(data_at) = src.next_data(pos)? {
        if data_at >= size {
            break;
        }
        let start = data_at - data_at % batch_bytes as u64;
        let len = (padded - start).min(batch_bytes as u64) as usize;
        let Ok(mut buf) = permits.recv() else {
            return Ok(());
        }; // writer gone: it reports why
        buf.clear();
        buf.resize(len, 0);
        let readable = (size - start).min(len as u64) as usize;
        src.read_at(&mut buf[..readable], start)?;
        let end = start + len as u64;
        let job = Job {
            seq,
            first_grain: start / header.grain_bytes(),
            span: end.min(size) - last_end,
            data: buf,
        };
        if jobs.send(job).is_err() {
            return Ok(());
        }
        seq += 1;
        last_end = end.min(size);
        pos = end;
    }
    Ok(())
}

fn deflate_worker(jobs: Receiver<Job>, out: Sender<Result<Packed>>, level: u32, grain: usize) {
    // Checked against 1..=12 before any worker starts.
    let lvl = CompressionLvl::new(level as i32).unwrap_or_default();
    let mut z = Compressor::new(lvl);
    for job in jobs {
        let packed = pack_batch(&mut z, &job, grain);
        if out.send(packed).is_err() {
            return;
        }
    }
}

fn pack_batch(z: &mut Compressor, job: &Job, grain: usize) -> Result<Packed> {
    let mut bytes = Vec::with_capacity(job.data.len() / 2);
    let mut grains = Vec::new();
    for (i, chunk) in job.data.chunks(grain).enumerate() {
        if is_zero(chunk) {
            continue;
        }
        let index = job.first_grain + i as u64;
        let at = bytes.len();
        bytes.extend_from_slice(&(index * (grain as u64 / SECTOR)).to_le_bytes());
        bytes.extend_from_slice(&[0u8; 4]);
        deflate_into(z, chunk, &mut bytes)?;
        let size = (bytes.len() - at - GRAIN_MARKER_LEN) as u32;
        bytes[at + 8..at + 12].copy_from_slice(&size.to_le_bytes());
        bytes.resize(bytes.len().next_multiple_of(SECTOR as usize), 0);
        grains.push((index, at));
    }
    Ok(Packed {
        seq: job.seq,
        span: job.span,
        bytes,
        grains,
    })
}

/// Appends the zlib stream (RFC 1950, as VMware and qemu write grains) of `input`: each
/// grain is deflated whole, in one call, which is libdeflate's model.
fn deflate_into(z: &mut Compressor, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let at = out.len();
    out.resize(at + z.zlib_compress_bound(input.len()), 0);
    match z.zlib_compress(input, &mut out[at..]) {
        Ok(n) => {
            out.truncate(at + n);
            Ok(())
        }
        Err(e) => Err(Error::Io(io::Error::other(format!(
            "deflate failed: {e:?}"
        )))),
    }
}

/// The grain tables and directory, filled in as grains are written.
struct GrainTables {
    per_gt: u64,
    current: Option<u64>,
    table: Vec<u32>,
    directory: Vec<u32>,
    allocated: u64,
}

impl GrainTables {
    fn new(h: &SparseHeader) -> Self {
        Self {
            per_gt: u64::from(h.num_gtes_per_gt),
            current: None,
            table: vec![0; h.num_gtes_per_gt as usize],
            directory: vec![0; h.num_gts() as usize],
            allocated: 0,
        }
    }

    fn append_grains<W: Write>(&mut self, sink: &mut StreamSink<W>, p: &Packed) -> Result<()> {
        let Some(&(first, _)) = p.grains.first() else {
            return Ok(());
        };
        let gt = first / self.per_gt;
        if self.current != Some(gt) {
            self.flush_table(sink)?;
            self.current = Some(gt);
        }
        let base = sink.sector();
        for &(index, at) in &p.grains {
            let sector = base + at as u64 / SECTOR;
            self.table[(index % self.per_gt) as usize] = sector_u32(sector)?;
        }
        self.allocated += p.grains.len() as u64;
        sink.write_all(&p.bytes)
    }

    /// Writes the current grain table (marker + table) and records it in the directory.
    fn flush_table<W: Write>(&mut self, sink: &mut StreamSink<W>) -> Result<()> {
        let Some(gt) = self.current.take() else {
            return Ok(());
        };
        let bytes = u32s_to_sectors(&self.table);
        sink.write_all(&metadata_marker(bytes.len() as u64 / SECTOR, MARKER_GT))?;
        self.directory[gt as usize] = sector_u32(sink.sector())?;
        sink.write_all(&bytes)?;
        self.table.fill(0);
        Ok(())
    }

    /// Last table, the directory, the footer and end-of-stream. Returns grains written.
    fn finish<W: Write>(mut self, sink: &mut StreamSink<W>, h: &SparseHeader) -> Result<u64> {
        self.flush_table(sink)?;
        let gd = u32s_to_sectors(&self.directory);
        sink.write_all(&metadata_marker(gd.len() as u64 / SECTOR, MARKER_GD))?;
        let gd_sector = sink.sector();
        sink.write_all(&gd)?;
        sink.write_all(&metadata_marker(1, MARKER_FOOTER))?;
        let footer = SparseHeader {
            gd_offset: gd_sector,
            ..h.clone()
        };
        sink.write_all(&footer.to_bytes())?;
        sink.write_all(&metadata_marker(0, MARKER_EOS))?;
        Ok(self.allocated)
    }
}

fn sector_u32(sector: u64) -> Result<u32> {
    u32::try_from(sector).map_err(|_| {
        Error::Unsupported("the VMDK would exceed 2 TiB, the sparse format's limit".into())
    })
}

fn u32s_to_sectors(v: &[u32]) -> Vec<u8> {
    let mut b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    b.resize(b.len().next_multiple_of(SECTOR as usize), 0);
    b
}

/// The output, with a byte count (for sector offsets) and an optional running SHA-256.
struct StreamSink<W: Write> {
    out: io::BufWriter<W>,
    written: u64,
    hash: Option<Sha256>,
}

impl<W: Write> StreamSink<W> {
    fn new(out: W, sha256: bool) -> Self {
        Self {
            out: io::BufWriter::with_capacity(1 << 20, out),
            written: 0,
            hash: sha256.then(Sha256::new),
        }
    }

    fn sector(&self) -> u64 {
        self.written / SECTOR
    }

    fn write_all(&mut self, b: &[u8]) -> Result<()> {
        self.out.write_all(b)?;
        if let Some(h) = &mut self.hash {
            h.update(b);
        }
        self.written += b.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> Result<(u64, Option<String>)> {
        self.out.flush()?;
        Ok((self.written, self.hash.map(|h| hex::encode(h.finalize()))))
    }
}
