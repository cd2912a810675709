//! build-ova end to end: Photon-like bases (GPT + ext4 from mke2fs -d) packed as OVAs by
//! our writer, the real binary, and the result read back by qemu-img, tar, sha256sum,
//! debugfs and e2fsck.

#[path = "common/bake.rs"]
mod bake;
mod common;

use bake::*;
use common::{assert_ovf_valid, ok, peer, photon_fleet, refused, send_signal, sha256sum};
use std::path::Path;

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBuildTestKeyOnly ops@example.com";

fn fleet_toml(dir: &Path, extra: &str) -> String {
    let p = dir.join("fleet.toml");
    std::fs::write(
        &p,
        format!(
            r#"[image]
name = "docker-host"
photon_version = "5.0"
cpus = 4
memory_mb = 4096
{extra}
[docker]
"log-driver" = "json-file"
"data-root" = "/var/lib/docker"
[docker.log-opts]
max-size = "20m"

[vdvs]
log_level = "debug"
socket_gid = "docker"

[guest]
timezone = "Europe/Berlin"
ntp = ["0.pool.ntp.org", "10.0.0.2"]
ssh_keys = ["{KEY}"]
[[guest.users]]
name = "ops"
groups = ["docker"]
ssh_keys = ["{KEY}"]

[network]
gateway = "10.0.0.1"
dns = ["10.0.0.2"]
"#
        ),
    )
    .unwrap();
    s(&p).to_string()
}

