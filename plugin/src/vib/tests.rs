use super::compose::{compose, payload_from_dir, repack};
use super::*;
use crate::ar;
use std::path::Path;
use std::process::Command;

/// A payload laid out like the vDVS driver's.
fn stage(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("usr/lib/vmware/vmdkops/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(dir.join("etc/init.d")).unwrap();
    std::fs::write(bin.join("vmdk_ops.py"), "# vmdk ops daemon\n".repeat(200)).unwrap();
    let init = dir.join("etc/init.d/vmdk-opsd");
    std::fs::write(&init, "#!/bin/sh\n# chkconfig: on 90 90\n").unwrap();
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755)).unwrap();
}

pub fn vdvs_vib(version: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    stage(dir.path());
    let payload = payload_from_dir("vmdkops", dir.path()).unwrap();
    compose(
        &VibDescriptor::vdvs(version, "2018-04-16T00:00:00"),
        &[payload],
    )
    .unwrap()
}

#[test]
fn composed_vib_verifies_and_reads_like_vibauthor() {
    let bytes = vdvs_vib("0.21.2.8b7dc30-0.0.1");
    let vib = Vib::parse(&bytes).unwrap();
    assert_eq!(
        vib.id(),
        "VMWare_bootbank_esx-vmdkops-service_0.21.2.8b7dc30-0.0.1"
    );
    assert!(!vib.signed);
    assert!(vib.has_esxi8_checksums());
    assert_eq!(
        vib.verified,
        [
            "vmdkops sha-256",
            "vmdkops sha-256 (gunzip)",
            "vmdkops sha-1 (gunzip)"
        ]
    );
    assert_eq!(
        vib.descriptor.files,
        [
            "etc/init.d/vmdk-opsd",
            "usr/lib/vmware/vmdkops/bin/vmdk_ops.py"
        ]
    );
    assert_eq!(
        vib.descriptor.esx_version_constraint().unwrap().to_string(),
        "esx-version >= 6.0.0"
    );
    let w = vib.warnings().join("\n");
    assert!(
        w.contains("--no-sig-check") && w.contains("CommunitySupported") && w.contains(">= 6.0.0"),
        "{w}"
    );
    assert!(!w.contains("ESXi 8.0"));
    let info = vib.info_text();
    assert!(info.contains(
        "VIB ID:                 VMWare_bootbank_esx-vmdkops-service_0.21.2.8b7dc30-0.0.1"
    ));
    assert!(info.contains("Signed:                 False"));
    // Reproducible.
    assert_eq!(bytes, vdvs_vib("0.21.2.8b7dc30-0.0.1"));
}

/// Rebuilds a VIB from (name, data) members, for hand-made damage.
fn rebuild(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let refs: Vec<(&str, &[u8])> = members.iter().map(|(n, d)| (*n, d.as_slice())).collect();
    ar::write(&refs).unwrap()
}

fn members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    ar::read(bytes)
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.data.to_vec()))
        .collect()
}

#[test]
fn hand_broken_vibs_are_refused_with_the_reason() {
    let good = vdvs_vib("0.21.2.8b7dc30-0.0.1");
    let m = members(&good);
    let (desc, sig, payload) = (m[0].1.clone(), m[1].1.clone(), m[2].1.clone());
    let err = |b: Vec<u8>| Vib::parse(&b).unwrap_err().to_string();

    assert!(err(good[..good.len() - 100].to_vec()).contains("truncated"));
    assert!(err(rebuild(&[
        ("sig.pkcs7", sig.clone()),
        ("descriptor.xml", desc.clone()),
        ("vmdkops", payload.clone())
    ]))
    .contains("in that order"));
    assert!(err(rebuild(&[
        ("descriptor.xml", desc.clone()),
        ("sig.pkcs7", sig.clone())
    ]))
    .contains("does not contain it"));
    let mut flipped = payload.clone();
    let n = flipped.len();
    flipped[n / 2] ^= 1;
    let e = err(rebuild(&[
        ("descriptor.xml", desc.clone()),
        ("sig.pkcs7", sig.clone()),
        ("vmdkops", flipped),
    ]));
    assert!(
        e.contains("sha-256 mismatch") && e.contains("damaged"),
        "{e}"
    );
    let cut = String::from_utf8(desc.clone())
        .unwrap()
        .replace("</vib>", "");
    assert!(err(rebuild(&[
        ("descriptor.xml", cut.into_bytes()),
        ("sig.pkcs7", sig.clone()),
        ("vmdkops", payload.clone())
    ]))
    .contains("not well-formed XML"));
    let long = String::from_utf8(desc.clone()).unwrap().replace(
        "0.21.2.8b7dc30-0.0.1",
        "0.21.2.8b7dc30-0.0.1.and.some.more.text",
    );
    let e = err(rebuild(&[
        ("descriptor.xml", long.into_bytes()),
        ("sig.pkcs7", sig.clone()),
        ("vmdkops", payload.clone()),
    ]));
    assert!(e.contains("1 to 35"), "{e}");
    let e = err(rebuild(&[
        ("descriptor.xml", desc),
        ("sig.pkcs7", sig),
        ("vmdkops", payload),
        ("extra", b"x".to_vec()),
    ]));
    assert!(e.contains("'extra'"), "{e}");
}

