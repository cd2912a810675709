//! End-to-end: the real `photon-fleet` binary, judged by real peers: `qemu-img check /
//! info / compare` for every VMDK we write, qemu-img's own VMDKs for our reader, and
//! GNU tar for the OVA layout.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

mod common;
use common::{noise, ok, peer, photon_fleet, refused};

/// `photon-fleet disk convert FROM TO`, which must succeed.
fn convert(from: &Path, to: &Path) {
    ok(photon_fleet(&[
        "disk",
        "convert",
        from.to_str().unwrap(),
        to.to_str().unwrap(),
    ]));
}

fn qemu_judges(raw: &Path, vmdk: &Path) {
    let check = peer("qemu-img", &["check", vmdk.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "qemu-img check: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("No errors were found"));
    let info =
        String::from_utf8(peer("qemu-img", &["info", vmdk.to_str().unwrap()]).stdout).unwrap();
    assert!(info.contains("create type: streamOptimized"), "{info}");
    let cmp = peer(
        "qemu-img",
        &[
            "compare",
            "-f",
            "raw",
            "-F",
            "vmdk",
            raw.to_str().unwrap(),
            vmdk.to_str().unwrap(),
        ],
    );
    assert!(
        cmp.status.success(),
        "qemu-img compare: {}",
        String::from_utf8_lossy(&cmp.stdout)
    );
    assert!(String::from_utf8_lossy(&cmp.stdout).contains("Images are identical"));
}

/// A sparse raw disk of `size` bytes with `(offset, bytes)` written into it.
fn make_raw(path: &Path, size: u64, data: &[(u64, Vec<u8>)]) {
    let f = File::create(path).unwrap();
    f.set_len(size).unwrap();
    for (off, bytes) in data {
        f.write_all_at(bytes, *off).unwrap();
    }
}

fn mixed_disk(dir: &Path) -> PathBuf {
    let raw = dir.join("mixed.raw");
    let text =
        b"ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n"
            .repeat(40_000);
    // 96 MiB + 5 sectors: not a multiple of the 64 KiB grain.
    make_raw(
        &raw,
        (96 << 20) + 5 * 512,
        &[
            (0, noise(1, 3 << 20)),
            (10 << 20, text),
            ((33 << 20) - 100, noise(2, 300)),
            ((96 << 20) + 2000, noise(3, 560)),
        ],
    );
    raw
}

#[test]
fn convert_mixed_disk_is_judged_identical_by_qemu() {
    let dir = tempfile::tempdir().unwrap();
    let raw = mixed_disk(dir.path());
    let vmdk = dir.path().join("mixed.vmdk");
    let out = ok(photon_fleet(&[
        "--json",
        "disk",
        "convert",
        raw.to_str().unwrap(),
        vmdk.to_str().unwrap(),
    ]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["capacity"], (96 << 20) + 5 * 512);
    assert_eq!(report["output_format"], "vmdk-stream-optimized");
    qemu_judges(&raw, &vmdk);
    // Our reader agrees with our writer (and --deep inflates every grain).
    let facts: serde_json::Value = serde_json::from_str(&ok(photon_fleet(&[
        "--json",
        "inspect",
        "--deep",
        vmdk.to_str().unwrap(),
    ])))
    .unwrap();
    assert_eq!(facts["create_type"], "streamOptimized");
    assert_eq!(facts["grains_verified"], true);
    assert_eq!(
        facts["allocated_grains"],
        report["populated_size"].as_u64().unwrap() / 65536
    );
}

#[test]
fn convert_sparse_disk_over_4_gib() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("big.raw");
    let size = (5u64 << 30) + (64 << 10) * 3 + 4096;
    make_raw(
        &raw,
        size,
        &[
            (1 << 20, noise(4, 1 << 20)),
            ((4 << 30) + 12345, noise(5, 70_000)),
            (size - 4096, vec![0xEE; 4096]),
        ],
    );
    let vmdk = dir.path().join("big.vmdk");
    convert(&raw, &vmdk);
    assert!(
        std::fs::metadata(&vmdk).unwrap().len() < 4 << 20,
        "holes must not be stored"
    );
    qemu_judges(&raw, &vmdk);
}

#[test]
fn reads_vmdks_that_qemu_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let raw = mixed_disk(dir.path());
    for (sub, name) in [
        ("streamOptimized", "q-stream.vmdk"),
        ("monolithicSparse", "q-sparse.vmdk"),
    ] {
        let q = dir.path().join(name);
        let made = peer(
            "qemu-img",
            &[
                "convert",
                "-f",
                "raw",
                "-O",
                "vmdk",
                "-o",
                &format!("subformat={sub}"),
                raw.to_str().unwrap(),
                q.to_str().unwrap(),
            ],
        );
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let back = dir.path().join(format!("{name}.raw"));
        convert(&q, &back);
        let cmp = peer("cmp", &[raw.to_str().unwrap(), back.to_str().unwrap()]);
        assert!(
            cmp.status.success(),
            "{sub}: {}",
            String::from_utf8_lossy(&cmp.stdout)
        );
        // VMDK -> streamOptimized VMDK without a raw step.
        let again = dir.path().join(format!("{name}.again.vmdk"));
        convert(&q, &again);
        qemu_judges(&raw, &again);
    }
}

#[test]
fn pack_makes_a_reproducible_ova_in_ovftool_order() {
    let dir = tempfile::tempdir().unwrap();
    let raw = mixed_disk(dir.path());
    let a = dir.path().join("a/photon.ova");
    let b = dir.path().join("b/photon.ova");
    for out in [&a, &b] {
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        ok(photon_fleet(&[
            "ova",
            "pack",
            raw.to_str().unwrap(),
            out.to_str().unwrap(),
            "--hw-version",
            "13",
        ]));
    }
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "same inputs must give the same OVA bytes"
    );
    let listing = String::from_utf8(peer("tar", &["tvf", a.to_str().unwrap()]).stdout).unwrap();
    let names: Vec<_> = listing
        .lines()
        .map(|l| l.split_whitespace().last().unwrap())
        .collect();
    assert_eq!(names, ["photon.ovf", "photon.mf", "photon-disk1.vmdk"]);
    assert!(
        listing.lines().all(|l| l.starts_with("-rw-r--r-- 0/0")),
        "{listing}"
    );
    // Extract with tar and let qemu judge the disk.
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    assert!(peer(
        "tar",
        &["xf", a.to_str().unwrap(), "-C", x.to_str().unwrap()]
    )
    .status
    .success());
    qemu_judges(&raw, &x.join("photon-disk1.vmdk"));
    let mf = std::fs::read_to_string(x.join("photon.mf")).unwrap();
    for name in ["photon.ovf", "photon-disk1.vmdk"] {
        let out = peer("sha256sum", &[x.join(name).to_str().unwrap()]);
        let hex = String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        assert!(mf.contains(&format!("SHA256({name})= {hex}")), "{mf}");
    }
    let report: serde_json::Value = serde_json::from_str(&ok(photon_fleet(&[
        "--json",
        "inspect",
        a.to_str().unwrap(),
    ])))
    .unwrap();
    assert_eq!(report["verified"]["checked"].as_array().unwrap().len(), 2);
    assert_eq!(report["ovf"]["os_type"], "vmwarePhoton64Guest");
    assert_eq!(report["ovf"]["hardware_versions"][0], "vmx-13");
    assert_eq!(report["disks"][0]["create_type"], "streamOptimized");
    assert!(report["ovf"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["key"] == "hostname"));
}