#[test]
fn bakes_docker_and_the_vdvs_plugin_into_a_photon_ova() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (base, off) = base_ova(dir, "64MiB");
    let base_raw = dir.join("base-64MiB.raw");
    let plugin = plugin_tar(dir, "0.21.2");
    let vib = vib(dir, "0.21.2.8b7dc30-0.0.1");
    let fleet = fleet_toml(dir, "");
    let out = dir.join("out");
    let report = build_ova(&["--json"], Path::new(&fleet), &base, &plugin, &vib, &out);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["base_kind"], "ova");
    assert_eq!(report["base_copy"]["how"], "metadata", "{report}");
    assert_eq!(report["root_partition"], 2);
    let ova = out.join("docker-host-5.0.ova");

    // The OVA: ovf, mf, disk in that order; every manifest line matches sha256sum of
    // the member; the report's manifest digest is sha256sum of the .mf.
    let listed = String::from_utf8(peer("tar", &["tf", s(&ova)]).stdout).unwrap();
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        [
            "docker-host-5.0.ovf",
            "docker-host-5.0.mf",
            "docker-host-5.0-disk1.vmdk"
        ]
    );
    let x = dir.join("members");
    std::fs::create_dir(&x).unwrap();
    assert!(peer("tar", &["xf", s(&ova), "-C", s(&x)]).status.success());
    let mf_sha = sha256sum(&x.join("docker-host-5.0.mf"));
    assert_eq!(report["manifest_sha256"].as_str().unwrap(), mf_sha);
    let mf = std::fs::read_to_string(x.join("docker-host-5.0.mf")).unwrap();
    assert_eq!(mf.lines().count(), 2);
    for line in mf.lines() {
        let (name, hash) = line
            .strip_prefix("SHA256(")
            .unwrap()
            .split_once(")= ")
            .unwrap();
        assert_eq!(hash, sha256sum(&x.join(name)), "{name}");
    }
    assert_ovf_valid(&x.join("docker-host-5.0.ovf"));
    // The disk's descriptor names the controller the OVF declares (PVSCSI).
    let vmdk = std::fs::read(x.join("docker-host-5.0-disk1.vmdk")).unwrap();
    let head = String::from_utf8_lossy(&vmdk[..vmdk.len().min(4096)]);
    assert!(head.contains(r#"ddb.adapterType = "pvscsi""#), "{head}");
    let ovf = std::fs::read_to_string(x.join("docker-host-5.0.ovf")).unwrap();
    for want in [
        r#"ovf:key="vdvs.plugin_version""#,
        r#"ovf:value="0.21.2""#,
        r#"ovf:value="0.21.2.8b7dc30-0.0.1""#,
        r#"ovf:key="ssh.authorized_key""#,
        r#"ovf:key="network.gateway" ovf:type="string" ovf:userConfigurable="true" ovf:value="10.0.0.1""#,
        "<rasd:VirtualQuantity>4</rasd:VirtualQuantity>",
        "vmware.vmci",
        r#"ovf:transport="com.vmware.guestInfo iso""#,
    ] {
        assert!(ovf.contains(want), "OVF lacks {want}");
    }
    // The VIB beside it is the input VIB; the lock names all three and re-verifies.
    let vib_out = out.join("esx-vmdkops-service-0.21.2.8b7dc30-0.0.1.vib");
    assert_eq!(sha256sum(&vib_out), sha256sum(&vib));
    let checked = ok(photon_fleet(&["inspect", s(&out.join("fleet.lock"))]));
    for what in ["plugin ok", "vib    ok", "ova    ok"] {
        assert!(checked.contains(what), "{what}: {checked}");
    }
    let lock = std::fs::read_to_string(out.join("fleet.lock")).unwrap();
    assert!(
        lock.contains(&format!("manifest_sha256 = \"{mf_sha}\""))
            && lock.contains("release = \"0.21.2\""),
        "{lock}"
    );

    // The filesystem: every baked file with its mode and owner, the units enabled.
    let raw = ova_disk_raw(&ova, dir);
    fsck_clean(&raw, off);
    for (path, mode) in [
        ("/etc/docker/daemon.json", 0o644),
        ("/etc/vsphere-storage-for-docker.conf", 0o644),
        ("/etc/photon-fleet/firstboot.conf", 0o644),
        ("/usr/lib/photon-fleet/firstboot", 0o755),
        ("/etc/systemd/system/photon-fleet-firstboot.service", 0o644),
        ("/etc/systemd/timesyncd.conf.d/photon-fleet.conf", 0o644),
        ("/opt/photon-fleet/vdvs/plugin/config.json", 0o644),
        (
            "/opt/photon-fleet/vdvs/plugin/rootfs/usr/bin/vsphere-storage-for-docker",
            0o755,
        ),
        ("/opt/photon-fleet/vdvs/plugin/rootfs/mnt/vmdk", 0o755),
    ] {
        assert_eq!(stat(&raw, off, path), Some((mode, 0, 0)), "{path}");
    }
    for (link, target) in [
        (
            "/etc/systemd/system/multi-user.target.wants/docker.service",
            "/usr/lib/systemd/system/docker.service",
        ),
        (
            "/etc/systemd/system/multi-user.target.wants/vmtoolsd.service",
            "/usr/lib/systemd/system/vmtoolsd.service",
        ),
        (
            "/etc/systemd/system/multi-user.target.wants/photon-fleet-firstboot.service",
            "/etc/systemd/system/photon-fleet-firstboot.service",
        ),
        ("/etc/localtime", "/usr/share/zoneinfo/Europe/Berlin"),
        (
            "/opt/photon-fleet/vdvs/plugin/rootfs/usr/bin/vdvs",
            "vsphere-storage-for-docker",
        ),
    ] {
        let st = debugfs(&raw, off, &format!("stat {link}"));
        assert!(
            st.contains("Type: symlink") && st.contains(&format!("Fast link dest: \"{target}\"")),
            "{link}: {st}"
        );
    }
    let daemon: serde_json::Value =
        serde_json::from_str(&debugfs(&raw, off, "cat /etc/docker/daemon.json")).unwrap();
    assert_eq!(daemon["log-opts"]["max-size"], "20m");
    assert_eq!(daemon["data-root"], "/var/lib/docker");
    let conf: serde_json::Value = serde_json::from_str(&debugfs(
        &raw,
        off,
        "cat /etc/vsphere-storage-for-docker.conf",
    ))
    .unwrap();
    assert_eq!(
        (conf["LogLevel"].as_str(), conf["GroupID"].as_str()),
        (Some("debug"), Some("docker"))
    );
    let fb = debugfs(&raw, off, "cat /etc/photon-fleet/firstboot.conf");
    assert!(
        fb.contains("PLUGIN='vsphere:latest'") && fb.contains("add_user 'ops' 'docker'"),
        "{fb}"
    );
    assert!(debugfs(
        &raw,
        off,
        "cat /etc/systemd/timesyncd.conf.d/photon-fleet.conf"
    )
    .contains("NTP=0.pool.ntp.org 10.0.0.2"));

    // Nothing else changed: the base's own files read the same before and after.
    for path in [
        "/etc/photon-release",
        "/etc/passwd",
        "/etc/shadow",
        "/usr/lib/systemd/system/docker.service",
        "/etc/systemd/network/99-dhcp-en.network",
        "/usr/share/doc/photon-fleet-demo/README",
    ] {
        assert_eq!(
            debugfs(&raw, off, &format!("cat {path}")),
            debugfs(&base_raw, off, &format!("cat {path}")),
            "{path}"
        );
        assert_eq!(stat(&raw, off, path), stat(&base_raw, off, path), "{path}");
    }
    for dir in [
        "/usr/lib/systemd/system",
        "/usr/share/zoneinfo/Europe",
        "/root",
        "/var/lib",
    ] {
        assert_eq!(
            debugfs(&raw, off, &format!("ls -p {dir}")),
            debugfs(&base_raw, off, &format!("ls -p {dir}")),
            "{dir}"
        );
    }

    // The kickstart's postinstall lays down the same files, byte for byte.
    let ks_path = dir.join("ks.json");
    ok(photon_fleet(&[
        "kickstart",
        "--fleet",
        &fleet,
        "--plugin",
        s(&plugin),
        "--vib",
        s(&vib),
        "-o",
        s(&ks_path),
    ]));
    let ks = kickstart::Kickstart::parse(&std::fs::read_to_string(&ks_path).unwrap()).unwrap();
    assert!(["docker", "open-vm-tools", "linux-esx", "tar"]
        .iter()
        .all(|p| ks.packages.contains(&p.to_string())));
    assert_eq!(
        ks.additional_files[0].values().next().unwrap(),
        "/opt/photon-fleet/vdvs/plugin.tar"
    );
    let root = dir.join("ks-root");
    std::fs::create_dir_all(root.join("opt/photon-fleet/vdvs")).unwrap();
    std::fs::copy(&plugin, root.join("opt/photon-fleet/vdvs/plugin.tar")).unwrap();
    let script = ks.postinstall.join("\n");
    let run = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("PHOTON_FLEET_ROOT", &root)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for path in [
        "/etc/docker/daemon.json",
        "/etc/vsphere-storage-for-docker.conf",
        "/etc/photon-fleet/firstboot.conf",
        "/usr/lib/photon-fleet/firstboot",
        "/etc/systemd/system/photon-fleet-firstboot.service",
        "/opt/photon-fleet/vdvs/plugin/config.json",
        "/opt/photon-fleet/vdvs/plugin/rootfs/usr/bin/vsphere-storage-for-docker",
    ] {
        let local = std::fs::read(root.join(&path[1..])).unwrap();
        assert!(
            local == dumped(&raw, off, path),
            "{path} differs between kickstart and bake"
        );
    }
    assert!(!root.join("opt/photon-fleet/vdvs/plugin.tar").exists());

    // One flipped bit in the disk member: the lock no longer vouches for the OVA.
    let mut bytes = std::fs::read(&ova).unwrap();
    let at = bytes.len() - 4096;
    bytes[at] ^= 1;
    std::fs::write(&ova, bytes).unwrap();
    let out = photon_fleet(&["inspect", s(&out.join("fleet.lock"))]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains("ova    FAIL")
            && text.contains("docker-host-5.0-disk1.vmdk: SHA256 mismatch"),
        "{text}"
    );
}

#[test]
fn same_inputs_give_the_same_ova_and_disks_grow_on_request() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (base, off) = base_raw(dir, "64MiB");
    // A file the bake does not touch: its contents stay in the base and must come
    // through unchanged.
    let data = common::noise(0x5EED, 3 << 20);
    let host = dir.join("data.bin");
    std::fs::write(&host, &data).unwrap();
    let cmds = dir.join("cmds");
    std::fs::write(
        &cmds,
        format!(
            "mkdir /var/lib/data\nwrite {} /var/lib/data/data.bin\n",
            s(&host)
        ),
    )
    .unwrap();
    let spec = format!("{}?offset={off}", s(&base));
    assert!(peer("debugfs", &["-w", "-f", s(&cmds), &spec])
        .status
        .success());
    let plugin = plugin_dir(dir, "0.21.2", 4096);
    let vib = vib(dir, "0.21.2.8b7dc30-0.0.1");
    let build = |out: &str, fleet: &str, extra: &[&str]| {
        let out = dir.join(out);
        let mut args = vec!["--json", "build-ova", "--fleet", fleet, "--base", s(&base)];
        args.extend(["--plugin", s(&plugin), "--vib", s(&vib), "-o", s(&out)]);
        args.extend(extra);
        let report: serde_json::Value = serde_json::from_str(&ok(photon_fleet(&args))).unwrap();
        (out.join("docker-host-5.0.ova"), report)
    };
    let fleet = fleet_toml(dir, "");
    let (a, report) = build("a", &fleet, &[]);
    // Only the base's metadata was copied: the journal, inode tables and directories
    // (its 3 MiB file stayed in the base).
    assert_eq!(report["base_copy"]["how"], "metadata", "{report}");
    let copied = report["base_copy"]["metadata_bytes"].as_u64().unwrap();
    assert!(copied < 8 << 20, "{copied} bytes of metadata");
    let (b, _) = build("b", &fleet, &[]);
    assert_eq!(sha256sum(&a), sha256sum(&b));
    // Expanding the whole base first gives the same OVA, byte for byte.
    let (whole, report) = build("whole", &fleet, &["--whole-base"]);
    assert_eq!(report["base_copy"]["how"], "whole", "{report}");
    assert_eq!(report["base_copy"]["why"]["reason"], "asked", "{report}");
    assert_eq!(sha256sum(&a), sha256sum(&whole));
    let raw = ova_disk_raw(&a, &dir.join("a-disk"));
    fsck_clean(&raw, off);
    assert!(dumped(&raw, off, "/var/lib/data/data.bin") == data);
    assert!(debugfs(&raw, off, "cat /etc/photon-fleet/versions").contains("VDVS_PLUGIN=0.21.2"));

    // disk_size: the GPT moves to the new end, the root partition and its ext4 grow.
    // The base is copied whole for that (resize2fs may move file contents).
    let fleet = fleet_toml(dir, "disk_size = \"160MiB\"");
    let (grown, report) = build("grown", &fleet, &[]);
    assert_eq!(report["base_copy"]["why"]["reason"], "growing", "{report}");
    // Growing is reproducible too.
    let (again, _) = build("grown-again", &fleet, &[]);
    assert_eq!(sha256sum(&grown), sha256sum(&again));
    let raw = ova_disk_raw(&grown, &dir.join("g"));
    assert_eq!(std::fs::metadata(&raw).unwrap().len(), 160 << 20);
    let px =
        String::from_utf8(peer("partx", &["--show", "-g", "-o", "NR,START,END", s(&raw)]).stdout)
            .unwrap();
    let f: Vec<u64> = px
        .lines()
        .find(|l| l.trim_start().starts_with('2'))
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(f[2], (160 << 20) / 512 - 34, "{px}");
    let off = f[1] * 512;
    fsck_clean(&raw, off);
    let stats = debugfs(&raw, off, "stats");
    let field = |name: &str| -> u64 {
        let line = stats.lines().find_map(|l| l.strip_prefix(name));
        line.unwrap().trim().parse().unwrap()
    };
    let (count, size) = (field("Block count:"), field("Block size:"));
    assert!(count * size > 140 << 20, "{count} blocks of {size}");
    assert!(debugfs(&raw, off, "cat /etc/photon-fleet/versions").contains("VDVS_PLUGIN=0.21.2"));
    assert!(dumped(&raw, off, "/var/lib/data/data.bin") == data);
}

