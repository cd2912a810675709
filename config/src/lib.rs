//! What the user asks for, as types: fleet.toml (the file that describes a fleet:
//! [image], [docker], [vdvs], [guest] and [network] for build-ova (see `image.rs`), [vcenter] and [[vm]] for deploy, [esxi] for
//! ssh-install. Unknown keys are refused with the line they are on. The documented
//! example is `examples/fleet.toml`.
//!
//! ```toml
//! [vcenter]
//! url = "https://vc.example.com"        # the password comes from PHOTON_FLEET_VC_PASSWORD
//! user = "administrator@vsphere.local"
//! datacenter = "DC0"
//! cluster = "DC0_C0"
//! datastore = "LocalDS_0"
//! network = "VM Network"
//!
//! [[vm]]
//! name = "docker-01"
//! address = "10.0.0.21/24"               # static; leave out for DHCP
//! gateway = "10.0.0.1"
//! dns = ["10.0.0.2"]
//! ssh_key = "ssh-ed25519 AAAA... admin@example.com"
//!
//! [esxi]
//! hosts = ["esx1.lab", "root@esx2.lab:22"]
//! user = "root"
//! known_hosts = "known_hosts"          # relative to fleet.toml
//! [esxi.host_keys]                     # pinned: checked instead of known_hosts
//! "esx1.lab" = "SHA256:Vv0p0k5yC1xXbmJwT1kq2cU1cH6yWcJ0m6v4bC3n2dA"
//! ```

#![forbid(unsafe_code)]

pub mod error;
pub mod govc;
mod image;

pub use error::{require_file, BadInput, Error, Result};
pub use govc::GovcOptions;
pub use image::{parse_size, GuestSection, ImageSection, NetworkSection, VdvsSection};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The fleet file a command reads when none is named.
pub const DEFAULT: &str = "fleet.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    #[serde(default)]
    pub image: ImageSection,
    /// /etc/docker/daemon.json, as written here.
    #[serde(default)]
    pub docker: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub vdvs: VdvsSection,
    #[serde(default)]
    pub guest: GuestSection,
    #[serde(default)]
    pub network: NetworkSection,
    #[serde(default)]
    pub esxi: EsxiSection,
    #[serde(default)]
    pub vcenter: VcenterSection,
    #[serde(default)]
    pub vm: Vec<VmEntry>,
    /// The folder fleet.toml is in (relative paths in it are relative to this).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Where deploy puts the fleet (flags override it).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VcenterSection {
    pub url: Option<String>,
    pub user: Option<String>,
    pub thumbprint: Option<String>,
    pub insecure: Option<bool>,
    pub datacenter: Option<String>,
    pub cluster: Option<String>,
    /// An ESXi host of the cluster every VM goes to.
    pub host: Option<String>,
    /// A resource pool of the cluster.
    pub pool: Option<String>,
    /// The VM folder for the template and the VMs.
    pub folder: Option<String>,
    pub datastore: Option<String>,
    pub network: Option<String>,
    pub template: Option<String>,
}

/// Where VMs go, as names or inventory paths; each part unset means "the only one" (or
/// the default). Flags and `[vcenter]` both give one; the flags' parts win.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Placement {
    pub datacenter: Option<String>,
    pub cluster: Option<String>,
    pub host: Option<String>,
    pub pool: Option<String>,
    pub folder: Option<String>,
    pub datastore: Option<String>,
    pub network: Option<String>,
}

impl Placement {
    /// Each part from `self`, else from `weaker`.
    pub fn or(self, weaker: Placement) -> Placement {
        Placement {
            datacenter: self.datacenter.or(weaker.datacenter),
            cluster: self.cluster.or(weaker.cluster),
            host: self.host.or(weaker.host),
            pool: self.pool.or(weaker.pool),
            folder: self.folder.or(weaker.folder),
            datastore: self.datastore.or(weaker.datastore),
            network: self.network.or(weaker.network),
        }
    }
}

