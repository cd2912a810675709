//! End-to-end: `photon-fleet up` converges a fleet from nothing (3 ESXi hosts, 4 VMs), a
//! rerun changes nothing, faults stop it where they should and a rerun finishes; `status`
//! is checked at each step. The peers: vcsim (its cluster's hosts carry the management
//! addresses of the ESXi stand-ins; TSM-SSH starts and stops their real sshd), the ESXi
//! lab (real sshd, scp and shell per host), Docker-guest stand-ins behind real sshd's
//! (their addresses reported as the VMs' guest IPs), pyvmomi as the judge.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/bake.rs"]
mod bake;
mod common;
use common::json_of;
#[path = "common/vcsim.rs"]
mod vcsim;
use vcsim::VcSim;

const VIB: &str = "0.21.2.8b7dc30-0.0.1";

fn lab_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/esxi-lab")
}

/// A loopback network of our own (127.N.M.0/24), so parallel tests never share an address.
fn subnet() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("127.{}.{}", 100 + std::process::id() % 100, n % 250 + 1)
}

struct Fleet {
    dir: tempfile::TempDir,
    vc: VcSim,
    fleet: String,
    net: String,
}

impl Fleet {
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// `photon-fleet --json ARGS --fleet F --insecure ...` with the lab's logins.
    fn run(&self, args: &[&str]) -> Output {
        let mut a: Vec<&str> = vec!["--json"];
        a.extend_from_slice(args);
        a.extend(["--fleet", &self.fleet, "--insecure", "--no-sig-check"]);
        if args[0] == "status" {
            a.pop();
        }
        self.vc.run(&a, &[])
    }

    fn lab(&self, what: &str, host: &str) {
        let st = Command::new(lab_script())
            .args([what, self.path("lab").to_str().unwrap(), host])
            .status()
            .unwrap();
        assert!(st.success());
    }

    fn state(&self, host: &str) -> Value {
        let p = self.path("lab").join(host).join("host.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    fn set(&self, host: &str, key: &str, v: Value) {
        let mut s = self.state(host);
        s[key] = v;
        let p = self.path("lab").join(host).join("host.json");
        std::fs::write(p, serde_json::to_string(&s).unwrap()).unwrap();
    }

    fn commands(&self, host: &str) -> String {
        std::fs::read_to_string(self.path("lab").join(host).join("commands.log")).unwrap()
    }
}

/// The lab: 3 ESXi stand-ins and 4 Docker-guest stand-ins on their own addresses, vcsim
/// tying them to its cluster DC0_C0 and to the VMs docker-01..04, and fleet.toml.
fn fleet() -> Fleet {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let d = dir.path();
    let net = subnet();
    let lab = d.join("lab");
    let mut specs: Vec<String> = (0..3)
        .map(|i| format!("h{i}:addr={net}.{},acceptance=CommunitySupported", i + 1))
        .collect();
    specs.extend((1..=4).map(|i| format!("g{i}:kind=guest,addr={net}.{}", 10 + i)));
    let out = Command::new(lab_script())
        .arg("up")
        .arg(&lab)
        .args(&specs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = serde_json::json!({
        "esxi_lab": lab_script(),
        "hosts": (0..3).map(|i| (format!("DC0_C0_H{i}"), serde_json::json!({
            "address": format!("{net}.{}", i + 1), "lab": lab, "name": format!("h{i}")
        }))).collect::<serde_json::Map<_, _>>(),
        "guests": (1..=4).map(|i| (format!("docker-0{i}"), Value::from(format!("{net}.{}", 10 + i))))
            .collect::<serde_json::Map<_, _>>(),
    });
    std::fs::write(d.join("vcsim-lab.json"), cfg.to_string()).unwrap();
    let vc = VcSim::start_with(&["-lab", d.join("vcsim-lab.json").to_str().unwrap()]);
    let (base, _) = bake::base_raw(d, "64MiB");
    let plugin = bake::plugin_dir(d, "0.21.2", 4096);
    let vib = bake::vib(d, VIB);
    let key = lab.join("id_lab");
    let public = std::fs::read_to_string(lab.join("id_lab.pub")).unwrap();
    let mut toml = format!(
        r#"[image]
photon_version = "5.0"
base = "{}"

[vdvs]
plugin = "{}"
vib = "{}"

[guest]
ssh_keys = ["{}"]
identity = "{}"

[vcenter]
cluster = "DC0_C0"

[esxi]
known_hosts = "{}"
"#,
        base.display(),
        plugin.display(),
        vib.display(),
        public.trim(),
        key.display(),
        lab.join("known_hosts").display()
    );
    for i in 1..=4 {
        toml.push_str(&format!("\n[[vm]]\nname = \"docker-0{i}\"\n"));
    }
    let fleet = d.join("fleet.toml");
    std::fs::write(&fleet, toml).unwrap();
    Fleet {
        fleet: fleet.to_str().unwrap().to_string(),
        dir,
        vc,
        net,
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = Command::new(lab_script())
            .args(["down", self.path("lab").to_str().unwrap()])
            .status();
    }
}

fn results<'a>(j: &'a Value, path: &[&str], field: &str) -> Vec<&'a str> {
    let mut v = j;
    for p in path {
        v = &v[*p];
    }
    v.as_array()
        .unwrap_or_else(|| panic!("no {path:?} in {j}"))
        .iter()
        .map(|x| x[field].as_str().unwrap_or("-"))
        .collect()
}