#[test]
fn reads_a_vib_packed_by_gnu_ar() {
    let good = vdvs_vib("0.21.2.8b7dc30-0.0.1");
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in members(&good) {
        std::fs::write(dir.path().join(&name), data).unwrap();
    }
    let out = Command::new("ar")
        .current_dir(dir.path())
        .args(["r", "x.vib", "descriptor.xml", "sig.pkcs7", "vmdkops"])
        .output()
        .expect("GNU ar (binutils) is needed: scripts/test installs it");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vib = Vib::parse(&std::fs::read(dir.path().join("x.vib")).unwrap()).unwrap();
    assert_eq!(
        vib.id(),
        "VMWare_bootbank_esx-vmdkops-service_0.21.2.8b7dc30-0.0.1"
    );
    assert_eq!(vib.verified.len(), 3);
}

#[test]
fn repack_adds_the_esxi8_checksum() {
    // An old vibauthor-style VIB: signed-looking, sha-1 gunzip checksum only.
    let good = vdvs_vib("0.14.0577889-0.0.1");
    let m = members(&good);
    let desc = String::from_utf8(m[0].1.clone()).unwrap();
    let old: String = desc
        .lines()
        .filter(|l| !l.contains("sha-256"))
        .map(|l| format!("{l}\n"))
        .collect();
    let old_vib = rebuild(&[
        ("descriptor.xml", old.into_bytes()),
        ("sig.pkcs7", b"PKCS7".to_vec()),
        ("vmdkops", m[2].1.clone()),
    ]);
    let vib = Vib::parse(&old_vib).unwrap();
    assert!(vib.signed && !vib.has_esxi8_checksums());
    assert!(vib
        .warnings()
        .iter()
        .any(|w| w.contains("ESXi 8.0 refuses it")));
    let new = Vib::parse(&repack(&vib).unwrap()).unwrap();
    assert!(new.has_esxi8_checksums() && !new.signed);
    assert_eq!(new.id(), vib.id());
    assert_eq!(new.payloads, vib.payloads, "payload bytes are kept");
    assert_eq!(new.descriptor.files, vib.descriptor.files);
}

#[test]
fn offline_bundle_round_trip() {
    let bytes = vdvs_vib("0.21.c420818-0.0.1");
    let vib = Vib::parse(&bytes).unwrap();
    let zip = crate::bundle::write_bundle(
        &[(&vib, &bytes)],
        "VDVS_driver-0.21.1",
        "2018-02-13T00:00:00",
    )
    .unwrap();
    let (again, read) =
        crate::bundle::single_vib(std::io::Cursor::new(zip.clone()), "esx-vmdkops-service")
            .unwrap();
    assert_eq!(again, bytes);
    assert_eq!(read.id(), vib.id());
    let listed = crate::bundle::read_bundle(std::io::Cursor::new(zip)).unwrap();
    assert_eq!(
        listed[0].0,
        "vib20/esx-vmdkops-service/VMWare_bootbank_esx-vmdkops-service_0.21.c420818-0.0.1.vib"
    );
    assert!(crate::bundle::read_bundle(std::io::Cursor::new(b"PK\x03\x04 nope".to_vec())).is_err());
}