#[test]
fn bad_inputs_are_refused_and_leave_no_ova() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let plugin = plugin_dir(dir, "0.21.2", 4096);
    let vib21 = vib(dir, "0.21.2.8b7dc30-0.0.1");
    let out = dir.join("out");
    let args = |base: &Path, plugin: &Path, vib: &Path| -> Vec<String> {
        [
            "build-ova",
            "--base",
            s(base),
            "--plugin",
            s(plugin),
            "--vib",
            s(vib),
            "-o",
            s(&out),
        ]
        .map(String::from)
        .to_vec()
    };
    let refuse = |a: Vec<String>, names: &str, says: &str| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        refused(&a, names, says);
        let left: Vec<_> = std::fs::read_dir(&out)
            .map(|r| r.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "left behind: {left:?}");
        assert!(
            !out.exists(),
            "the output folder this run made is removed again"
        );
    };

    let text = dir.join("notes.raw");
    std::fs::write(&text, "not a disk\n".repeat(1000)).unwrap();
    refuse(
        args(&text, &plugin, &vib21),
        "notes.raw",
        "not a Photon OS disk image",
    );

    // --out inside an input, or an input inside --out: refused up front.
    let inside = plugin.join("out");
    let mut a = args(&text, &plugin, &vib21);
    a[8] = s(&inside).into();
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    refused(
        &a,
        "is inside --plugin",
        "pick an output folder apart from the inputs",
    );
    assert!(!inside.exists());
    let holder = dir.join("holder");
    std::fs::create_dir(&holder).unwrap();
    let vib_inside = holder.join("v.vib");
    std::fs::copy(&vib21, &vib_inside).unwrap();
    let mut a = args(&text, &plugin, &vib_inside);
    a[8] = s(&holder).into();
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    refused(&a, "--vib", "is inside --out");

    let (no_ext4, off) = base_raw(dir, "32MiB");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&no_ext4)
        .unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[0u8; 2048], off).unwrap();
    refuse(
        args(&no_ext4, &plugin, &vib21),
        "base-32MiB.raw",
        "no Linux partition with an ext4 filesystem",
    );

    let (small, _) = base_raw(dir, "16MiB");
    let fat = plugin_dir(&dir.join("fat"), "0.21.2", 12 << 20);
    refuse(args(&small, &fat, &vib21), "base-16MiB.raw", "too full");

    let (base, _) = base_raw(dir, "24MiB");
    let old_plugin = plugin_dir(dir, "0.20", 4096);
    refuse(args(&base, &old_plugin, &vib21), "plugin-0.20", "0.20");

    let vmdk = dir.join("fake.vmdk");
    std::fs::write(&vmdk, "KDMV").unwrap();
    refuse(args(&vmdk, &plugin, &vib21), "fake.vmdk", "");

    // A fleet.toml with a typo names the key and its line.
    let fleet = fleet_toml(dir, "cpu_count = 2");
    refuse(
        [
            "build-ova",
            "--fleet",
            &fleet,
            "--base",
            s(&base),
            "-o",
            s(&out),
        ]
        .map(String::from)
        .to_vec(),
        "fleet.toml",
        "line 6",
    );
    // Outputs are never replaced without --force.
    ok(photon_fleet(&[
        "-q",
        "build-ova",
        "--base",
        s(&base),
        "--plugin",
        s(&plugin),
        "--vib",
        s(&vib21),
        "-o",
        s(&out),
    ]));
    let again: Vec<String> = args(&base, &plugin, &vib21);
    let a: Vec<&str> = again.iter().map(String::as_str).collect();
    refused(&a, "photon-docker-5.0.ova", "--force");
}

