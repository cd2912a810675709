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
    /// fleet.lock: refuse an OVA whose sha256 differs from the one it records.
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// Datacenter (needed when there is more than one).
    #[arg(long)]
    pub datacenter: Option<String>,
    /// Cluster or standalone host whose resource pool gets the VMs.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Datastore (needed when there is more than one).
    #[arg(long)]
    pub datastore: Option<String>,
    /// Network for the VMs' NIC.
    #[arg(long, default_value = "VM Network")]
    pub network: String,
    /// How many VMs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub count: u32,
    /// VM names are PREFIX-01, PREFIX-02, ...
    #[arg(long, default_value = "photon-docker")]
    pub name_prefix: String,
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
