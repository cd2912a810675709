//! The bake's pieces against a real ext4 made by `mke2fs -d` and read by `debugfs`
//! (e2fsprogs): listing, reading, writing with modes and owners, the space checks.

use super::debugfs::{cmd, is_ext, ExtFs};
use super::files::{self, Content, Entry};
use super::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// A 4 MiB ext4 image of a small tree (`etc/photon-release`, `usr/lib/systemd/system`).
fn image(dir: &Path) -> std::path::PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::create_dir_all(tree.join("usr/lib/systemd/system")).unwrap();
    std::fs::write(tree.join("etc/photon-release"), "VMware Photon OS 5.0\n").unwrap();
    std::fs::write(
        tree.join("usr/lib/systemd/system/docker.service"),
        "[Unit]\n",
    )
    .unwrap();
    let img = dir.join("root.img");
    let st = Command::new(debugfs::e2fs_tool("mke2fs"))
        .args(["-F", "-q", "-t", "ext4", "-d"])
        .arg(&tree)
        .arg(&img)
        .arg("4M")
        .status()
        .expect("mke2fs (e2fsprogs: scripts/install-deps)");
    assert!(st.success());
    img
}

#[test]
fn paths_split_and_quote_as_debugfs_needs() {
    assert_eq!(
        (parent("/etc/a.conf"), name("/etc/a.conf")),
        ("/etc".into(), "a.conf")
    );
    assert_eq!(parent("/top"), "/");
    assert_eq!(cmd::mkdir("/opt/a b").unwrap(), "mkdir \"/opt/a b\"");
    assert_eq!(
        cmd::own("/x", 0o100644).unwrap(),
        [
            "sif \"/x\" mode 0100644",
            "sif \"/x\" uid 0",
            "sif \"/x\" gid 0"
        ]
    );
    let e = cmd::rm("/a\"b").unwrap_err().to_string();
    assert!(e.contains("cannot write a name holding a quote"), "{e}");
}

#[test]
fn reads_lists_and_writes_a_real_ext4() {
    let d = tempfile::tempdir().unwrap();
    let img = image(d.path());
    assert!(is_ext(&std::fs::File::open(&img).unwrap(), 0).unwrap());
    assert!(!is_ext(&std::fs::File::open(&img).unwrap(), 4096).unwrap());
    let fs = ExtFs::new(&img, 0).unwrap();
    assert_eq!(
        fs.cat("/etc/photon-release").unwrap().as_deref(),
        Some("VMware Photon OS 5.0\n")
    );
    assert_eq!(fs.cat("/etc/missing").unwrap(), None);
    let listed = fs.list(&["/etc".into(), "/nope".into()]).unwrap();
    let etc = listed["/etc"].as_ref().unwrap();
    assert_eq!(etc.len(), 1);
    assert_eq!(etc[0].name, "photon-release");
    assert!(listed["/nope"].is_none());
    let before = fs.stats().unwrap();
    assert!(before.block_size >= 1024 && before.free_blocks > 0);

    // The bake: a folder, a file with its mode, a link; all root:root.
    let host = d.path().join("payload");
    std::fs::write(&host, "binary\n").unwrap();
    std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o755)).unwrap();
    let entries = vec![
        Entry::Dir {
            path: "/opt/photon-fleet".into(),
        },
        Entry::File {
            path: "/opt/photon-fleet/tool".into(),
            mode: 0o755,
            content: Content::Host(host, 7),
        },
        Entry::Link {
            path: "/opt/photon-fleet/link".into(),
            target: "tool".into(),
        },
    ];
    let staged = stage(files::with_parents(entries), &d.path().join("stage-dir")).unwrap();
    let baked = bake(
        &fs,
        &staged,
        &["/usr/lib/systemd/system/docker.service"],
        "test image",
    )
    .unwrap();
    assert_eq!(
        (baked.dirs, baked.files, baked.links),
        (2, 1, 1),
        "/opt too"
    );
    assert_eq!(
        fs.cat("/opt/photon-fleet/tool").unwrap().as_deref(),
        Some("binary\n")
    );
    let opt = fs.list(&["/opt/photon-fleet".into()]).unwrap();
    let mut modes: Vec<(String, u32)> = opt["/opt/photon-fleet"]
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| (e.name.clone(), e.mode))
        .collect();
    modes.sort();
    assert_eq!(
        modes,
        [("link".into(), 0o120777), ("tool".into(), 0o100755)]
    );
    // A file the base must have and does not: refused, naming it.
    let e = bake(
        &fs,
        &[],
        &["/usr/lib/systemd/system/vmtoolsd.service"],
        "test image",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("vmtoolsd.service"), "{e}");
}

/// A disk laid out by util-linux's sfdisk from `script`.
fn sfdisk(img: &Path, script: &str) {
    use std::io::Write as _;
    std::fs::File::create(img)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let mut child = Command::new("sfdisk")
        .args(["--quiet", "--no-reread", "--no-tell-kernel"])
        .arg(img)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sfdisk (util-linux: scripts/install-deps)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn mbr_and_lvm_layouts_are_refused_by_what_they_are() {
    let d = tempfile::tempdir().unwrap();
    let img = d.path().join("disk.raw");
    sfdisk(&img, "label: dos\n,4MiB,83\n,,8e\n");
    let e = find_root(&img, "base.raw").unwrap_err().to_string();
    assert!(
        e.contains("base.raw: MBR (msdos) partition table (1 (type 0x83), 2 (type 0x8e)): only GPT is supported"),
        "{e}"
    );
    sfdisk(&img, "label: gpt\n,4MiB,U\n,,V\n");
    let e = find_root(&img, "base.raw").unwrap_err().to_string();
    assert!(
        e.contains("the root is on LVM (partition 2; partitions: 1 (EFI system), 2 (Linux LVM))"),
        "{e}"
    );
    sfdisk(&img, "label: gpt\n,4MiB,U\n,,L\n");
    let e = find_root(&img, "base.raw").unwrap_err().to_string();
    assert!(
        e.contains("no Linux partition with an ext4 filesystem (partitions: 1 (EFI system), 2 (Linux filesystem))"),
        "{e}"
    );
}
