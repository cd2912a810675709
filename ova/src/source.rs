//! Where bytes come from: positioned reads from a file or a window of one (a disk
//! inside an OVA), and the `DiskSource` trait every disk image format implements.

use crate::{Error, Result};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// Positioned reads over a fixed-length byte range.
pub trait ReadAt: Send + Sync {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` from `off`; reading past `len()` is an error.
    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> io::Result<()>;
}

/// A byte range `[start, start+len)` of a shared file.
#[derive(Clone)]
pub struct FileWindow {
    file: Arc<File>,
    start: u64,
    len: u64,
}

impl FileWindow {
    pub fn whole(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self {
            file: Arc::new(file),
            start: 0,
            len,
        })
    }

    pub fn open(path: &Path) -> io::Result<Self> {
        Self::whole(File::open(path)?)
    }

    pub fn new(file: Arc<File>, start: u64, len: u64) -> Self {
        Self { file, start, len }
    }

    pub fn file(&self) -> &Arc<File> {
        &self.file
    }

    pub fn start(&self) -> u64 {
        self.start
    }
}

impl ReadAt for FileWindow {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        let end = off.checked_add(buf.len() as u64);
        if end.is_none_or(|e| e > self.len) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "read of {} bytes at offset {off} runs past the end ({} bytes)",
                    buf.len(),
                    self.len
                ),
            ));
        }
        self.file.read_exact_at(buf, self.start + off)
    }
}

impl ReadAt for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        let start = usize::try_from(off).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let end = start
            .checked_add(buf.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        let src = self.get(start..end).ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// A virtual disk as a sequence of bytes, whatever its container.
pub trait DiskSource: Send + Sync {
    /// Virtual size in bytes.
    fn size(&self) -> u64;
    /// Reads `buf.len()` bytes of the virtual disk at `off` (must lie within `size()`).
    fn read_at(&self, buf: &mut [u8], off: u64) -> Result<()>;
    /// The first offset at or after `off` that may hold non-zero data, or `None`
    /// when everything from `off` on reads as zeros. Used to skip holes quickly.
    fn next_data(&self, off: u64) -> Result<Option<u64>>;
    /// Bytes the source actually stores (for progress totals); `size()` if unknown.
    fn stored_hint(&self) -> u64 {
        self.size()
    }
}

/// A raw disk image: the file's bytes are the disk. Holes of a sparse file are found
/// with `SEEK_DATA` so a mostly empty 16 GiB image is read in a blink.
pub struct RawDisk {
    window: FileWindow,
    /// False when the window is inside another file (holes can't be asked for).
    whole_file: bool,
}

impl RawDisk {
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            window: FileWindow::open(path)?,
            whole_file: true,
        })
    }

    pub fn from_window(window: FileWindow) -> Self {
        Self {
            window,
            whole_file: false,
        }
    }
}

impl DiskSource for RawDisk {
    fn size(&self) -> u64 {
        self.window.len()
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> Result<()> {
        self.window.read_exact_at(buf, off).map_err(Error::Io)
    }

    fn next_data(&self, off: u64) -> Result<Option<u64>> {
        if off >= self.size() {
            return Ok(None);
        }
        if !self.whole_file {
            return Ok(Some(off));
        }
        let Ok(signed) = i64::try_from(off) else {
            return Ok(Some(off));
        };
        // SEEK_DATA moves the file's shared offset, which this crate never relies on
        // (all reads are positioned).
        use nix::unistd::{lseek, Whence};
        match lseek(self.window.file().as_ref(), signed, Whence::SeekData) {
            Ok(at) => Ok(Some(at as u64)),
            Err(nix::errno::Errno::ENXIO) => Ok(None), // only a hole from here to the end
            Err(_) => Ok(Some(off)),                   // no SEEK_DATA here: assume data
        }
    }

    fn stored_hint(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        match self.window.file().metadata() {
            Ok(m) if self.whole_file => (m.blocks() * 512).min(self.size()),
            _ => self.size(),
        }
    }
}

/// True when every byte of `buf` is zero (word-at-a-time).
pub fn is_zero(buf: &[u8]) -> bool {
    let mut chunks = buf.chunks_exact(64);
    let words_zero = chunks
        .by_ref()
        .all(|c| c.iter().fold(0u8, |acc, &b| acc | b) == 0);
    words_zero && chunks.remainder().iter().all(|&b| b == 0)
}
