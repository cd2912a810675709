//! OVF 1.0 descriptors: the model we write, its rendering, and a reader for any OVF.

pub mod env;
pub mod model;
pub mod read;
pub mod render;

pub use model::*;
pub use read::{parse, DiskInfo, FileRef, OvfInfo, PropertyInfo};
pub use render::{check_member_name, render};

#[cfg(test)]
mod tests;
