//! A standalone ESXi host (no vCenter: `about.apiType` is `HostAgent`) has no clones and
//! no templates. The imported VM stays a powered-off base VM, and each fleet VM is made
//! from it with one upload in all: its disks are copied on the datastore
//! (`VirtualDiskManager.CopyVirtualDisk_Task`) and a VM with the same hardware is created
//! around the copies (`Folder.CreateVM_Task`: guest OS, hardware version, CPUs, memory,
//! disk controllers, network cards on the wanted network). A failure removes what was
//! copied for that VM.

use crate::client::Client;
use crate::inventory::Target;
use crate::soap::{child, esc, text, xsi_type, MoRef, Response};
use crate::vm::{config_spec_xml, run_task, CloneConfig};
use crate::{Error, Result};
use std::time::Duration;

/// The hardware of a VM, as far as a copy of it needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hardware {
    pub guest_id: String,
    /// `vmx-14`...
    pub version: String,
    pub num_cpus: u32,
    pub memory_mb: u64,
    pub controllers: Vec<Controller>,
    pub disks: Vec<Disk>,
    /// The network cards' types (`VirtualVmxnet3`...).
    pub nics: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    /// `ParaVirtualSCSIController`, `VirtualLsiLogicController`, `VirtualAHCIController`...
    pub kind: String,
    pub key: i32,
    pub bus: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    pub controller_key: i32,
    pub unit: i32,
    /// `[datastore] folder/file.vmdk`
    pub file: String,
    pub capacity_kb: u64,
}

/// Reads `vm`'s hardware.
pub fn hardware(c: &Client, vm: &MoRef) -> Result<Hardware> {
    let props = [
        "config.guestId",
        "config.version",
        "config.hardware.numCPU",
        "config.hardware.memoryMB",
        "config.hardware.device",
    ];
    let mut hw = Hardware::default();
    for page in c.retrieve(std::slice::from_ref(vm), &props)? {
        read_props(&page, &mut hw)?;
    }
    if hw.disks.is_empty() {
        return Err(Error::Unexpected(
            "the base VM has no disk to copy".to_string(),
        ));
    }
    Ok(hw)
}

/// Fills `hw` from a RetrievePropertiesEx answer.
pub fn read_props(page: &Response, hw: &mut Hardware) -> Result<()> {
    let doc = page.doc()?;
    for ps in doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "propSet")
    {
        let (Some(name), Some(val)) = (text(ps, "name"), child(ps, "val")) else {
            continue;
        };
        let value = || val.text().unwrap_or("").trim().to_string();
        match name.as_str() {
            "config.guestId" => hw.guest_id = value(),
            "config.version" => hw.version = value(),
            "config.hardware.numCPU" => hw.num_cpus = value().parse().unwrap_or(1),
            "config.hardware.memoryMB" => hw.memory_mb = value().parse().unwrap_or(1024),
            "config.hardware.device" => read_devices(val, hw),
            _ => {}
        }
    }
    Ok(())
}

fn read_devices(val: roxmltree::Node, hw: &mut Hardware) {
    let num = |n: roxmltree::Node, f: &str| text(n, f).and_then(|t| t.trim().parse::<i64>().ok());
    let mut controllers = Vec::new();
    for d in val.children().filter(|d| d.is_element()) {
        let kind = xsi_type(d).unwrap_or("").to_string();
        let key = num(d, "key").unwrap_or(0) as i32;
        let backing = child(d, "backing");
        let backing_kind = backing.and_then(xsi_type).unwrap_or("");
        if kind == "VirtualDisk" {
            hw.disks.push(Disk {
                controller_key: num(d, "controllerKey").unwrap_or(0) as i32,
                unit: num(d, "unitNumber").unwrap_or(0) as i32,
                file: backing
                    .and_then(|b| text(b, "fileName"))
                    .unwrap_or_default(),
                capacity_kb: num(d, "capacityInKB").unwrap_or(0).max(0) as u64,
            });
        } else if backing_kind.starts_with("VirtualEthernetCard") {
            hw.nics.push(kind);
        } else if kind.ends_with("Controller") && child(d, "busNumber").is_some() {
            controllers.push(Controller {
                kind,
                key,
                bus: num(d, "busNumber").unwrap_or(0) as i32,
            });
        }
    }
    // Only the controllers the disks sit on; IDE controllers come with every new VM.
    hw.controllers = controllers
        .into_iter()
        .filter(|c| hw.disks.iter().any(|d| d.controller_key == c.key))
        .collect();
}

fn is_scsi(kind: &str) -> bool {
    matches!(
        kind,
        "ParaVirtualSCSIController"
            | "VirtualLsiLogicController"
            | "VirtualLsiLogicSASController"
            | "VirtualBusLogicController"
    )
}

/// Where the `i`th disk of VM `name` is copied to on datastore `ds`.
pub fn disk_path(ds: &str, name: &str, i: usize) -> String {
    match i {
        0 => format!("[{ds}] {name}/{name}.vmdk"),
        _ => format!("[{ds}] {name}/{name}_{i}.vmdk"),
    }
}

