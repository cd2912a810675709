//! End-to-end: the real `photon-fleet` binary on vDVS artifacts, judged by real peers:
//! GNU `ar` (binutils) reads and writes our VIBs, GNU `tar` unpacks their payloads and
//! packs plugin bundles, Python's zipfile lists our offline bundles and `sha256sum`
//! checks the hashes we report and lock.

#[path = "common/bake.rs"]
mod bake;
mod common;
use bake::{compose, plugin_tar, s};
use common::{fails, json_run as json, ok, peer, photon_fleet, refused, sha256sum, vib_stage};

const VIB_VERSION: &str = "0.21.2.8b7dc30-0.0.1";
const VIB_ID: &str = "VMWare_bootbank_esx-vmdkops-service_0.21.2.8b7dc30-0.0.1";

#[test]
fn composed_vib_is_what_gnu_ar_and_tar_expect() {
    let dir = tempfile::tempdir().unwrap();
    let vib = compose(dir.path(), VIB_VERSION, "esx.vib");

    let listed = String::from_utf8(peer("ar", &["t", s(&vib)]).stdout).unwrap();
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        ["descriptor.xml", "sig.pkcs7", "vmdkops"],
        "members in the order ESXi reads them"
    );
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let out = std::process::Command::new("ar")
        .current_dir(&x)
        .args(["x", s(&vib)])
        .status()
        .unwrap();
    assert!(out.success());
    assert_eq!(std::fs::metadata(x.join("sig.pkcs7")).unwrap().len(), 0);
    let files = String::from_utf8(peer("tar", &["tzf", s(&x.join("vmdkops"))]).stdout).unwrap();
    assert!(files.contains("etc/init.d/vmdk-opsd"), "{files}");
    assert!(files.contains("usr/lib/vmware/vmdkops/bin/vmdk_ops.py"));

    let text = ok(photon_fleet(&["inspect", s(&vib)]));
    assert!(text.contains(VIB_ID), "{text}");
    assert!(text.contains("--no-sig-check"), "unsigned warning: {text}");
    let j = json(&["inspect", s(&vib)]);
    assert_eq!(j["kind"], "vib");
    assert_eq!(j["id"], VIB_ID);
    assert_eq!(j["sha256"], sha256sum(&vib));

    // Same stage, same flags: byte-identical VIB.
    let again = dir.path().join("again.vib");
    ok(photon_fleet(&[
        "vib",
        "compose",
        s(&dir.path().join("stage-0")),
        s(&again),
        "--version",
        VIB_VERSION,
    ]));
    assert_eq!(std::fs::read(&vib).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn old_vib_repacked_for_esxi8_and_wrapped_in_an_offline_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let vib = compose(dir.path(), "0.14.0577889-0.0.1", "new.vib");
    // Take it apart with GNU ar and make it look like a 2017 vibauthor VIB: a signature
    // and sha-1 checksums only.
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let ar = |args: &[&str]| {
        let st = std::process::Command::new("ar")
            .current_dir(&x)
            .args(args)
            .status()
            .unwrap();
        assert!(st.success(), "ar {args:?}");
    };
    ar(&["x", s(&vib)]);
    let desc = std::fs::read_to_string(x.join("descriptor.xml")).unwrap();
    let old: String = desc
        .lines()
        .filter(|l| !l.contains("sha-256"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(x.join("descriptor.xml"), old).unwrap();
    std::fs::write(x.join("sig.pkcs7"), b"-----BEGIN PKCS7-----").unwrap();
    let old_vib = dir.path().join("old.vib");
    ar(&["r", s(&old_vib), "descriptor.xml", "sig.pkcs7", "vmdkops"]);

    let text = ok(photon_fleet(&["inspect", s(&old_vib)]));
    assert!(text.contains("ESXi 8.0 refuses it"), "{text}");

    let esx8 = dir.path().join("esx8.vib");
    let said = ok(photon_fleet(&["vib", "repack", s(&old_vib), s(&esx8)]));
    assert!(said.contains("UNSIGNED"), "{said}");
    let j = json(&["inspect", s(&esx8)]);
    let warnings = j["warnings"].to_string();
    assert!(!warnings.contains("ESXi 8.0 refuses it"), "{warnings}");
    assert!(warnings.contains("--no-sig-check"), "{warnings}");
    refused(
        &["vib", "repack", s(&old_vib), s(&esx8)],
        "esx8.vib",
        "--force",
    );

    let zip = dir.path().join("VDVS_driver-0.14-offline_bundle.zip");
    ok(photon_fleet(&["vib", "bundle", s(&esx8), s(&zip)]));
    let listed = peer("python3", &["-m", "zipfile", "-l", s(&zip)]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    for member in ["index.xml", "vendor-index.xml", "metadata.zip"] {
        assert!(listed.contains(member), "{listed}");
    }
    assert!(listed.contains(
        "vib20/esx-vmdkops-service/VMWare_bootbank_esx-vmdkops-service_0.14.0577889-0.0.1.vib"
    ));
    // A bundle is accepted wherever a VIB is.
    let j = json(&["inspect", s(&zip)]);
    assert_eq!(
        j["id"],
        "VMWare_bootbank_esx-vmdkops-service_0.14.0577889-0.0.1"
    );
    assert_eq!(j["sha256"], sha256sum(&esx8), "the VIB inside, unchanged");
}

#[test]
fn lock_pairs_matching_artifacts_and_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let vib = compose(dir.path(), VIB_VERSION, "esx.vib");
    let tar = plugin_tar(dir.path(), "0.21.2");
    let j = json(&["inspect", s(&tar)]);
    assert_eq!(j["version"], "0.21.2");

    let lock = dir.path().join("fleet.lock");
    ok(photon_fleet(&[
        "lock",
        "create",
        "--plugin",
        s(&tar),
        "--vib",
        s(&vib),
        "-o",
        s(&lock),
    ]));
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.contains(&sha256sum(&vib)), "{text}");
    assert!(
        text.contains("file = \"esx.vib\""),
        "relative to the lock: {text}"
    );
    let j = json(&["inspect", s(&lock)]);
    assert_eq!(j["lock"]["vdvs"]["release"], "0.21.2");
    assert_eq!(j["lock"]["vib"]["id"], VIB_ID);
    assert!(j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["ok"] == true));

    // A plugin from 0.19 on with a VIB from before: refused, nothing written.
    let old = compose(&dir.path().join("o"), "1.0.0-0.0.1", "old.vib");
    let bad_lock = dir.path().join("mismatch.lock");
    let err = fails(
        2,
        &[
            "lock",
            "create",
            "--plugin",
            s(&tar),
            "--vib",
            s(&old),
            "-o",
            s(&bad_lock),
        ],
        "0.21.2",
        "Device not found",
    );
    assert!(err.contains("1.0.0-0.0.1"), "{err}");
    assert!(!bad_lock.exists(), "no lock after a refused pairing");

    // Two releases apart: refused with both versions named.
    let other = compose(&dir.path().join("p"), "0.21.c420818-0.0.1", "other.vib");
    fails(
        2,
        &[
            "lock",
            "create",
            "--plugin",
            s(&tar),
            "--vib",
            s(&other),
            "-o",
            s(&bad_lock),
        ],
        "0.21.1",
        "different vDVS releases",
    );

    // Change one byte of the VIB the lock names: inspect re-hashes and fails.
    let mut bytes = std::fs::read(&vib).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 1;
    std::fs::write(&vib, bytes).unwrap();
    let out = photon_fleet(&["inspect", s(&lock)]);
    assert_eq!(out.status.code(), Some(1));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("FAIL"), "{shown}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("esx.vib"));
}

