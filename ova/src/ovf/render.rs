//! Renders an [`OvfSpec`] through `templates/ovf.hbs`.

use super::model::{Firmware, OvfSpec, Product, ScsiController};
use crate::{Error, Result};
use serde::Serialize;

#[derive(Serialize)]
struct NumberedDisk<'a> {
    index: usize,
    number: usize,
    instance: usize,
    file_name: &'a str,
    file_size: u64,
    capacity: u64,
    populated_size: u64,
}

#[derive(Serialize)]
struct Nic<'a> {
    index: usize,
    number: usize,
    instance: usize,
    network: &'a str,
}

#[derive(Serialize)]
struct Context<'a> {
    name: &'a str,
    annotation: Option<&'a str>,
    os_id: u32,
    os_type: &'static str,
    hw_version: u32,
    cpus: u32,
    memory_mb: u64,
    scsi: ScsiController,
    firmware: Firmware,
    disks: Vec<NumberedDisk<'a>>,
    networks: &'a [String],
    nics: Vec<Nic<'a>>,
    vmci_instance: Option<usize>,
    /// The IDE controller and CD-ROM the `iso` transport needs (with properties only).
    ide_instance: Option<usize>,
    cdrom_instance: Option<usize>,
    product: Option<&'a Product>,
}

/// Names that go into OVF attributes and OVA member names must be plain.
pub fn check_member_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 99
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "'{name}' is not a usable file name inside an OVA (letters, digits, '._-+', at most 99 characters)"
        )))
    }
}

pub fn render(spec: &OvfSpec) -> Result<String> {
    spec.hardware.validate()?;
    if spec.name.trim().is_empty() || spec.name.len() > 80 {
        return Err(Error::Invalid(
            "the VM name must be 1 to 80 characters".into(),
        ));
    }
    if spec.disks.is_empty() {
        return Err(Error::Invalid("an OVF needs at least one disk".into()));
    }
    if spec.networks.is_empty() {
        return Err(Error::Invalid(
            "an OVF needs at least one network for its NIC".into(),
        ));
    }
    for d in &spec.disks {
        check_member_name(&d.file_name)?;
    }
    if let Some(p) = &spec.product {
        let mut seen = std::collections::BTreeSet::new();
        for prop in &p.properties {
            if !seen.insert(&prop.key) {
                return Err(Error::Invalid(format!(
                    "OVF property '{}' is defined twice",
                    prop.key
                )));
            }
        }
    }
    let first_disk = 4;
    let disks: Vec<_> = spec
        .disks
        .iter()
        .enumerate()
        .map(|(i, d)| NumberedDisk {
            index: i,
            number: i + 1,
            instance: first_disk + i,
            file_name: &d.file_name,
            file_size: d.file_size,
            capacity: d.capacity,
            populated_size: d.populated_size,
        })
        .collect();
    let first_nic = first_disk + disks.len();
    let nics: Vec<_> = spec
        .networks
        .iter()
        .enumerate()
        .map(|(i, n)| Nic {
            index: i,
            number: i + 1,
            instance: first_nic + i,
            network: n,
        })
        .collect();
    let vmci_instance = spec.hardware.vmci.then_some(first_nic + nics.len());
    // The OVF environment's ISO transport is delivered on a CD-ROM: there must be one.
    let has_properties = spec
        .product
        .as_ref()
        .is_some_and(|p| !p.properties.is_empty());
    let ide_instance = has_properties.then_some(first_nic + nics.len() + 1);
    let cdrom_instance = ide_instance.map(|i| i + 1);
    let ctx = Context {
        name: &spec.name,
        annotation: spec.annotation.as_deref(),
        // CIM id 100 ("Other 64-bit") is what VMware writes for Photon and other 3.x Linux.
        os_id: 100,
        os_type: spec.hardware.photon_os_type(),
        hw_version: spec.hardware.hw_version,
        cpus: spec.hardware.cpus,
        memory_mb: spec.hardware.memory_mb,
        scsi: spec.hardware.scsi,
        firmware: spec.hardware.firmware,
        disks,
        networks: &spec.networks,
        nics,
        vmci_instance,
        ide_instance,
        cdrom_instance,
        product: spec.product.as_ref(),
    };
    templates::render("ovf", &ctx).map_err(Error::Invalid)
}