/// The `VirtualMachineConfigSpec` of a VM `name` like `hw`, its disks at `disks`, its
/// cards on the network of `nic_backing` (a [`crate::nic::backing_xml`]), with `cfg`'s
/// annotation and extraConfig (elements in the schema's order).
pub fn create_spec(
    hw: &Hardware,
    name: &str,
    ds: &str,
    disks: &[String],
    nic_backing: &str,
    cfg: &CloneConfig,
) -> String {
    let mut x = format!("<name>{}</name>", esc(name));
    if !hw.version.is_empty() {
        x.push_str(&format!("<version>{}</version>", esc(&hw.version)));
    }
    x.push_str(&format!("<guestId>{}</guestId>", esc(&hw.guest_id)));
    if let Some(a) = &cfg.annotation {
        x.push_str(&format!("<annotation>{}</annotation>", esc(a)));
    }
    x.push_str(&format!(
        "<files><vmPathName>{}</vmPathName></files><numCPUs>{}</numCPUs><memoryMB>{}</memoryMB>",
        esc(&format!("[{ds}] {name}/{name}.vmx")),
        hw.num_cpus.max(1),
        hw.memory_mb.max(4)
    ));
    // New devices get negative keys; a disk on a controller that comes with every VM
    // (IDE) keeps its key.
    let key_of = |k: i32| {
        if hw.controllers.iter().any(|c| c.key == k) {
            -k.abs() - 1
        } else {
            k
        }
    };
    let add =
        |device: String| format!("<deviceChange><operation>add</operation>{device}</deviceChange>");
    for c in &hw.controllers {
        let shared = if is_scsi(&c.kind) {
            "<sharedBus>noSharing</sharedBus>"
        } else {
            ""
        };
        x.push_str(&add(format!(
            "<device xsi:type=\"{}\"><key>{}</key><busNumber>{}</busNumber>{shared}</device>",
            esc(&c.kind),
            key_of(c.key),
            c.bus
        )));
    }
    for (i, (d, file)) in hw.disks.iter().zip(disks).enumerate() {
        x.push_str(&add(format!(
            "<device xsi:type=\"VirtualDisk\"><key>{}</key><backing xsi:type=\"VirtualDiskFlatVer2BackingInfo\"><fileName>{}</fileName><diskMode>persistent</diskMode><thinProvisioned>true</thinProvisioned></backing><controllerKey>{}</controllerKey><unitNumber>{}</unitNumber><capacityInKB>{}</capacityInKB></device>",
            -3000 - i as i32,
            esc(file),
            key_of(d.controller_key),
            d.unit,
            d.capacity_kb
        )));
    }
    for (i, kind) in hw.nics.iter().enumerate() {
        x.push_str(&add(format!(
            "<device xsi:type=\"{}\"><key>{}</key>{nic_backing}<connectable><startConnected>true</startConnected><allowGuestControl>true</allowGuestControl><connected>true</connected></connectable><addressType>generated</addressType></device>",
            esc(kind),
            -4000 - i as i32
        )));
    }
    x.push_str(&config_spec_xml(&CloneConfig {
        annotation: None,
        ..cfg.clone()
    }));
    x
}

/// What the VMs of a run are made from.
pub struct Base<'a> {
    pub hardware: &'a Hardware,
    /// The datastore's name: the copies go there.
    pub datastore: &'a str,
    /// The network cards' backing ([`crate::nic::backing_xml`]).
    pub nic_backing: &'a str,
}

/// Makes VM `name` from `base` at `at`. On failure, the disks copied for it and its
/// folder are removed again.
pub fn create_from(
    c: &Client,
    base: &Base,
    name: &str,
    at: &Target,
    cfg: &CloneConfig,
    t: Duration,
) -> Result<MoRef> {
    let (hw, ds) = (base.hardware, base.datastore);
    let (Some(vdm), Some(files)) = (
        c.content.virtual_disk_manager.clone(),
        c.content.file_manager.clone(),
    ) else {
        return Err(Error::Unexpected(
            "this ESXi host has no VirtualDiskManager or FileManager".into(),
        ));
    };
    let folder = format!("[{ds}] {name}");
    c.call(
        "MakeDirectory",
        &files,
        &format!(
            "<name>{}</name><createParentDirectories>true</createParentDirectories>",
            esc(&folder)
        ),
    )?;
    // Ctrl-C or SIGTERM while the disks copy: the folder goes as on a failure.
    let _undo = {
        let (c, files, folder) = (c.clone(), files.clone(), folder.clone());
        plumbing::interrupt::on_interrupt(move || remove_folder(&c, &files, &folder, t))
    };
    let made = (|| {
        let mut copies = Vec::new();
        for (i, d) in hw.disks.iter().enumerate() {
            let dest = disk_path(ds, name, i);
            run_task(
                c,
                "CopyVirtualDisk_Task",
                &vdm,
                &format!(
                    "<sourceName>{}</sourceName><destName>{}</destName><force>false</force>",
                    esc(&d.file),
                    esc(&dest)
                ),
                t,
            )?;
            copies.push(dest);
        }
        let spec = create_spec(hw, name, ds, &copies, base.nic_backing, cfg);
        let body = format!(
            "<config>{spec}</config>{}{}",
            at.pool.xml("pool"),
            at.host.map(|h| h.xml("host")).unwrap_or_default()
        );
        run_task(c, "CreateVM_Task", at.folder, &body, t)?
            .ok_or_else(|| Error::Unexpected(format!("creating {name} returned no VM")))
    })();
    if made.is_err() {
        remove_folder(c, &files, &folder, t);
    }
    made
}

