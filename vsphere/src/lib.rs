//! The `vsphere` crate: a vim25 SOAP client. Formats are pure ([`soap`]: envelopes,
//! faults, the import spec); every call goes through [`client`] (HTTPS, session, property
//! reads), and the managed objects' operations sit in [`inventory`], [`import`] (OVF
//! import over an HttpNfcLease; [`nfc`]: where each disk goes and how it is trusted),
//! [`vm`] (clone, power, reconfigure, guarded removal; [`nic`]: network cards;
//! [`standalone`]: VMs on an ESXi host without vCenter) and [`task`]. The fleet deploy built on it lives in the `fleet` crate.
#![forbid(unsafe_code)]

pub mod client;
mod error;
pub mod hosts;
pub mod import;
pub mod inventory;
pub mod nfc;
pub mod nic;
pub mod soap;
pub mod standalone;
pub mod task;
pub mod tls;
pub mod vm;

pub use client::Client;
pub use error::{Error, Result, Role};
pub use tls::Trust;
