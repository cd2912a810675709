use super::*;

fn spec() -> OvfSpec {
    let mut hostname = Property::setting("hostname", "Hostname", "The VM's host name", "");
    hostname.category = Some("Network".into());
    let mut mode = Property::setting("network.mode", "Addressing", "dhcp or static", "dhcp");
    mode.qualifiers = Some(r#"ValueMap{"dhcp","static"}"#.into());
    OvfSpec {
        name: "photon-docker".into(),
        hardware: Hardware::default(),
        disks: vec![OvfDisk {
            file_name: "photon-docker-disk1.vmdk".into(),
            file_size: 12345,
            capacity: 16 << 30,
            populated_size: 1 << 30,
        }],
        networks: vec!["VM Network".into()],
        product: Some(Product {
            product: "Photon OS Docker host".into(),
            vendor: "photon-fleet".into(),
            version: "5.0".into(),
            full_version: "5.0 <vDVS 0.21.2>".into(),
            properties: vec![
                hostname,
                mode,
                Property::fact("vdvs.plugin_version", "vDVS plugin", "0.21.2"),
            ],
        }),
        annotation: Some("built by \"photon-fleet\" & friends".into()),
    }
}

#[test]
fn rendered_ovf_reads_back() {
    let xml = render(&spec()).unwrap();
    let info = parse(&xml).unwrap();
    assert_eq!(info.name, "photon-docker");
    assert_eq!(info.os_type.as_deref(), Some("vmwarePhoton64Guest"));
    assert_eq!(info.hardware_versions, ["vmx-14"]);
    assert_eq!((info.cpus, info.memory_mb), (Some(2), Some(2048)));
    assert_eq!(info.firmware.as_deref(), Some("efi"));
    assert_eq!(info.transport.as_deref(), Some("com.vmware.guestInfo iso"));
    assert_eq!(
        info.files,
        [FileRef {
            id: "file1".into(),
            href: "photon-docker-disk1.vmdk".into(),
            size: Some(12345)
        }]
    );
    assert_eq!(info.disks[0].capacity, 16 << 30);
    assert_eq!(info.disks[0].populated_size, Some(1 << 30));
    assert!(info.disks[0].format.ends_with("#streamOptimized"));
    assert_eq!(info.networks, ["VM Network"]);
    assert_eq!(info.nic_types, ["VmxNet3"]);
    assert_eq!(info.scsi_types, ["VirtualSCSI"]);
    assert_eq!(info.product_version.as_deref(), Some("5.0"));
    let fact = info.property("vdvs.plugin_version").unwrap();
    assert!(!fact.user_configurable);
    assert_eq!(fact.value, "0.21.2");
    assert!(info.property("hostname").unwrap().user_configurable);
    assert!(!info.property("hostname").unwrap().password);
    assert!(xml.contains(r#"ovf:qualifiers="ValueMap{&quot;dhcp&quot;,&quot;static&quot;}""#));
    assert!(xml.contains("vmware.vmci"));
    assert!(xml.contains("<rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType>"));
    assert!(xml.contains("&quot;photon-fleet&quot; &amp; friends"));
    // The iso transport needs a CD-ROM: one on an IDE controller of its own.
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let item = |kind: &str| {
        doc.descendants()
            .find(|n| {
                n.has_tag_name("Item")
                    && n.children()
                        .any(|c| c.has_tag_name("ResourceType") && c.text() == Some(kind))
            })
            .unwrap_or_else(|| panic!("no ResourceType {kind} in {xml}"))
    };
    let field = |n: roxmltree::Node, name: &str| {
        n.children()
            .find(|c| c.has_tag_name(name))
            .and_then(|c| c.text())
            .map(String::from)
    };
    assert_eq!(
        field(item("15"), "Parent"),
        field(item("5"), "InstanceID"),
        "the CD-ROM sits on the IDE controller"
    );
}

#[test]
fn old_hardware_falls_back_to_generic_linux() {
    let mut s = spec();
    s.hardware.hw_version = 11;
    s.product = None;
    let info = parse(&render(&s).unwrap()).unwrap();
    assert_eq!(info.os_type.as_deref(), Some("other3xLinux64Guest"));
    assert_eq!(
        info.transport, None,
        "no properties, no OVF environment transport"
    );
    assert!(
        !render(&s).unwrap().contains("<rasd:ResourceType>15<"),
        "and no CD-ROM for it"
    );
}

#[test]
fn render_refuses_bad_specs() {
    let mut s = spec();
    s.hardware.hw_version = 3;
    assert!(render(&s).unwrap_err().to_string().contains("vmx-3"));
    let mut s = spec();
    s.disks[0].file_name = "../etc/passwd".into();
    assert!(render(&s)
        .unwrap_err()
        .to_string()
        .contains("not a usable file name"));
    let mut s = spec();
    let p = s.product.as_ref().unwrap().properties[0].clone();
    s.product.as_mut().unwrap().properties.push(p);
    assert!(render(&s)
        .unwrap_err()
        .to_string()
        .contains("defined twice"));
    let mut s = spec();
    s.hardware.memory_mb = 1001;
    let e = render(&s).unwrap_err().to_string();
    assert!(e.contains("1001"), "{e}");
}

#[test]
fn parse_reports_broken_descriptors() {
    let xml = render(&spec()).unwrap();
    let cut = &xml[..xml.len() / 2];
    assert!(parse(cut)
        .unwrap_err()
        .to_string()
        .contains("not well-formed XML"));
    let no_vs =
        r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><References/></Envelope>"#;
    assert!(parse(no_vs)
        .unwrap_err()
        .to_string()
        .contains("no <VirtualSystem>"));
    let dangling = xml.replace(r#"ovf:fileRef="file1""#, r#"ovf:fileRef="file9""#);
    assert!(parse(&dangling)
        .unwrap_err()
        .to_string()
        .contains("'file9'"));
    let traversal = xml.replace(
        r#"ovf:href="photon-docker-disk1.vmdk""#,
        r#"ovf:href="../../x.vmdk""#,
    );
    let e = parse(&traversal).unwrap_err().to_string();
    assert!(e.contains("../../x.vmdk"), "{e}");
    assert!(parse("<Foo/>").unwrap_err().to_string().contains("<Foo>"));
}

#[test]
fn parses_foreign_units_and_product_classes() {
    let xml = r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
 <References><File ovf:href="d.vmdk" ovf:id="f"/></References>
 <DiskSection><Disk ovf:capacity="16" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="d1" ovf:fileRef="f"/></DiskSection>
 <VirtualSystem ovf:id="vm">
  <VirtualHardwareSection><Item><rasd:AllocationUnits>byte * 2^30</rasd:AllocationUnits><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item></VirtualHardwareSection>
  <ProductSection ovf:class="vami" ovf:instance="vm"><Property ovf:key="ip0" ovf:type="string" ovf:userConfigurable="true"/></ProductSection>
 </VirtualSystem>
</Envelope>"#;
    let info = parse(xml).unwrap();
    assert_eq!(info.name, "vm");
    assert_eq!(info.disks[0].capacity, 16 << 30);
    assert_eq!(info.memory_mb, Some(2048));
    assert_eq!(info.properties[0].key, "vami.ip0.vm");
}

/// Found by the ova_reader fuzz target: a memory size whose bytes overflow u64 is an
/// error naming it, not an arithmetic panic.
#[test]
fn an_overflowing_memory_size_is_an_error() {
    let xml = r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
 <References/>
 <VirtualSystem ovf:id="vm">
  <VirtualHardwareSection><Item><rasd:AllocationUnits>byte * 2^30</rasd:AllocationUnits><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>99999999999999</rasd:VirtualQuantity></Item></VirtualHardwareSection>
 </VirtualSystem>
</Envelope>"#;
    let e = parse(xml).unwrap_err().to_string();
    assert!(
        e.contains("OVF memory size 99999999999999") && e.contains("too large"),
        "{e}"
    );
}
