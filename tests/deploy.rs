//! End-to-end: `photon-fleet deploy` imports and clones against VMware's vcsim, and
//! pyvmomi (tests/lab/vc-check, our stand-in for govc) checks what vCenter ends up with.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/bake.rs"]
mod bake;
mod common;
use common::{json_ok as json, send_signal, succeeded};
#[path = "common/vcsim.rs"]
mod vcsim;
use vcsim::VcSim;

fn ova(dir: &Path, data: usize) -> String {
    vcsim::pack_ova(dir, data)
}

/// deploy of `ova` to the lab's cluster, JSON out.
fn deploy(ova: &str) -> Vec<&str> {
    vec!["--json", "deploy", ova, "--insecure", "--cluster", "DC0_C0"]
}

/// One field of every VM in a deploy report's result, in order.
fn per_vm<'a>(j: &'a Value, field: &str) -> Vec<&'a str> {
    j["result"]["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap())
        .collect()
}

fn guestinfo(vm: &Value, key: &str) -> String {
    vm["guestinfo"][format!("guestinfo.photon-fleet.{key}")]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn deploys_a_fleet_once_and_reruns_idempotently() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let ova = ova(dir.path(), 2 << 20);
    let run = |extra: &[&str]| {
        let mut a = deploy(&ova);
        a.extend_from_slice(extra);
        vc.run(&a, &[])
    };
    let j = json(&run(&[
        "--count",
        "5",
        "--name-prefix",
        "docker",
        "--set",
        "network.dns=10.0.0.2",
    ]));
    let sha = j["ova_sha256"].as_str().unwrap().to_string();
    let template = j["plan"]["template"].as_str().unwrap().to_string();
    assert_eq!(j["plan"]["template_action"], "import");
    let upload = &j["result"]["upload"];
    let ova_len = std::fs::metadata(&ova).unwrap().len();
    assert!(upload["bytes"].as_u64().unwrap() > 2 << 20);
    assert!(upload["bytes"].as_u64().unwrap() < ova_len);
    let results = j["result"]["vms"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert!(results
        .iter()
        .all(|v| v["ok"] == true && v["action"] == "create" && v["power_state"] == "poweredOn"));

    // What vCenter has, read by pyvmomi.
    for i in 1..=5 {
        let name = format!("docker-{i:02}");
        let vm = vc.vm(&name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(vm["power"], "poweredOn", "{vm}");
        assert_eq!(vm["template"], false);
        assert_eq!(guestinfo(&vm, "hostname"), name);
        assert_eq!(guestinfo(&vm, "network.dns"), "10.0.0.2");
    }
    let t = vc.vm(&template).unwrap();
    assert_eq!(t["template"], true);
    assert_eq!(t["power"], "poweredOff");
    assert!(t["annotation"]
        .as_str()
        .unwrap()
        .contains(&format!("ova-sha256={sha}")));
    let before = vc.vms().len();

    // Again, one more: the template is reused (no upload) and only docker-06 is made.
    let j = json(&run(&["--count", "6", "--name-prefix", "docker"]));
    assert_eq!(j["plan"]["template_action"], "reuse");
    assert!(j["result"].get("upload").is_none());
    let acts = per_vm(&j, "action");
    assert_eq!(
        acts,
        ["exists", "exists", "exists", "exists", "exists", "create"]
    );
    let vms = vc.vms();
    assert_eq!(vms.len(), before + 1);
    let marked = vms
        .iter()
        .filter(|v| v["annotation"].as_str().unwrap().contains(&sha))
        .count();
    assert_eq!(marked, 1, "one template for this OVA");

    // The same run again changes nothing at all.
    let j = json(&run(&["--count", "6", "--name-prefix", "docker"]));
    assert!(j["result"]["vms"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["action"] == "exists"));
    assert_eq!(vc.vms().len(), before + 1);

    // Interop: pyvmomi imports our OVA the way govc import.ova does.
    let out = vc.check(&["import", &ova, "imported-by-pyvmomi"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(vc.vm("imported-by-pyvmomi").is_some());
    vc.assert_soap_valid();
}

#[test]
fn fleet_file_govc_options_and_guest_ips() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let ova = ova(dir.path(), 64 << 10);
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        r#"
[vcenter]
cluster = "DC0_C0"
datastore = "LocalDS_0"
insecure = true

[[vm]]
name = "db-a"
hostname = "db-a.lab"
address = "10.0.0.21/24"
gateway = "10.0.0.1"
dns = ["10.0.0.2", "10.0.0.3"]
ssh_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBp admin@lab"

[[vm]]
name = "db-b"
"#,
    )
    .unwrap();
    let options = dir.path().join("options.json");
    std::fs::write(
        &options,
        r#"{"DiskProvisioning":"thin","IPAllocationPolicy":"dhcpPolicy","IPProtocol":"IPv4",
"PropertyMapping":[{"Key":"hostname","Value":""},{"Key":"network.dns","Value":"192.168.1.1"}],
"NetworkMapping":[{"Name":"VM Network","Network":"VM Network"}],"Annotation":"fleet db",
"MarkAsTemplate":false,"PowerOn":false,"InjectOvfEnv":false,"WaitForIP":false,"Name":null}"#,
    )
    .unwrap();
    let f = fleet.to_str().unwrap();
    let o = options.to_str().unwrap();

    // The guest's tools report an address only after boot: deploy waits for it.
    let child = vc.spawn(
        &[
            "--json",
            "deploy",
            &ova,
            "--fleet",
            f,
            "--options",
            o,
            "--wait-ip",
            "--wait-ip-timeout",
            "120",
        ],
        &[],
    );
    let start = Instant::now();
    loop {
        let on = ["db-a", "db-b"]
            .iter()
            .all(|n| vc.vm(n).is_some_and(|v| v["power"] == "poweredOn"));
        if on {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "VMs never came up"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    for (name, ip) in [("db-a", "10.0.0.21"), ("db-b", "10.0.0.99")] {
        let out = vc.check(&["guest-ip", name, ip]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = child.wait_with_output().unwrap();
    let j = json(&out);
    let ips = per_vm(&j, "ip");
    assert_eq!(ips, ["10.0.0.21", "10.0.0.99"]);

    let a = vc.vm("db-a").unwrap();
    assert_eq!(guestinfo(&a, "hostname"), "db-a.lab");
    assert_eq!(guestinfo(&a, "network.mode"), "static");
    assert_eq!(guestinfo(&a, "network.address"), "10.0.0.21/24");
    assert_eq!(guestinfo(&a, "network.gateway"), "10.0.0.1");
    assert_eq!(guestinfo(&a, "network.dns"), "10.0.0.2,10.0.0.3");
    assert!(guestinfo(&a, "ssh.authorized_key").starts_with("ssh-ed25519 "));
    assert_eq!(a["annotation"], "fleet db");
    let b = vc.vm("db-b").unwrap();
    assert_eq!(guestinfo(&b, "hostname"), "db-b");
    assert_eq!(
        guestinfo(&b, "network.dns"),
        "192.168.1.1",
        "from the options file"
    );
    assert_eq!(guestinfo(&b, "network.address"), "");

    // No IP in time: the VM is there, but the run failed and says why.
    let out = vc.run(
        &[
            "deploy",
            &ova,
            "--insecure",
            "--cluster",
            "DC0_C0",
            "--name-prefix",
            "lonely",
            "--wait-ip",
            "--wait-ip-timeout",
            "2",
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("1 of 1 VMs failed: lonely-01 (no guest IP after 2 s"),
        "{err}"
    );
    assert_eq!(vc.vm("lonely-01").unwrap()["power"], "poweredOn");

    // Mistakes in either file: exit 2, the key named, nothing done.
    std::fs::write(&options, r#"{"DiskProvisioning":"thin","PowerOnn":true}"#).unwrap();
    let out = vc.run(&["deploy", &ova, "--fleet", f, "--options", o], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PowerOnn"));
    std::fs::write(&fleet, "[vcenter]\ncluster = \"DC0_C0\"\nclustre = \"x\"\n").unwrap();
    let out = vc.run(&["deploy", &ova, "--fleet", f], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("clustre") && err.contains("line 3"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1);
    vc.assert_soap_valid();
}

/// build-ova of examples/fleet.toml on a Photon-like base: the OVA and its fleet.lock.
fn build_example(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (base, _) = bake::base_ova(dir, "64MiB");
    let plugin = bake::plugin_dir(dir, "0.21.2", 4096);
    let vib = bake::vib(dir, "0.21.2.8b7dc30-0.0.1");
    let fleet = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fleet.toml");
    let out = dir.join("out");
    bake::build_ova(&["-q"], &fleet, &base, &plugin, &vib, &out);
    (out.join("photon-docker-5.0.ova"), out.join("fleet.lock"))
}

#[test]
fn deploys_what_build_ova_made_and_only_that_with_its_lock() {
    let vc = VcSim::start();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (built, lock) = build_example(dir);
    let (built, lock) = (bake::s(&built), bake::s(&lock));

    let mut a = deploy(built);
    a.extend(["--lock", lock, "--count", "2", "--name-prefix", "baked"]);
    let j = json(&vc.run(&a, &[]));
    assert_eq!(j["plan"]["template_action"], "import");
    for name in ["baked-01", "baked-02"] {
        let vm = vc.vm(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(vm["power"], "poweredOn", "{vm}");
        assert_eq!(guestinfo(&vm, "hostname"), name);
    }
    let before = vc.vms().len();

    // Another OVA with this lock: refused before anything reaches vCenter.
    let other = ova(dir, 1 << 20);
    let mut a = deploy(&other);
    a.extend(["--lock", lock, "--count", "1", "--name-prefix", "other"]);
    let out = vc.run(&a, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&other) && err.contains("manifest sha256") && err.contains(lock),
        "{err}"
    );
    assert_eq!(vc.vms().len(), before, "nothing imported or cloned");
    vc.assert_soap_valid();
}

/// Starts tests/lab/tcp-fault in front of vcsim; returns it and its URL.
fn fault_relay(vc: &VcSim, args: &[&str]) -> (std::process::Child, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/tcp-fault");
    let mut child = Command::new(script)
        .arg(vc.addr())
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("https://127.0.0.1:{}/sdk", vcsim::first_line(&mut child));
    (child, url)
}

/// A 12 MiB OVA, the deploy arguments for it and the template name its plan gives.
fn big_ova_plan(vc: &VcSim, dir: &Path) -> (Vec<String>, String) {
    let ova = ova(dir, 12 << 20);
    let args: Vec<String> = deploy(&ova).into_iter().map(String::from).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = json(&vc.run(&[&a[..], &["--dry-run"]].concat(), &[]));
    let template = plan["plan"]["template"].as_str().unwrap().to_string();
    (args, template)
}

#[test]
fn interrupted_uploads_leave_no_half_imported_vm() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let (args, template) = big_ova_plan(&vc, dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let before = vc.vms().len();

    // vCenter drops the upload connection after 2 MB: the lease is aborted and the VM
    // vCenter made for the import is removed.
    let (mut relay, url) = fault_relay(&vc, &["--cut-after", "2000000"]);
    let out = vc.run(&args, &[("PHOTON_FLEET_VC_URL", &url)]);
    let _ = relay.kill();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("uploading") && err.contains("lease aborted"),
        "{err}"
    );
    assert!(vc.vm(&template).is_none(), "half-imported VM left");
    assert_eq!(vc.vms().len(), before);

    // vCenter goes away mid-upload: nothing can be cleaned up now; the error says what a
    // rerun does, and the rerun removes the leftover (it carries our import marker).
    let (mut relay, url) = fault_relay(&vc, &["--rate", "2000000"]);
    let child = vc.spawn(&args, &[("PHOTON_FLEET_VC_URL", &url)]);
    wait_for_import_marker(&vc, &template);
    relay.kill().unwrap();
    relay.wait().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("rerun"), "{err}");
    assert!(vc.vm(&template).is_some(), "the leftover vCenter kept");

    let j = json(&vc.run(&args, &[]));
    assert_eq!(j["plan"]["template_action"], "replace-leftover");
    assert_eq!(j["plan"]["remove"][0]["name"], template.as_str());
    assert_eq!(j["result"]["vms"][0]["ok"], true);
    assert_eq!(vc.vm(&template).unwrap()["template"], true);
}

/// Waits until vCenter has the VM of an import in progress under `name`, marked as ours.
fn wait_for_import_marker(vc: &VcSim, name: &str) -> Value {
    let start = Instant::now();
    loop {
        if let Some(vm) = vc.vm(name) {
            if vm["annotation"]
                .as_str()
                .unwrap()
                .starts_with("photon-fleet:importing run=")
            {
                return vm;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "import never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_killed_deploy_leaves_a_marked_leftover_that_the_rerun_replaces() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let (args, template) = big_ova_plan(&vc, dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // SIGKILL mid-upload: no cleanup can run. The VM vCenter made is marked as ours
    // already, because the marker went in with the import spec.
    let (mut relay, url) = fault_relay(&vc, &["--rate", "2000000"]);
    let mut child = vc.spawn(&args, &[("PHOTON_FLEET_VC_URL", &url)]);
    let left = wait_for_import_marker(&vc, &template);
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = relay.kill();
    assert_eq!(left["template"], false);
    assert_eq!(left["power"], "poweredOff");

    // The dry run names exactly that VM, and why it may go.
    let out = vc.run(
        &args[1..]
            .iter()
            .copied()
            .chain(["--dry-run"])
            .collect::<Vec<_>>(),
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    succeeded(&out);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("remove"))
        .unwrap_or_else(|| panic!("no removal shown: {text}"));
    assert!(
        line.contains(&template) && line.contains("interrupted photon-fleet import"),
        "{line}"
    );
    assert_eq!(text.matches("remove ").count(), 1, "{text}");

    let j = json(&vc.run(&args, &[]));
    assert_eq!(j["plan"]["template_action"], "replace-leftover");
    assert!(j["result"]["upload"]["bytes"].as_u64().unwrap() > 12 << 20);
    let t = vc.vm(&template).unwrap();
    assert_eq!(t["template"], true);
    assert!(t["annotation"]
        .as_str()
        .unwrap()
        .contains("photon-fleet:ova-sha256="));
    assert!(!t["annotation"].as_str().unwrap().contains("importing"));
    let clone = vc.vm("photon-docker-01").unwrap();
    assert_eq!(clone["power"], "poweredOn");
    assert_eq!(clone["fleet_ova"], j["ova_sha256"]);
}

#[test]
fn vms_photon_fleet_did_not_make_are_never_touched() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let ova = ova(dir.path(), 64 << 10);
    let check = |args: &[&str]| {
        let out = vc.check(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // A powered-on VM of vcsim's inventory, and a powered-off one with no annotation.
    check(&["power", "DC0_C0_RP0_VM1", "off"]);
    let before = vc.vms();
    for (name, power) in [
        ("DC0_C0_RP0_VM0", "poweredOn"),
        ("DC0_C0_RP0_VM1", "poweredOff"),
    ] {
        let was = vc.vm(name).unwrap();
        assert_eq!(was["power"], power);
        for extra in [&["--dry-run"][..], &[]] {
            let mut a = deploy(&ova);
            a.extend(["--template", name, "--count", "1"]);
            a.extend_from_slice(extra);
            let out = vc.run(&a, &[]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(
                err.contains(&format!("VM '{name}' already exists ({power}, annotation"))
                    && err.contains("photon-fleet did not make it")
                    && err.contains("--template"),
                "{err}"
            );
            assert_eq!(vc.vm(name).unwrap(), was, "{name} changed");
        }
    }
    assert_eq!(vc.vms(), before, "nothing imported, cloned or removed");

    // A foreign VM under a fleet VM's name: refused before the import, never replaced.
    check(&["foreign", "photon-docker-01", "the web team's VM"]);
    let foreign = vc.vm("photon-docker-01").unwrap();
    let before = vc.vms();
    let mut a = deploy(&ova);
    a.extend(["--count", "2"]);
    let out = vc.run(&a, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "VM 'photon-docker-01' already exists (poweredOff, annotation \"the web team's VM\")"
        ) && err.contains("--name-prefix"),
        "{err}"
    );
    assert_eq!(vc.vms(), before);
    assert_eq!(vc.vm("photon-docker-01").unwrap(), foreign);

    // Fleet VMs photon-fleet did clone are its own: a rerun counts them as there.
    let mut a = deploy(&ova);
    a.extend(["--count", "2", "--name-prefix", "mine"]);
    json(&vc.run(&a, &[]));
    let j = json(&vc.run(&a, &[]));
    let acts = per_vm(&j, "action");
    assert_eq!(acts, ["exists", "exists"]);
    vc.assert_soap_valid();
}

#[test]
fn ova_made_by_other_tools_deploys() {
    // The layout `govc export.ovf` + tar gives: a vmw-flavoured OVF without ProductSection,
    // a streamOptimized disk written by qemu-img, a SHA256 manifest, GNU tar.
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let raw = d.join("src.raw");
    std::fs::File::create(&raw)
        .unwrap()
        .set_len(32 << 20)
        .unwrap();
    let vmdk = d.join("other-disk-0.vmdk");
    let st = Command::new("qemu-img")
        .args(["convert", "-O", "vmdk", "-o", "subformat=streamOptimized"])
        .arg(&raw)
        .arg(&vmdk)
        .status()
        .unwrap();
    assert!(st.success());
    let size = std::fs::metadata(&vmdk).unwrap().len();
    let ovf = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="other-disk-0.vmdk" ovf:id="file1" ovf:size="{size}"/></References>
  <DiskSection><Info>Virtual disk information</Info><Disk ovf:capacity="32" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <NetworkSection><Info>The list of logical networks</Info><Network ovf:name="VM Network"><Description>The VM Network network</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="other">
    <Info>A virtual machine</Info><Name>other</Name>
    <OperatingSystemSection ovf:id="36" vmw:osType="otherLinux64Guest"><Info>The operating system installed</Info></OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>1 virtual CPU(s)</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>1024MB of memory</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>E1000</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#
    );
    std::fs::write(d.join("other.ovf"), ovf).unwrap();
    let sums = Command::new("sha256sum")
        .args(["other.ovf", "other-disk-0.vmdk"])
        .current_dir(d)
        .output()
        .unwrap();
    let mf: String = String::from_utf8(sums.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (hash, file) = l.split_once("  ").unwrap();
            format!("SHA256({file})= {hash}\n")
        })
        .collect();
    std::fs::write(d.join("other.mf"), mf).unwrap();
    let st = Command::new("tar")
        .args([
            "cf",
            "other.ova",
            "other.ovf",
            "other.mf",
            "other-disk-0.vmdk",
        ])
        .current_dir(d)
        .status()
        .unwrap();
    assert!(st.success());
    let other = d.join("other.ova");
    let j = json(&vc.run(
        &[
            "--json",
            "deploy",
            other.to_str().unwrap(),
            "--insecure",
            "--cluster",
            "DC0_C0",
            "--name-prefix",
            "other",
        ],
        &[],
    ));
    assert_eq!(j["result"]["vms"][0]["ok"], true, "{j}");
    let vm = vc.vm("other-01").unwrap();
    assert_eq!(vm["power"], "poweredOn");
    assert_eq!(guestinfo(&vm, "hostname"), "other-01");
    vc.assert_soap_valid();
}

/// vCenter numbers a template's vApp properties its own way (another tool's import, an
/// edit in the UI): deploy reads the keys and edits by them. A clone whose edit vCenter
/// refuses fails alone, in one line naming the VM and the property.
#[test]
fn vapp_edits_follow_the_templates_keys_and_a_refused_clone_fails_alone() {
    let vc = VcSim::start_with(&["-refuse-vapp", "baked-03"]);
    let d = tempfile::tempdir().unwrap();
    let (built, _) = build_example(d.path());
    let built = bake::s(&built).to_string();
    let mut a = deploy(&built);
    a.extend(["--count", "1", "--name-prefix", "baked"]);
    let j = json(&vc.run(&a, &[]));
    let template = j["plan"]["template"].as_str().unwrap().to_string();
    let first = vc.vm("baked-01").unwrap();
    assert_eq!(first["vapp"]["hostname"]["value"], "baked-01", "{first}");

    // Renumber two properties of the template far from where the import put them.
    let keys = |vm: &Value| {
        let mut k: Vec<i64> = vm["vapp"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p["key"].as_i64().unwrap())
            .collect();
        k.sort();
        k
    };
    for (id, key) in [("hostname", "700"), ("ssh.authorized_key", "701")] {
        let out = vc.check(&["rekey", &template, id, key]);
        succeeded(&out);
    }
    let t = vc.vm(&template).unwrap();
    assert_eq!(t["vapp"]["hostname"]["key"], 700, "{t}");
    assert!(keys(&t).contains(&701));

    a = deploy(&built);
    a.extend(["--count", "3", "--name-prefix", "baked"]);
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRekeyed ops@lab";
    let set = format!("ssh.authorized_key={key}");
    a.extend(["--set", &set]);
    let out = vc.run(&a, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let failed: Vec<&str> = err.lines().filter(|l| l.contains("baked-03")).collect();
    assert_eq!(failed.len(), 1, "{err}");
    assert!(
        failed[0].contains("failed") && failed[0].contains("property "),
        "{err}"
    );
    assert!(vc.vm("baked-03").is_none(), "the refused clone left a VM");
    let second = vc.vm("baked-02").expect("the other clone went on");
    assert_eq!(second["power"], "poweredOn");
    assert_eq!(second["vapp"]["hostname"]["key"], 700);
    assert_eq!(second["vapp"]["hostname"]["value"], "baked-02");
    assert_eq!(second["vapp"]["ssh.authorized_key"]["value"], key);
    let ro = &second["vapp"]["vdvs.plugin_version"];
    assert_eq!(ro["user"], false);
    assert_eq!(
        ro["value"].as_str().unwrap_or(""),
        "",
        "read-only: never edited"
    );
    let env = second["guestinfo"]["guestinfo.ovfEnv"].as_str().unwrap();
    assert!(
        env.contains(r#"<Property oe:key="hostname" oe:value="baked-02"/>"#),
        "{env}"
    );

    // Asking to set the read-only property: refused before anything changes.
    let before = vc.vms().len();
    a = deploy(&built);
    a.extend(["--count", "4", "--name-prefix", "baked"]);
    a.extend(["--set", "vdvs.plugin_version=9.9"]);
    let out = vc.run(&a, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("'vdvs.plugin_version' is read-only"), "{err}");
    assert_eq!(vc.vms().len(), before);
    vc.assert_soap_valid();
}

/// Ctrl-C (SIGINT) or SIGTERM while a disk uploads: the lease is aborted and the VM vCenter
/// made for the import removed before the process exits; nothing is left for a rerun.
#[test]
fn a_signal_during_the_upload_aborts_the_lease_and_removes_the_vm() {
    let vc = VcSim::start();
    let dir = tempfile::tempdir().unwrap();
    let (args, template) = big_ova_plan(&vc, dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let before = vc.vms().len();
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let (mut relay, url) = fault_relay(&vc, &["--rate", "1000000"]);
        let child = vc.spawn(&args, &[("PHOTON_FLEET_VC_URL", &url)]);
        wait_for_import_marker(&vc, &template);
        std::thread::sleep(Duration::from_millis(500));
        send_signal(child.id(), signal);
        let out = child.wait_with_output().unwrap();
        let _ = relay.kill();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{err}");
        assert!(err.contains("import in progress aborted"), "{err}");
        assert!(
            vc.vm(&template).is_none(),
            "SIG{signal}: the half-imported VM is left"
        );
        assert_eq!(vc.vms().len(), before);
    }
}
