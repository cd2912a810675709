//! Writes any [`DiskSource`] out as a raw image, leaving zero regions as holes.
//! Chunks are read (for a VMDK: inflated) by two threads per core, each writing its
//! chunks at their own offsets, so expanding a compressed disk is not single-threaded.
//! Writeback of each run starts as soon as it is written, so the copy reaches the disk
//! while it is made instead of staying behind as dirty pages that the next `fsync` must
//! write in one go (e2fsprogs fsyncs every image it opens: the first `debugfs` on a
//! fresh copy would wait for all of it).

use crate::progress::Progress;
use crate::source::{is_zero, DiskSource};
use crate::Result;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};

const CHUNK: u64 = 1 << 20;
const BLOCK: usize = 64 * 1024;
/// Writes `bytes` at `at` and starts their writeback; returns how many.
fn write_run(out: &File, bytes: &[u8], at: u64) -> Result<u64> {
    out.write_all_at(bytes, at)?;
    crate::writeback::start(out, at, bytes.len() as u64);
    Ok(bytes.len() as u64)
}

/// Copies `src` into `out` (truncated to the disk size first) and returns the
/// number of non-zero bytes written. Only data is written; zeros become holes.
pub fn write_raw(src: &dyn DiskSource, out: &File, progress: &dyn Progress) -> Result<u64> {
    let size = src.size();
    out.set_len(0)?;
    out.set_len(size)?;
    progress.stage("extract", size);
    // Two workers per core: while one waits on the page cache (the file's lock, memory
    // for new pages), the other inflates.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get() * 2)
        .min(8);
    let chunks: Vec<u64> = (0..size.div_ceil(CHUNK)).map(|i| i * CHUNK).collect();
    let failed = AtomicBool::new(false);
    let results = plumbing::pool::map_with(
        &chunks,
        threads,
        || vec![0u8; CHUNK as usize],
        |buf, _, &start| {
            if failed.load(Ordering::Relaxed) {
                return Ok(0);
            }
            let r = copy_chunk(src, out, buf, start, size);
            if r.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            progress.advance((size - start).min(CHUNK));
            r
        },
    );
    let written = results.into_iter().sum::<Result<u64>>()?;
    progress.done();
    Ok(written)
}

/// Copies the chunk at `start` unless it is a hole in the source: one write per run of
/// non-zero blocks, zero blocks left as holes. Returns the data bytes written.
fn copy_chunk(
    src: &dyn DiskSource,
    out: &File,
    buf: &mut [u8],
    start: u64,
    size: u64,
) -> Result<u64> {
    let n = (size - start).min(CHUNK) as usize;
    if src
        .next_data(start)?
        .is_none_or(|at| at >= start + n as u64)
    {
        return Ok(0); // a hole in the source
    }
    src.read_at(&mut buf[..n], start)?;
    let mut run: Option<usize> = None;
    let mut data = 0u64;
    for (i, block) in buf[..n].chunks(BLOCK).enumerate() {
        match (is_zero(block), run) {
            (false, None) => run = Some(i * BLOCK),
            (true, Some(from)) => {
                data += write_run(out, &buf[from..i * BLOCK], start + from as u64)?;
                run = None;
            }
            _ => {}
        }
    }
    if let Some(from) = run {
        data += write_run(out, &buf[from..n], start + from as u64)?;
    }
    Ok(data)
}
