//! Writes any [`DiskSource`] out as a raw image, leaving zero regions as holes.

use crate::progress::Progress;
use crate::source::{is_zero, DiskSource};
use crate::Result;
use std::fs::File;
use std::os::unix::fs::FileExt;

const CHUNK: u64 = 1 << 20;
const BLOCK: usize = 64 * 1024;

/// Copies `src` into `out` (truncated to the disk size first) and returns the
/// number of non-zero bytes written. Only data is written; zeros become holes.
pub fn write_raw(src: &dyn DiskSource, out: &File, progress: &dyn Progress) -> Result<u64> {
    let size = src.size();
    out.set_len(0)?;
    out.set_len(size)?;
    progress.stage("extract", size);
    let mut buf = vec![0u8; CHUNK as usize];
    let (mut pos, mut written, mut reported) = (0u64, 0u64, 0u64);
    while let Some(at) = src.next_data(pos)? {
        let start = at - at % CHUNK;
        let n = (size - start).min(CHUNK) as usize;
        src.read_at(&mut buf[..n], start)?;
        for (i, block) in buf[..n].chunks(BLOCK).enumerate() {
            if !is_zero(block) {
                out.write_all_at(block, start + (i * BLOCK) as u64)?;
                written += block.len() as u64;
            }
        }
        pos = start + n as u64;
        progress.advance(pos - reported);
        reported = pos;
    }
    progress.advance(size - reported);
    progress.done();
    Ok(written)
}
