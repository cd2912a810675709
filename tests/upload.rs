//! End-to-end: deploy's disk upload goes where real vCenter sends it, to the ESXi host the
//! lease names (the lab's vcsim `-nfc`: a listener with its own certificate, which stores
//! what it receives), trusted by the thumbprint the lease gives. qemu-img judges the bytes.

use std::path::Path;
use std::process::Command;

mod common;
use common::{ok, photon_fleet, succeeded};

#[path = "common/vcsim.rs"]
mod vcsim;
use vcsim::VcSim;

/// deploy of a packed OVA with vCenter pinned by its thumbprint (not --insecure: the
/// host's certificate must be trusted on its own merits).
fn pinned_deploy(vc: &VcSim, ova: &str, prefix: &str) -> std::process::Output {
    let tp = ok(photon_fleet(&["vc", "thumbprint", &vc.url]));
    vc.run(
        &[
            "deploy",
            ova,
            "--cluster",
            "DC0_C0",
            "--count",
            "1",
            "--name-prefix",
            prefix,
            "--thumbprint",
            tp.trim(),
        ],
        &[],
    )
}

#[test]
fn disks_go_to_the_host_the_lease_names_trusted_by_its_thumbprint() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("host-store");
    let vc = VcSim::start_with(&["-nfc", store.to_str().unwrap()]);
    let ova = vcsim::pack_ova(d.path(), 3 << 20);
    let out = pinned_deploy(&vc, &ova, "nfc");
    succeeded(&out);
    let vm = vc.vm("nfc-01").expect("the clone exists");
    assert_eq!(vm["power"], "poweredOn");

    // What the host received is the disk that went into the OVA, as qemu-img reads both.
    let stored: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .flat_map(|e| std::fs::read_dir(e.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let cmp = Command::new("qemu-img")
        .args(["compare", "-f", "vmdk", "-F", "raw"])
        .arg(&stored[0])
        .arg(d.path().join("disk.raw"))
        .output()
        .expect("qemu-img (scripts/install-deps installs qemu-utils)");
    assert!(
        cmp.status.success(),
        "{}{}",
        String::from_utf8_lossy(&cmp.stdout),
        String::from_utf8_lossy(&cmp.stderr)
    );
    vc.assert_soap_valid();
}

#[test]
fn a_host_whose_certificate_is_not_the_leases_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("host-store");
    let wrong = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33";
    let vc = VcSim::start_with(&["-nfc", store.to_str().unwrap(), "-nfc-thumbprint", wrong]);
    let ova = vcsim::pack_ova(d.path(), 1 << 20);
    let before = vc.vms().len();
    let out = pinned_deploy(&vc, &ova, "nfc");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("ESXi host 127.0.0.1:")
            && err.contains("not the one vCenter gave for this host")
            && err.contains(wrong)
            && err.contains("lease aborted"),
        "{err}"
    );
    assert_eq!(vc.vms().len(), before, "nothing left in vCenter");
    let received = std::fs::read_dir(&store).map_or(0, |r| r.count());
    assert_eq!(received, 0, "not a byte sent to the untrusted host");
    // The same with --insecure, asked for: the upload goes through.
    let out = vc.run(
        &[
            "deploy",
            &ova,
            "--cluster",
            "DC0_C0",
            "--count",
            "1",
            "--name-prefix",
            "nfc",
            "--insecure",
        ],
        &[],
    );
    succeeded(&out);
    assert!(Path::new(&store).exists());
    vc.assert_soap_valid();
}
