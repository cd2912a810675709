//! Inputs for build-ova tests: a Photon-like base (GPT + ext4 from `mke2fs -d`), a vDVS
//! plugin bundle and a VIB of a given release, and debugfs reads of a built OVA.
#![allow(dead_code)]

use crate::common::{ok, peer, photon_fleet};
use std::path::{Path, PathBuf};

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `disk demo-base` of `size`; returns the raw base and its root partition's offset.
pub fn base_raw(dir: &Path, size: &str) -> (PathBuf, u64) {
    let raw = dir.join(format!("base-{size}.raw"));
    let out = ok(photon_fleet(&[
        "--json",
        "disk",
        "demo-base",
        s(&raw),
        "--size",
        size,
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // partx (util-linux) must read our GPT the same way.
    let px = String::from_utf8(peer("partx", &["--show", "-g", "-o", "NR,START", s(&raw)]).stdout)
        .unwrap();
    let start: u64 = px
        .lines()
        .find(|l| l.trim_start().starts_with('2'))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(start * 512, v["root_offset"].as_u64().unwrap(), "{px}");
    (raw, start * 512)
}

/// The base packed as an OVA by our writer, as Photon publishes its images.
pub fn base_ova(dir: &Path, size: &str) -> (PathBuf, u64) {
    let (raw, off) = base_raw(dir, size);
    let ova = dir.join(format!("photon-base-{size}.ova"));
    ok(photon_fleet(&["ova", "pack", s(&raw), s(&ova)]));
    (ova, off)
}

/// A vDVS managed-plugin bundle folder of `version` with `payload` bytes in its binary.
pub fn plugin_dir(dir: &Path, version: &str, payload: usize) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let b = dir.join(format!("plugin-{version}"));
    let exe = b.join("rootfs/usr/bin/vsphere-storage-for-docker");
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    let mut bin = b"\x7fELF".to_vec();
    bin.extend(crate::common::noise(0x2545_F491_4F6C_DD1D, payload));
    std::fs::write(&exe, bin).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("vsphere-storage-for-docker", b.join("rootfs/usr/bin/vdvs"))
        .unwrap();
    std::fs::create_dir_all(b.join("rootfs/mnt/vmdk")).unwrap();
    let config = serde_json::to_vec_pretty(&plugin::managed::vdvs_config(version)).unwrap();
    std::fs::write(b.join("config.json"), config).unwrap();
    b
}

/// The same bundle as a tar made by GNU tar.
pub fn plugin_tar(dir: &Path, version: &str) -> PathBuf {
    let b = plugin_dir(dir, version, 4096);
    let tar = dir.join(format!("plugin-{version}.tar"));
    assert!(peer("tar", &["cf", s(&tar), "-C", s(&b), "."])
        .status
        .success());
    tar
}

pub fn compose(dir: &Path, version: &str, name: &str) -> PathBuf {
    crate::common::compose_vib(dir, version, name, 0)
}

/// A vDVS VIB of `version` (`0.21.2.8b7dc30-0.0.1`), composed like vibauthor does.
pub fn vib(dir: &Path, version: &str) -> PathBuf {
    compose(
        &dir.join(format!("vib-{version}")),
        version,
        &format!("vdvs-{version}.vib"),
    )
}

/// What most build tests start from, in a folder of their own: a 64 MiB demo base
/// (raw; `root` is its root partition's offset), a plugin bundle folder and a VIB, both
/// of vDVS 0.21.2.
pub struct Inputs {
    pub dir: tempfile::TempDir,
    pub base: PathBuf,
    pub root: u64,
    pub plugin: PathBuf,
    pub vib: PathBuf,
}

pub fn inputs() -> Inputs {
    let dir = tempfile::tempdir().unwrap();
    let (base, root) = base_raw(dir.path(), "64MiB");
    let plugin = plugin_dir(dir.path(), "0.21.2", 4096);
    let vib = vib(dir.path(), "0.21.2.8b7dc30-0.0.1");
    Inputs {
        dir,
        base,
        root,
        plugin,
        vib,
    }
}

/// `photon-fleet [flags] build-ova --fleet F --base B --plugin P --vib V -o OUT`, asserted to succeed.
pub fn build_ova(
    flags: &[&str],
    fleet: &Path,
    base: &Path,
    plugin: &Path,
    vib: &Path,
    out: &Path,
) -> String {
    let mut args = flags.to_vec();
    args.extend(["build-ova", "--fleet", s(fleet), "--base", s(base)]);
    args.extend(["--plugin", s(plugin), "--vib", s(vib), "-o", s(out)]);
    ok(photon_fleet(&args))
}

/// The OVA's disk as a raw image written by qemu-img (the judge), after `qemu-img check`.
pub fn ova_disk_raw(ova: &Path, dir: &Path) -> PathBuf {
    let x = dir.join("unpacked");
    std::fs::create_dir_all(&x).unwrap();
    assert!(peer("tar", &["xf", s(ova), "-C", s(&x)]).status.success());
    let vmdk = std::fs::read_dir(&x)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "vmdk"))
        .unwrap();
    let check = peer("qemu-img", &["check", s(&vmdk)]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let raw = dir.join("baked.raw");
    assert!(
        peer("qemu-img", &["convert", "-O", "raw", s(&vmdk), s(&raw)])
            .status
            .success()
    );
    raw
}

/// `debugfs -R cmd image?offset=N`: stdout.
pub fn debugfs(image: &Path, offset: u64, cmd: &str) -> String {
    let out = peer(
        "debugfs",
        &["-R", cmd, &format!("{}?offset={offset}", s(image))],
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Mode (octal), uid, gid of a path, from `debugfs stat`.
pub fn stat(image: &Path, offset: u64, path: &str) -> Option<(u32, u32, u32)> {
    let text = debugfs(image, offset, &format!("stat {path}"));
    let inode = text.lines().next()?;
    let mode = inode.split("Mode:").nth(1)?.split_whitespace().next()?;
    let user = text.lines().find(|l| l.starts_with("User:"))?;
    let f: Vec<&str> = user.split_whitespace().collect();
    Some((
        u32::from_str_radix(mode, 8).ok()?,
        f[1].parse().ok()?,
        f[3].parse().ok()?,
    ))
}

/// `e2fsck -fn` on the filesystem: must find nothing to fix.
pub fn fsck_clean(image: &Path, offset: u64) {
    let out = peer("e2fsck", &["-fn", &format!("{}?offset={offset}", s(image))]);
    assert!(
        out.status.success(),
        "e2fsck: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A file's bytes out of the filesystem (`debugfs dump`), binary-safe.
pub fn dumped(image: &Path, offset: u64, path: &str) -> Vec<u8> {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    debugfs(image, offset, &format!("dump {path} {}", s(tmp.path())));
    std::fs::read(tmp.path()).unwrap()
}
