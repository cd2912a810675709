//! The qemu machine `try` boots: accelerator (KVM only when it can really run a stock
//! kernel), firmware, CPUs, memory, disk controller and NIC as the OVF declares them, the
//! disk as a qcow2 overlay over the VMDK inside the OVA, the OVF environment CD-ROM, and the
//! serial console on stdout. [`args`] is pure; the run is in `super`.

use ova::ovf::OvfInfo;
use serde::Serialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Kvm,
    Tcg,
}

/// What was asked for: `auto` takes KVM when it works here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccelWish {
    #[default]
    Auto,
    Kvm,
    Tcg,
}

/// The accelerator that runs, and why.
#[derive(Debug, Clone, Serialize)]
pub struct AccelChoice {
    pub accel: Accel,
    pub why: String,
}

/// Why KVM cannot run a stock kernel here, or `None` when it can.
pub fn kvm_unusable() -> Option<String> {
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return Some("/dev/kvm is missing or cannot be opened".into());
    }
    if Path::new("/sys/module/kvm_pvm").exists() {
        return Some(
            "/dev/kvm is kvm_pvm, a paravirtual KVM without VT-x that cannot run a stock kernel"
                .into(),
        );
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or_default();
    if !flags.split_whitespace().any(|f| f == "vmx" || f == "svm") {
        return Some("the CPU offers no VT-x/AMD-V (no vmx or svm flag)".into());
    }
    None
}

/// The accelerator for `wish`: KVM when asked or when it works, else TCG; KVM asked for
/// and unusable is an error saying why.
pub fn choose(wish: AccelWish) -> Result<AccelChoice, String> {
    match (wish, kvm_unusable()) {
        (AccelWish::Tcg, _) => Ok(AccelChoice {
            accel: Accel::Tcg,
            why: "asked for".into(),
        }),
        (AccelWish::Kvm, Some(why)) => Err(why),
        (_, None) => Ok(AccelChoice {
            accel: Accel::Kvm,
            why: "/dev/kvm works".into(),
        }),
        (AccelWish::Auto, Some(why)) => Ok(AccelChoice {
            accel: Accel::Tcg,
            why,
        }),
    }
}

/// OVMF's code and variable-store templates, where distributions put them.
const OVMF: &[(&str, &str)] = &[
    (
        "/usr/share/OVMF/OVMF_CODE_4M.fd",
        "/usr/share/OVMF/OVMF_VARS_4M.fd",
    ),
    (
        "/usr/share/OVMF/OVMF_CODE.fd",
        "/usr/share/OVMF/OVMF_VARS.fd",
    ),
    (
        "/usr/share/edk2/ovmf/OVMF_CODE.fd",
        "/usr/share/edk2/ovmf/OVMF_VARS.fd",
    ),
    (
        "/usr/share/edk2/x64/OVMF_CODE.4m.fd",
        "/usr/share/edk2/x64/OVMF_VARS.4m.fd",
    ),
];

/// OVMF's (code, variables template) on this machine.
pub fn ovmf() -> Option<(PathBuf, PathBuf)> {
    OVMF.iter()
        .map(|(c, v)| (PathBuf::from(c), PathBuf::from(v)))
        .find(|(c, v)| c.exists() && v.exists())
}

/// The qemu device for an OVF SCSI controller subtype (None: the disk goes on AHCI).
pub fn scsi_device(subtype: Option<&str>) -> Option<&'static str> {
    Some(match subtype?.to_ascii_lowercase().as_str() {
        "lsilogicsas" => "mptsas1068",
        "lsilogic" | "buslogic" => "lsi53c895a",
        _ => "pvscsi",
    })
}

/// The qemu device for an OVF NIC subtype.
pub fn nic_device(subtype: Option<&str>) -> &'static str {
    match subtype.unwrap_or("VmxNet3").to_ascii_lowercase().as_str() {
        "e1000" => "e1000",
        "e1000e" => "e1000e",
        _ => "vmxnet3",
    }
}