#[test]
fn up_converges_a_fleet_from_nothing_and_reruns_finish_what_faults_left() {
    let f = fleet();
    let ssh_key = f.path("lab/id_lab");
    let key = ssh_key.to_str().unwrap();

    // The plan alone changes nothing.
    let out = f.run(&["up", "--esxi-identity", key, "--dry-run"]);
    let j = json_of(&out);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(j["plan"]["image"]["state"], "build", "{j}");
    let hosts = j["plan"]["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3, "the cluster's hosts, from vCenter: {j}");
    for (i, h) in hosts.iter().enumerate() {
        assert_eq!(h["name"], format!("DC0_C0_H{i}"));
        assert_eq!(h["target"]["host"], format!("{}.{}", f.net, i + 1));
        assert_eq!(h["install"]["action"], "install", "{h}");
    }
    assert!(!f.path("out/fleet.lock").exists());
    assert!(!f.commands("h0").contains("install"));

    // From nothing to a fleet.
    let out = f.run(&["up", "--esxi-identity", key]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let j = json_of(&out);
    assert!(j["built"]["ova"]
        .as_str()
        .unwrap()
        .ends_with("photon-docker-5.0.ova"));
    assert_eq!(results(&j, &["hosts", "hosts"], "result"), ["installed"; 3]);
    assert_eq!(
        results(&j, &["vms", "result", "vms"], "action"),
        ["create"; 4]
    );
    assert_eq!(
        results(&j, &["guests"], "vm"),
        ["docker-01", "docker-02", "docker-03", "docker-04"]
    );
    assert!(
        j["guests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["ok"] == true),
        "{j}"
    );
    for h in ["h0", "h1", "h2"] {
        assert_eq!(f.state(h)["vibs"]["esx-vmdkops-service"]["version"], VIB);
    }
    for i in 1..=4 {
        let vm = f.vc.vm(&format!("docker-0{i}")).unwrap();
        assert_eq!(vm["power"], "poweredOn");
        assert_eq!(vm["ip"], format!("{}.{}", f.net, 10 + i));
    }
    // Guest host keys were recorded on first use, as OpenSSH would.
    let known = std::fs::read_to_string(f.path("fleet.known_hosts")).unwrap();
    assert_eq!(known.lines().count(), 4, "{known}");
    let status = f.run(&["status", "--esxi-identity", key]);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert_eq!(json_of(&status)["differences"], serde_json::json!([]));

    // Again: nothing to do, nothing done.
    for h in ["h0", "h1", "h2"] {
        std::fs::write(f.path("lab").join(h).join("commands.log"), "").unwrap();
    }
    let out = f.run(&["up", "--esxi-identity", key]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json_of(&out);
    assert_eq!(j["plan"]["image"]["state"], "up-to-date");
    assert!(j.get("built").is_none());
    assert_eq!(results(&j, &["hosts", "hosts"], "result"), ["skipped"; 3]);
    assert_eq!(
        results(&j, &["vms", "result", "vms"], "action"),
        ["exists"; 4]
    );
    for h in ["h0", "h1", "h2"] {
        let log = f.commands(h);
        assert!(
            !log.contains("vib install") && !log.contains("scp"),
            "{h}: {log}"
        );
    }

    // Faults: h1 unreachable, h2 lost its VIB, a guest's plugin disabled. up stops at the
    // hosts and touches no VM; status names every difference.
    f.lab("stop", "h1");
    let mut h2 = f.state("h2");
    h2["vibs"] = serde_json::json!({});
    h2["service"] = Value::Bool(false);
    std::fs::write(f.path("lab/h2/host.json"), h2.to_string()).unwrap();
    let mut plugin = f.state("g3")["plugin"].clone();
    plugin["enabled"] = Value::Bool(false);
    f.set("g3", "plugin", plugin.clone());
    let status = f.run(&["status", "--esxi-identity", key]);
    assert_eq!(status.status.code(), Some(1));
    let diffs = json_of(&status)["differences"].to_string();
    for want in [
        format!("host {}.2", f.net),
        format!("host {}.3: no vDVS VIB", f.net),
        "guest docker-03: plugin vsphere:latest is disabled".into(),
    ] {
        assert!(diffs.contains(&want), "{want}: {diffs}");
    }
    let out = f.run(&["up", "--esxi-identity", key]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("up stopped at the hosts") && err.contains(&format!("{}.2", f.net)),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(json_of(&out)["vms"], Value::Null, "no VM touched");
    assert_eq!(
        f.state("h2")["vibs"]["esx-vmdkops-service"]["version"],
        VIB,
        "h2 done"
    );

    // h1 is back: the rerun finishes the hosts, then stops at the disabled plugin.
    f.lab("start", "h1");
    let out = f.run(&["up", "--esxi-identity", key, "--guest-timeout", "3"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("up stopped at the guests: docker-03 (plugin vsphere:latest is disabled"),
        "{err}"
    );
    plugin["enabled"] = Value::Bool(true);
    f.set("g3", "plugin", plugin);
    let out = f.run(&["up", "--esxi-identity", key]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = f.run(&["status", "--esxi-identity", key]);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    f.vc.assert_soap_valid();
}

#[test]
fn ssh_stopped_on_a_host_is_started_for_the_run_and_stopped_again() {
    let f = fleet();
    let ssh_key = f.path("lab/id_lab");
    let key = ssh_key.to_str().unwrap();
    assert!(f.run(&["up", "--esxi-identity", key]).status.success());
    let out = f.vc.check(&["ssh", "DC0_C0_H0", "off"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Another VIB on h0 would need SSH: plain up refuses it, naming what to do.
    let mut h0 = f.state("h0");
    h0["vibs"] = serde_json::json!({});
    std::fs::write(f.path("lab/h0/host.json"), h0.to_string()).unwrap();
    let out = f.run(&["up", "--esxi-identity", key]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SSH service (TSM-SSH) is stopped"), "{err}");
    // --enable-ssh: started, installed, stopped again.
    let out = f.run(&["up", "--esxi-identity", key, "--enable-ssh"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json_of(&out);
    assert_eq!(j["ssh_started"][0]["restored"], true, "{j}");
    assert_eq!(f.state("h0")["vibs"]["esx-vmdkops-service"]["version"], VIB);
    let svc = f.vc.check(&["ssh", "DC0_C0_H0"]);
    assert_eq!(String::from_utf8_lossy(&svc.stdout).trim(), "stopped");
    // A host the user names to skip is left alone; a name that is not a host is refused.
    let out = f.run(&["up", "--esxi-identity", key, "--skip-host", "DC0_C0_H0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = f.run(&["up", "--esxi-identity", key, "--skip-host", "esx9"]);
    assert_eq!(out.status.code(), Some(2));
    f.vc.assert_soap_valid();
}