/// A killed run's leftovers are removed by the next build into the same folder (only
/// ours: another process's files stay); Ctrl-C or SIGTERM removes what the run made and
/// says so in one line.
#[test]
fn leftovers_of_killed_runs_go_and_a_signal_leaves_nothing() {
    let k = inputs();
    let dir = k.dir.path();
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    // pid_max is at most 2^22: no process has this id.
    let gone = out.join(".build-ova-4194305-Xy12ab");
    std::fs::create_dir(&gone).unwrap();
    std::fs::write(gone.join("disk.raw"), b"left by a killed run").unwrap();
    std::fs::write(
        out.join(".photon-docker-5.0.ova.4194305.Ab12Cd.partial"),
        b"x",
    )
    .unwrap();
    // Not ours, or not dead: kept.
    let mine = format!(
        ".photon-docker-5.0.ova.{}.Ab12Cd.partial",
        std::process::id()
    );
    for keep in [
        ".notes.txt.4194305.abc.partial",
        "build-ova-4194305-x",
        mine.as_str(),
    ] {
        std::fs::write(out.join(keep), b"keep").unwrap();
    }
    let fleet = fleet_toml(dir, "");
    build_ova(&["-q"], Path::new(&fleet), &k.base, &k.plugin, &k.vib, &out);
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    let mut want = vec![
        ".notes.txt.4194305.abc.partial".to_string(),
        mine,
        "build-ova-4194305-x".into(),
        "fleet.lock".into(),
        "docker-host-5.0.ova".into(),
        "esx-vmdkops-service-0.21.2.8b7dc30-0.0.1.vib".into(),
    ];
    want.sort();
    assert_eq!(left, want);

    // A signal mid-build: the work folder goes, the output folder it made goes, one line.
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let out = dir.join(format!("out-{signal}"));
        let fleet = fleet_toml(dir, "disk_size = \"6GiB\"");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
            .args([
                "-q",
                "build-ova",
                "--fleet",
                &fleet,
                "--base",
                s(&k.base),
                "--plugin",
            ])
            .args([s(&k.plugin), "--vib", s(&k.vib), "-o", s(&out)])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while !std::fs::read_dir(&out).is_ok_and(|mut r| r.next().is_some()) {
            assert!(start.elapsed().as_secs() < 60, "the build never started");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        send_signal(child.id(), signal);
        let done = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(code), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("undone"), "{err}");
        assert!(
            !out.exists(),
            "left: {:?}",
            std::fs::read_dir(&out).map(|r| r.count())
        );
    }
}