#[test]
fn broken_vdvs_inputs_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let vib = compose(dir.path(), VIB_VERSION, "esx.vib");
    let bytes = std::fs::read(&vib).unwrap();

    let cut = dir.path().join("cut.vib");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    refused(&["inspect", s(&cut)], "cut.vib", "truncated");

    let notar = dir.path().join("text.vib");
    std::fs::write(&notar, "hello").unwrap();
    refused(&["inspect", s(&notar)], "text.vib", "ar");

    let long = "0.21.2.8b7dc30-0.0.1-and-much-more-text";
    let st = vib_stage(&dir.path().join("l"), 0);
    let out = dir.path().join("long.vib");
    refused(
        &["vib", "compose", s(&st), s(&out), "--version", long],
        long,
        "35",
    );
    assert!(!out.exists());

    let plugin_dir = dir.path().join("plugin");
    std::fs::create_dir_all(plugin_dir.join("rootfs")).unwrap();
    std::fs::write(plugin_dir.join("config.json"), "{ nope").unwrap();
    refused(&["inspect", s(&plugin_dir)], "config.json", "JSON");

    let lock = dir.path().join("fleet.lock");
    std::fs::write(&lock, "lock_version = 1\nsurprise = true\n").unwrap();
    refused(&["inspect", s(&lock)], "fleet.lock", "surprise");
}
