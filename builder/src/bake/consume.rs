//! The baked raw copy as the VMDK writer's source, freed behind the reader: the writer
//! reads strictly in order, so every 64 MiB it has passed is punched out of the file
//! while compression goes on. Freeing a large file's blocks is slow on some
//! filesystems (ext4 mounted with `discard` trims them as they go); this way it
//! overlaps the CPU-bound deflate instead of following it as one long `unlink`.

use ova::{DiskSource, RawDisk};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

const STEP: u64 = 64 << 20;

pub struct Consumed {
    raw: RawDisk,
    file: File,
    /// Everything before this offset has been punched out.
    freed: AtomicU64,
}

impl Consumed {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            raw: RawDisk::open(path)?,
            file: std::fs::OpenOptions::new().write(true).open(path)?,
            freed: AtomicU64::new(0),
        })
    }

    fn free_before(&self, off: u64) {
        let from = self.freed.load(Ordering::Relaxed);
        // Keep one step behind the reader: a read may still be under way there.
        let to = off.saturating_sub(STEP) / STEP * STEP;
        if to < from + STEP
            || self
                .freed
                .compare_exchange(from, to, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let (Ok(start), Ok(len)) = (i64::try_from(from), i64::try_from(to - from)) else {
            return;
        };
        // A filesystem without hole punching refuses it; the file is removed later anyway.
        use nix::fcntl::{fallocate, FallocateFlags};
        let how = FallocateFlags::FALLOC_FL_PUNCH_HOLE | FallocateFlags::FALLOC_FL_KEEP_SIZE;
        let _ = fallocate(&self.file, how, start, len);
    }
}

impl DiskSource for Consumed {
    fn size(&self) -> u64 {
        self.raw.size()
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> ova::Result<()> {
        self.raw.read_at(buf, off)?;
        self.free_before(off);
        Ok(())
    }

    fn next_data(&self, off: u64) -> ova::Result<Option<u64>> {
        self.raw.next_data(off)
    }

    fn stored_hint(&self) -> u64 {
        self.raw.stored_hint()
    }
}
