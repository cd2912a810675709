//! The first-boot script as baked into an OVA, run in a sandbox: fake `docker`,
//! `vmtoolsd`, `modprobe`, `hostname`, `systemctl`, `useradd` on PATH record every call;
//! PHOTON_FLEET_ROOT points the script's file paths into a folder. Proves the commands,
//! their order, what lands on disk, and that a second run does nothing.

#[path = "common/bake.rs"]
mod bake;
mod common;
#[path = "common/vcsim.rs"]
mod vcsim;

use bake::*;
use std::path::PathBuf;
use std::process::{Command, Output};

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFirstBootKey ops&dev@example.com";
/// A real key (ssh-keygen reads it); its SHA-256 fingerprint as `ssh-keygen -l` shows it.
const GUEST_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMykPLIcd5MQlLxRINbOR2nQ0jsL2GMmDNxT87+wpyBL admin@example.com";
const GUEST_KEY_SHA256: &str = "SHA256:Gn/Z4ba6qb9OTgIFqGUUfZ2fD/vacztZV4C7LXQH3FU";

const FAKES: &str = r#"
log() { echo "$(basename "$0") $*" >>"$SANDBOX/calls"; }
case "$(basename "$0")" in
docker)
    log "$@"
    S="$SANDBOX/docker"
    case "$1 $2" in
    "info "*) exit 0 ;;
    "plugin inspect")
        [ -e "$S.created" ] || { echo "Error: No such plugin" >&2; exit 1; }
        if [ "$3" = --format ]; then [ -e "$S.enabled" ] && echo true || echo false; fi
        exit 0 ;;
    "plugin create") [ -e "$SANDBOX/fail-create" ] && exit 1; touch "$S.created"; echo "$3" ;;
    "plugin enable") touch "$S.enabled"; echo "$3" ;;
    esac ;;
