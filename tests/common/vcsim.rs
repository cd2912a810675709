//! The lab's vCenter for tests: vcsim (tests/lab/vcsim) with a fixed login, and
//! pyvmomi (tests/lab/vc-check) as the independent client that judges what deploy did.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const USER: &str = "fleet-admin";
pub const PASSWORD: &str = "Vc-Pa55word-for-lab";

pub struct VcSim {
    child: Child,
    pub url: String,
    /// Every request photon-fleet sent, one file each (vcsim -soap-log).
    soap_log: tempfile::TempDir,
}

impl VcSim {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// vcsim with more arguments (e.g. `-lab FILE`).
    pub fn start_with(args: &[&str]) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/vcsim");
        let soap_log = tempfile::tempdir().unwrap();
        let mut child = Command::new(script)
            .args(["-l", "127.0.0.1:0"])
            .arg("-soap-log")
            .arg(soap_log.path())
            .args(args)
            .env("VCSIM_USER", USER)
            .env("VCSIM_PASSWORD", PASSWORD)
            .stdout(Stdio::piped())
            .spawn()
            .expect("tests/lab/vcsim (needs golang-go + golang-github-vmware-govmomi-dev: scripts/install-deps)");
        let line = first_line(&mut child);
        assert!(line.starts_with("https://"), "vcsim said: {line}");
        VcSim {
            child,
            url: line,
            soap_log,
        }
    }

    /// photon-fleet with the vCenter credentials in the environment, as users set them.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.spawn(args, env).wait_with_output().unwrap()
    }

    /// The same, started in the background (output piped).
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let mut c = Command::new(env!("CARGO_BIN_EXE_photon-fleet"));
        c.args(args)
            .env("PHOTON_FLEET_VC_URL", &self.url)
            .env("PHOTON_FLEET_VC_USER", USER)
            .env("PHOTON_FLEET_VC_PASSWORD", PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        c.spawn().unwrap()
    }
}

/// The first line a lab process prints (its URL or port), trimmed.
pub fn first_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim().to_string()
}

/// An OVA made by `photon-fleet ova pack` from a 64 MiB disk holding `data` bytes of
/// pseudo-random content (incompressible, so uploads have real size).
pub fn pack_ova(dir: &Path, data: usize) -> String {
    let raw = dir.join("disk.raw");
    let f = std::fs::File::create(&raw).unwrap();
    f.set_len(64 << 20).unwrap();
    let noise = crate::common::noise(0x9E37_79B9_7F4A_7C15, data.max(1));
    std::os::unix::fs::FileExt::write_at(&f, &noise, 1 << 20).unwrap();
    let out = dir.join("docker-host.ova");
    let done = Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
        .args(["ova", "pack"])
        .arg(&raw)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    crate::common::assert_ova_descriptor_valid(&out);
    out.to_str().unwrap().to_string()
}

impl Drop for VcSim {
    /// SIGTERM first: vcsim then removes the datastore folders it made under /tmp.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl VcSim {
    /// Every request photon-fleet sent so far is valid against VMware's vim25 schema, as
    /// a real vCenter reads it (tests/lab/soap-check, xmllint).
    pub fn assert_soap_valid(&self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/soap-check");
        let out = Command::new(script)
            .arg(self.soap_log.path())
            .output()
            .expect("tests/lab/soap-check (needs xmllint: scripts/install-deps)");
        assert!(
            out.status.success(),
            "requests vCenter would refuse:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// host:port of the SOAP endpoint.
    pub fn addr(&self) -> String {
        self.url
            .trim_start_matches("https://")
            .trim_end_matches("/sdk")
            .to_string()
    }

    /// tests/lab/vc-check (pyvmomi) against this vcsim.
    pub fn check(&self, args: &[&str]) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/vc-check");
        Command::new(script)
            .args(args)
            .env("VC_URL", &self.url)
            .env("VC_USER", USER)
            .env("VC_PASSWORD", PASSWORD)
            .output()
            .expect("tests/lab/vc-check (needs python3-pyvmomi: scripts/install-deps)")
    }

    /// Every VM as pyvmomi sees it: name, template, power, annotation, guestinfo, ip.
    pub fn vms(&self) -> Vec<serde_json::Value> {
        let out = self.check(&["vms"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn vm(&self, name: &str) -> Option<serde_json::Value> {
        self.vms().into_iter().find(|v| v["name"] == name)
    }
}
