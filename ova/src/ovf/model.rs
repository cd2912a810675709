//! What an OVF descriptor we write says: one virtual machine, its hardware, disks,
//! networks and the ProductSection properties that carry per-VM settings.

use crate::{Error, Result};
use serde::Serialize;

/// The oldest hardware version that knows the `vmwarePhoton64Guest` type (ESXi 6.5).
pub const PHOTON_GUEST_MIN_HW: u32 = 13;
pub const PHOTON_GUEST: &str = "vmwarePhoton64Guest";
pub const FALLBACK_GUEST: &str = "other3xLinux64Guest";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Firmware {
    Bios,
    Efi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ScsiController {
    /// Paravirtual SCSI (what vDVS attaches its volumes to).
    #[serde(rename = "VirtualSCSI")]
    Pvscsi,
    #[serde(rename = "lsilogic")]
    LsiLogic,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hardware {
    /// `vmx-NN`
    pub hw_version: u32,
    pub cpus: u32,
    pub memory_mb: u64,
    pub scsi: ScsiController,
    pub firmware: Firmware,
    /// A VMCI device: the vDVS plugin talks to ESXi over vSockets through it.
    pub vmci: bool,
}

impl Default for Hardware {
    fn default() -> Self {
        Self {
            hw_version: 14,
            cpus: 2,
            memory_mb: 2048,
            scsi: ScsiController::Pvscsi,
            firmware: Firmware::Efi,
            vmci: true,
        }
    }
}

impl Hardware {
    /// The guest OS type for Photon OS on this hardware version.
    pub fn photon_os_type(&self) -> &'static str {
        if self.hw_version >= PHOTON_GUEST_MIN_HW {
            PHOTON_GUEST
        } else {
            FALLBACK_GUEST
        }
    }

    pub fn validate(&self) -> Result<()> {
        if !(7..=21).contains(&self.hw_version) {
            return Err(Error::Invalid(format!(
                "hardware version vmx-{} is not one ESXi knows (7 to 21)",
                self.hw_version
            )));
        }
        if self.cpus == 0 || self.cpus > 768 {
            return Err(Error::Invalid(format!(
                "{} CPUs is out of range (1 to 768)",
                self.cpus
            )));
        }
        if self.memory_mb < 4 || !self.memory_mb.is_multiple_of(4) {
            return Err(Error::Invalid(format!(
                "memory {} MB must be a multiple of 4 MB",
                self.memory_mb
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OvfDisk {
    /// Name of the VMDK inside the OVA.
    pub file_name: String,
    pub file_size: u64,
    /// Virtual size in bytes.
    pub capacity: u64,
    pub populated_size: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    /// OVF type: string, boolean, uint8..uint64, int8..int64, real32, real64.
    pub kind: String,
    pub value: String,
    pub user_configurable: bool,
    pub label: String,
    pub description: String,
    /// e.g. `ValueMap{"dhcp","static"}` or `MaxLen(64)`.
    pub qualifiers: Option<String>,
    pub password: bool,
    /// Starts a new group in the vSphere deploy wizard.
    pub category: Option<String>,
}

impl Property {
    /// A user-configurable string property.
    pub fn setting(key: &str, label: &str, description: &str, value: &str) -> Self {
        Self {
            key: key.into(),
            kind: "string".into(),
            value: value.into(),
            user_configurable: true,
            label: label.into(),
            description: description.into(),
            qualifiers: None,
            password: false,
            category: None,
        }
    }

    /// A read-only fact about the image.
    pub fn fact(key: &str, label: &str, value: &str) -> Self {
        Self {
            user_configurable: false,
            ..Self::setting(key, label, label, value)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub product: String,
    pub vendor: String,
    pub version: String,
    pub full_version: String,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OvfSpec {
    /// VirtualSystem id and name (the default VM name on import).
    pub name: String,
    pub hardware: Hardware,
    pub disks: Vec<OvfDisk>,
    /// One VmxNet3 NIC per network, in order.
    pub networks: Vec<String>,
    pub product: Option<Product>,
    pub annotation: Option<String>,
}
