//! Command-line arguments of the vCenter commands: deploy and vc.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// How to reach vCenter. Credentials come from the environment or a prompt, never argv.
#[derive(Args, Debug)]
pub struct VcArgs {
    /// vCenter URL, https://vc.example.com (or PHOTON_FLEET_VC_URL, or govc's GOVC_URL).
    #[arg(long, env = "PHOTON_FLEET_VC_URL", hide_env_values = true)]
    pub url: Option<String>,
    /// vCenter user (or PHOTON_FLEET_VC_USER, or GOVC_USERNAME).
    #[arg(long, env = "PHOTON_FLEET_VC_USER", hide_env_values = true)]
    pub user: Option<String>,
    /// Environment variable holding the password (default PHOTON_FLEET_VC_PASSWORD, then GOVC_PASSWORD).
    #[arg(long, default_value = "PHOTON_FLEET_VC_PASSWORD")]
    pub password_env: String,
    /// Prompt for the password.
    #[arg(long)]
    pub ask_password: bool,
    /// Trust vCenter's certificate by its SHA-1 thumbprint (AB:CD:...; see `vc thumbprint`).
    #[arg(long, conflicts_with = "insecure")]
    pub thumbprint: Option<String>,
    /// Do not verify vCenter's certificate at all (or GOVC_INSECURE=1).
    #[arg(long)]
    pub insecure: bool,
    /// Seconds to wait for any one answer from vCenter.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// The OVA made by build-ova (or any OVA with one VM).
    pub ova: PathBuf,
    #[command(flatten)]
    pub vc: VcArgs,
    /// fleet.toml: [vcenter] placement and a [[vm]] list (name, hostname, address, gateway,
    /// dns, ssh_key) used instead of --count/--name-prefix.
    #[arg(long)]
    pub fleet: Option<PathBuf>,
    /// fleet.lock: refuse an OVA other than the one it records (by its manifest's sha256).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// Datacenter: a name or an inventory path (`/Folder/DC1`); needed when there is more
    /// than one.
    #[arg(long)]
    pub datacenter: Option<String>,
    /// Cluster or standalone host whose resource pool gets the VMs: a name or a path
    /// (`Prod/C1`, `/DC1/host/Prod/C1`).
    #[arg(long)]
    pub cluster: Option<String>,
    /// ESXi host of the cluster to put every VM on [default: vCenter picks; in a cluster
    /// without DRS the VMs are spread over its connected hosts].
    #[arg(long)]
    pub host: Option<String>,
    /// Resource pool of the cluster: a name or a path under its root pool [default: the
    /// root pool].
    #[arg(long)]
    pub pool: Option<String>,
    /// VM folder for the template and the VMs: a name or a path under the datacenter's VM
    /// folder; it must exist [default: the VM folder itself].
    #[arg(long)]
    pub folder: Option<String>,
    /// Datastore (needed when there is more than one).
    #[arg(long)]
    pub datastore: Option<String>,
    /// Network for the VMs' NIC [default: VM Network].
    #[arg(long)]
    pub network: Option<String>,
    /// How many VMs [default: 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub count: Option<u32>,
    /// VM names are PREFIX-01, PREFIX-02, ... [default: photon-docker].
    #[arg(long)]
    pub name_prefix: Option<String>,
    /// Name of the template the OVA is imported as [default: OVF name + OVA sha256 prefix].
    /// A template whose annotation records the same OVA sha256 is reused under any name.
    #[arg(long)]
    pub template: Option<String>,
    /// govc import options JSON (`govc import.spec` output): DiskProvisioning,
    /// IPAllocationPolicy, IPProtocol, PropertyMapping, NetworkMapping, Annotation, WaitForIP,
    /// Name (the template's name). PowerOn and MarkAsTemplate are accepted; the template is
    /// always a template and the clones are powered on unless --no-power-on.
    #[arg(long)]
    pub options: Option<PathBuf>,
    /// Disk provisioning of the template: thin, thick, eagerZeroedThick, flat, ...
    #[arg(long)]
    pub disk_provisioning: Option<String>,
    /// KEY=VALUE: a vApp property value for every VM (e.g. network.dns=10.0.0.2).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Clones at a time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=32))]
    pub parallel: u8,
    /// Leave the new VMs powered off.
    #[arg(long)]
    pub no_power_on: bool,
    /// Wait until every VM reports a guest IP (VMware Tools), up to --wait-ip-timeout.
    #[arg(long)]
    pub wait_ip: bool,
    /// Seconds --wait-ip waits.
    #[arg(long, default_value_t = 600)]
    pub wait_ip_timeout: u64,
    /// Connect, check the OVA and the placement, print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Subcommand, Debug)]
pub enum VcCommand {
    /// Print the SHA-1 thumbprint of the certificate a vCenter presents (to pin it
    /// with --thumbprint after comparing it with the one vCenter's console shows).
    Thumbprint {
        /// https://vc.example.com
        url: String,
    },
}
