//! ESXi hosts as vCenter knows them: the hosts of a cluster (or a standalone host's
//! compute resource) with their management address (the vmk0 of "Management Network"),
//! connection and maintenance state, and their SSH service (`HostServiceSystem`,
//! `TSM-SSH`), which can be started and stopped.

use crate::client::Client;
use crate::soap::{child, children, moref, text, MoRef};
use crate::{Error, Result};
use serde::Serialize;

/// One host of a compute resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostInfo {
    #[serde(skip)]
    pub moref: MoRef,
    pub name: String,
    /// The management address: vmk0 on "Management Network" (else the first vmknic).
    pub address: Option<String>,
    pub connected: bool,
    pub maintenance: bool,
    #[serde(skip)]
    pub service_system: Option<MoRef>,
}

/// The SSH service's key in `HostServiceSystem`.
pub const SSH_SERVICE: &str = "TSM-SSH";

/// The hosts of `compute` (a ClusterComputeResource or ComputeResource), by name.
pub fn of_compute(c: &Client, compute: &MoRef) -> Result<Vec<HostInfo>> {
    let refs = c.refs(compute, "host")?;
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    let props = [
        "name",
        "config.network.vnic",
        "runtime.connectionState",
        "runtime.inMaintenanceMode",
        "configManager.serviceSystem",
    ];
    let mut out = Vec::new();
    for page in c.retrieve(&refs, &props)? {
        let doc = page.doc()?;
        for o in doc
            .descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == "objects")
        {
            let Some(obj) = child(o, "obj").and_then(moref) else {
                continue;
            };
            let mut h = HostInfo {
                moref: obj,
                name: String::new(),
                address: None,
                connected: false,
                maintenance: false,
                service_system: None,
            };
            for ps in children(o, "propSet") {
                let (Some(name), Some(val)) = (text(ps, "name"), child(ps, "val")) else {
                    continue;
                };
                let value = || val.text().unwrap_or("").to_string();
                match name.as_str() {
                    "name" => h.name = value(),
                    "runtime.connectionState" => h.connected = value() == "connected",
                    "runtime.inMaintenanceMode" => h.maintenance = value() == "true",
                    "configManager.serviceSystem" => h.service_system = moref(val),
                    "config.network.vnic" => h.address = management_address(val),
                    _ => {}
                }
            }
            out.push(h);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The management vmknic's address from an `ArrayOfHostVirtualNic`.
fn management_address(val: roxmltree::Node) -> Option<String> {
    let nics: Vec<_> = children(val, "HostVirtualNic").collect();
    let pick = nics
        .iter()
        .find(|n| text(**n, "portgroup").as_deref() == Some("Management Network"))
        .or(nics.first())?;
    let ip = child(*pick, "spec").and_then(|s| child(s, "ip"))?;
    text(ip, "ipAddress").filter(|a| !a.is_empty())
}

/// Whether the host's SSH service runs (`None`: the host reports no such service).
pub fn ssh_running(c: &Client, service_system: &MoRef) -> Result<Option<bool>> {
    let pages = c.retrieve(std::slice::from_ref(service_system), &["serviceInfo"])?;
    for page in &pages {
        let doc = page.doc()?;
        for s in doc
            .descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == "service")
        {
            if text(s, "key").as_deref() == Some(SSH_SERVICE) {
                return Ok(Some(text(s, "running").as_deref() == Some("true")));
            }
        }
    }
    Ok(None)
}

/// Starts or stops the host's SSH service.
pub fn set_ssh(c: &Client, service_system: &MoRef, running: bool) -> Result<()> {
    let method = if running {
        "StartService"
    } else {
        "StopService"
    };
    c.call(method, service_system, &format!("<id>{SSH_SERVICE}</id>"))
        .map(|_| ())
        .map_err(|e| match e {
            Error::Fault { fault, message } => Error::Fault {
                fault,
                message: format!("{method} {SSH_SERVICE}: {message}"),
            },
            e => e,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_management_address_is_read_from_the_vmknics() {
        let xml = r#"<val xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ArrayOfHostVirtualNic"><HostVirtualNic><device>vmk1</device><portgroup>vMotion</portgroup><spec><ip><dhcp>false</dhcp><ipAddress>10.1.0.5</ipAddress></ip></spec></HostVirtualNic><HostVirtualNic><device>vmk0</device><portgroup>Management Network</portgroup><spec><ip><dhcp>false</dhcp><ipAddress>10.0.0.5</ipAddress></ip></spec></HostVirtualNic></val>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        assert_eq!(
            management_address(doc.root_element()).as_deref(),
            Some("10.0.0.5")
        );
        let one = xml.replace("Management Network", "Other");
        let doc = roxmltree::Document::parse(&one).unwrap();
        assert_eq!(
            management_address(doc.root_element()).as_deref(),
            Some("10.1.0.5")
        );
        let none = r#"<val xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ArrayOfHostVirtualNic"/>"#;
        let doc = roxmltree::Document::parse(none).unwrap();
        assert_eq!(management_address(doc.root_element()), None);
    }
}
