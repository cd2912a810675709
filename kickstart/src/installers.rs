//! What each Photon OS installer release accepts at the top of a kickstart, read from
//! vmware/photon-os-installer's own code (`Installer.known_keys` in
//! `photon_installer/installer.py`; `public_key` in `modules/m_updatesshconfig.py`) at
//! each tag. The installer refuses any other key ("Unknown install_config keys: ...").
//! [`check`] holds a kickstart against one release.

/// How a release takes `public_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    /// A plain string (`m_updatesshconfig` writes it as is).
    Plain,
    /// An object `{key, reason}` (asserted to be a dict).
    WithReason,
}

/// One installer release.
#[derive(Debug)]
pub struct Release {
    pub tag: &'static str,
    pub keys: &'static [&'static str],
    pub public_key: KeyForm,
}

#[rustfmt::skip]
const V2_4: &[&str] = &[
    "additional_files", "additional_packages", "additional_rpms_path", "arch",
    "autopartition", "bootmode", "disk", "disks", "eject_cdrom", "hostname", "linux_flavor",
    "live", "log_level", "ostree", "packages", "packagelist_file", "partition_type",
    "partitions", "network", "password", "postinstall", "postinstallscripts", "preinstall",
    "preinstallscripts", "public_key", "photon_docker_image", "repos", "search_path",
    "setup_grub_script", "shadow_password", "type", "ui",
];

#[rustfmt::skip]
const V2_7: &[&str] = &[
    "additional_files", "additional_packages", "additional_rpms_path", "ansible", "arch",
    "autopartition", "bootmode", "disk", "disks", "docker", "eject_cdrom", "hostname",
    "insecure_repo", "linux_flavor", "live", "log_level", "manifest_file", "ostree",
    "packages", "packagelist_file", "packagelist_files", "partition_type", "partitions",
    "network", "no_unmount", "no_clean", "password", "postinstall", "postinstallscripts",
    "preinstall", "preinstallscripts", "public_key", "photon_docker_image", "repos",
    "search_path", "setup_grub_script", "shadow_password", "tdnf_cachedir", "type", "ui",
    "user_grub_cfg_file",
];

#[rustfmt::skip]
const V2_8: &[&str] = &[
    "additional_files", "additional_packages", "additional_rpms_path", "ansible", "arch",
    "autopartition", "bootmode", "build_mounts", "disk", "disks", "docker", "dps",
    "eject_cdrom", "environment", "firstboot", "hostname", "insecure_repo", "linux_flavor",
    "live", "log_level", "manifest_file", "ostree", "packages", "packagelist_file",
    "packagelist_files", "partition_type", "partitions", "security", "network", "no_unmount",
    "no_clean", "password", "postinstall", "postinstallscripts", "preinstall",
    "preinstallscripts", "prepkgsinstall", "prepkgsinstallscripts", "public_key",
    "photon_docker_image", "repos", "search_path", "setup_grub_script", "shadow_password",
    "tdnf_cachedir", "type", "ui", "user_grub_cfg_file",
];

/// v2.9 and the main branch (f80e7e6) accept the same keys.
#[rustfmt::skip]
const V2_9: &[&str] = &[
    "additional_files", "additional_packages", "additional_rpms_path", "ansible", "arch",
    "archives", "autopartition", "bootmode", "build_mounts", "disk", "disks", "docker", "dps",
    "eject_cdrom", "environment", "firstboot", "grub", "hostname", "insecure_repo",
    "linux_flavor", "live", "log_level", "manifest_file", "packages", "packagelist_file",
    "packagelist_files", "partition_type", "partitions", "security", "services", "network",
    "no_unmount", "no_clean", "password", "postinstall", "postinstallscripts", "preinstall",
    "preinstallscripts", "prepkgsinstall", "prepkgsinstallscripts", "public_key",
    "photon_docker_image", "plugins", "repos", "search_path", "setup_grub_script",
    "shadow_password", "tdnf_cachedir", "type", "ui", "user_grub_cfg_file",
];

/// The releases read, oldest first.
pub const RELEASES: &[Release] = &[
    Release {
        tag: "v2.4",
        keys: V2_4,
        public_key: KeyForm::Plain,
    },
    Release {
        tag: "v2.7",
        keys: V2_7,
        public_key: KeyForm::Plain,
    },
    Release {
        tag: "v2.8",
        keys: V2_8,
        public_key: KeyForm::WithReason,
    },
    Release {
        tag: "v2.9",
        keys: V2_9,
        public_key: KeyForm::WithReason,
    },
    Release {
        tag: "main (f80e7e6)",
        keys: V2_9,
        public_key: KeyForm::WithReason,
    },
];

pub fn release(tag: &str) -> Option<&'static Release> {
    RELEASES.iter().find(|r| r.tag == tag)
}

/// Why `release` would refuse the kickstart `ks` (its JSON), if it would.
pub fn check(ks: &serde_json::Value, release: &Release) -> Result<(), String> {
    let obj = ks.as_object().ok_or("a kickstart is a JSON object")?;
    let unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !release.keys.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "installer {}: Unknown install_config keys: {}",
            release.tag,
            unknown.join(", ")
        ));
    }
    match (obj.get("public_key"), release.public_key) {
        (Some(serde_json::Value::String(_)), KeyForm::Plain)
        | (Some(serde_json::Value::Object(_)), KeyForm::WithReason)
        | (None, _) => Ok(()),
        (Some(_), form) => Err(format!(
            "installer {}: public_key must be {}",
            release.tag,
            match form {
                KeyForm::Plain => "a string",
                KeyForm::WithReason => "an object with key and reason",
            }
        )),
    }
}