impl VcenterSection {
    /// The placement this section gives.
    pub fn placement(&self) -> Placement {
        Placement {
            datacenter: self.datacenter.clone(),
            cluster: self.cluster.clone(),
            host: self.host.clone(),
            pool: self.pool.clone(),
            folder: self.folder.clone(),
            datastore: self.datastore.clone(),
            network: self.network.clone(),
        }
    }
}

/// One VM of the fleet with its own settings (the guest applies them at first boot).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmEntry {
    pub name: String,
    pub hostname: Option<String>,
    /// Static address in CIDR form; DHCP when absent.
    pub address: Option<String>,
    pub gateway: Option<String>,
    #[serde(default)]
    pub dns: Vec<String>,
    pub ssh_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsxiSection {
    #[serde(default)]
    pub hosts: Vec<String>,
    pub user: Option<String>,
    pub known_hosts: Option<PathBuf>,
    #[serde(default)]
    pub host_keys: BTreeMap<String, String>,
}

impl Fleet {
    /// `path`, else `./fleet.toml` when there is one, else an empty fleet: the one rule
    /// every command follows.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        match path {
            Some(p) => Self::read(p),
            None if Path::new(DEFAULT).is_file() => Self::read(Path::new(DEFAULT)),
            None => Ok(Self::default()),
        }
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = error::read_text(path, "a TOML file")?;
        let bad = |e: String| Error::Invalid {
            path: path.display().to_string(),
            why: e,
        };
        let mut f: Fleet =
            toml::from_str(&text).map_err(|e| bad(e.to_string().replace('\n', " ")))?;
        f.image.check().map_err(bad)?;
        f.vdvs.check().map_err(bad)?;
        f.guest.check().map_err(bad)?;
        for ip in f.network.gateway.iter().chain(&f.network.dns) {
            ip.parse::<std::net::IpAddr>()
                .map_err(|_| bad(format!("[network] '{ip}' is not an IP address")))?;
        }
        for vm in &f.vm {
            vm.check()
                .map_err(|e| bad(format!("[[vm]] '{}': {e}", vm.name)))?;
        }
        for (host, fp) in &f.esxi.host_keys {
            if !fp.starts_with("SHA256:") {
                return Err(bad(format!(
                    "host_keys.\"{host}\" must be a SHA256:... fingerprint (ssh-keygen -l -E sha256)"
                )));
            }
        }
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut f.esxi.known_hosts,
            &mut f.image.base,
            &mut f.vdvs.plugin,
            &mut f.vdvs.vib,
            &mut f.guest.identity,
        ] {
            if let Some(rel) = p.as_mut() {
                *rel = base.join(&*rel);
            }
        }
        f.image.out = base.join(&f.image.out);
        f.dir = base.to_path_buf();
        Ok(f)
    }
}

