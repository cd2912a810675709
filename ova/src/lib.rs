//! The `ova` crate: everything photon-fleet knows about VM image files.
//! - [`vmdk`]: streamOptimized VMDK writer (parallel deflate, bounded memory) and a
//!   checked reader for sparse VMDKs;
//! - [`ovf`]: the OVF 1.0 descriptor we write and a reader for any OVF;
//! - [`manifest`], [`archive`], [`package`]: the `.mf`, the OVA tar read and written;
//! - [`source`], [`detect`], [`raw`]: disks as byte sources, format sniffing, raw output;
//! - [`writeback`]: large outputs reach the disk while they are produced;
//! - [`gpt`]: GUID partition tables read, written and grown.
// One `unsafe` block, in `writeback` (sync_file_range has no safe wrapper); nothing else.
#![deny(unsafe_code)]

pub mod archive;
pub mod detect;
mod error;
pub mod gpt;
pub mod manifest;
pub mod ovf;
pub mod package;
pub mod progress;
pub mod raw;
pub mod source;
pub mod vmdk;
pub mod writeback;

pub use archive::{Ova, WindowReader};
pub use detect::{open_disk, DiskFormat};
pub use error::{Error, Result};
pub use package::{write_ova, Written};
pub use progress::{NoProgress, Progress};
pub use source::{DiskSource, FileWindow, RawDisk, ReadAt};

#[cfg(test)]
mod archive_tests;
#[cfg(test)]
mod gpt_tests;
