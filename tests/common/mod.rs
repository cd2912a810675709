//! Helpers every end-to-end test shares: run the real binary, run a real peer tool,
//! and assert how a refusal looks (exit 2, one line, names the file and the reason).
#![allow(dead_code)]

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