/// Bases the metadata copy does not fit are built all the same, copied whole, and the
/// report says why; a bare ext4 (no partition table) takes the metadata copy too.
#[test]
fn bare_and_1k_block_bases_build_too() {
    let k = inputs();
    let (dir, demo, off, plugin, vib) = (k.dir.path(), &k.base, k.root, &k.plugin, &k.vib);
    let tree = dir.join("tree");
    std::fs::create_dir(&tree).unwrap();
    let dump = format!("rdump / {}", s(&tree));
    let spec = format!("{}?offset={off}", s(demo));
    assert!(peer("debugfs", &["-R", &dump, &spec]).status.success());
    let fleet = fleet_toml(dir, "");

    let mke2fs = |block: &str, extra: &[&str], image: &Path, size: &str| {
        let mut args = vec!["-F", "-q", "-t", "ext4", "-b", block, "-d", s(&tree)];
        args.extend(extra);
        args.extend([s(image), size]);
        assert!(peer("mke2fs", &args).status.success());
    };
    // The whole disk one ext4 in 4 KiB blocks.
    let bare = dir.join("bare.raw");
    mke2fs("4096", &[], &bare, "48M");
    // The demo base with its root made again in 1 KiB blocks: the work image's
    // filesystem allocates 4 KiB at a time, so a 1 KiB block cannot be told apart.
    let one_k = dir.join("1k.raw");
    std::fs::copy(demo, &one_k).unwrap();
    mke2fs("1024", &["-E", &format!("offset={off}")], &one_k, "49152k");

    for (base, at, how, reason) in [
        (&bare, 0, "metadata", None),
        (&one_k, off, "whole", Some("coarse")),
    ] {
        let out = dir.join(format!("out-{}", s(base).rsplit('/').next().unwrap()));
        let report = build_ova(&["--json"], Path::new(&fleet), base, plugin, vib, &out);
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        assert_eq!(report["base_copy"]["how"], how, "{report}");
        if let Some(r) = reason {
            assert_eq!(report["base_copy"]["why"]["reason"], r, "{report}");
        }
        let raw = ova_disk_raw(&out.join("docker-host-5.0.ova"), &out);
        fsck_clean(&raw, at);
        assert_eq!(
            dumped(&raw, at, "/etc/os-release"),
            std::fs::read(tree.join("etc/os-release")).unwrap()
        );
        assert!(debugfs(&raw, at, "cat /etc/photon-fleet/versions").contains("VDVS_PLUGIN=0.21.2"));
    }
}

