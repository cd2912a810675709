//! End-to-end: deploy to a standalone ESXi host (no vCenter), on vcsim's ESX model where
//! CloneVM_Task is refused as ESXi refuses it. One upload; each VM is a copy of the base
//! VM's disk with the same hardware. pyvmomi judges the inventory, cmp the copies.

use serde_json::Value;

mod common;
use common::{json_ok as json, succeeded};
#[path = "common/vcsim.rs"]
mod vcsim;
use vcsim::VcSim;

fn disks(vc: &VcSim, vm: &str) -> Value {
    let out = vc.check(&["disks", vm]);
    succeeded(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_standalone_host_gets_copies_of_one_upload() {
    let vc = VcSim::start_with(&["-esx", "-refuse-create", "esx-03"]);
    let dir = tempfile::tempdir().unwrap();
    let ova = vcsim::pack_ova(dir.path(), 1 << 20);
    let args = ["deploy", ova.as_str(), "--insecure", "--name-prefix", "esx"];

    let out = vc.run(&[&args[..], &["--count", "2", "--dry-run"]].concat(), &[]);
    succeeded(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("standalone ESXi host (no vCenter)"),
        "{text}"
    );

    let j = json(&vc.run(&[&["--json"], &args[..], &["--count", "2"]].concat(), &[]));
    assert_eq!(j["standalone"], true);
    assert!(j["result"]["upload"]["bytes"].as_u64().unwrap() > 1 << 20);
    let base_name = j["plan"]["template"].as_str().unwrap().to_string();
    let base = vc.vm(&base_name).unwrap();
    assert_eq!(base["template"], false, "ESXi has no templates");
    assert_eq!(base["power"], "poweredOff");
    let base_disk = &disks(&vc, &base_name)[0];
    for name in ["esx-01", "esx-02"] {
        let vm = vc.vm(name).unwrap();
        assert_eq!(vm["power"], "poweredOn", "{vm}");
        assert!(vm["fleet_ova"].is_string(), "marked as ours: {vm}");
        assert_eq!(
            vm["guestinfo"]["guestinfo.photon-fleet.hostname"], name,
            "values by guestinfo: ESXi alone hands out no OVF environment"
        );
        let d = &disks(&vc, name)[0];
        assert_eq!(d["file"], format!("[LocalDS_0] {name}/{name}.vmdk"));
        let same = std::fs::read(d["local"].as_str().unwrap()).unwrap()
            == std::fs::read(base_disk["local"].as_str().unwrap()).unwrap();
        assert!(same, "{name}'s disk is a copy of the base VM's");
        let nic = vc.check(&["nic", name]);
        assert_eq!(
            String::from_utf8_lossy(&nic.stdout).trim(),
            r#"[{"network": "VM Network"}]"#
        );
    }

    // A rerun reuses the base VM. The third VM cannot be created (the datastore is full):
    // it fails alone, and what was copied for it is gone.
    let out = vc.run(&[&["--json"], &args[..], &["--count", "3"]].concat(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let j = common::json_of(&out);
    assert_eq!(j["plan"]["template_action"], "reuse");
    let third = &j["result"]["vms"][2];
    assert_eq!(third["ok"], false);
    assert!(
        third["error"].as_str().unwrap().contains("NoDiskSpace"),
        "{third}"
    );
    assert!(vc.vm("esx-03").is_none());
    let ds_dir = std::path::Path::new(base_disk["local"].as_str().unwrap())
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    assert!(ds_dir.join("esx-01").is_dir());
    assert!(
        !ds_dir.join("esx-03").exists(),
        "the copy for esx-03 was removed"
    );
    vc.assert_soap_valid();
}
