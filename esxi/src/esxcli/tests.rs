//! Parsers on the shapes ESXi prints (from public logs; see shared/reference/vdvs-esxi.md).
use super::*;

#[test]
fn versions_and_levels() {
    let v = EsxiVersion::parse("VMware ESXi 6.7.0 build-15160138\nVMware ESXi 6.7.0 Update 3\n")
        .unwrap();
    assert_eq!(v.numbers(), vec![6, 7, 0]);
    assert_eq!(v.release, "VMware ESXi 6.7.0 Update 3");
    assert!(EsxiVersion::parse("Linux 6.1").is_none());
    assert!(level_rank("community") > level_rank("PartnerSupported"));
    assert_eq!(level_rank("VMwareAccepted"), level_rank("accepted"));
    assert_eq!(level_rank("bogus"), None);
}

#[test]
fn vib_get_and_results() {
    let get = "VMWare_bootbank_esx-vmdkops-service_0.20.15f5e1d-0.0.1\n   Name: esx-vmdkops-service\n   Version: 0.20.15f5e1d-0.0.1\n   Type: bootbank\n   Vendor: VMWare\n   Acceptance Level: VMwareAccepted\n   Summary: x\n";
    let v = parse_vib_get(get).unwrap();
    assert_eq!(v.version, "0.20.15f5e1d-0.0.1");
    assert_eq!(v.acceptance, "VMwareAccepted");
    let ok = "Installation Result\n   Message: Operation finished successfully.\n   Reboot Required: false\n   VIBs Installed: VMWare_bootbank_esx-vmdkops-service_0.12.ccfc38f-0.0.1\n   VIBs Removed:\n   VIBs Skipped:\n";
    let r = parse_result(ok).unwrap();
    assert_eq!(
        r.installed,
        ["VMWare_bootbank_esx-vmdkops-service_0.12.ccfc38f-0.0.1"]
    );
    assert!(r.removed.is_empty() && !r.reboot_required);
    let same = "Installation Result\n   Message: Host is not changed.\n   Reboot Required: false\n   VIBs Installed:\n   VIBs Removed:\n   VIBs Skipped: A, B\n";
    assert_eq!(parse_result(same).unwrap().skipped, ["A", "B"]);
    assert!(parse_result("garbage").is_none());
}

#[test]
fn errors_get_class_and_remedy() {
    let e = parse_error(" [AcceptanceConfigError]\n VIB x's acceptance level is community, which is not compliant with the ImageProfile acceptance level partner\n To change the host acceptance level, use the 'esxcli software acceptance set' command.\n Please refer to the log file for more details.\n");
    assert_eq!(e.class, "AcceptanceConfigError");
    assert!(e.message.contains("acceptance level is community"));
    assert!(e
        .remedy
        .contains("esxcli software acceptance set --level=CommunitySupported"));
    let e = parse_error("[DependencyError] VIB V requires esx-version >= 6.0.0, but the requirement cannot be satisfied within the ImageProfile.\n Please refer to the log file for more details.");
    assert_eq!(e.class, "DependencyError");
    assert!(e.remedy.contains("6.0"));
    let e =
        parse_error(" [VibDownloadError]\n ('x.vib', '', \"unknown url type\")\n url = x.vib\n");
    assert!(!e.message.contains("url ="), "{}", e.message);
    assert!(e.remedy.contains("absolute"));
    let e = parse_error(" [InstallationError]\n Error in running ['/etc/init.d/vmdk-opsd', 'start', 'install']:\n Return code: 6\n");
    assert!(e.remedy.contains("vmdk_ops.log"));
    assert_eq!(parse_error("sh: esxcli: not found").class, "Error");
}

#[test]
fn ramdisk_and_service() {
    let t = "Ramdisk Name  System  Include in Coredumps   Reserved      Maximum       Used  Peak Used  Free  Reserved Free  Maximum Inodes  Allocated Inodes  Used Inodes  Mount Point\n------------ ...\nroot            true                  true  32768 KiB    32768 KiB   3204 KiB   3400 KiB  90 %           90 %            8192              8192         4467  /\ntmp            false                 false   2048 KiB   262144 KiB     100 KiB   9000 KiB  99 %           99 %            8192              1024           12  /tmp\n";
    assert_eq!(tmp_free_kib(t), Some(262044));
    assert_eq!(tmp_free_kib("nothing"), None);
    assert_eq!(
        opsd_pid("vmdkops-opsd is running pid=607737\n"),
        Some(607737)
    );
    assert_eq!(opsd_pid("vmdkops-opsd is not running\n"), None);
}
