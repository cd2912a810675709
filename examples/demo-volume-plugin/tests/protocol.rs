//! The demo plugin speaks Docker's plugin protocol as curl (a real HTTP client, over the
//! plugin's Unix socket) sees it: activation, then a volume's whole life.

use std::path::Path;
use std::process::{Child, Command};

struct Plugin {
    child: Child,
    socket: std::path::PathBuf,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Plugin {
    let socket = dir.join("run/vsphere.sock");
    let child = Command::new(env!("CARGO_BIN_EXE_vsphere-storage-for-docker"))
        .args(["--config", "/etc/vsphere-storage-for-docker.conf"])
        .env("DEMO_PLUGIN_SOCKET", &socket)
        .env("DEMO_PLUGIN_ROOT", dir.join("volumes"))
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Plugin { child, socket }
}

/// POST `body` to `endpoint` with curl; (HTTP status, JSON answer).
fn post(p: &Plugin, endpoint: &str, body: &str) -> (u16, serde_json::Value) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--unix-socket"])
        .arg(&p.socket)
        .args([
            "-H",
            "Accept: application/vnd.docker.plugins.v1.2+json",
            "-d",
            body,
        ])
        .arg(format!("http://plugin{endpoint}"))
        .output()
        .expect("curl");
    let text = String::from_utf8(out.stdout).unwrap();
    let (json, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), serde_json::from_str(json).unwrap())
}

#[test]
fn activation_and_a_volumes_life() {
    let d = tempfile::tempdir().unwrap();
    let p = start(d.path());
    let (code, a) = post(&p, "/Plugin.Activate", "");
    assert_eq!(code, 200);
    assert_eq!(a["Implements"][0], "VolumeDriver");
    assert_eq!(
        post(&p, "/VolumeDriver.Capabilities", "{}").1["Capabilities"]["Scope"],
        "global"
    );

    let (_, c) = post(
        &p,
        "/VolumeDriver.Create",
        r#"{"Name":"db","Opts":{"size":"1gb"}}"#,
    );
    assert_eq!(c["Err"], "");
    let folder = d.path().join("volumes/db");
    assert!(folder.is_dir());
    let (_, m) = post(&p, "/VolumeDriver.Mount", r#"{"Name":"db","ID":"c1"}"#);
    assert_eq!(m["Mountpoint"], folder.to_str().unwrap());
    assert_eq!(
        post(&p, "/VolumeDriver.Path", r#"{"Name":"db"}"#).1["Mountpoint"],
        m["Mountpoint"]
    );
    let (_, l) = post(&p, "/VolumeDriver.List", "{}");
    assert_eq!(l["Volumes"][0]["Name"], "db");
    assert_eq!(
        post(&p, "/VolumeDriver.Get", r#"{"Name":"db"}"#).1["Volume"]["Name"],
        "db"
    );
    assert_eq!(
        post(&p, "/VolumeDriver.Unmount", r#"{"Name":"db","ID":"c1"}"#).1["Err"],
        ""
    );
    assert_eq!(
        post(&p, "/VolumeDriver.Remove", r#"{"Name":"db"}"#).1["Err"],
        ""
    );
    assert!(!folder.exists());

    // What Docker must see as errors.
    let (_, g) = post(&p, "/VolumeDriver.Get", r#"{"Name":"db"}"#);
    assert_eq!(g["Err"], "no volume 'db'");
    let (_, bad) = post(&p, "/VolumeDriver.Create", r#"{"Name":"../escape"}"#);
    assert_eq!(bad["Err"], "bad volume name '../escape'");
    assert!(!d.path().join("escape").exists());
    assert_eq!(post(&p, "/VolumeDriver.Nope", "{}").0, 404);
}
