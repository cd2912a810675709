//! Sparse VMDK: streamOptimized writer, sparse reader, descriptor.

pub mod descriptor;
pub mod header;
pub mod reader;
pub mod writer;

pub use descriptor::{AdapterType, Descriptor};
pub use reader::{VmdkFacts, VmdkImage};
pub use writer::{write_stream_optimized, WriteOptions, WriteReport};

/// Reads every allocated grain of `src` (inflating compressed ones), failing on the
/// first bad one.
pub fn inflate_all(
    src: &dyn crate::DiskSource,
    progress: &dyn crate::Progress,
) -> crate::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    progress.stage("inflate grains", src.size());
    let mut pos = 0;
    while let Some(at) = src.next_data(pos)? {
        let start = at - at % buf.len() as u64;
        let n = (src.size() - start).min(buf.len() as u64) as usize;
        src.read_at(&mut buf[..n], start)?;
        progress.advance(start + n as u64 - pos);
        pos = start + n as u64;
    }
    progress.done();
    Ok(())
}

#[cfg(test)]
mod tests;