/// Runs a command expected to fail on bad input: exit 2, one line naming `names`.

#[test]
fn broken_inputs_are_refused_with_one_line_and_nothing_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    make_raw(Path::new(&d("src.raw")), 8 << 20, &[(0, noise(6, 1 << 20))]);
    convert(Path::new(&d("src.raw")), Path::new(&d("good.vmdk")));
    let good = std::fs::read(d("good.vmdk")).unwrap();

    std::fs::write(d("trunc.vmdk"), &good[..good.len() - 600]).unwrap();
    refused(
        &["disk", "convert", &d("trunc.vmdk"), &d("out.raw")],
        "trunc.vmdk",
        "truncated",
    );
    let mut bad = good.clone();
    bad[..4].copy_from_slice(b"KDMX");
    std::fs::write(d("magic.vmdk"), &bad).unwrap();
    refused(&["inspect", &d("magic.vmdk")], "magic.vmdk", "bad magic");
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 1024 + 56..n - 1024 + 64].copy_from_slice(&(1u64 << 30).to_le_bytes());
    std::fs::write(d("gd.vmdk"), &bad).unwrap();
    refused(
        &["disk", "convert", &d("gd.vmdk"), &d("out.raw")],
        "gd.vmdk",
        "grain directory",
    );
    assert!(
        !Path::new(&d("out.raw")).exists(),
        "no output after a failed convert"
    );

    ok(photon_fleet(&["ova", "pack", &d("src.raw"), &d("vm.ova")]));
    let mut ova = std::fs::read(d("vm.ova")).unwrap();
    let n = ova.len();
    ova[n - 5000] ^= 0xff; // inside the disk member
    std::fs::write(d("tampered.ova"), &ova).unwrap();
    refused(
        &["inspect", &d("tampered.ova")],
        "tampered.ova",
        "SHA256 mismatch",
    );

    std::fs::write(d("bad.ovf"), "<Envelope><VirtualSystem>").unwrap();
    refused(
        &["inspect", &d("bad.ovf")],
        "bad.ovf",
        "not well-formed XML",
    );

    // An OVA missing the disk its OVF references: rebuild it with GNU tar minus the disk.
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    assert!(
        peer("tar", &["xf", &d("vm.ova"), "-C", x.to_str().unwrap()])
            .status
            .success()
    );
    let made = peer(
        "tar",
        &[
            "cf",
            &d("nodisk.ova"),
            "-C",
            x.to_str().unwrap(),
            "vm.ovf",
            "vm.mf",
        ],
    );
    assert!(made.status.success());
    refused(
        &["inspect", &d("nodisk.ova")],
        "nodisk.ova",
        "references vm-disk1.vmdk, which the OVA does not contain",
    );

    refused(
        &["disk", "convert", &d("src.raw"), &d("good.vmdk")],
        "good.vmdk",
        "--force",
    );
    refused(
        &["disk", "convert", &d("src.raw"), &d("src.raw")],
        "src.raw",
        "both the input and the output",
    );
    refused(
        &["disk", "convert", &d("src.raw"), &d("out.qcow2")],
        "out.qcow2",
        "--format",
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("partial") || n.starts_with(".pack-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}
