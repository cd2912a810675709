//! End-to-end: `photon-fleet ssh-install / ssh-uninstall / esxi status` against a lab of
//! real OpenSSH servers (tests/lab/esxi-lab), each in its own mount namespace where the
//! shell, scp, mkdir, rm and sha256sum are the real programs and only ESXi's own programs
//! are simulated (tests/lab/esxi-sim). Each test asserts the hosts' final state (the
//! simulator's, and the real files in each host's /tmp), the table and the JSON report.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{compose_vib, json_of, noise, ok, photon_fleet, refused, succeeded};

const TARGET: &str = "0.21.2.8b7dc30-0.0.1";

struct Lab {
    dir: tempfile::TempDir,
    info: Value,
}

fn lab_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/esxi-lab")
}

impl Lab {
    fn up(hosts: &[&str]) -> Self {
        // Not under /tmp: each lab host has a /tmp of its own.
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
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

    /// The real files in host `name`'s /tmp (its folder in the lab), sorted.
    fn tmp(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = walk(&self.dir.path().join(name).join("fs/tmp"), "/tmp");
        v.sort();
        v
    }

    /// esxi-lab stop|start NAME: the host's sshd goes away, or comes back.
    fn sshd(&self, what: &str, name: &str) {
        let st = Command::new(lab_script())
            .args([what, self.dir.path().to_str().unwrap(), name])
            .status()
            .unwrap();
        assert!(st.success(), "esxi-lab {what} {name}");
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

/// Every file under `dir`, as paths under `shown`.
fn walk(dir: &Path, shown: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = format!("{shown}/{}", e.file_name().to_string_lossy());
        if e.file_type().unwrap().is_dir() {
            out.push(format!("{name}/"));
            out.extend(walk(&e.path(), &name));
        } else {
            out.push(name);
        }
    }
    out
}

/// A VIB for the tests, composed by photon-fleet (unsigned, community).
fn vib(dir: &Path, version: &str) -> String {
    vib_of(dir, version, 0)
}

/// The same with `mib` MiB of incompressible payload, so its upload takes a while.
fn vib_of(dir: &Path, version: &str, mib: usize) -> String {
    let d = dir.join(format!("vib-{version}-{mib}"));
    let v = compose_vib(&d, version, &format!("{version}-{mib}.vib"), mib);
    v.to_str().unwrap().to_string()
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
        &format!("reboot:fail_start=1,{C}"),
    ]);
    let all = [
        "fresh", "old", "same", "esx55", "partner", "newer", "broken", "reboot",
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
    // ESXi asks for a reboot: the message must not claim the host is unchanged.
    assert_eq!(result("reboot"), "failed");
    assert!(
        msg("reboot").contains("ESXi says the host must be rebooted")
            && !msg("reboot").contains("unchanged"),
        "{}",
        msg("reboot")
    );
    // Refused hosts were not touched: after is what they have.
    assert_eq!(report(&j, &lab, "newer")["after"], "0.22.abcdef0-0.0.1");
    assert_eq!(report(&j, &lab, "esx55")["after"], Value::Null);
    assert_eq!(report(&j, &lab, "broken")["after"], Value::Null, "removed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("5 of 8 hosts"), "{err}");

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
        assert_eq!(lab.tmp(n), Vec::<String>::new(), "{n}: upload left behind");
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
    // No line names its host twice.
    let text = lab.run(&["ssh-install", "--vib", &v, "--no-sig-check"], &all, &[]);
    let table = String::from_utf8_lossy(&text.stdout);
    for n in all {
        let shown = lab.shown(n);
        for l in table.lines() {
            assert!(l.matches(&shown).count() <= 1, "{l}");
        }
    }

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
    let p = report(&j, &lab, "partner");
    assert_eq!(p["acceptance_before"], "PartnerSupported");
    assert_eq!(p["acceptance_after"], "CommunitySupported");
    assert_eq!(lab.installed("broken").as_deref(), Some(TARGET));
    assert_eq!(out.status.code(), Some(1), "esx55 and newer still refuse");

    let partner = format!(
        "{}: acceptance level PartnerSupported -> CommunitySupported",
        lab.shown("partner")
    );
    lab.set("partner", "acceptance", Value::from("PartnerSupported"));
    lab.set("partner", "vibs", serde_json::json!({}));
    let text = lab.run(
        &[
            "ssh-install",
            "--vib",
            &v,
            "--no-sig-check",
            "--set-acceptance",
        ],
        &["partner"],
        &[],
    );
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(table.contains(&partner), "{table}");

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
    // (b has no vDVS VIB, so status exits 1; what counts here is that it was read.)
    let status = |extra: &[&str]| {
        let mut a = vec!["--json", "esxi", "status", "--fleet", &fleet, "-i"];
        let key = lab.path("id_lab");
        a.push(&key);
        a.extend(["--known-hosts", &empty]);
        a.extend_from_slice(extra);
        photon_fleet(&a)
    };
    let out = status(&[]);
    let j = json_of(&out);
    assert_eq!(j["hosts"][0]["result"], "status", "{j}");
    assert_eq!(j["hosts"][0]["esxi"], "8.0.2");
    assert_eq!(j["hosts"][0]["failure"], Value::Null);
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
        &format!("slow:slow=10,{C}"),
    ]);
    // 4 MiB: the dropped connection cuts the upload after its first MiB.
    let v = vib_of(lab.dir.path(), TARGET, 4);
    let out = lab.install(&v, &["good", "drops", "slow"], &["--timeout", "2"]);
    assert_eq!(out.status.code(), Some(1));
    let j = json_of(&out);
    assert_eq!(report(&j, &lab, "good")["result"], "installed");
    let drops = report(&j, &lab, "drops");
    assert_eq!(drops["result"], "failed");
    let msg = drops["message"].as_str().unwrap();
    assert!(
        msg.contains("upload failed, nothing was installed")
            && msg.contains("connection lost")
            && msg.contains("rerun the same command"),
        "{msg}"
    );
    assert_eq!(drops["failure"]["kind"], "upload");
    // The real scp wrote part of the file before the connection died; a second
    // connection removed it, so nothing is left and the report says nothing is.
    assert!(lab.commands("drops").contains("rm -rf /tmp/photon-fleet-"));
    assert_eq!(lab.tmp("drops"), Vec::<String>::new());
    assert_eq!(drops["left_on_host"], Value::Null);
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
fn a_host_lost_mid_upload_keeps_a_partial_file_that_the_next_run_removes() {
    let lab = Lab::up(&[&format!("gone:vanish_on_upload=1,{C}")]);
    let v = vib_of(lab.dir.path(), TARGET, 4);
    // What is not ours in /tmp stays, whatever its name.
    let tmp = lab.dir.path().join("gone/fs/tmp");
    std::fs::write(tmp.join("vmware-keep.log"), "x").unwrap();
    std::fs::create_dir(tmp.join("photon-fleetish")).unwrap();

    let out = lab.install(&v, &["gone"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let j = json_of(&out);
    let r = report(&j, &lab, "gone");
    let left = r["left_on_host"]
        .as_str()
        .expect("what is left is reported");
    assert!(left.starts_with("/tmp/photon-fleet-"), "{left}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains(&format!("LEFT ON THE HOST: {left}")),
        "{r}"
    );
    let partial = lab.tmp("gone");
    let file = partial
        .iter()
        .find(|p| p.starts_with(left) && p.ends_with(".vib"))
        .unwrap_or_else(|| panic!("no partial upload in {partial:?}"));
    let size = std::fs::metadata(tmp.join(file.trim_start_matches("/tmp/")))
        .unwrap()
        .len();
    let whole = std::fs::metadata(&v).unwrap().len();
    assert!(size > 0 && size < whole, "partial: {size} of {whole}");
    // While it is away, a rerun says so and changes nothing.
    let out = lab.install(&v, &["gone"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let j = json_of(&out);
    let msg = report(&j, &lab, "gone")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("cannot connect") && msg.contains("rerun the same command"),
        "{msg}"
    );

    // The host comes back: the next run removes only our leftover, then installs.
    lab.sshd("start", "gone");
    lab.set("gone", "vanish_on_upload", Value::Bool(false));
    let out = lab.install(&v, &["gone"], &[]);
    succeeded(&out);
    let j = json_of(&out);
    let r = report(&j, &lab, "gone");
    assert_eq!(r["result"], "installed");
    assert_eq!(r["removed_leftovers"][0], left);
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains("removed uploads earlier runs left"));
    assert_eq!(
        lab.tmp("gone"),
        ["/tmp/photon-fleetish/", "/tmp/vmware-keep.log"]
    );
}

#[test]
fn a_200_mb_upload_arrives_whole_through_the_real_scp() {
    use esxi::session::{Auth, ConnectConfig, Connection, HostKeys};
    let lab = Lab::up(&[&format!("big:{C}")]);
    let target = esxi::Target::parse(&lab.target("big"), "root").unwrap();
    let cfg = ConnectConfig {
        auth: vec![Auth::KeyFile(lab.dir.path().join("id_lab"))],
        host_keys: HostKeys {
            known_hosts: lab.dir.path().join("known_hosts"),
            pinned: Default::default(),
            accept_new: false,
            write_lock: Default::default(),
        },
        connect_timeout: std::time::Duration::from_secs(10),
        timeout: std::time::Duration::from_secs(120),
    };
    let conn = Connection::open(&target, &cfg).unwrap();
    let data = noise(200, 200 << 20);
    let want = plugin::lock::sha256_hex(&data);
    let o = conn.run("mkdir -p /tmp/up").unwrap();
    assert_eq!(o.code, 0, "{}", o.text);
    conn.upload("/tmp/up/big.bin", &data).unwrap();
    // The host's own sha256sum, on the bytes OpenSSH's scp wrote.
    let o = conn.run("sha256sum /tmp/up/big.bin").unwrap();
    assert_eq!(o.text, format!("{want}  /tmp/up/big.bin\n"));

    // The sink's own error text comes back: a folder that does not exist.
    let e = conn.upload("/tmp/nowhere/x.bin", b"abc").unwrap_err();
    let e = e.to_string();
    assert!(
        e.contains("/tmp/nowhere/x.bin") && e.contains("the host's scp said: scp:"),
        "{e}"
    );
    assert!(e.contains("No such file or directory"), "{e}");
}

#[test]
fn bad_input_is_refused_with_the_file_and_line_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p).to_str().unwrap().to_string();
    std::fs::write(d("garbage.lock"), "this is not a lock\n").unwrap();
    std::fs::write(d("bin.toml"), b"\x7fELF\x00\xff\xfe").unwrap();
    std::fs::write(d("hosts.txt"), "# lab\nesx1\n\nroot@esx2:22:33\n").unwrap();
    let missing = d("missing");
    let folder = dir.path().to_str().unwrap().to_string();
    let install = |extra: &[&str]| {
        let mut a = vec!["ssh-install", "--host", "esx1", "--no-sig-check"];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let check = |args: Vec<String>, names: &str, says: &str| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&a, names, says);
    };
    check(install(&["--lock", &missing]), &missing, "no such file");
    check(install(&["--lock", &folder]), &folder, "is a directory");
    check(install(&["--lock", &d("garbage.lock")]), "garbage.lock", "");
    check(install(&["--vib", &missing]), &missing, "no such file");
    check(install(&["--vib", &folder]), &folder, "is a directory");
    let v = vib(dir.path(), TARGET);
    check(
        install(&["--vib", &v, "--hosts-file", &missing]),
        &missing,
        "no such file",
    );
    check(
        install(&["--vib", &v, "--hosts-file", &folder]),
        &folder,
        "is a directory",
    );
    check(
        install(&["--vib", &v, "--hosts-file", &d("hosts.txt")]),
        "hosts.txt line 4",
        "host 'root@esx2:22:33': more than one ':'",
    );
    check(
        install(&["--vib", &v, "--fleet", &d("bin.toml")]),
        "bin.toml",
        "not a TOML file",
    );
    refused(
        &["esxi", "status", "--host", "u@h:22:33"],
        "u@h:22:33",
        "more than one ':'",
    );
    refused(
        &["esxi", "status", "--host", ""],
        "host ''",
        "empty host name",
    );
    refused(
        &["esxi", "status", "--host", "fe80::1"],
        "fe80::1",
        "brackets",
    );
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

