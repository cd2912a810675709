//! End-to-end: where deploy puts VMs, against the lab's vcsim set up as people have their
//! vCenters (datacenters and clusters in folders, VM folders, resource pools, distributed
//! port groups, clusters without DRS), judged by pyvmomi (tests/lab/vc-check).

use serde_json::Value;
use std::process::Output;

mod common;
use common::{json_ok as json, succeeded};
#[path = "common/vcsim.rs"]
mod vcsim;
use vcsim::VcSim;

fn deploy<'a>(ova: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["--json", "deploy", ova, "--insecure"];
    a.extend_from_slice(extra);
    a
}

fn nics(vc: &VcSim, vm: &str) -> Value {
    let out = vc.check(&["nic", vm]);
    succeeded(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn refused(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

#[test]
fn clones_of_a_reused_template_go_on_the_network_this_run_asks_for() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let ova = vcsim::pack_ova(dir.path(), 64 << 10);
    let base = ["--cluster", "DC0_C0", "--name-prefix", "net"];

    // The template is imported onto the distributed port group...
    let mut a = deploy(&ova, &base);
    a.extend(["--count", "1", "--network", "DC0_DVPG0"]);
    let j = json(&vc.run(&a, &[]));
    assert_eq!(j["placement"]["network_kind"]["kind"], "distributed");
    assert_eq!(
        nics(&vc, "net-01"),
        serde_json::json!([{"portgroup": "DC0_DVPG0", "switch": "DVS0"}])
    );

    // ... a rerun reuses it and puts the new clone on a standard port group...
    let mut a = deploy(&ova, &base);
    a.extend(["--count", "2", "--network", "VM Network"]);
    let j = json(&vc.run(&a, &[]));
    assert_eq!(j["plan"]["template_action"], "reuse");
    assert_eq!(
        nics(&vc, "net-02"),
        serde_json::json!([{"network": "VM Network"}])
    );
    assert_eq!(
        nics(&vc, "net-01")[0]["portgroup"],
        "DC0_DVPG0",
        "existing VMs are not touched"
    );

    // ... and the next one back on the distributed port group.
    let mut a = deploy(&ova, &base);
    a.extend(["--count", "3", "--network", "DC0_DVPG0"]);
    json(&vc.run(&a, &[]));
    assert_eq!(nics(&vc, "net-03")[0]["portgroup"], "DC0_DVPG0");
    assert_eq!(nics(&vc, "net-02")[0]["network"], "VM Network");
    vc.assert_soap_valid();
}

#[test]
fn an_explicit_value_beats_the_network_defaults_of_fleet_toml() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let ova = vcsim::pack_ova(dir.path(), 64 << 10);
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        "[vcenter]\ncluster = \"DC0_C0\"\n[network]\ngateway = \"10.0.0.1\"\ndns = [\"10.0.0.2\"]\n\
         [[vm]]\nname = \"s-1\"\naddress = \"10.0.0.11/24\"\n\
         [[vm]]\nname = \"s-2\"\naddress = \"10.0.0.12/24\"\ndns = [\"10.9.9.9\"]\n",
    )
    .unwrap();
    let f = fleet.to_str().unwrap();
    let a = deploy(&ova, &["--fleet", f, "--set", "network.dns=192.168.7.7"]);
    json(&vc.run(&a, &[]));
    let info = |vm: &str, key: &str| {
        vc.vm(vm).unwrap()["guestinfo"][format!("guestinfo.photon-fleet.{key}")]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        info("s-1", "network.dns"),
        "192.168.7.7",
        "--set beats [network]"
    );
    assert_eq!(
        info("s-1", "network.gateway"),
        "10.0.0.1",
        "[network] still fills in"
    );
    assert_eq!(
        info("s-2", "network.dns"),
        "10.9.9.9",
        "the VM's own value beats --set"
    );
    vc.assert_soap_valid();
}