/// Removes the datastore folder made for a VM that was not created. Ours alone: it was
/// made for this VM a moment ago.
fn remove_folder(c: &Client, files: &MoRef, folder: &str, t: Duration) {
    let _ = run_task(
        c,
        "DeleteDatastoreFile_Task",
        files,
        &format!("<name>{}</name>", esc(folder)),
        t,
    );
}

/// The base VM's datastore name, from its `.vmx` path (`[ds] folder/vm.vmx`).
pub fn datastore_of(vmx: &str) -> Option<&str> {
    vmx.strip_prefix('[')?.split_once(']').map(|(d, _)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROPS: &str = r#"<RetrievePropertiesExResponse xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><returnval><objects><obj type="VirtualMachine">1</obj>
<propSet><name>config.guestId</name><val xsi:type="xsd:string">vmwarePhoton64Guest</val></propSet>
<propSet><name>config.version</name><val xsi:type="xsd:string">vmx-14</val></propSet>
<propSet><name>config.hardware.numCPU</name><val xsi:type="xsd:int">2</val></propSet>
<propSet><name>config.hardware.memoryMB</name><val xsi:type="xsd:int">2048</val></propSet>
<propSet><name>config.hardware.device</name><val xsi:type="ArrayOfVirtualDevice">
<VirtualDevice xsi:type="VirtualIDEController"><key>200</key><busNumber>0</busNumber></VirtualDevice>
<VirtualDevice xsi:type="VirtualLsiLogicController"><key>1000</key><busNumber>1</busNumber></VirtualDevice>
<VirtualDevice xsi:type="ParaVirtualSCSIController"><key>1001</key><busNumber>0</busNumber><sharedBus>noSharing</sharedBus></VirtualDevice>
<VirtualDevice xsi:type="VirtualDisk"><key>2000</key><backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds1] base/base.vmdk</fileName><diskMode>persistent</diskMode></backing><controllerKey>1001</controllerKey><unitNumber>0</unitNumber><capacityInKB>65536</capacityInKB></VirtualDevice>
<VirtualDevice xsi:type="VirtualVmxnet3"><key>4000</key><backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><deviceName>VM Network</deviceName></backing></VirtualDevice>
</val></propSet></objects></returnval></RetrievePropertiesExResponse>"#;

    #[test]
    fn the_base_vms_hardware_is_read_and_specified_again() {
        let mut hw = Hardware::default();
        let page = Response { xml: PROPS.into() };
        read_props(&page, &mut hw).unwrap();
        assert_eq!(hw.guest_id, "vmwarePhoton64Guest");
        assert_eq!((hw.num_cpus, hw.memory_mb), (2, 2048));
        // Only the controller the disk sits on.
        assert_eq!(
            hw.controllers,
            [Controller {
                kind: "ParaVirtualSCSIController".into(),
                key: 1001,
                bus: 0
            }]
        );
        assert_eq!(hw.disks[0].file, "[ds1] base/base.vmdk");
        assert_eq!(hw.nics, ["VirtualVmxnet3"]);

        let disk = disk_path("ds1", "web-01", 0);
        assert_eq!(disk, "[ds1] web-01/web-01.vmdk");
        let cfg = CloneConfig {
            annotation: Some("note".into()),
            extra_config: vec![("guestinfo.photon-fleet.hostname".into(), "web-01".into())],
            ..CloneConfig::default()
        };
        let x = create_spec(&hw, "web-01", "ds1", &[disk], "<backing/>", &cfg);
        let at = |s: &str| x.find(s).unwrap_or_else(|| panic!("{s} missing: {x}"));
        // The schema's order.
        let order = [
            "<name>",
            "<version>",
            "<guestId>",
            "<annotation>",
            "<files>",
            "<numCPUs>",
            "<memoryMB>",
            "<deviceChange>",
            "<extraConfig",
        ];
        for w in order.windows(2) {
            assert!(at(w[0]) < at(w[1]), "{} before {}: {x}", w[0], w[1]);
        }
        // The disk on the new controller (negative key), the copy as its file.
        assert!(
            x.contains("<key>-1002</key><busNumber>0</busNumber><sharedBus>noSharing</sharedBus>"),
            "{x}"
        );
        assert!(
            x.contains("<fileName>[ds1] web-01/web-01.vmdk</fileName>"),
            "{x}"
        );
        assert!(x.contains("<controllerKey>-1002</controllerKey>"), "{x}");
        assert!(
            x.contains("<device xsi:type=\"VirtualVmxnet3\"><key>-4000</key><backing/>"),
            "{x}"
        );
        assert_eq!(datastore_of("[ds 1] a/b.vmx"), Some("ds 1"));
        assert_eq!(datastore_of("b.vmx"), None);
    }
}
