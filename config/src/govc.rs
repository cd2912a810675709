//! `--options FILE`: govc's import options JSON (what `govc import.spec` prints), so
//! users can bring the file they already have. Unknown keys are refused by name.

use crate::{Error, Result};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct GovcOptions {
    pub disk_provisioning: Option<String>,
    #[serde(rename = "IPAllocationPolicy")]
    pub ip_allocation_policy: Option<String>,
    #[serde(rename = "IPProtocol")]
    pub ip_protocol: Option<String>,
    #[serde(default)]
    pub property_mapping: Vec<KeyValue>,
    #[serde(default)]
    pub network_mapping: Vec<NetworkMap>,
    pub annotation: Option<String>,
    // Accepted so govc's file loads unchanged, and ignored: the import is always a
    // template, clones are powered on unless --no-power-on, and the OVF environment is
    // always given to the guest through VMware Tools.
    #[serde(rename = "MarkAsTemplate", default)]
    _mark_as_template: Option<serde::de::IgnoredAny>,
    #[serde(rename = "PowerOn", default)]
    _power_on: Option<serde::de::IgnoredAny>,
    #[serde(rename = "InjectOvfEnv", default)]
    _inject_ovf_env: Option<serde::de::IgnoredAny>,
    #[serde(rename = "WaitForIP")]
    pub wait_for_ip: Option<bool>,
    /// Used as the template's name.
    pub name: Option<String>,
    pub deployment: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct NetworkMap {
    pub name: String,
    pub network: String,
}

const PROVISIONING: [&str; 10] = [
    "flat",
    "thin",
    "thick",
    "eagerZeroedThick",
    "monolithicSparse",
    "monolithicFlat",
    "twoGbMaxExtentSparse",
    "twoGbMaxExtentFlat",
    "seSparse",
    "sparse",
];

const POLICIES: [&str; 4] = [
    "dhcpPolicy",
    "transientPolicy",
    "fixedPolicy",
    "fixedAllocatedPolicy",
];

impl GovcOptions {
    pub fn read(path: &Path) -> Result<Self> {
        let text = crate::error::read_text(path, "a JSON file")?;
        let invalid = |why: String| Error::Invalid {
            path: path.display().to_string(),
            why,
        };
        let o: Self = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("{e} (expected govc import.spec options)")))?;
        let bad = |what: &str, v: &str, ok: &[&str]| {
            invalid(format!("{what} '{v}' is not one of {}", ok.join(", ")))
        };
        if let Some(d) = o.disk_provisioning.as_deref().filter(|d| !d.is_empty()) {
            if !PROVISIONING.contains(&d) {
                return Err(bad("DiskProvisioning", d, &PROVISIONING));
            }
        }
        if let Some(p) = o.ip_allocation_policy.as_deref().filter(|p| !p.is_empty()) {
            if !POLICIES.contains(&p) {
                return Err(bad("IPAllocationPolicy", p, &POLICIES));
            }
        }
        if let Some(p) = o.deployment.as_deref().filter(|p| !p.is_empty()) {
            return Err(invalid(format!(
                "Deployment '{p}': the OVA has no deployment options"
            )));
        }
        Ok(o)
    }

    /// Property defaults for every VM (govc writes empty values for "leave as is").
    pub fn property_defaults(&self) -> Vec<(String, String)> {
        self.property_mapping
            .iter()
            .filter(|kv| !kv.value.is_empty())
            .map(|kv| (kv.key.clone(), kv.value.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<GovcOptions> {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), json).unwrap();
        GovcOptions::read(f.path())
    }

    #[test]
    fn govc_import_spec_output_is_accepted() {
        // The shape `govc import.spec photon.ova` prints.
        let o = read(r#"{"DiskProvisioning":"flat","IPAllocationPolicy":"dhcpPolicy","IPProtocol":"IPv4",
            "PropertyMapping":[{"Key":"hostname","Value":""},{"Key":"network.dns","Value":"10.0.0.2"}],
            "NetworkMapping":[{"Name":"VM Network","Network":""}],"Annotation":"","MarkAsTemplate":false,
            "PowerOn":false,"InjectOvfEnv":false,"WaitForIP":false,"Name":null}"#)
        .unwrap();
        assert_eq!(o.disk_provisioning.as_deref(), Some("flat"));
        assert_eq!(
            o.property_defaults(),
            vec![("network.dns".to_string(), "10.0.0.2".to_string())]
        );
        assert_eq!(o.network_mapping[0].name, "VM Network");
        assert!(o.name.is_none());
    }

    #[test]
    fn mistakes_are_named() {
        let e = read(r#"{"DiskProvisionig":"thin"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("DiskProvisionig"), "{e}");
        let e = read(r#"{"DiskProvisioning":"fast"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'fast' is not one of flat, thin"), "{e}");
        assert!(read("{").is_err());
    }
}