    let before = lab.state("a");
    let out = lab.run(&["--json", "ssh-uninstall", "--dry-run"], &["a"], &[]);
    succeeded(&out);
    let r = report(&json_of(&out), &lab, "a").clone();
    assert_eq!(r["result"], "planned");
    assert_eq!(r["message"], format!("would remove {TARGET}"));
    assert_eq!(lab.state("a"), before, "a dry run changes nothing");
    let out = lab.run(&["--json", "ssh-uninstall"], &["a"], &[]);
    assert!(out.status.success());
    assert_eq!(report(&json_of(&out), &lab, "a")["result"], "removed");

    // esxi status: the service in the table; exit 1 while a host's vmdk-opsd is not running.
    let out = lab.run(&["esxi", "status"], &["a", "b"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("VMDK-OPSD"), "{table}");
    let line = |n: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&lab.shown(n)))
            .unwrap()
            .to_string()
    };
    assert!(line("b").contains(" running "), "{table}");
    assert!(line("a").contains("-> -"), "{table}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&lab.shown("a")) && !err.contains(&lab.shown("b")),
        "{err}"
    );
    let out = lab.run(&["--json", "esxi", "status"], &["a", "b"], &[]);
    let j = json_of(&out);
    assert_eq!(j["ok"], false);
    assert_eq!(report(&j, &lab, "b")["ok"], true);
    lab.set("b", "service", Value::Bool(false));
    let out = lab.run(&["--json", "esxi", "status"], &["b"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report(&json_of(&out), &lab, "b")["service"], "stopped");
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
