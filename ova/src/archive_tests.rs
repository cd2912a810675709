use crate::archive::*;
use crate::manifest::sha256_hex;
use crate::ovf::OvfDisk;
use crate::package::{write_ova, Written};
use crate::vmdk::WriteOptions;
use crate::{Error, NoProgress, RawDisk, Result};
use std::path::{Path, PathBuf};

/// A descriptor for `d`, with `filler` bytes of comment to steer its length.
fn ovf_text(d: &OvfDisk, filler: usize) -> String {
    format!(
        r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
 <!--{}-->
 <References><File ovf:href="{}" ovf:id="file1" ovf:size="{}"/></References>
 <DiskSection><Disk ovf:capacity="{}" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:populatedSize="{}"/></DiskSection>
 <VirtualSystem ovf:id="vm"><Name>vm</Name></VirtualSystem>
</Envelope>
"#,
        "x".repeat(filler),
        d.file_name,
        d.file_size,
        d.capacity,
        d.populated_size
    )
}

fn disk_file(dir: &Path, bytes: &[u8]) -> PathBuf {
    let p = dir.join("disk.raw");
    std::fs::write(&p, bytes).unwrap();
    p
}

fn build(dir: &Path, disk: &[u8], filler: usize) -> (PathBuf, Written) {
    let src = RawDisk::open(&disk_file(dir, disk)).unwrap();
    let out = dir.join("vm.ova");
    let opts = WriteOptions {
        file_name: "vm-disk1.vmdk".into(),
        ..WriteOptions::default()
    };
    let ovf = |d: &OvfDisk| -> Result<String> { Ok(ovf_text(d, filler)) };
    let w = write_ova(&out, &src, &opts, 0, &ovf, &NoProgress).unwrap();
    (out, w)
}

fn disk_bytes() -> Vec<u8> {
    let mut d = vec![0u8; 3 << 20];
    for (i, b) in d[..300_000].iter_mut().enumerate() {
        *b = (i * 31 % 251) as u8;
    }
    d[2 << 20..(2 << 20) + 11].copy_from_slice(b"really data");
    d
}

#[test]
fn ova_is_ordered_reproducible_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (out, w) = build(dir.path(), &disk_bytes(), 0);
    let first = std::fs::read(&out).unwrap();
    assert_eq!(first.len() as u64, w.size);
    let (again, _) = build(dir.path(), &disk_bytes(), 0);
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
    // The sizes in the OVF are the real ones, and the disk reads back as written.
    assert_eq!(info.files[0].size, Some(w.disk.file_size));
    assert_eq!(ova.member("vm-disk1.vmdk").unwrap().size, w.disk.file_size);
    let disk = ova.disk("vm-disk1.vmdk").unwrap();
    let mut back = vec![0u8; 3 << 20];
    crate::DiskSource::read_at(&disk, &mut back, 0).unwrap();
    assert!(back == disk_bytes(), "the disk reads back unchanged");
    // The manifest digest is the .mf member's.
    let mf = ova.member("vm.mf").unwrap();
    assert_eq!(
        w.manifest_sha256,
        sha256_hex(&first[mf.offset as usize..(mf.offset + mf.size) as usize])
    );
    // The archive ends with two zero blocks; no temp files are left behind.
    assert!(first[first.len() - 1024..].iter().all(|&b| b == 0));
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["disk.raw", "vm.ova"]);
}

#[test]
fn descriptor_room_is_filled_with_trailing_whitespace_only_when_needed() {
    let dir = tempfile::tempdir().unwrap();
    let widest = OvfDisk {
        file_name: "vm-disk1.vmdk".into(),
        file_size: u64::MAX,
        capacity: 3 << 20,
        populated_size: 3 << 20,
    };
    // The widest figures put the descriptor 3 bytes into a new block; the real,
    // shorter ones do not: the real text is padded up to that block.
    let filler = 1024 + 3 - ovf_text(&widest, 0).len();
    let (out, _) = build(dir.path(), &disk_bytes(), filler);
    let ova = Ova::open(&out).unwrap();
    let (_, text) = ova.ovf().unwrap();
    assert_eq!(text.len(), 1025);
    assert!(text.trim_end().ends_with("</Envelope>") && text.ends_with(' '));
    let (_, v) = ova.verify(&NoProgress).unwrap();
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);

    // Without the boundary in between, nothing is added.
    let (out, _) = build(dir.path(), &disk_bytes(), 0);
    let (_, text) = Ova::open(&out).unwrap().ovf().unwrap();
    assert!(text.ends_with("</Envelope>\n"));
}

#[test]
fn a_failing_descriptor_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = RawDisk::open(&disk_file(dir.path(), &disk_bytes())).unwrap();
    let calls = std::cell::Cell::new(0);
    let ovf = |d: &OvfDisk| -> Result<String> {
        calls.set(calls.get() + 1);
        match calls.get() {
            1 => Ok(ovf_text(d, 0)),
            _ => Err(Error::Invalid("no descriptor today".into())),
        }
    };
    let out = dir.path().join("vm.ova");
    let err = write_ova(&out, &src, &WriteOptions::default(), 0, &ovf, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no descriptor today"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only disk.raw"
    );
}

#[test]
fn tampered_member_fails_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = build(dir.path(), &disk_bytes(), 0);
    let m = Ova::open(&out)
        .unwrap()
        .member("vm-disk1.vmdk")
        .unwrap()
        .clone();
    let mut bytes = std::fs::read(&out).unwrap();
    bytes[(m.offset + m.size / 2) as usize] ^= 1;
    std::fs::write(&out, bytes).unwrap();
    let err = Ova::open(&out).unwrap().verify(&NoProgress).unwrap_err();
    assert!(matches!(err, Error::Integrity(_)));
    assert!(
        err.to_string().contains("vm-disk1.vmdk: SHA256 mismatch"),
        "{err}"
    );
}

/// A tar of `members`, as any tool could have written it.
fn tar_of(path: &Path, members: &[(&str, &[u8])]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in members {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *bytes).unwrap();
    }
    b.finish().unwrap();
}

#[test]
fn missing_and_truncated_members_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = build(dir.path(), &disk_bytes(), 0);
    let bytes = std::fs::read(&out).unwrap();
    std::fs::write(&out, &bytes[..bytes.len() - 2048 - 3000]).unwrap();
    let err = Ova::open(&out).err().unwrap().to_string();
    assert!(err.contains("truncated"), "{err}");

    // An OVA whose OVF names a disk that is not inside.
    let lonely = dir.path().join("lonely.ova");
    let d = OvfDisk {
        file_name: "vm-disk1.vmdk".into(),
        file_size: 1,
        capacity: 512,
        populated_size: 0,
    };
    tar_of(&lonely, &[("vm.ovf", ovf_text(&d, 0).as_bytes())]);
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