/// Everything the command line is made from.
#[derive(Debug, Clone)]
pub struct Machine {
    pub accel: Accel,
    pub cpus: u64,
    pub memory_mb: u64,
    /// OVMF code and this VM's writable variable store; None boots SeaBIOS.
    pub efi: Option<(PathBuf, PathBuf)>,
    /// The OVF's SCSI controller, as a qemu device.
    pub scsi: Option<&'static str>,
    /// The disk on that controller; false: on the AHCI controller (see [`Machine::for_firmware`]).
    pub disk_on_scsi: bool,
    pub nic: &'static str,
    pub overlay: PathBuf,
    pub env_iso: Option<PathBuf>,
}

impl Machine {
    /// The machine the OVF describes (2 CPUs and 2 GiB where it is silent).
    pub fn from_ovf(info: &OvfInfo, accel: Accel, overlay: PathBuf) -> Self {
        Self {
            accel,
            cpus: info.cpus.unwrap_or(2).clamp(1, 16),
            memory_mb: info.memory_mb.unwrap_or(2048).clamp(256, 65536),
            efi: None,
            scsi: if info.scsi_types.is_empty() {
                None
            } else {
                scsi_device(info.scsi_types.first().map(String::as_str))
            },
            disk_on_scsi: !info.scsi_types.is_empty(),
            nic: nic_device(info.nic_types.first().map(String::as_str)),
            overlay,
            env_iso: None,
        }
    }

    /// Boots EFI firmware from `code`/`vars`. OVMF as distributions build it has no driver
    /// for VMware's SCSI controllers (PvScsiDxe is left out), so it could not read the
    /// disk: the disk goes on AHCI, and the OVF's controller stays in the machine without
    /// it. Returns what the disk is attached to, for the report.
    pub fn for_firmware(&mut self, efi: Option<(PathBuf, PathBuf)>) -> String {
        let on = match (self.scsi, &efi) {
            (Some(dev), Some(_)) => {
                self.disk_on_scsi = false;
                format!(
                    "ahci (OVMF has no {dev} driver; the {dev} controller is there without a disk)"
                )
            }
            (Some(dev), None) => dev.to_string(),
            (None, _) => "ahci".to_string(),
        };
        self.efi = efi;
        on
    }

    /// Whether the OVF asks for EFI firmware.
    pub fn wants_efi(info: &OvfInfo) -> bool {
        info.firmware.as_deref() == Some("efi")
    }
}

fn push(out: &mut Vec<OsString>, parts: &[&str]) {
    out.extend(parts.iter().map(OsString::from));
}

fn file_opt(prefix: &str, path: &Path) -> OsString {
    // qemu option values escape a comma by doubling it.
    let mut s = OsString::from(prefix);
    s.push(path.as_os_str().to_string_lossy().replace(',', ",,"));
    s
}

