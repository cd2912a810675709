//! The image boots. build-ova bakes the demo's working volume plugin into a bootable
//! Photon-like base (tests/lab/boot-base: Debian's packages, GRUB on the ESP, built once and
//! cached), then `photon-fleet try` boots it under qemu with an OVF environment CD-ROM.
//! The base's lab-report unit prints what the guest has on the serial console and powers
//! off; these tests read that console. Minutes each under TCG, so they are #[ignore]d for
//! `cargo test` and run by scripts/test (CI); `scripts/test --quick` leaves them out.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const ROOT_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMykPLIcd5MQlLxRINbOR2nQ0jsL2GMmDNxT87+wpyBL ops&dev@example.com";
const OPS_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBootTestOpsKey ops@example.com";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The cached bootable base (built on first use; a few minutes).
fn base() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/boot-base"))
            .output()
            .expect("tests/lab/boot-base");
        assert!(
            out.status.success(),
            "boot-base failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// A work folder, the demo plugin bundle (a real Docker volume plugin), a VIB and the
/// fleet file every boot here uses.
struct Inputs {
    dir: tempfile::TempDir,
    plugin: PathBuf,
    vib: PathBuf,
    fleet: PathBuf,
}

fn inputs() -> Inputs {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let plugin = dir.path().join("plugin");
    let built = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo-plugin"))
        .arg(&plugin)
        .status()
        .expect("scripts/demo-plugin");
    assert!(built.success());
    let vib = compose_vib(dir.path(), "0.21.2.8b7dc30-0.0.1", "vdvs.vib", 0);
    let fleet = dir.path().join("fleet.toml");
    // The values deploy would set per VM come from [[vm]] and [network]; the guest's own
    // settings are baked. "local" is not docker's default log driver: seeing it proves
    // daemon.json was applied.
    std::fs::write(
        &fleet,
        format!(
            r#"[image]
name = "boot"
photon_version = "5.0"
[docker]
"log-driver" = "local"
[vdvs]
log_level = "debug"
socket_gid = "docker"
[guest]
timezone = "Europe/Berlin"
ntp = ["ntp1.example.com", "ntp2.example.com"]
ssh_keys = ["{ROOT_KEY}"]
[[guest.users]]
name = "ops"
groups = ["docker"]
ssh_keys = ["{OPS_KEY}"]
[network]
gateway = "10.0.2.2"
dns = ["10.0.2.3"]
[[vm]]
name = "dh-07"
hostname = "dh-07"
address = "10.0.2.15/24"
"#
        ),
    )
    .unwrap();
    Inputs {
        dir,
        plugin,
        vib,
        fleet,
    }
}

impl Inputs {
    /// build-ova; the image booted is the one baked on a copy of the base's metadata
    /// with every file's contents read from the base (as build-ova makes it by default).
    fn build(&self, base: &Path, plugin: &Path, out: &str) -> PathBuf {
        let out = self.dir.path().join(out);
        let report = ok(photon_fleet(&[
            "--json",
            "build-ova",
            "--fleet",
            s(&self.fleet),
            "--base",
            s(base),
            "--plugin",
            s(plugin),
            "--vib",
            s(&self.vib),
            "--out",
            s(&out),
        ]));
        let report: Value = serde_json::from_str(&report).unwrap();
        assert_eq!(report["base_copy"]["how"], "metadata", "{report}");
        out.join("boot-5.0.ova")
    }

    /// `try` to the guest's power-off; its JSON report and the lab-report lines.
    fn boot(&self, ova: &Path, extra: &[&str]) -> (Option<i32>, Value, Report) {
        let console = self.dir.path().join("console.log");
        let mut args = vec![
            "--json",
            "try",
            s(ova),
            "--fleet",
            s(&self.fleet),
            "--until-poweroff",
            "--console-log",
            s(&console),
        ];
        args.extend_from_slice(extra);
        let out = photon_fleet(&args);
        let json = json_of(&out);
        let text = String::from_utf8_lossy(&std::fs::read(&console).unwrap()).into_owned();
        (out.status.code(), json, Report::read(&text))
    }
}

/// `lab-report: KEY=VALUE` lines from the console, in order.
struct Report(Vec<(String, String)>);

impl Report {
    fn read(console: &str) -> Report {
        let lines: Vec<(String, String)> = console
            .lines()
            .filter_map(|l| l.split_once("lab-report: ").map(|(_, r)| r.trim_end()))
            .filter_map(|r| r.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(
            lines.iter().any(|(k, _)| k == "end"),
            "the guest's report did not finish:\n{console}"
        );
        Report(lines)
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, key: &str) -> &str {
        match self.all(key)[..] {
            [v] => v,
            ref other => panic!("{key}: {other:?} in {:#?}", self.0),
        }
    }
}

#[test]
#[ignore = "boots qemu for minutes: scripts/test runs it"]
fn the_baked_image_boots_into_a_working_docker_host_and_a_second_boot_skips_first_boot() {
    let i = inputs();
    let ova = i.build(base(), &i.plugin, "out");

    let (code, json, r) = i.boot(&ova, &["--keep"]);
    assert_eq!(code, Some(0), "{json:#}");
    assert_eq!(json["verdict"], "ready", "{json:#}");
    assert_eq!(json["result"]["result"], "ok");
    let said: Vec<&str> = json["firstboot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        said.contains(&"OVF environment from the ISO transport (/dev/sr0)"),
        "{said:#?}"
    );
    assert!(said.contains(&"enabled plugin vsphere:latest"), "{said:#?}");

    // First boot, as systemd and docker see it inside the guest.
    assert_eq!(r.one("firstboot.result"), "success");
    assert!(r.one("firstboot.stamp").starts_with("done by photon-fleet"));
    assert_eq!(r.one("docker.enabled"), "enabled");
    assert_eq!(r.one("docker.active"), "active");
    assert_eq!(r.one("docker.logdriver"), "local", "daemon.json applied");
    assert_eq!(r.one("plugin"), "vsphere:latest enabled=true");
    let env = r.all("plugin.env");
    assert!(env.contains(&"VDVS_LOG_LEVEL=debug"), "{env:?}");
    assert!(env.contains(&"VDVS_SOCKET_GID=docker"), "{env:?}");
    assert_eq!(r.one("volume"), "vsphere:latest labvol");
    // This VM's values, from the OVF environment on the ISO transport.
    assert_eq!(r.one("hostname"), "dh-07");
    assert!(
        r.all("address").iter().any(|a| a.contains("eth0")
            && a.contains("inet 10.0.2.15/24")
            && !a.contains("dynamic")),
        "static, not DHCP: {:?}",
        r.all("address")
    );
    assert!(r
        .one("route")
        .starts_with("default via 10.0.2.2 dev eth0 proto static"));
    assert!(
        r.all("dns").contains(&"Link 2 (eth0): 10.0.2.3"),
        "{:?}",
        r.all("dns")
    );
    // The guest's own settings, baked.
    assert_eq!(
        r.all("key.root"),
        [ROOT_KEY],
        "the key whose comment has '&'"
    );
    assert_eq!(r.one("user"), "ops groups=ops,docker");
    assert_eq!(r.all("key.ops"), [OPS_KEY]);
    assert_eq!(r.one("timezone"), "/usr/share/zoneinfo/Europe/Berlin");
    assert_eq!(r.one("ntp"), "NTP=ntp1.example.com ntp2.example.com");
    assert!(
        r.all("failed").is_empty(),
        "failed units: {:?}",
        r.all("failed")
    );

    // The second boot of the kept disk: first boot skips, the host is still working.
    let (code, json, r) = i.boot(&ova, &["--again"]);
    assert_eq!(code, Some(0), "{json:#}");
    assert_eq!(json["result"]["result"], "already-done", "{json:#}");
    let journal = r.all("firstboot.journal");
    assert!(
        journal.iter().any(|l| l.contains("already done")),
        "{journal:#?}"
    );
    assert!(
        !journal
            .iter()
            .any(|l| l.contains("created plugin") || l.contains("added user")),
        "{journal:#?}"
    );
    assert_eq!(r.one("plugin"), "vsphere:latest enabled=true");
    assert_eq!(r.one("hostname"), "dh-07");
    assert_eq!(r.all("key.root"), [ROOT_KEY]);
    assert!(
        r.all("failed").is_empty(),
        "failed units: {:?}",
        r.all("failed")
    );
}

#[test]
#[ignore = "boots qemu for minutes: scripts/test runs it"]
fn a_broken_plugin_fails_first_boot_which_retries_at_the_next_boot_without_duplicates() {
    let i = inputs();
    // The plugin's program is a shell script, and the plugin's rootfs has no shell: docker
    // creates the plugin but cannot enable it.
    let broken = i.dir.path().join("broken");
    std::fs::create_dir_all(broken.join("rootfs/usr/bin")).unwrap();
    std::fs::copy(i.plugin.join("config.json"), broken.join("config.json")).unwrap();
    let program = broken.join("rootfs/usr/bin/vsphere-storage-for-docker");
    std::fs::write(&program, "#!/bin/sh\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ova = i.build(base(), &broken, "out-broken");

    let (code, json, r) = i.boot(&ova, &["--keep"]);
    assert_eq!(code, Some(1), "{json:#}");
    assert_eq!(json["verdict"], "not-ready", "{json:#}");
    assert_eq!(json["result"]["result"], "failed");
    assert_eq!(json["result"]["plugin"], "disabled");
    assert_ne!(r.one("firstboot.result"), "success", "a failed unit");
    assert_eq!(r.one("firstboot.stamp"), "none");
    assert!(r
        .all("failed")
        .iter()
        .any(|u| u.contains("photon-fleet-firstboot")));

    // The next boot tries again: same failure, nothing doubled.
    let (code, json, r) = i.boot(&ova, &["--again"]);
    assert_eq!(code, Some(1), "{json:#}");
    assert_eq!(json["result"]["result"], "failed");
    let journal = r.all("firstboot.journal");
    assert!(
        journal.iter().any(|l| l.contains("user ops exists")),
        "{journal:#?}"
    );
    assert_eq!(r.one("firstboot.stamp"), "none");
    assert_eq!(r.all("key.root"), [ROOT_KEY], "not added twice");
    assert_eq!(r.all("key.ops"), [OPS_KEY], "not added twice");
    assert_eq!(r.one("users"), "ops", "one user, not two");
}

/// A disk that cannot boot (the demo base has no kernel and no boot loader) is reported as
/// such at once: the verdict names what the firmware said, not the timeout. Before that,
/// Ctrl-C and SIGTERM while qemu runs: qemu is killed and the overlay's folder removed.
#[test]
#[ignore = "boots qemu: scripts/test runs it"]
fn a_disk_without_a_boot_loader_is_reported_before_the_timeout() {
    let i = inputs();
    let raw = i.dir.path().join("demo.raw");
    ok(photon_fleet(&[
        "-q",
        "disk",
        "demo-base",
        s(&raw),
        "--size",
        "2GiB",
    ]));
    let ova = i.build(&raw, &i.plugin, "out-demo");
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        interrupted_while_booting(&ova, signal, code);
    }
    let out = photon_fleet(&["--json", "try", s(&ova), "--timeout", "900"]);
    assert_eq!(out.status.code(), Some(1));
    let json = json_of(&out);
    assert_eq!(json["verdict"], "cannot-boot", "{json:#}");
    assert!(
        json["meaning"].as_str().unwrap().contains("firmware"),
        "{json:#}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not boot"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// `try` on `ova` with its temporary folder in a folder of our own, `signal` once qemu
/// runs: exit `code`, one line, no qemu left, no folder left.
fn interrupted_while_booting(ova: &Path, signal: &str, code: i32) {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
        .args(["try", s(ova)])
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let qemu_runs = || {
        Command::new("pgrep")
            .args([
                "-f",
                &format!("qemu-system-x86_64 .*{}", tmp.path().display()),
            ])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    let start = std::time::Instant::now();
    while !qemu_runs() {
        assert!(start.elapsed().as_secs() < 120, "qemu never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    send_signal(child.id(), signal);
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(code), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("undone"), "{err}");
    assert!(!qemu_runs(), "qemu outlived try");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left: {left:?}");
}

/// What `try` refuses before it starts qemu: exit 2, one line naming what to change.
#[test]
fn try_refuses_bad_input_before_booting() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let missing = p("missing.ova");
    refused(&["try", &missing], &missing, "");
    std::fs::write(p("disk.raw"), vec![0u8; 1 << 20]).unwrap();
    ok(photon_fleet(&[
        "-q",
        "ova",
        "pack",
        &p("disk.raw"),
        &p("vm.ova"),
    ]));
    let ova = p("vm.ova");
    refused(
        &["try", &ova, "--again"],
        "vm.ova.try",
        "no kept boot of this OVA; boot it with try --keep first",
    );
    refused(
        &["try", &ova, "--set", "no.such.key=1"],
        "no.such.key",
        "is not in the OVA's ProductSection",
    );
    refused(
        &["try", &ova, "--set", "hostname"],
        "hostname",
        "expected KEY=VALUE",
    );
    std::fs::write(
        p("fleet.toml"),
        "[[vm]]\nname = \"a\"\n[[vm]]\nname = \"b\"\n",
    )
    .unwrap();
    refused(
        &["try", &ova, "--fleet", &p("fleet.toml"), "--vm", "c"],
        "'c'",
        "(it has: a, b)",
    );
    refused(
        &["try", &ova, "--timeout", "0"],
        "timeout",
        "at least 1 second",
    );
    assert!(
        !d.path().join("vm.ova.try").exists(),
        "nothing kept from a refused run"
    );
    // A kept boot of another OVA (its recorded sha256 differs): --again refuses it.
    std::fs::create_dir(p("vm.ova.try")).unwrap();
    std::fs::write(p("vm.ova.try/ova.sha256"), format!("{}\n", "0".repeat(64))).unwrap();
    refused(
        &["try", &ova, "--again"],
        "vm.ova: changed since the boot kept in",
        "boot it afresh with try --keep (without --again)",
    );
}
