//! Sparse VMDK: streamOptimized writer, sparse reader, descriptor.

pub mod descriptor;
pub mod header;
pub mod reader;
pub mod writer;

pub use descriptor::{AdapterType, Descriptor};
pub use reader::{VmdkFacts, VmdkImage};
pub use writer::{write_stream_optimized, WriteOptions, WriteReport};

#[cfg(test)]
mod tests;