/// qemu-system-x86_64's arguments: no default devices, no display, serial console on
/// stdout, the OVF's hardware.
pub fn args(m: &Machine) -> Vec<OsString> {
    let mut a = Vec::new();
    push(
        &mut a,
        &["-nodefaults", "-no-user-config", "-display", "none"],
    );
    push(
        &mut a,
        &["-machine", "q35", "-chardev", "stdio,id=console,signal=off"],
    );
    push(&mut a, &["-serial", "chardev:console", "-monitor", "none"]);
    match m.accel {
        Accel::Kvm => push(&mut a, &["-accel", "kvm", "-cpu", "host"]),
        Accel::Tcg => push(&mut a, &["-accel", "tcg,thread=multi", "-cpu", "max"]),
    }
    push(
        &mut a,
        &["-smp", &m.cpus.to_string(), "-m", &m.memory_mb.to_string()],
    );
    if let Some((code, vars)) = &m.efi {
        a.push("-drive".into());
        a.push(file_opt(
            "if=pflash,format=raw,unit=0,readonly=on,file=",
            code,
        ));
        a.push("-drive".into());
        a.push(file_opt("if=pflash,format=raw,unit=1,file=", vars));
    }
    a.push("-drive".into());
    a.push(file_opt("if=none,id=disk0,format=qcow2,file=", &m.overlay));
    if let Some(dev) = m.scsi {
        push(&mut a, &["-device", &format!("{dev},id=scsi0")]);
    }
    if m.scsi.is_some() && m.disk_on_scsi {
        push(
            &mut a,
            &["-device", "scsi-hd,drive=disk0,bus=scsi0.0,bootindex=0"],
        );
    } else {
        push(
            &mut a,
            &["-device", "ide-hd,drive=disk0,bus=ide.0,bootindex=0"],
        );
    }
    push(
        &mut a,
        &[
            "-netdev",
            "user,id=net0",
            "-device",
            &format!("{},netdev=net0,romfile=", m.nic),
        ],
    );
    if let Some(iso) = &m.env_iso {
        a.push("-drive".into());
        a.push(file_opt(
            "if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=",
            iso,
        ));
        push(&mut a, &["-device", "ide-cd,drive=cd0,bus=ide.1"]);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(m: &Machine) -> String {
        args(m)
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_ovf_hardware_becomes_qemu_devices() {
        let info = OvfInfo {
            cpus: Some(4),
            memory_mb: Some(4096),
            firmware: Some("efi".into()),
            scsi_types: vec!["VirtualSCSI".into()],
            nic_types: vec!["VmxNet3".into()],
            ..Default::default()
        };
        assert!(Machine::wants_efi(&info));
        let mut m = Machine::from_ovf(&info, Accel::Tcg, "/w/a,b.qcow2".into());
        let bios = joined(&m);
        assert!(
            bios.contains("-device pvscsi,id=scsi0 -device scsi-hd,drive=disk0,bus=scsi0.0"),
            "SeaBIOS boots from PVSCSI: {bios}"
        );
        let on = m.for_firmware(Some(("/fw/code.fd".into(), "/w/vars.fd".into())));
        assert!(on.starts_with("ahci (OVMF has no pvscsi driver"), "{on}");
        m.env_iso = Some("/w/env.iso".into());
        let line = joined(&m);
        for want in [
            "-accel tcg,thread=multi -cpu max",
            "-smp 4 -m 4096",
            "if=pflash,format=raw,unit=0,readonly=on,file=/fw/code.fd",
            "file=/w/a,,b.qcow2",
            "-device pvscsi,id=scsi0 -device ide-hd,drive=disk0,bus=ide.0",
            "-device vmxnet3,netdev=net0",
            "media=cdrom,readonly=on,format=raw,file=/w/env.iso",
        ] {
            assert!(line.contains(want), "{want} not in {line}");
        }
    }

    #[test]
    fn silent_ovf_gets_defaults_and_bios() {
        let info = OvfInfo {
            nic_types: vec!["E1000".into()],
            ..Default::default()
        };
        assert!(!Machine::wants_efi(&info));
        let m = Machine::from_ovf(&info, Accel::Kvm, "/w/o.qcow2".into());
        let line = joined(&m);
        assert!(line.contains("-accel kvm -cpu host"), "{line}");
        assert!(line.contains("-smp 2 -m 2048"), "{line}");
        assert!(line.contains("ide-hd,drive=disk0"), "{line}");
        assert!(line.contains("-device e1000,"), "{line}");
        assert!(!line.contains("pflash"), "{line}");
        assert_eq!(scsi_device(Some("lsilogic")), Some("lsi53c895a"));
    }

    #[test]
    fn tcg_when_asked_kvm_refused_with_the_reason_when_unusable() {
        assert_eq!(choose(AccelWish::Tcg).unwrap().accel, Accel::Tcg);
        match kvm_unusable() {
            Some(why) => {
                let e = choose(AccelWish::Kvm).unwrap_err();
                assert!(e.contains(&why), "{e}");
                let auto = choose(AccelWish::Auto).unwrap();
                assert_eq!(auto.accel, Accel::Tcg);
                assert_eq!(auto.why, why);
            }
            None => assert_eq!(choose(AccelWish::Auto).unwrap().accel, Accel::Kvm),
        }
    }
}
