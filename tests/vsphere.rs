//! End-to-end: `photon-fleet deploy --dry-run` and `vc thumbprint` against VMware's vcsim
//! (govmomi's simulator built from Debian's source by tests/lab/vcsim), with openssl as
//! the independent judge of the certificate thumbprint.

use std::path::Path;
use std::process::Command;

mod common;
use common::{ok, photon_fleet, refused, succeeded};

#[path = "common/vcsim.rs"]
mod vcsim;
use vcsim::{VcSim, PASSWORD, USER};

fn ova(dir: &Path) -> String {
    vcsim::pack_ova(dir, 4096)
}

fn openssl_thumbprint(url: &str) -> String {
    let host = url.trim_start_matches("https://").trim_end_matches("/sdk");
    // Security level 0: openssl reads a 1024-bit certificate too (nothing is trusted here).
    let script = format!(
        "echo | openssl s_client -cipher DEFAULT@SECLEVEL=0 -connect {host} 2>/dev/null | openssl x509 -noout -fingerprint -sha1"
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim().rsplit('=').next().unwrap().to_string()
}

#[test]
fn certificate_trust_is_explicit() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let ova = ova(dir.path());
    let args = ["deploy", "--dry-run", &ova, "--cluster", "DC0_C0"];

    // Self-signed and not pinned: refused, saying how to trust it.
    let out = vc.run(&args, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not trusted") && err.contains("--thumbprint"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1);

    let shown = ok(photon_fleet(&["vc", "thumbprint", &vc.url]));
    assert_eq!(
        shown.trim(),
        openssl_thumbprint(&vc.url),
        "same as openssl's"
    );
    let mut pinned = args.to_vec();
    pinned.extend(["--thumbprint", shown.trim()]);
    let out = vc.run(&pinned, &[]);
    succeeded(&out);
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        plan.contains("compute     DC0_C0") && plan.contains("dry run: nothing was changed"),
        "{plan}"
    );

    let wrong = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33";
    let mut bad = args.to_vec();
    bad.extend(["--thumbprint", wrong]);
    let out = vc.run(&bad, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not trusted"));

    // govc's variables work too: GOVC_URL with credentials, GOVC_INSECURE=1.
    let govc_url = vc
        .url
        .replace("https://", &format!("https://{USER}:{PASSWORD}@"));
    let out = Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
        .args(args)
        .env_remove("PHOTON_FLEET_VC_URL")
        .env("GOVC_URL", &govc_url)
        .env("GOVC_INSECURE", "1")
        .output()
        .unwrap();
    succeeded(&out);
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(!plan.contains(PASSWORD) && !String::from_utf8_lossy(&out.stderr).contains(PASSWORD));
    assert!(plan.contains("compute     DC0_C0"), "{plan}");
    // The same URL without scheme, as govc takes it; the login came from the URL.
    let bare = govc_url.replace("https://", "");
    let out = Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
        .args(["--json"])
        .args(args)
        .env_remove("PHOTON_FLEET_VC_URL")
        .env_remove("PHOTON_FLEET_VC_USER")
        .env_remove("PHOTON_FLEET_VC_PASSWORD")
        .env("GOVC_URL", &bare)
        .env("GOVC_INSECURE", "1")
        .output()
        .unwrap();
    succeeded(&out);
    let j = common::json_of(&out);
    assert_eq!(
        j["vcenter"], "VMware vCenter Server 6.5.0 build-5973321",
        "{j}"
    );
    // A wrong password in the URL: refused by vcsim, and never repeated.
    let wrong = govc_url.replace(PASSWORD, "Not-The-Pa55word");
    let out = Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
        .args(args)
        .env_remove("PHOTON_FLEET_VC_URL")
        .env_remove("PHOTON_FLEET_VC_PASSWORD")
        .env("GOVC_URL", &wrong)
        .env("GOVC_INSECURE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("Not-The-Pa55word") && err.contains("refused user"),
        "{err}"
    );
    // A plain-http URL with credentials: refused without echoing them.
    let http = govc_url.replace("https://", "http://");
    let out = Command::new(env!("CARGO_BIN_EXE_photon-fleet"))
        .args(args)
        .env_remove("PHOTON_FLEET_VC_URL")
        .env("GOVC_URL", &http)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        !err.contains(PASSWORD) && err.contains("plain http is refused"),
        "{err}"
    );
    vc.assert_soap_valid();
}