/// The base is read until the OVA is written (only its metadata was copied): a base
/// touched while build-ova runs fails the build with one line, and no OVA is left.
#[test]
fn a_base_changed_during_the_build_fails_it() {
    let k = inputs();
    let dir = k.dir.path();
    let (out, fleet) = (dir.join("out"), fleet_toml(dir, ""));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
        .args(["build-ova", "--fleet", &fleet, "--base", s(&k.base)])
        .args(["--plugin", s(&k.plugin), "--vib", s(&k.vib), "-o", s(&out)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&k.base)
        .unwrap();
    let status = loop {
        f.set_modified(std::time::SystemTime::now()).unwrap();
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("changed while build-ova read it"), "{err}");
    assert!(!out.join("docker-host-5.0.ova").exists() && !out.join("fleet.lock").exists());
}

/// `--out` on a full filesystem (a 256 KiB tmpfs in a mount namespace of its own): the
/// error names the output folder, not the base, and what did not fit. With only the
/// base's metadata copied, the bake is what runs out of room; copied whole, the base.
#[test]
fn a_full_output_folder_is_named_as_the_problem() {
    let k = inputs();
    let dir = k.dir.path();
    let small = dir.join("small");
    std::fs::create_dir(&small).unwrap();
    let out = small.join("out");
    for (extra, what) in [
        ("", "the baked files"),
        ("--whole-base", "the copy of the base disk"),
    ] {
        let script = format!(
            "mount -t tmpfs -o size=256k tmpfs {} && exec {} build-ova --base {} --plugin {} --vib {} -o {} {extra}",
            s(&small),
            env!("CARGO_BIN_EXE_photon-fleet"),
            s(&k.base),
            s(&k.plugin),
            s(&k.vib),
            s(&out)
        );
        let done = std::process::Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .output()
            .expect("unshare (util-linux; the tests run as root)");
        let err = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        let says = format!("{}: no space left for {what}", s(&out));
        assert!(err.contains(&says), "{err}");
    }
}

/// Each `--installer` kickstart holds against the key table read from those releases of
/// photon-os-installer (kickstart::installers), and the releases it is not for would
/// refuse it for the reason they give.
#[test]
fn kickstarts_hold_for_the_installers_they_name() {
    use kickstart::installers::{check, release};
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let plugin = plugin_dir(dir, "0.21.2", 4096);
    let vib = vib(dir, "0.21.2.8b7dc30-0.0.1");
    let fleet = dir.join("fleet.toml");
    std::fs::write(
        &fleet,
        "[guest]\nssh_keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMykPLIcd5MQlLxRINbOR2nQ0jsL2GMmDNxT87+wpyBL admin@example.com\"]\n",
    )
    .unwrap();
    for (installer, holds, refused_by) in [
        (
            "current",
            &["v2.9", "main (f80e7e6)"][..],
            &[("v2.8", "services"), ("v2.4", "services")][..],
        ),
        (
            "v2-8",
            &["v2.8", "v2.9", "main (f80e7e6)"],
            &[("v2.7", "public_key must be a string")],
        ),
        (
            "legacy",
            &["v2.4", "v2.7"],
            &[("v2.8", "public_key must be an object")],
        ),
    ] {
        let ks = dir.join(format!("ks-{installer}.json"));
        ok(photon_fleet(&[
            "kickstart",
            "--fleet",
            s(&fleet),
            "--plugin",
            s(&plugin),
            "--vib",
            s(&vib),
            "--installer",
            installer,
            "-o",
            s(&ks),
        ]));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&ks).unwrap()).unwrap();
        for tag in holds {
            check(&json, release(tag).unwrap()).unwrap_or_else(|e| panic!("{installer}: {e}"));
        }
        for (tag, why) in refused_by {
            let e = check(&json, release(tag).unwrap()).unwrap_err();
            assert!(e.contains(why), "{installer} on {tag}: {e}");
        }
        // Without a services key, the postinstall enables them.
        let post = json["postinstall"].as_array().unwrap();
        let enables = post
            .iter()
            .any(|l| l == "systemctl enable docker sshd vmtoolsd");
        assert_eq!(enables, installer != "current", "{installer}: {post:?}");
    }
}

