//! A Photon-like base disk for demos and tests (`photon-fleet disk demo-base`), made the
//! way the tests' bases are: GPT (written by the `ova` crate) with an empty EFI
//! system partition and an ext4 root built by `mke2fs -d` from a folder laid out like
//! Photon OS 5.0, in 4 KiB blocks as Photon's own (mke2fs would pick 1 KiB for a small
//! disk). It is NOT bootable (no kernel, no boot loader).

use crate::bake::debugfs::{e2fs_tool, run_e2fs};
use crate::{bad as usage, Result};
use anyhow::bail;
use ova::gpt::{self, Partition, Table};
use std::path::Path;
use std::process::Command;

/// Every timestamp in the demo base (2023-11-14), so two demo bases are identical.
const EPOCH: &str = "1700000000";
const ESP_FIRST: u64 = 2048;
const ESP_SECTORS: u64 = 20480;

const FILES: &[(&str, u32, &str)] = &[
    ("etc/photon-release", 0o644, "VMware Photon OS 5.0\nPHOTON_BUILD_NUMBER=demo\n"),
    ("etc/os-release", 0o644, "NAME=\"VMware Photon OS\"\nVERSION=\"5.0\"\nID=photon\nVERSION_ID=5.0\nPRETTY_NAME=\"photon-fleet demo base (Photon OS 5.0 layout, NOT bootable)\"\n"),
    ("etc/hostname", 0o644, "photon-demo\n"),
    ("etc/fstab", 0o644, "PARTUUID=demo-root / ext4 defaults,barrier,noatime 1 1\n"),
    ("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/bash\n"),
    ("etc/group", 0o644, "root:x:0:\ndocker:x:999:\n"),
    ("etc/shadow", 0o600, "root:*:19000:0:99999:7:::\n"),
    ("etc/systemd/network/99-dhcp-en.network", 0o644, "[Match]\nName=e*\n\n[Network]\nDHCP=yes\n"),
    ("usr/lib/systemd/system/docker.service", 0o644, "[Unit]\nDescription=Docker Application Container Engine (demo base stand-in)\n[Service]\nExecStart=/usr/bin/dockerd\n[Install]\nWantedBy=multi-user.target\n"),
    ("usr/lib/systemd/system/vmtoolsd.service", 0o644, "[Unit]\nDescription=Service for virtual machines hosted on VMware (demo base stand-in)\n[Service]\nExecStart=/usr/bin/vmtoolsd\n[Install]\nWantedBy=multi-user.target\n"),
    ("usr/lib/systemd/system/sshd.service", 0o644, "[Unit]\nDescription=OpenSSH Daemon (demo base stand-in)\n[Service]\nExecStart=/usr/sbin/sshd -D\n[Install]\nWantedBy=multi-user.target\n"),
    ("usr/lib/systemd/system-preset/50-docker.preset", 0o644, "disable docker.service\n"),
    ("usr/share/zoneinfo/Etc/UTC", 0o644, "TZif2 (demo base stand-in)\n"),
    ("usr/share/zoneinfo/Europe/Berlin", 0o644, "TZif2 (demo base stand-in)\n"),
    ("usr/share/doc/photon-fleet-demo/README", 0o644, "This disk only looks like Photon OS 5.0 to photon-fleet build-ova.\nIt has no kernel and no boot loader. Pass a real Photon OVA with --base.\n"),
];

const DIRS: &[(&str, u32)] = &[
    ("root", 0o700),
    ("tmp", 0o1777),
    ("opt", 0o755),
    ("boot/efi", 0o755),
    ("var/lib", 0o755),
    ("etc/systemd/system/multi-user.target.wants", 0o755),
];

fn populate(tree: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for (dir, mode) in DIRS {
        std::fs::create_dir_all(tree.join(dir))?;
        std::fs::set_permissions(tree.join(dir), std::fs::Permissions::from_mode(*mode))?;
    }
    for (path, mode, text) in FILES {
        let p = tree.join(path);
        std::fs::create_dir_all(p.parent().expect("has a folder"))?;
        std::fs::write(&p, text)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode))?;
    }
    std::os::unix::fs::symlink(
        "/usr/lib/systemd/system/sshd.service",
        tree.join("etc/systemd/system/multi-user.target.wants/sshd.service"),
    )?;
    let touched = Command::new("find")
        .arg(tree)
        .args([
            "-exec",
            "touch",
            "-h",
            "-d",
            &format!("@{EPOCH}"),
            "{}",
            "+",
        ])
        .status()?;
    if !touched.success() {
        bail!("cannot set the demo tree's timestamps");
    }
    Ok(())
}

/// The demo base written.
#[derive(Debug, serde::Serialize)]
pub struct DemoBase {
    pub file: String,
    pub size: u64,
    pub root_partition: u32,
    pub root_offset: u64,
    pub root_size: u64,
    pub bootable: bool,
    pub note: &'static str,
}

/// Writes a demo base of `size` bytes (16 MiB to 64 TiB) to `output`.
pub fn write(output: &Path, size: u64) -> Result<DemoBase> {
    if !(16 << 20..=64 << 40).contains(&size) {
        return Err(usage(format!(
            "size {size}: a demo base is 16 MiB to 64 TiB"
        )));
    }
    let tree = tempfile::tempdir()?;
    populate(tree.path())?;
    let sectors = size / gpt::SECTOR;
    let (first, last) = gpt::usable(sectors);
    let root_first = ESP_FIRST + ESP_SECTORS;
    let table = Table {
        disk_guid: "5048F07E-F1EE-4D00-8000-000000000001".into(),
        first_usable: first,
        last_usable: last,
        partitions: vec![
            Partition {
                number: 1,
                type_guid: gpt::EFI_SYSTEM.into(),
                guid: "5048F07E-F1EE-4D00-8000-0000000000E1".into(),
                name: "EFI system (empty: demo)".into(),
                first_lba: ESP_FIRST,
                last_lba: root_first - 1,
            },
            Partition {
                number: 2,
                type_guid: gpt::LINUX_DATA.into(),
                guid: "5048F07E-F1EE-4D00-8000-0000000000F5".into(),
                name: "root".into(),
                first_lba: root_first,
                last_lba: last,
            },
        ],
    };
    let root = &table.partitions[1];
    // Written beside the output under a temporary name, renamed when complete.
    let tmp = plumbing::Output::create(output)?;
    {
        let f = tmp.file();
        f.set_len(sectors * gpt::SECTOR)?;
        gpt::write(f, &table)?;
        f.sync_all()?;
        // mke2fs writes the root filesystem straight into the partition.
        let mut mke2fs = Command::new(e2fs_tool("mke2fs"));
        mke2fs
            .args(["-F", "-q", "-t", "ext4", "-b", "4096", "-L", "photon-root"])
            .args(["-U", "5048f07e-f1ee-4d00-8000-0000000000f5"])
            .arg("-E")
            .arg(format!(
                "offset={},root_owner=0:0,hash_seed=5048f07e-f1ee-4d00-8000-00000000005e",
                root.offset()
            ))
            .arg("-d")
            .arg(tree.path())
            .arg(tmp.path())
            .arg(format!("{}k", root.len() / 1024))
            .env("E2FSPROGS_FAKE_TIME", EPOCH);
        run_e2fs(mke2fs, "mke2fs")?;
    }
    tmp.commit()?;
    Ok(DemoBase {
        file: output.display().to_string(),
        size: sectors * gpt::SECTOR,
        root_partition: root.number,
        root_offset: root.offset(),
        root_size: root.len(),
        bootable: false,
        note: "demo base: Photon OS 5.0 layout for build-ova, NOT bootable",
    })
}
