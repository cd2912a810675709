//! Managed-plugin bundle and fleet.lock tests, on files made here.

use crate::lock::*;
use crate::managed;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub fn plugin_bundle(dir: &Path, version: &str) {
    let exe = dir.join("rootfs/usr/bin/vsphere-storage-for-docker");
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    std::fs::write(&exe, b"\x7fELF fake plugin binary").unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = serde_json::to_vec_pretty(&managed::vdvs_config(version)).unwrap();
    std::fs::write(dir.join("config.json"), config).unwrap();
}

#[test]
fn plugin_bundle_validates_as_folder_and_tar_with_one_digest() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("bundle");
    plugin_bundle(&b, "0.21.2");
    let folder = managed::open(&b).unwrap();
    assert_eq!(folder.version, "0.21.2");
    assert_eq!(folder.socket, "vsphere.sock");
    assert_eq!(folder.propagated_mount, "/mnt/vmdk");
    let tar = dir.path().join("bundle.tar");
    let ok = std::process::Command::new("tar")
        .args(["cf", tar.to_str().unwrap(), "-C", b.to_str().unwrap(), "."])
        .status()
        .unwrap();
    assert!(ok.success());
    assert_eq!(managed::open(&tar).unwrap().sha256, folder.sha256);
}

#[test]
fn plugin_bundle_faults_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("bundle");
    plugin_bundle(&b, "0.21.2");
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut c = managed::vdvs_config("0.21.2");
        f(&mut c);
        std::fs::write(b.join("config.json"), serde_json::to_vec(&c).unwrap()).unwrap();
        managed::open(&b).unwrap_err().to_string()
    };
    assert!(
        edit(&|c| c["interface"]["types"] = serde_json::json!(["docker.networkdriver/1.0"]))
            .contains("docker.volumedriver/1.0")
    );
    assert!(edit(&|c| c["env"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["name"] != "VDVS_SOCKET_GID"))
    .contains("VDVS_SOCKET_GID"));
    assert!(
        edit(&|c| c["linux"]["capabilities"] = serde_json::json!([])).contains("CAP_SYS_ADMIN")
    );
    assert!(
        edit(&|c| c["entrypoint"] = serde_json::json!(["/usr/bin/missing"]))
            .contains("not in rootfs")
    );
    std::fs::write(b.join("config.json"), b"{ nope").unwrap();
    assert!(managed::open(&b)
        .unwrap_err()
        .to_string()
        .contains("not valid JSON"));
}

#[test]
fn lock_round_trip_verify_and_tamper() {
    let dir = tempfile::tempdir().unwrap();
    plugin_bundle(&dir.path().join("plugin"), "0.21.2");
    let vib = crate::vib::tests::vdvs_vib("0.21.2.8b7dc30-0.0.1");
    std::fs::write(dir.path().join("esx.vib"), &vib).unwrap();
    let lock = FleetLock {
        lock_version: LOCK_VERSION,
        vdvs: Release {
            release: "0.21.2".into(),
        },
        plugin: PluginEntry {
            version: "0.21.2".into(),
            file: "plugin".into(),
            sha256: managed::open(&dir.path().join("plugin")).unwrap().sha256,
        },
        vib: VibEntry {
            id: "VMWare_bootbank_esx-vmdkops-service_0.21.2.8b7dc30-0.0.1".into(),
            version: "0.21.2.8b7dc30-0.0.1".into(),
            file: "esx.vib".into(),
            sha256: sha256_file(&dir.path().join("esx.vib")).unwrap(),
        },
        ova: Some(OvaEntry {
            file: "fleet.ova".into(),
            manifest_sha256: "ab".repeat(32),
        }),
        inputs: None,
    };
    let path = dir.path().join("fleet.lock");
    lock.write(&path).unwrap();
    assert_eq!(FleetLock::read(&path).unwrap(), lock);
    // The OVA check is the caller's (it needs the ova crate); it gets the OVA's path.
    let seen = std::cell::RefCell::new(Vec::new());
    let same = |p: &Path| {
        seen.borrow_mut().push(p.to_path_buf());
        Ok("ab".repeat(32))
    };
    assert!(lock.verify(dir.path(), &same).iter().all(|c| c.ok));
    assert_eq!(*seen.borrow(), [dir.path().join("fleet.ova")]);
    let other = |_: &Path| Ok("cd".repeat(32));
    let checks = lock.verify(dir.path(), &other);
    let ova = checks.iter().find(|c| c.what == "ova").unwrap();
    assert!(
        !ova.ok && ova.detail.starts_with("manifest sha256 cdcd"),
        "{}",
        ova.detail
    );
    std::fs::write(dir.path().join("esx.vib"), b"swapped").unwrap();
    let checks = lock.verify(dir.path(), &same);
    assert!(!checks.iter().find(|c| c.what == "vib").unwrap().ok);
    let text = std::fs::read_to_string(&path).unwrap();
    let e = FleetLock::parse(&text.replace("0.21.2.8b7dc30-0.0.1", "0.20.15f5e1d-0.0.1"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("different vDVS releases"), "{e}");
    let e = FleetLock::parse(&text.replace("lock_version = 2", "lock_version = 1"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("version 1 is not supported") && e.contains("again"),
        "{e}"
    );
    let e = FleetLock::parse(&format!("{text}\nsurprise = 1\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("surprise"), "{e}");
}
