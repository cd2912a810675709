use crate::archive::*;
use crate::manifest::sha256_hex;
use crate::{Error, NoProgress};
use std::path::Path;

const OVF: &str = r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
 <References><File ovf:href="vm-disk1.vmdk" ovf:id="file1"/></References>
 <DiskSection><Disk ovf:capacity="1048576" ovf:diskId="vmdisk1" ovf:fileRef="file1"/></DiskSection>
 <VirtualSystem ovf:id="vm"><Name>vm</Name></VirtualSystem>
</Envelope>"#;

fn build(dir: &Path, disk: &[u8]) -> std::path::PathBuf {
    let disk_path = dir.join("d.vmdk");
    std::fs::write(&disk_path, disk).unwrap();
    let out = dir.join("vm.ova");
    let files = [DiskFile {
        name: "vm-disk1.vmdk".into(),
        path: disk_path,
        sha256: sha256_hex(disk),
    }];
    write_ova(&out, OVF, &files, 0, &NoProgress).unwrap();
    out
}

#[test]
fn ova_is_ordered_reproducible_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = build(dir.path(), b"not really a disk");
    let first = std::fs::read(&out).unwrap();
    let again = build(dir.path(), b"not really a disk");
    assert_eq!(
        first,
        std::fs::read(again).unwrap(),
        "same inputs, same bytes"
    );
    let ova = Ova::open(&out).unwrap();
    let names: Vec<_> = ova.members().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["vm.ovf", "vm.mf", "vm-disk1.vmdk"]);
    let (info, v) = ova.verify(&NoProgress).unwrap();
    assert_eq!(info.name, "vm");
    assert_eq!(v.checked.len(), 2);
    assert!(
        v.unlisted.is_empty() && v.warnings.is_empty(),
        "{:?}",
        v.warnings
    );
    // No temp files left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn tampered_member_fails_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = build(dir.path(), b"not really a disk");
    let mut bytes = std::fs::read(&out).unwrap();
    let at = bytes.windows(6).position(|w| w == b"really").unwrap();
    bytes[at] = b'R';
    std::fs::write(&out, bytes).unwrap();
    let err = Ova::open(&out).unwrap().verify(&NoProgress).unwrap_err();
    assert!(matches!(err, Error::Integrity(_)));
    assert!(
        err.to_string().contains("vm-disk1.vmdk: SHA256 mismatch"),
        "{err}"
    );
}

#[test]
fn missing_and_truncated_members_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = build(dir.path(), &[7u8; 5000]);
    let bytes = std::fs::read(&out).unwrap();
    std::fs::write(&out, &bytes[..bytes.len() - 2048 - 3000]).unwrap();
    let err = Ova::open(&out).err().unwrap().to_string();
    assert!(err.contains("truncated"), "{err}");

    // An OVA whose OVF names a disk that is not inside.
    let lonely = dir.path().join("lonely.ova");
    write_ova(&lonely, OVF, &[], 0, &NoProgress).unwrap();
    let err = Ova::open(&lonely)
        .unwrap()
        .verify(&NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("references vm-disk1.vmdk, which the OVA does not contain"),
        "{err}"
    );

    std::fs::write(&out, b"plain text, not a tar").unwrap();
    assert!(Ova::open(&out).is_err());
}