/// `kickstart --iso`: a Photon-like installer ISO (made by xorriso, with a BIOS boot image,
/// an isolinux and a GRUB entry installing from the media) comes out with the kickstart and
/// the plugin bundle tar on the media and every installing entry reading the kickstart;
/// xorriso and GNU tar read the result back.
#[test]
fn the_installer_iso_carries_the_kickstart_and_the_bundle() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let plugin = plugin_dir(dir, "0.21.2", 4096);
    let vib = vib(dir, "0.21.2.8b7dc30-0.0.1");
    let src = dir.join("media");
    for (p, text) in [
        ("isolinux/isolinux.cfg", "label install\n  kernel vmlinuz\n  append initrd=initrd.img root=/dev/ram0 loglevel=3 photon.media=cdrom\nlabel rescue\n  append initrd=initrd.img rescue\n"),
        ("boot/grub2/grub.cfg", "menuentry \"Install\" {\n  linux /isolinux/vmlinuz root=/dev/ram0 photon.media=cdrom\n}\n"),
        ("RPMS/x86_64/docker-24.0.rpm", "rpm"),
    ] {
        std::fs::create_dir_all(src.join(p).parent().unwrap()).unwrap();
        std::fs::write(src.join(p), text).unwrap();
    }
    std::fs::write(src.join("isolinux/isolinux.bin"), [0u8; 2048]).unwrap();
    let iso = dir.join("photon-5.0.iso");
    let made = peer(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-quiet",
            "-o",
            s(&iso),
            "-V",
            "PHOTON_5",
            "-R",
            "-J",
            "-b",
            "isolinux/isolinux.bin",
            "-c",
            "isolinux/boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            s(&src),
        ],
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let out = dir.join("photon-fleet.iso");
    let args = |iso: &Path, out: &Path| {
        [
            "kickstart",
            "--plugin",
            s(&plugin),
            "--vib",
            s(&vib),
            "--iso",
            s(iso),
            "-o",
            s(out),
        ]
        .map(String::from)
        .to_vec()
    };
    let a = args(&iso, &out);
    ok(photon_fleet(
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    ));

    let x = dir.join("x");
    let read = peer(
        "xorriso",
        &["-osirrox", "on", "-indev", s(&out), "-extract", "/", s(&x)],
    );
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let isolinux = std::fs::read_to_string(x.join("isolinux/isolinux.cfg")).unwrap();
    assert_eq!(
        isolinux.matches("ks=cdrom:/photon-fleet/ks.json").count(),
        1,
        "{isolinux}"
    );
    assert!(isolinux.contains("photon.media=cdrom ks=cdrom:/photon-fleet/ks.json\n"));
    let grub = std::fs::read_to_string(x.join("boot/grub2/grub.cfg")).unwrap();
    assert!(
        grub.contains("photon.media=cdrom ks=cdrom:/photon-fleet/ks.json\n"),
        "{grub}"
    );
    assert_eq!(
        std::fs::read_to_string(x.join("RPMS/x86_64/docker-24.0.rpm")).unwrap(),
        "rpm"
    );
    let ks = kickstart::Kickstart::parse(
        &std::fs::read_to_string(x.join("photon-fleet/ks.json")).unwrap(),
    )
    .unwrap();
    // The installer mounts the media at /mnt/media: the bundle is where the kickstart says.
    assert_eq!(
        ks.additional_files[0].keys().next().unwrap(),
        "/mnt/media/photon-fleet/vdvs-plugin.tar"
    );
    let listed =
        String::from_utf8(peer("tar", &["tf", s(&x.join("photon-fleet/vdvs-plugin.tar"))]).stdout)
            .unwrap();
    for want in ["config.json", "rootfs/", "rootfs/mnt/vmdk/"] {
        assert!(
            listed.lines().any(|l| l == want),
            "{want} missing:\n{listed}"
        );
    }
    let boot = peer(
        "xorriso",
        &["-indev", s(&out), "-report_el_torito", "plain"],
    );
    assert!(
        String::from_utf8_lossy(&boot.stdout).contains("/isolinux/isolinux.bin"),
        "the boot image is kept: {}",
        String::from_utf8_lossy(&boot.stdout)
    );

    // Not an installer ISO (no entry installs from the media): refused, nothing written.
    std::fs::write(
        src.join("isolinux/isolinux.cfg"),
        "label local\n  localboot 0\n",
    )
    .unwrap();
    std::fs::remove_file(src.join("boot/grub2/grub.cfg")).unwrap();
    let plain = dir.join("plain.iso");
    assert!(peer(
        "xorriso",
        &["-as", "mkisofs", "-quiet", "-o", s(&plain), s(&src)]
    )
    .status
    .success());
    let none = dir.join("none.iso");
    let a = args(&plain, &none);
    refused(
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        "plain.iso",
        "not a Photon OS installer ISO",
    );
    assert!(!none.exists());
    // -o must name the ISO.
    let a = args(&iso, &dir.join("ks.json"));
    refused(
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        "ks.json",
        "-o names the ISO",
    );
}
