//! End-to-end: the command line's contract as a whole: output to a reader that went away
//! ends quietly (as ripgrep's does), and help texts say what the commands do.

use std::process::{Command, Stdio};

mod common;

/// Runs photon-fleet with stdout a pipe whose reading end is already closed.
fn to_closed_pipe(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    for args in [
        &["completions", "bash"][..],
        &["--json", "completions", "zsh"],
        &["--help"],
    ] {
        let out = to_closed_pipe(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
        if args[0] != "--help" {
            assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
            assert_eq!(err, "", "{args:?}");
        }
    }
    // A report too: inspect of a lock-less file still prints before it fails.
    let d = tempfile::tempdir().unwrap();
    let raw = d.path().join("d.raw");
    std::fs::write(&raw, vec![0u8; 1 << 20]).unwrap();
    let out = to_closed_pipe(&["inspect", raw.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn deploy_help_describes_what_deploy_does() {
    let out = common::photon_fleet(&["deploy", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Import the OVA into vCenter once and clone"),
        "{text}"
    );
    assert!(!text.contains("comes next"), "{text}");
}

/// An error line never puts raw control bytes from the user's input on the terminal (a
/// file name with an escape sequence, a junk file's contents): they are shown escaped.
#[test]
fn control_bytes_from_inputs_are_escaped_in_error_lines() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("base\u{1b}[31mred.ova");
    std::fs::write(&odd, b"\x1b[2J not an OVA \x07").unwrap();
    for args in [
        vec![
            "deploy".to_string(),
            odd.to_str().unwrap().into(),
            "--insecure".into(),
        ],
        vec!["inspect".into(), odd.to_str().unwrap().into()],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
            .args(&args)
            .env_remove("PHOTON_FLEET_VC_URL")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = &out.stderr;
        assert!(
            !err.iter().any(|&b| b == 0x1b || b == 0x07),
            "{args:?}: raw bytes in {err:?}"
        );
        let text = String::from_utf8_lossy(err);
        assert!(text.contains(r"base\u{1b}[31mred.ova"), "{args:?}: {text}");
        assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    }
}