vmtoolsd)
    log "$@"
    key=${2#info-get }
    if [ "$key" = guestinfo.ovfEnv ] && [ -e "$SANDBOX/ovfenv.xml" ]; then cat "$SANDBOX/ovfenv.xml"; exit 0; fi
    [ -e "$SANDBOX/$key" ] && { cat "$SANDBOX/$key"; exit 0; }
    echo "No value found"; exit 1 ;;
id) log "$@"; exit 1 ;;
systemctl) log "$@"; [ "$1" = is-active ] && echo active; exit 0 ;;
mount) log "$@"; [ -d "$SANDBOX/cdrom" ] || exit 32; cp "$SANDBOX/cdrom/"* "$6/" ;;
umount) log "$@"; rm -f "$1"/* ;;
*) log "$@" ;;
esac
"#;

const OVF_ENV: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" oe:id="">
   <PlatformSection>
      <Kind>VMware ESXi</Kind>
   </PlatformSection>
   <PropertySection>
         <Property oe:key="hostname" oe:value="docker-07"/>
         <Property oe:key="network.address" oe:value="10.0.0.27/24"/>
         <Property oe:key="network.dns" oe:value="10.0.0.2,10.0.0.3"/>
         <Property oe:key="network.gateway" oe:value="10.0.0.1"/>
         <Property oe:key="network.mode" oe:value="static"/>
         <Property oe:key="ssh.authorized_key" oe:value="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFirstBootKey ops&amp;dev@example.com"/>
   </PropertySection>
</Environment>
"#;

struct Sandbox {
    _dir: tempfile::TempDir,
    /// The OVA the script was taken from.
    ova: PathBuf,
    root: PathBuf,
    script: PathBuf,
    bin: PathBuf,
}

/// Builds an OVA and takes the first-boot script and its config out of the image.
fn sandbox() -> Sandbox {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (base, off) = base_raw(dir, "64MiB");
    let fleet = dir.join("fleet.toml");
    std::fs::write(
        &fleet,
        format!("[vdvs]\nlog_level = \"debug\"\nsocket_gid = \"docker\"\n[guest]\nssh_keys = [\"{GUEST_KEY}\"]\n[[guest.users]]\nname = \"ops\"\ngroups = [\"docker\", \"wheel\"]\n"),
    )
    .unwrap();
    let plugin = plugin_dir(dir, "0.21.2", 1024);
    let vib = vib(dir, "0.21.2.8b7dc30-0.0.1");
    let out = dir.join("out");
    build_ova(&["-q"], &fleet, &base, &plugin, &vib, &out);
    let raw = ova_disk_raw(&out.join("photon-docker-5.0.ova"), dir);
    let root = dir.join("root");
    for sub in ["etc/photon-fleet", "root", "home/ops"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::write(
        root.join("etc/photon-fleet/firstboot.conf"),
        dumped(&raw, off, "/etc/photon-fleet/firstboot.conf"),
    )
    .unwrap();
    let script = dir.join("firstboot");
    std::fs::write(
        &script,
        dumped(&raw, off, "/usr/lib/photon-fleet/firstboot"),
    )
    .unwrap();
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("fake");
    std::fs::write(&fake, format!("#!/bin/bash\n{FAKES}")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    for tool in [
        "docker",
        "vmtoolsd",
        "modprobe",
        "hostname",
        "systemctl",
        "useradd",
        "id",
        "chown",
        "mount",
        "umount",
        "udevadm",
    ] {
        std::os::unix::fs::symlink("fake", bin.join(tool)).unwrap();
    }
    Sandbox {
        ova: out.join("photon-docker-5.0.ova"),
        _dir: d,
        root,
        script,
        bin,
    }
}

impl Sandbox {
    fn run(&self) -> Output {
        Command::new("bash")
            .arg(&self.script)
            .env("PHOTON_FLEET_ROOT", &self.root)
            .env("SANDBOX", &self.root)
            .env(
                "PATH",
                format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap()
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.root.join("calls"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap_or_default()
    }
}

fn position(calls: &[String], prefix: &str) -> usize {
    calls
        .iter()
        .position(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("no call '{prefix}' in {calls:#?}"))
}

#[test]
fn first_boot_applies_the_ovf_environment_then_creates_and_enables_the_plugin_once() {
    let sb = sandbox();
    std::fs::write(sb.root.join("ovfenv.xml"), OVF_ENV).unwrap();
    let out = sb.run();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{log}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = sb.calls();

    // The order: modules, OVF environment, hostname, network, user, then the plugin.
    let order = [
        "modprobe vmw_vmci",
        "modprobe vmw_vsock_vmci_transport",
        "vmtoolsd --cmd info-get guestinfo.ovfEnv",
        "hostname docker-07",
        "systemctl restart systemd-networkd",
        "useradd -m -G docker,wheel ops",
        "docker info",
        "docker plugin create vsphere:latest /opt/photon-fleet/vdvs/plugin",
        "docker plugin set vsphere:latest VDVS_LOG_LEVEL=debug VDVS_SOCKET_GID=docker",
        "docker plugin enable vsphere:latest",
    ];
    let at: Vec<usize> = order.iter().map(|c| position(&calls, c)).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "out of order: {calls:#?}"
    );

    assert_eq!(sb.read("etc/hostname"), "docker-07\n");
    let net = sb.read("etc/systemd/network/10-photon-fleet.network");
    for line in [
        "Name=e*",
        "Address=10.0.0.27/24",
        "Gateway=10.0.0.1",
        "DNS=10.0.0.2",
        "DNS=10.0.0.3",
    ] {
        assert!(net.lines().any(|l| l == line), "{line} missing:\n{net}");
    }
    // The key's XML escapes are undone; the [guest] key is there too.
    let keys = sb.read("root/.ssh/authorized_keys");
    assert_eq!(keys.lines().collect::<Vec<_>>(), [KEY, GUEST_KEY]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(sb.root.join("root/.ssh/authorized_keys"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(sb
        .read("var/lib/photon-fleet/firstboot.done")
        .contains("photon-fleet"));
    assert!(log.contains("enabled plugin vsphere:latest"), "{log}");
    // Keys by fingerprint (one ssh-keygen cannot read says so); docker's own output
    // (it prints the plugin's name) stays out of the journal.
    assert!(
        log.contains(&format!("SSH key for root: ssh-ed25519 {GUEST_KEY_SHA256}")),
        "{log}"
    );
    assert!(
        log.contains("SSH key for root: ssh-ed25519 (no fingerprint"),
        "{log}"
    );
    assert!(!log.contains("AAAAIFirstBootKey"), "{log}");
    for line in log.lines() {
        assert!(
            line.starts_with("photon-fleet-firstboot: "),
            "{line:?} in\n{log}"
        );
    }

    assert_eq!(
        log.lines().last(),
        Some("photon-fleet-firstboot: result=ok docker=active plugin=enabled"),
        "{log}"
    );

    // Second boot: the stamp stops it before any change; it only reads the state for its
    // result line.
    let before = calls.len();
    let again = sb.run();
    assert!(again.status.success());
    let later = &sb.calls()[before..];
    assert!(
        later
            .iter()
            .all(|c| c == "systemctl is-active docker.service"
                || c.starts_with("docker plugin inspect")),
        "second run called: {later:#?}"
    );
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("nothing to do"), "{said}");
    assert!(
        said.ends_with("result=already-done docker=active plugin=enabled\n"),
        "{said}"
    );
}

/// Without VMware Tools' OVF environment (not on vSphere, or the guestInfo transport off),
/// first boot reads ovf-env.xml from the ISO transport's CD-ROM, then unmounts it.
#[test]
fn first_boot_reads_the_iso_transport_when_vmware_tools_has_none() {
    let sb = sandbox();
    std::fs::create_dir_all(sb.root.join("cdrom")).unwrap();
    std::fs::write(sb.root.join("cdrom/ovf-env.xml"), OVF_ENV).unwrap();
    std::fs::create_dir_all(sb.root.join("dev")).unwrap();
    std::fs::write(sb.root.join("dev/sr0"), "").unwrap();
    let out = sb.run();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("OVF environment from the ISO transport (/dev/sr0)"),
        "{said}"
    );
    assert_eq!(sb.read("etc/hostname"), "docker-07\n");
    let calls = sb.calls();
    let mount = position(&calls, "mount -o ro -t iso9660");
    let umount = position(&calls, "umount ");
    let hostname = position(&calls, "hostname docker-07");
    assert!(mount < umount && umount < hostname, "{calls:#?}");
    assert_eq!(
        sb.read("root/.ssh/authorized_keys").lines().next(),
        Some(KEY)
    );
}

#[test]
fn a_failed_plugin_create_leaves_no_stamp_and_the_retry_finishes_the_job() {
    let sb = sandbox();
    // No vApp properties: the guestinfo.photon-fleet.* keys deploy also sets are used.
    std::fs::write(sb.root.join("guestinfo.photon-fleet.hostname"), "docker-09").unwrap();
    std::fs::write(
        sb.root.join("guestinfo.photon-fleet.ssh.authorized_key"),
        KEY,
    )
    .unwrap();
    std::fs::write(sb.root.join("fail-create"), "").unwrap();
    let out = sb.run();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("docker plugin create vsphere:latest /opt/photon-fleet/vdvs/plugin failed")
    );
    assert!(
        said.ends_with("result=failed docker=active plugin=missing\n"),
        "{said}"
    );
    assert!(!sb.root.join("var/lib/photon-fleet/firstboot.done").exists());
    assert!(!sb
        .calls()
        .iter()
        .any(|c| c.starts_with("docker plugin enable")));
    assert_eq!(sb.read("etc/hostname"), "docker-09\n");
    assert!(
        !sb.root
            .join("etc/systemd/network/10-photon-fleet.network")
            .exists(),
        "DHCP: no network file"
    );

    std::fs::remove_file(sb.root.join("fail-create")).unwrap();
    let out = sb.run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(sb
        .calls()
        .iter()
        .any(|c| c == "docker plugin enable vsphere:latest"));
    assert!(sb.root.join("var/lib/photon-fleet/firstboot.done").exists());
    // The retry did not add the key twice.
    assert_eq!(sb.read("root/.ssh/authorized_keys").matches(KEY).count(), 1);
}

/// fleet.toml's per-VM values go into vCenter as vApp property edits (the template's keys,
/// read from vCenter), vCenter hands the guest its OVF environment, and first boot's own
/// parser gets back exactly what fleet.toml said: XML specials included.
#[test]
fn the_ovf_environment_round_trips_from_fleet_toml_through_vcenter_to_first_boot() {
    let sb = sandbox();
    let vc = vcsim::VcSim::start();
    let odd_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOddKey ops&dev <\"lab\"> 'q' café";
    let fleet = sb.root.join("fleet.toml");
    std::fs::write(
        &fleet,
        format!(
            "[vcenter]\ncluster = \"DC0_C0\"\ninsecure = true\n[[vm]]\nname = \"web-01\"\nhostname = \"web-01.lab\"\naddress = \"10.0.0.31/24\"\ngateway = \"10.0.0.1\"\ndns = [\"10.0.0.2\", \"10.0.0.3\"]\nssh_key = '''{odd_key}'''\n[[vm]]\nname = \"web-02\"\n"
        ),
    )
    .unwrap();
    let out = vc.run(
        &[
            "--json",
            "deploy",
            sb.ova.to_str().unwrap(),
            "--fleet",
            fleet.to_str().unwrap(),
        ],
        &[],
    );
    common::succeeded(&out);

    // What vCenter keeps, read by pyvmomi: each VM its own values, the read-only
    // version property untouched.
    let a = vc.vm("web-01").unwrap();
    let vapp = &a["vapp"];
    assert_eq!(vapp["hostname"]["value"], "web-01.lab", "{a}");
    assert_eq!(vapp["network.address"]["value"], "10.0.0.31/24");
    assert_eq!(vapp["ssh.authorized_key"]["value"], odd_key);
    assert_eq!(vapp["vdvs.plugin_version"]["user"], false);
    assert_eq!(
        vapp["vdvs.plugin_version"]["value"].as_str().unwrap_or(""),
        "",
        "never edited"
    );
    assert_eq!(vapp["vdvs.plugin_version"]["default"], "0.21.2");
    let b = vc.vm("web-02").unwrap();
    assert_eq!(b["vapp"]["hostname"]["value"], "web-02");
    assert_eq!(
        b["vapp"]["network.address"]["value"].as_str().unwrap_or(""),
        ""
    );

    // The guest's view: vCenter's ovf-env.xml, fed to the baked first-boot script.
    let env = a["guestinfo"]["guestinfo.ovfEnv"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        env.contains("<PropertySection>") && env.contains("&amp;dev &lt;&quot;lab&quot;&gt;"),
        "{env}"
    );
    std::fs::write(sb.root.join("ovfenv.xml"), &env).unwrap();
    let run = sb.run();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(sb.read("etc/hostname"), "web-01.lab\n");
    let net = sb.read("etc/systemd/network/10-photon-fleet.network");
    for line in [
        "Address=10.0.0.31/24",
        "Gateway=10.0.0.1",
        "DNS=10.0.0.2",
        "DNS=10.0.0.3",
    ] {
        assert!(net.lines().any(|l| l == line), "{line} missing:\n{net}");
    }
    let keys = sb.read("root/.ssh/authorized_keys");
    assert_eq!(keys.lines().next(), Some(odd_key), "{keys}");
    vc.assert_soap_valid();
}
