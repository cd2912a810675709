//! A VM's network cards and the device edits that put them on a network: a standard port
//! group (`VirtualEthernetCardNetworkBackingInfo`) or a distributed one (port-group key and
//! switch UUID). Each card is sent back as vCenter described it, only its backing changed.

use crate::client::Client;
use crate::inventory::{NetworkKind, Placement};
use crate::soap::{child, echo_with, esc, find, xsi_type, MoRef, Response};
use crate::Result;

/// The `backing` element that puts a card on `p`'s network.
pub fn backing_xml(p: &Placement) -> String {
    match &p.network_kind {
        NetworkKind::Standard => format!(
            "<backing xsi:type=\"VirtualEthernetCardNetworkBackingInfo\"><deviceName>{}</deviceName>{}</backing>",
            esc(&p.network.name),
            p.network.moref.xml("network")
        ),
        NetworkKind::Distributed {
            portgroup_key,
            switch_uuid,
        } => format!(
            "<backing xsi:type=\"VirtualEthernetCardDistributedVirtualPortBackingInfo\"><port><switchUuid>{}</switchUuid><portgroupKey>{}</portgroupKey></port></backing>",
            esc(switch_uuid),
            esc(portgroup_key)
        ),
    }
}

/// `VirtualDeviceConfigSpec` edits (`deviceChange` elements) moving every network card of
/// `vm` onto the network `backing` describes. None when the VM has no card.
pub fn edits(c: &Client, vm: &MoRef, backing: &str) -> Result<Vec<String>> {
    let pages = c.retrieve(std::slice::from_ref(vm), &["config.hardware.device"])?;
    let mut out = Vec::new();
    for page in &pages {
        out.extend(edits_in(page, backing)?);
    }
    Ok(out)
}

/// [`edits`] on a RetrievePropertiesEx answer holding `config.hardware.device`.
pub fn edits_in(page: &Response, backing: &str) -> Result<Vec<String>> {
    let (xml, doc) = (&page.xml, page.doc()?);
    let Some(val) = find(doc.root(), "val") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for device in val.children().filter(|d| d.is_element()) {
        let Some(old) = child(device, "backing") else {
            continue;
        };
        if !xsi_type(old).is_some_and(|t| t.starts_with("VirtualEthernetCard")) {
            continue;
        }
        let sent = echo_with(xml, device, "device", old, backing)?;
        out.push(format!(
            "<deviceChange><operation>edit</operation>{sent}</deviceChange>"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICES: &str = r#"<RetrievePropertiesExResponse xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><returnval><objects><obj type="VirtualMachine">vm-1</obj><propSet><name>config.hardware.device</name><val xsi:type="ArrayOfVirtualDevice"><VirtualDevice xsi:type="VirtualIDEController"><key>200</key></VirtualDevice><VirtualDevice xsi:type="VirtualVmxnet3"><key>4000</key><deviceInfo><label>Network adapter 1</label><summary>VM Network</summary></deviceInfo><backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><deviceName>VM Network</deviceName><network type="Network">network-7</network></backing><connectable><startConnected>true</startConnected></connectable><macAddress>00:50:56:aa:bb:cc</macAddress></VirtualDevice><VirtualDevice xsi:type="VirtualDisk"><key>2000</key><backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds] a.vmdk</fileName></backing></VirtualDevice></val></propSet></objects></returnval></RetrievePropertiesExResponse>"#;

    #[test]
    fn only_network_cards_are_edited_and_only_their_backing_changes() {
        let new = "<backing xsi:type=\"VirtualEthernetCardDistributedVirtualPortBackingInfo\"><port><switchUuid>u</switchUuid><portgroupKey>dvportgroup-1</portgroupKey></port></backing>";
        let page = |xml: &str| Response { xml: xml.into() };
        let e = edits_in(&page(DEVICES), new).unwrap();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            e[0],
            format!("<deviceChange><operation>edit</operation><device xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"VirtualVmxnet3\"><key>4000</key><deviceInfo><label>Network adapter 1</label><summary>VM Network</summary></deviceInfo>{new}<connectable><startConnected>true</startConnected></connectable><macAddress>00:50:56:aa:bb:cc</macAddress></device></deviceChange>")
        );
        assert!(edits_in(&page("<r/>"), new).unwrap().is_empty());
    }
}
