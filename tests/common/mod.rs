//! Helpers every end-to-end test shares: run the real binary, run a real peer tool,
//! and assert how a refusal looks (exit 2, one line, names the file and the reason).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn photon_fleet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
        .args(args)
        .output()
        .expect("run photon-fleet")
}

pub fn ok(out: Output) -> String {
    succeeded(&out);
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts exit 0, showing stderr when not.
pub fn succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a peer tool; its absence is a setup error (scripts/test installs them).
pub fn peer(tool: &str, args: &[&str]) -> Output {
    Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("{tool} is needed for this test (scripts/install-deps installs it): {e}")
    })
}

/// The OVF descriptor at `ovf` is valid against DMTF's OVF 1.1 schema (DSP8023, in
/// tests/lab/schemas/ovf), as libxml2's xmllint reads it; nothing is fetched.
pub fn assert_ovf_valid(ovf: &Path) {
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/schemas/ovf/dsp8023_1.1.1.xsd");
    let out = peer(
        "xmllint",
        &[
            "--noout",
            "--nonet",
            "--schema",
            schema.to_str().unwrap(),
            ovf.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{} is not valid OVF:\n{}",
        ovf.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The same for the descriptor inside an OVA (read with tar).
pub fn assert_ova_descriptor_valid(ova: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let out = peer(
        "tar",
        &[
            "xf",
            ova.to_str().unwrap(),
            "-C",
            dir.path().to_str().unwrap(),
            "--wildcards",
            "*.ovf",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ovf = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_ovf_valid(&ovf);
}

/// A failure the user caused: exit `code`, one line on stderr naming `names` and `says`.
pub fn fails(code: i32, args: &[&str], names: &str, says: &str) -> String {
    let out = photon_fleet(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line, got: {err}");
    assert!(err.contains(names) && err.contains(says), "{args:?}: {err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"));
    err
}

/// Bad input: exit 2.
pub fn refused(args: &[&str], names: &str, says: &str) {
    fails(2, args, names, says);
}

/// Sends `signal` (`INT`, `TERM`, ...) to process `pid` with the real `kill`.
pub fn send_signal(pid: u32, signal: &str) {
    let st = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill");
    assert!(st.success(), "kill -{signal} {pid}");
}

/// `len` pseudo-random bytes (xorshift; incompressible, reproducible from `seed`).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The sha256 of `p` as coreutils' `sha256sum` computes it.
pub fn sha256sum(p: &Path) -> String {
    let out = peer("sha256sum", &[p.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().next().unwrap().to_string()
}

/// The JSON a command printed on stdout (whatever its exit code).
pub fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `photon-fleet --json ARGS`, asserted to succeed, its JSON.
/// The JSON report of a run that must have succeeded.
pub fn json_ok(out: &Output) -> serde_json::Value {
    succeeded(out);
    json_of(out)
}

pub fn json_run(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let out = photon_fleet(&a);
    succeeded(&out);
    json_of(&out)
}

/// A stage folder laid out like the vDVS driver VIB's payload, with `mib` MiB of
/// incompressible data beside it (so an upload of the VIB takes a while).
pub fn vib_stage(dir: &Path, mib: usize) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let st = dir.join(format!("stage-{mib}"));
    let bin = st.join("usr/lib/vmware/vmdkops/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(st.join("etc/init.d")).unwrap();
    std::fs::write(bin.join("vmdk_ops.py"), "# vmdk ops daemon\n".repeat(500)).unwrap();
    let init = st.join("etc/init.d/vmdk-opsd");
    std::fs::write(&init, "#!/bin/sh\n# chkconfig: on 90 90\n").unwrap();
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755)).unwrap();
    if mib > 0 {
        std::fs::write(bin.join("blob"), noise(mib as u64, mib << 20)).unwrap();
    }
    st
}

/// `photon-fleet vib compose` of [`vib_stage`] as `dir/name` (unsigned, community).
pub fn compose_vib(dir: &Path, version: &str, name: &str, mib: usize) -> PathBuf {
    let st = vib_stage(dir, mib);
    let out = dir.join(name);
    ok(photon_fleet(&[
        "vib",
        "compose",
        st.to_str().unwrap(),
        out.to_str().unwrap(),
        "--version",
        version,
    ]));
    out
}