#[test]
fn datacenters_clusters_folders_and_pools_are_found_by_name_or_path() {
    let vc = VcSim::start_with(&["-folder", "1"]);
    for setup in [
        vec!["nest-cluster", "Prod", "C1"],
        vec!["mkfolder", "fleet/web"],
        vec!["mkpool", "C1", "web-pool"],
    ] {
        succeeded(&vc.check(&setup));
    }
    let dir = tempfile::tempdir().unwrap();
    let ova = vcsim::pack_ova(dir.path(), 64 << 10);

    // govc's paths, absolute and relative, and plain names where they are unique.
    for (dc, cluster, folder) in [
        ("/F0/DC0", "/F0/DC0/host/Prod/C1", "/F0/DC0/vm/fleet/web"),
        ("DC0", "Prod/C1", "fleet/web"),
        ("F0/DC0", "C1", "web"),
    ] {
        let a = deploy(
            &ova,
            &[
                "--dry-run",
                "--datacenter",
                dc,
                "--cluster",
                cluster,
                "--folder",
                folder,
                "--pool",
                "web-pool",
                "--datastore",
                "C1_DS",
            ],
        );
        let j = json(&vc.run(&a, &[]));
        let p = &j["placement"];
        assert_eq!(p["datacenter"]["name"], "F0/DC0", "{p}");
        assert_eq!(p["compute"]["name"], "Prod/C1");
        assert_eq!(p["vm_folder"]["name"], "F0/DC0/vm/fleet/web");
        assert_eq!(p["pool"]["name"], "Resources/web-pool");
    }

    // The VMs land there, as pyvmomi sees them.
    let a = deploy(
        &ova,
        &[
            "--datacenter",
            "DC0",
            "--cluster",
            "Prod/C1",
            "--folder",
            "fleet/web",
            "--pool",
            "web-pool",
            "--datastore",
            "C1_DS",
            "--count",
            "2",
            "--name-prefix",
            "in",
        ],
    );
    json(&vc.run(&a, &[]));
    for name in ["in-01", "in-02"] {
        let vm = vc.vm(name).unwrap();
        assert_eq!(vm["folder"], "vm/fleet/web", "{vm}");
        assert_eq!(vm["pool"], "web-pool", "{vm}");
    }

    // Wrong names list the real ones and name the flag.
    for (flag, value, says) in [
        (
            "--folder",
            "nope",
            "VM folder 'nope' not found; there are: F0, fleet, fleet/web",
        ),
        (
            "--pool",
            "deep",
            "resource pool 'deep' not found; there are: web-pool",
        ),
        (
            "--cluster",
            "/F0/DC0/host/C1",
            "cluster or host '/F0/DC0/host/C1' not found; there are: F0/DC0_C0, F0/DC0_H0, Prod/C1",
        ),
        (
            "--datacenter",
            "/DC0",
            "datacenter '/DC0' not found; there are: F0/DC0",
        ),
        (
            "--host",
            "esx-9",
            "ESXi host 'esx-9' not found; there are: C1_H0",
        ),
    ] {
        let mut a = deploy(&ova, &["--dry-run", "--datastore", "C1_DS"]);
        if flag != "--cluster" {
            a.extend(["--cluster", "C1"]);
        }
        a.extend([flag, value]);
        let err = refused(&vc.run(&a, &[]));
        assert!(err.contains(says) && err.contains(flag), "{err}");
    }
    vc.assert_soap_valid();
}

#[test]
fn a_cluster_without_drs_gets_a_host_for_the_import_and_every_clone() {
    let vc = VcSim::start_with(&["-non-drs"]);
    let dir = tempfile::tempdir().unwrap();
    let ova = vcsim::pack_ova(dir.path(), 64 << 10);
    let base = ["--cluster", "DC0_C0", "--count", "4", "--name-prefix", "nd"];
    let hosts = ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"];

    let mut a = deploy(&ova, &base);
    a.push("--dry-run");
    let j = json(&vc.run(&a, &[]));
    assert_eq!(j["placement"]["drs"], false);
    let planned: Vec<&str> = j["plan"]["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["host"]["name"].as_str().unwrap())
        .collect();
    // The import takes the first host; the clones follow in turn.
    assert_eq!(planned, [hosts[1], hosts[2], hosts[0], hosts[1]]);
    let text = vc.run(
        &[
            "deploy",
            &ova,
            "--insecure",
            "--dry-run",
            "--cluster",
            "DC0_C0",
        ],
        &[],
    );
    succeeded(&text);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("DRS is off: the VMs are spread over them"),
        "{text}"
    );

    // vCenter refuses an import or clone without a host here; the run succeeds.
    let j = json(&vc.run(&deploy(&ova, &base), &[]));
    let placed: Vec<&str> = j["result"]["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["host"].as_str().unwrap())
        .collect();
    assert_eq!(placed, planned);
    for (n, host) in planned.iter().enumerate() {
        let vm = vc.vm(&format!("nd-{:02}", n + 1)).unwrap();
        assert_eq!(vm["host"], *host, "{vm}");
    }

    // One host asked for: everything goes there.
    let mut a = deploy(
        &ova,
        &[
            "--cluster",
            "DC0_C0",
            "--count",
            "1",
            "--name-prefix",
            "one",
        ],
    );
    a.extend(["--host", "DC0_C0_H2"]);
    json(&vc.run(&a, &[]));
    assert_eq!(vc.vm("one-01").unwrap()["host"], "DC0_C0_H2");
    vc.assert_soap_valid();
}