impl VmEntry {
    fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() || self.name.len() > 80 {
            return Err("name must be 1 to 80 characters".into());
        }
        if let Some(a) = &self.address {
            let (ip, prefix) = a
                .split_once('/')
                .ok_or("address must be CIDR, e.g. 10.0.0.21/24")?;
            let ip: std::net::IpAddr = ip
                .parse()
                .map_err(|_| format!("address '{a}' is not an IP"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if !prefix.parse::<u8>().is_ok_and(|p| p <= max) {
                return Err(format!("address '{a}': bad prefix length"));
            }
        } else if self.gateway.is_some() || !self.dns.is_empty() {
            return Err("gateway and dns need a static address".into());
        }
        for ip in self.gateway.iter().chain(&self.dns) {
            ip.parse::<std::net::IpAddr>()
                .map_err(|_| format!("'{ip}' is not an IP address"))?;
        }
        if let Some(k) = &self.ssh_key {
            image::check_ssh_key(k).map_err(|e| format!("ssh_key: {e}"))?;
        }
        Ok(())
    }

    /// What [network] gives this VM where it says nothing itself: the gateway and DNS of
    /// a static address. Weaker than any value set explicitly (here or by `--set`).
    pub fn network_defaults(&self, net: &NetworkSection) -> Vec<(String, String)> {
        let mut v = Vec::new();
        if self.address.is_none() {
            return v;
        }
        if let (None, Some(g)) = (&self.gateway, &net.gateway) {
            v.push(("network.gateway".into(), g.clone()));
        }
        if self.dns.is_empty() && !net.dns.is_empty() {
            v.push(("network.dns".into(), net.dns.join(",")));
        }
        v
    }

    /// The vApp property values this VM sets itself (keys of the OVF ProductSection).
    pub fn values(&self) -> Vec<(String, String)> {
        let mut v = vec![(
            "hostname".to_string(),
            self.hostname.clone().unwrap_or_else(|| self.name.clone()),
        )];
        if let Some(a) = &self.address {
            v.push(("network.mode".into(), "static".into()));
            v.push(("network.address".into(), a.clone()));
        }
        if let Some(g) = &self.gateway {
            v.push(("network.gateway".into(), g.clone()));
        }
        if !self.dns.is_empty() {
            v.push(("network.dns".into(), self.dns.join(",")));
        }
        if let Some(k) = &self.ssh_key {
            v.push(("ssh.authorized_key".into(), k.clone()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/fleet.toml");
        let f = Fleet::read(&path).unwrap();
        assert_eq!(f.vcenter.cluster.as_deref(), Some("DC0_C0"));
        assert_eq!(f.vm.len(), 2);
        let v = f.vm[0].values();
        assert!(v.contains(&("network.mode".into(), "static".into())));
        let d = f.vm[0].network_defaults(&f.network);
        assert!(d.contains(&("network.dns".into(), "10.0.0.2,10.0.0.3".into())));
        assert_eq!(f.vm[1].values()[0].1, "docker-02.example.com");
        assert_eq!(f.esxi.hosts.len(), 2);
        assert_eq!(f.image.photon_version.as_deref(), Some("5.0"));
        assert_eq!(f.vdvs.socket_gid, "docker");
        assert_eq!(f.guest.users[0].groups, ["docker"]);
        assert_eq!(f.docker.as_ref().unwrap()["log-opts"]["max-file"], "3");
        // [network] fills in what a static [[vm]] leaves out, as a default only.
        assert!(
            d.contains(&("network.gateway".into(), "10.0.0.1".into())),
            "{d:?}"
        );
        assert!(f.vm[0].values().iter().all(|(k, _)| k != "network.gateway"));
    }

    #[test]
    fn bad_vms_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fleet.toml");
        for (text, says) in [
            ("[[vm]]\nname = \"a\"\naddress = \"10.0.0.1\"\n", "CIDR"),
            (
                "[[vm]]\nname = \"a\"\ngateway = \"10.0.0.1\"\n",
                "static address",
            ),
            (
                "[[vm]]\nname = \"a\"\naddress = \"10.0.0.300/24\"\n",
                "not an IP",
            ),
            (
                "[[vm]]\nname = \"a\"\nssh_key = \"AAAA\"\n",
                "OpenSSH public key",
            ),
            ("[image]\ncpus = 2\nmemroy_mb = 4\n", "line 3"),
            ("[vdvs]\nlog_level = \"loud\"\n", "log_level"),
            ("[guest]\ntimezone = \"../../etc/passwd\"\n", "timezone"),
            (
                "[[guest.users]]\nname = \"root\"\n",
                "not a valid new user name",
            ),
            ("[[vm]]\nname = \"a\"\nadress = \"x\"\n", "adress"),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = format!("{:#}", Fleet::read(&p).unwrap_err());
            assert!(e.contains(says), "{text}: {e}");
            assert!(e.contains("fleet.toml"), "{e}");
        }
    }
}