/// An old appliance's certificate (a 1024-bit RSA key, as vcsim's own default): its
/// thumbprint is read and --insecure works; pinned, it is refused with the reason.
#[test]
fn a_weak_certificate_is_read_used_insecurely_and_refused_by_name() {
    let vc = VcSim::start_with(&["-weak-cert"]);
    let dir = tempfile::tempdir().unwrap();
    let ova = ova(dir.path());
    let args = ["deploy", "--dry-run", &ova, "--cluster", "DC0_C0"];
    let shown = ok(photon_fleet(&["vc", "thumbprint", &vc.url]));
    assert_eq!(shown.trim(), openssl_thumbprint(&vc.url));
    succeeded(&vc.run(&[&args[..], &["--insecure"]].concat(), &[]));
    let out = vc.run(&[&args[..], &["--thumbprint", shown.trim()]].concat(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("1024-bit RSA, too weak to verify: replace the certificate"),
        "{err}"
    );
    vc.assert_soap_valid();
}

#[test]
fn an_ova_without_a_manifest_deploys_with_a_warning_and_a_missing_one_is_refused() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let ova = ova(dir.path());
    // The same OVA without its .mf member.
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let tar = |args: &[&str]| {
        let st = Command::new("tar")
            .args(args)
            .current_dir(&unpacked)
            .status()
            .unwrap();
        assert!(st.success());
    };
    tar(&["xf", &ova]);
    let mut members: Vec<String> = std::fs::read_dir(&unpacked)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".mf"))
        .collect();
    members.sort_by_key(|n| !n.ends_with(".ovf"));
    let bare = dir.path().join("bare.ova");
    let mut a = vec!["cf", bare.to_str().unwrap()];
    a.extend(members.iter().map(String::as_str));
    tar(&a);
    let out = vc.run(
        &[
            "deploy",
            "--dry-run",
            bare.to_str().unwrap(),
            "--insecure",
            "--cluster",
            "DC0_C0",
        ],
        &[],
    );
    succeeded(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning")
            && err.contains("no manifest (.mf): nothing in the OVA was verified"),
        "{err}"
    );
    let out = vc.run(
        &["deploy", "--dry-run", "/nonexistent/x.ova", "--insecure"],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/nonexistent/x.ova"), "{err}");
    vc.assert_soap_valid();
}

#[test]
fn dry_run_plans_the_fleet_and_names_what_exists() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let ova = ova(dir.path());
    let base = ["--json", "deploy", "--dry-run", &ova, "--insecure"];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        vc.run(&a, &[])
    };
    let out = with(&[
        "--cluster",
        "DC0_C0",
        "--count",
        "3",
        "--name-prefix",
        "web",
    ]);
    succeeded(&out);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["placement"]["datacenter"]["name"], "DC0");
    assert_eq!(j["placement"]["datastore"]["name"], "LocalDS_0");
    assert_eq!(j["placement"]["network"]["name"], "VM Network");
    assert_eq!(j["placement"]["compute"]["name"], "DC0_C0");
    assert_eq!(j["plan"]["template_action"], "import");
    let names: Vec<&str> = j["plan"]["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-01", "web-02", "web-03"]);
    assert!(j["plan"]["vms"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["action"] == "create"));
    assert_eq!(j["ova_sha256"].as_str().unwrap().len(), 64);

    // Wrong names: one line listing what vCenter has.
    for (extra, says) in [
        (
            &["--cluster", "DC0_C0", "--datastore", "nfs9"][..],
            "there are: LocalDS_0",
        ),
        (
            &["--cluster", "DC0_C0", "--datacenter", "DC9"][..],
            "there are: DC0",
        ),
        (
            &["--cluster", "DC0_C0", "--network", "Storage"][..],
            "VM Network",
        ),
        (&[][..], "DC0_C0, DC0_H0"),
    ] {
        let out = with(extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(says), "{extra:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1);
    }
    vc.assert_soap_valid();
}

#[test]
fn bad_credentials_and_bad_inputs_are_refused_cleanly() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let ova = ova(dir.path());
    let args = [
        "deploy",
        "--dry-run",
        &ova,
        "--insecure",
        "--cluster",
        "DC0_C0",
    ];
    let out = vc.run(&args, &[("PHOTON_FLEET_VC_PASSWORD", "not-the-password")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("InvalidLogin") && err.contains(USER), "{err}");
    assert!(!err.contains("not-the-password"));

    // Credentials on the command line are refused before any connection.
    let with_creds = vc.url.replace("https://", "https://u:p@");
    refused(
        &["deploy", "--dry-run", &ova, "--url", &with_creds],
        "--url",
        "PHOTON_FLEET_VC_PASSWORD",
    );
    let plain = vc.url.replace("https://", "http://");
    let out = vc.run(&["deploy", "--dry-run", &ova, "--url", &plain], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plain http"));

    // A damaged OVA never reaches vCenter.
    let mut bytes = std::fs::read(&ova).unwrap();
    let n = bytes.len();
    bytes[n - 3000] ^= 0xff;
    let bad = dir.path().join("bad.ova");
    std::fs::write(&bad, bytes).unwrap();
    let out = vc.run(
        &["deploy", "--dry-run", bad.to_str().unwrap(), "--insecure"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.ova"));
    vc.assert_soap_valid();
}
