//! The `vsphere` crate: a vim25 SOAP client (session, inventory, property reads) and,
//! on top of it, the fleet deploy. Formats are pure ([`soap`]); effects sit in [`client`].

pub mod client;
mod error;
pub mod fleet;
pub mod import;
pub mod inventory;
pub mod soap;
pub mod task;
pub mod tls;
pub mod vm;

pub use client::Client;
pub use error::{Error, Result, Role};
pub use tls::Trust;
