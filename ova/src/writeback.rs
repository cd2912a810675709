//! Early writeback: large outputs ask the kernel to start writing each finished piece
//! to disk right away (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does not wait),
//! so disk I/O overlaps the CPU work that produces the next piece instead of piling up
//! as dirty pages that a later `fsync` (ours, or e2fsprogs' on close) must flush all at
//! once.

use std::fs::File;
use std::io::{self, Write};

/// How much is written before writeback of it is started.
const WINDOW: u64 = 32 << 20;

/// Starts writeback of `[offset, offset+len)` of `file` without waiting for it. Only a
/// hint: errors (a filesystem without support) are ignored, `fsync` stays the guarantee.
pub fn start(file: &File, offset: u64, len: u64) {
    let (Ok(off), Ok(n)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    use std::os::unix::io::AsRawFd;
    // No safe wrapper (std, nix, rustix) offers sync_file_range: the one unsafe block of
    // the workspace.
    #[allow(unsafe_code)]
    // SAFETY: a plain syscall on a descriptor we borrow for its duration; it reads no
    // memory of ours, and its result is only a hint (errors are ignored).
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), off, n, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Sequential writes to `file` from `offset` on, starting writeback every [`WINDOW`].
pub struct Writeback<'a> {
    file: &'a File,
    pos: u64,
    flushed: u64,
}

impl<'a> Writeback<'a> {
    pub fn at(file: &'a File, offset: u64) -> Self {
        Self {
            file,
            pos: offset,
            flushed: offset,
        }
    }
}

impl Write for Writeback<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = std::os::unix::fs::FileExt::write_at(self.file, buf, self.pos)?;
        self.pos += n as u64;
        if self.pos - self.flushed >= WINDOW {
            start(self.file, self.flushed, self.pos - self.flushed);
            self.flushed = self.pos;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
