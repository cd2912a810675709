//! The Photon OS Docker-host VM profile: hardware and the OVF ProductSection
//! properties a deploy fills in per VM (the guest reads them from the OVF
//! environment at first boot).

use ova::ovf::{Firmware, Hardware, OvfDisk, OvfSpec, Product, Property, ScsiController};

/// Versions of the vDVS halves baked into an image, shown read-only in vSphere.
#[derive(Default)]
pub struct BakedVersions {
    pub photon: Option<String>,
    pub plugin: Option<String>,
    pub vib: Option<String>,
}

pub fn per_vm_properties() -> Vec<Property> {
    let mut hostname = Property::setting(
        "hostname",
        "Hostname",
        "Host name of this Docker host (empty: keep the image's).",
        "",
    );
    hostname.category = Some("Network".into());
    hostname.qualifiers = Some("MaxLen(63)".into());
    let mut mode = Property::setting(
        "network.mode",
        "Addressing",
        "dhcp, or static with the address below.",
        "dhcp",
    );
    mode.qualifiers = Some(r#"ValueMap{"dhcp","static"}"#.into());
    let mut key = Property::setting(
        "ssh.authorized_key",
        "SSH public key",
        "Added to root's authorized_keys (one OpenSSH public key line).",
        "",
    );
    key.category = Some("Access".into());
    vec![
        hostname,
        mode,
        Property::setting(
            "network.address",
            "IP address/prefix",
            "Static address in CIDR form, e.g. 10.0.0.21/24.",
            "",
        ),
        Property::setting(
            "network.gateway",
            "Gateway",
            "Default gateway for a static address.",
            "",
        ),
        Property::setting(
            "network.dns",
            "DNS servers",
            "Comma-separated DNS servers for a static address.",
            "",
        ),
        key,
    ]
}

pub fn read_only_facts(v: &BakedVersions) -> Vec<Property> {
    let mut facts = Vec::new();
    if let Some(p) = &v.plugin {
        let mut f = Property::fact("vdvs.plugin_version", "vDVS Docker plugin version", p);
        f.category = Some("vSphere Docker Volume Service".into());
        facts.push(f);
    }
    if let Some(vib) = &v.vib {
        facts.push(Property::fact(
            "vdvs.vib_version",
            "Matching ESXi VIB (esx-vmdkops-service)",
            vib,
        ));
    }
    facts
}

pub struct VmShape {
    pub name: String,
    pub cpus: u32,
    pub memory_mb: u64,
    pub hw_version: u32,
    pub network: String,
    pub firmware: Firmware,
}

pub fn ovf_spec(shape: &VmShape, disk: OvfDisk, versions: &BakedVersions) -> OvfSpec {
    let mut properties = per_vm_properties();
    properties.extend(read_only_facts(versions));
    let photon = versions.photon.clone().unwrap_or_else(|| "unknown".into());
    OvfSpec {
        name: shape.name.clone(),
        hardware: Hardware {
            hw_version: shape.hw_version,
            cpus: shape.cpus,
            memory_mb: shape.memory_mb,
            scsi: ScsiController::Pvscsi,
            firmware: shape.firmware,
            vmci: true,
        },
        disks: vec![disk],
        networks: vec![shape.network.clone()],
        product: Some(Product {
            product: "Photon OS Docker host".into(),
            vendor: "photon-fleet".into(),
            version: photon.clone(),
            full_version: format!(
                "Photon OS {photon}, photon-fleet {}",
                env!("CARGO_PKG_VERSION")
            ),
            properties,
        }),
        annotation: Some("Photon OS Docker host built by photon-fleet".into()),
    }
}
