//! End-to-end: `photon-fleet ssh-install / ssh-uninstall / esxi status` against a lab of
//! real OpenSSH servers (tests/lab/esxi-lab), each with an ESXi simulator behind it
//! (tests/lab/esxi-sim). Each test asserts the hosts' final state in the simulator, the
//! table and the JSON report.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{ok, photon_fleet, succeeded};

const TARGET: &str = "0.21.2.8b7dc30-0.0.1";

struct Lab {
    dir: tempfile::TempDir,
    info: Value,
}

fn lab_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/lab/esxi-lab")
}

impl Lab {
    fn up(hosts: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["up", dir.path().to_str().unwrap()];
        args.extend_from_slice(hosts);
        let out = Command::new(lab_script())
            .args(&args)
            .output()
            .expect("tests/lab/esxi-lab (needs python3 and openssh-server: scripts/install-deps)");
        assert!(
            out.status.success(),
            "lab: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let info = serde_json::from_slice(&out.stdout).unwrap();
        Lab { dir, info }
    }

    fn path(&self, p: &str) -> String {
        self.dir.path().join(p).to_str().unwrap().to_string()
    }

    fn host(&self, name: &str) -> &Value {
        self.info["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .unwrap()
    }

    fn target(&self, name: &str) -> String {
        self.host(name)["target"].as_str().unwrap().to_string()
    }

    /// The shown host name, as in reports: 127.0.0.1:port.
    fn shown(&self, name: &str) -> String {
        format!("127.0.0.1:{}", self.host(name)["port"])
    }

    /// The simulator's state of host `name`.
    fn state(&self, name: &str) -> Value {
        let p = self.dir.path().join(name).join("host.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    fn set(&self, name: &str, key: &str, v: Value) {
        let mut s = self.state(name);
        s[key] = v;
        let p = self.dir.path().join(name).join("host.json");
        std::fs::write(p, serde_json::to_string(&s).unwrap()).unwrap();
    }

    fn installed(&self, name: &str) -> Option<String> {
        self.state(name)["vibs"]["esx-vmdkops-service"]["version"]
            .as_str()
            .map(String::from)
    }

    fn commands(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name).join("commands.log")).unwrap()
    }

    fn clear_commands(&self, name: &str) {
        std::fs::write(self.dir.path().join(name).join("commands.log"), "").unwrap();
    }

    /// `photon-fleet --json ssh-install --vib VIB --no-sig-check EXTRA` on `names`.
    fn install(&self, vib: &str, names: &[&str], extra: &[&str]) -> Output {
        let mut a = vec!["--json", "ssh-install", "--vib", vib, "--no-sig-check"];
        a.extend_from_slice(extra);
        self.run(&a, names, &[])
    }

    /// `photon-fleet ARGS --host ... -i KEY --known-hosts KH` for `names`.
    fn run(&self, args: &[&str], names: &[&str], extra: &[&str]) -> Output {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        for n in names {
            a.push("--host".into());
            a.push(self.target(n));
        }
        a.extend(["-i".into(), self.path("id_lab")]);
        if !args.contains(&"--known-hosts") {
            a.extend(["--known-hosts".into(), self.path("known_hosts")]);
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        photon_fleet(&a)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(lab_script())
            .args(["down", self.dir.path().to_str().unwrap()])
            .status();
    }
}

/// A VIB for the tests, composed by photon-fleet (unsigned, community).
fn vib(dir: &Path, version: &str) -> String {
    let stage = dir.join("stage");
    std::fs::create_dir_all(stage.join("etc/init.d")).unwrap();
    std::fs::write(stage.join("etc/init.d/vmdk-opsd"), "#!/bin/sh\n").unwrap();
    let out = dir.join(format!("{version}.vib"));
    ok(photon_fleet(&[
        "vib",
        "compose",
        stage.to_str().unwrap(),
        out.to_str().unwrap(),
        "--version",
        version,
    ]));
    out.to_str().unwrap().to_string()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn report<'a>(j: &'a Value, lab: &Lab, name: &str) -> &'a Value {
    let shown = lab.shown(name);
    j["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == shown.as_str())
        .unwrap_or_else(|| panic!("{name} not in the report: {j}"))
}

const C: &str = "acceptance=CommunitySupported";

#[test]
fn mixed_fleet_install_then_rerun_is_a_no_op_and_finishes_what_is_left() {
    let lab = Lab::up(&[
        &format!("fresh:esxi=7.0,{C}"),
        &format!("old:esxi=6.7,installed=0.20.15f5e1d-0.0.1,{C}"),
        &format!("same:installed={TARGET},{C}"),
        "esx55:esxi=5.5",
        "partner:esxi=8.0",
        &format!("newer:installed=0.22.abcdef0-0.0.1,{C}"),
        &format!("broken:installed=0.21.c420818-0.0.1,fail_start=1,{C}"),
    ]);
    let all = [
        "fresh", "old", "same", "esx55", "partner", "newer", "broken",
    ];
    let v = vib(lab.dir.path(), TARGET);

    let out = lab.install(&v, &all, &[]);
    assert_eq!(out.status.code(), Some(1), "not every host made it");
    let j = json_of(&out);
    assert_eq!(j["ok"], false);
    let result = |n: &str| report(&j, &lab, n)["result"].as_str().unwrap().to_string();
    assert_eq!(result("fresh"), "installed");
    assert_eq!(result("old"), "upgraded");
    assert_eq!(result("same"), "skipped");
    assert_eq!(result("esx55"), "refused");
    assert_eq!(result("partner"), "refused");
    assert_eq!(result("newer"), "refused");
    assert_eq!(result("broken"), "failed");
    let msg = |n: &str| report(&j, &lab, n)["message"].as_str().unwrap().to_string();
    assert!(
        msg("esx55").contains("esx-version >= 6.0.0"),
        "{}",
        msg("esx55")
    );
    assert!(msg("partner").contains("--set-acceptance"));
    assert!(msg("newer").contains("--allow-downgrade"));
    assert!(
        msg("broken").contains("REMOVED 0.21.c420818-0.0.1"),
        "{}",
        msg("broken")
    );
    assert!(msg("broken").contains("rerun"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("4 of 7 hosts"), "{err}");

    // What the simulator holds now.
    assert_eq!(lab.installed("fresh").as_deref(), Some(TARGET));
    assert_eq!(lab.installed("old").as_deref(), Some(TARGET));
    assert_eq!(lab.installed("esx55"), None);
    assert_eq!(lab.installed("partner"), None);
    assert_eq!(
        lab.installed("newer").as_deref(),
        Some("0.22.abcdef0-0.0.1")
    );
    assert_eq!(
        lab.installed("broken"),
        None,
        "removed, install rolled back"
    );
    assert_eq!(lab.state("fresh")["service"], true);
    let log = lab.commands("fresh");
    assert!(
        log.contains("esxcli software vib install --no-sig-check -v /tmp/photon-fleet-"),
        "absolute path: {log}"
    );
    assert!(log.contains("sha256sum /tmp/photon-fleet-"));
    assert!(!log.contains("hostd"), "hostd restarted only when asked");
    for refused in ["esx55", "partner", "newer"] {
        let log = lab.commands(refused);
        assert!(
            !log.contains("scp") && !log.contains("vib install"),
            "{refused}: {log}"
        );
    }
    let remove_at = lab.commands("old").find("vib remove").unwrap();
    assert!(remove_at < lab.commands("old").find("vib install").unwrap());
    for n in all {
        let tmp = lab.dir.path().join(n).join("fs/tmp");
        assert_eq!(
            std::fs::read_dir(tmp).unwrap().count(),
            0,
            "{n}: upload folder left behind"
        );
    }

    // The text table names every host with before -> after.
    let text = lab.run(
        &["ssh-install", "--vib", &v, "--no-sig-check"],
        &["fresh"],
        &[],
    );
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(table.contains(&format!("{TARGET} -> {TARGET}")), "{table}");
    assert!(table.contains("skipped"));

    // Rerun: the hosts that made it are skipped and nothing is changed on them.
    for n in all {
        lab.clear_commands(n);
    }
    lab.set("broken", "fail_start", Value::Bool(false));
    let out = lab.install(&v, &all, &["--set-acceptance"]);
    let j = json_of(&out);
    let result = |n: &str| report(&j, &lab, n)["result"].as_str().unwrap().to_string();
    for n in ["fresh", "old", "same"] {
        assert_eq!(result(n), "skipped", "{n}");
        let log = lab.commands(n);
        assert!(
            !log.contains("install") && !log.contains("remove") && !log.contains("scp"),
            "{n}: {log}"
        );
    }
    assert_eq!(
        result("broken"),
        "installed",
        "the rerun finishes what was left"
    );
    assert_eq!(result("partner"), "installed", "--set-acceptance");
    assert_eq!(lab.state("partner")["acceptance"], "CommunitySupported");
    assert_eq!(lab.installed("broken").as_deref(), Some(TARGET));
    assert_eq!(out.status.code(), Some(1), "esx55 and newer still refuse");

    // --allow-downgrade replaces the newer build; then only ESXi 5.5 is left out.
    let out = lab.install(&v, &["newer"], &["--allow-downgrade", "--restart-hostd"]);
    let j = json_of(&out);
    assert_eq!(report(&j, &lab, "newer")["result"], "downgraded");
    assert_eq!(report(&j, &lab, "newer")["hostd_restarted"], true);
    assert_eq!(lab.state("newer")["hostd_restarts"], 1);
    assert!(out.status.success());
}

#[test]
fn host_keys_are_checked_before_anything_runs() {
    let lab = Lab::up(&[&format!("a:{C}"), &format!("b:{C}")]);
    let v = vib(lab.dir.path(), TARGET);
    let empty = lab.path("empty_known_hosts");
    let args = [
        "ssh-install",
        "--vib",
        &v,
        "--no-sig-check",
        "--known-hosts",
        &empty,
    ];

    // Unknown key: refused, nothing ran on the host, nothing recorded.
    let out = lab.run(&args, &["a"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("unknown host key SHA256:"), "{table}");
    assert!(table.contains("--accept-new-host-keys"));
    assert_eq!(lab.commands("a"), "");
    assert!(!Path::new(&empty).exists());

    // --accept-new-host-keys records it, as OpenSSH writes it, and goes on.
    let out = lab.run(&args, &["a"], &["--accept-new-host-keys"]);
    succeeded(&out);
    let recorded = std::fs::read_to_string(&empty).unwrap();
    assert!(recorded.starts_with(&format!(
        "[127.0.0.1]:{} ssh-ed25519 ",
        lab.host("a")["port"]
    )));
    let fp = lab.host("a")["fingerprint"].as_str().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(fp),
        "the new key is shown"
    );
    let check = Command::new("ssh-keygen")
        .args([
            "-F",
            &format!("[127.0.0.1]:{}", lab.host("a")["port"]),
            "-f",
            &empty,
        ])
        .output()
        .unwrap();
    assert!(check.status.success(), "OpenSSH reads the recorded line");

    // A changed key (b's key recorded under a's name) is refused, flag or not.
    let b_key = std::fs::read_to_string(lab.dir.path().join("b/ssh_host_ed25519_key.pub")).unwrap();
    let b_key: Vec<&str> = b_key.split_whitespace().take(2).collect();
    let forged = lab.path("forged");
    std::fs::write(
        &forged,
        format!(
            "[127.0.0.1]:{} {} {}\n",
            lab.host("a")["port"],
            b_key[0],
            b_key[1]
        ),
    )
    .unwrap();
    lab.clear_commands("a");
    let out = lab.run(
        &[
            "ssh-install",
            "--vib",
            &v,
            "--no-sig-check",
            "--known-hosts",
            &forged,
        ],
        &["a"],
        &["--accept-new-host-keys"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("HOST KEY CHANGED"));
    assert_eq!(lab.commands("a"), "");

    // A fingerprint pinned in fleet.toml is checked instead of known_hosts.
    let fleet = lab.path("fleet.toml");
    let pin = |fp: &str| {
        std::fs::write(
            &fleet,
            format!(
                "[esxi]\nhosts = [\"{}\"]\n[esxi.host_keys]\n\"127.0.0.1:{}\" = \"{fp}\"\n",
                lab.target("b"),
                lab.host("b")["port"]
            ),
        )
        .unwrap();
    };
    pin(lab.host("b")["fingerprint"].as_str().unwrap());
    let status = |extra: &[&str]| {
        let mut a = vec!["--json", "esxi", "status", "--fleet", &fleet, "-i"];
        let key = lab.path("id_lab");
        a.push(&key);
        a.extend(["--known-hosts", &empty]);
        a.extend_from_slice(extra);
        photon_fleet(&a)
    };
    let out = status(&[]);
    succeeded(&out);
    pin(lab.host("a")["fingerprint"].as_str().unwrap());
    let out = status(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(json_of(&out)["hosts"][0]["message"]
        .as_str()
        .unwrap()
        .contains("does not match the pinned"));
}

#[test]
fn faults_on_one_host_never_stop_the_others() {
    let lab = Lab::up(&[
        &format!("good:{C}"),
        &format!("drops:drop_upload=1,{C}"),
        &format!("slow:slow=4,{C}"),
    ]);
    let v = vib(lab.dir.path(), TARGET);
    let out = lab.install(&v, &["good", "drops", "slow"], &["--timeout", "2"]);
    assert_eq!(out.status.code(), Some(1));
    let j = json_of(&out);
    assert_eq!(report(&j, &lab, "good")["result"], "installed");
    assert_eq!(report(&j, &lab, "drops")["result"], "failed");
    assert!(report(&j, &lab, "drops")["message"]
        .as_str()
        .unwrap()
        .contains("nothing was changed"));
    assert_eq!(report(&j, &lab, "slow")["result"], "failed");
    assert_eq!(lab.installed("good").as_deref(), Some(TARGET));
    assert_eq!(lab.installed("drops"), None);
    assert_eq!(lab.installed("slow"), None);

    // Once the network behaves, the same command finishes the job.
    lab.set("drops", "drop_upload", Value::Bool(false));
    let out = lab.install(&v, &["good", "drops"], &[]);
    succeeded(&out);
    assert_eq!(lab.installed("drops").as_deref(), Some(TARGET));
}

#[test]
fn dry_run_status_uninstall_and_the_lock() {
    let lab = Lab::up(&[
        &format!("a:installed=0.20.15f5e1d-0.0.1,{C}"),
        &format!("b:{C}"),
    ]);
    let v = vib(lab.dir.path(), TARGET);

    let before = (lab.state("a"), lab.state("b"));
    let out = lab.install(&v, &["a", "b"], &["--dry-run"]);
    assert!(out.status.success());
    let j = json_of(&out);
    assert_eq!(report(&j, &lab, "a")["action"], "upgrade");
    assert_eq!(report(&j, &lab, "b")["action"], "install");
    assert_eq!(report(&j, &lab, "a")["result"], "planned");
    assert_eq!(
        (lab.state("a"), lab.state("b")),
        before,
        "a dry run changes nothing"
    );
    assert!(!lab.commands("a").contains("scp"));

    // Unsigned VIB without --no-sig-check: refused before any connection.
    lab.clear_commands("a");
    let out = lab.run(&["ssh-install", "--vib", &v], &["a"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-sig-check"));
    assert_eq!(lab.commands("a"), "");

    // Through fleet.lock: the VIB it names, re-hashed first.
    let plugin = lab.dir.path().join("plugin");
    let exe = plugin.join("rootfs/usr/bin/vsphere-storage-for-docker");
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    std::fs::write(&exe, b"\x7fELF").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = serde_json::to_vec(&plugin::managed::vdvs_config("0.21.2")).unwrap();
    std::fs::write(plugin.join("config.json"), cfg).unwrap();
    let lock = lab.path("fleet.lock");
    ok(photon_fleet(&[
        "lock",
        "create",
        "--plugin",
        plugin.to_str().unwrap(),
        "--vib",
        &v,
        "-o",
        &lock,
    ]));
    let out = lab.run(
        &["--json", "ssh-install", "--lock", &lock, "--no-sig-check"],
        &["a", "b"],
        &[],
    );
    succeeded(&out);
    assert_eq!(lab.installed("a").as_deref(), Some(TARGET));

    // Hosts from a file too; repeats (file or flags) count once.
    let list = lab.path("hosts.txt");
    std::fs::write(
        &list,
        format!(
            "# lab\n{}\n\n{}  # again\n",
            lab.target("b"),
            lab.target("b")
        ),
    )
    .unwrap();
    let out = lab.run(
        &["--json", "esxi", "status", "--hosts-file", &list],
        &["a", "b"],
        &[],
    );
    let j = json_of(&out);
    assert_eq!(j["hosts"].as_array().unwrap().len(), 2);
    assert_eq!(report(&j, &lab, "b")["before"], TARGET);
    assert_eq!(report(&j, &lab, "b")["service"], "running");

    let out = lab.run(&["--json", "ssh-uninstall"], &["a"], &[]);
    assert!(out.status.success());
    assert_eq!(report(&json_of(&out), &lab, "a")["result"], "removed");
    assert_eq!(lab.installed("a"), None);
    let out = lab.run(&["--json", "ssh-uninstall"], &["a"], &[]);
    assert_eq!(report(&json_of(&out), &lab, "a")["result"], "not-installed");

    // A lock whose VIB changed: refused before any connection.
    let mut bytes = std::fs::read(&v).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 1;
    std::fs::write(&v, bytes).unwrap();
    lab.clear_commands("b");
    let out = lab.run(
        &["ssh-install", "--lock", &lock, "--no-sig-check"],
        &["b"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match the lock"));
    assert_eq!(lab.commands("b"), "");
}

#[test]
fn password_login_never_shows_the_password() {
    if unsafe { libc_geteuid() } != 0 {
        eprintln!("skipped: password hosts need root (the lab creates a login user)");
        return;
    }
    let lab = Lab::up(&[&format!("pw:password=1,{C}")]);
    let v = vib(lab.dir.path(), TARGET);
    let password = lab.info["password"].as_str().unwrap().to_string();
    let run = |pw: &str, json: bool| {
        let mut a = vec![];
        if json {
            a.push("--json");
        }
        let t = lab.target("pw");
        let kh = lab.path("known_hosts");
        a.extend([
            "ssh-install",
            "--vib",
            &v,
            "--no-sig-check",
            "--host",
            &t,
            "--known-hosts",
            &kh,
        ]);
        Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
            .args(&a)
            .env("PHOTON_FLEET_SSH_PASSWORD", pw)
            .env_remove("SSH_AUTH_SOCK")
            .env("HOME", lab.dir.path())
            .output()
            .unwrap()
    };
    let bad = run("not-the-password", false);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("authentication as 'pflab' failed"));
    for json in [false, true] {
        let out = run(&password, json);
        succeeded(&out);
        for stream in [&out.stdout, &out.stderr] {
            assert!(!String::from_utf8_lossy(stream).contains(&password));
        }
    }
    assert_eq!(lab.installed("pw").as_deref(), Some(TARGET));
    assert!(!lab.commands("pw").contains(&password));
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
