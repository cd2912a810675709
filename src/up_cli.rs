//! Command-line arguments of `up` and `status`.

use crate::vc_cli::VcArgs;
use clap::Args;
use std::path::PathBuf;

/// What `up` and `status` share: fleet.toml, vCenter, and how to reach hosts and guests.
#[derive(Args, Debug)]
pub struct FleetArgs {
    /// fleet.toml (default: ./fleet.toml).
    #[arg(long)]
    pub fleet: Option<PathBuf>,
    #[command(flatten)]
    pub vc: VcArgs,
    /// ESXi login user where fleet.toml's [esxi] names none.
    #[arg(long, default_value = "root")]
    pub esxi_user: String,
    /// Private key for the ESXi hosts (otherwise ssh-agent, then ~/.ssh/id_*).
    #[arg(long)]
    pub esxi_identity: Option<PathBuf>,
    /// Environment variable holding the ESXi SSH password (never an argument).
    #[arg(long, default_value = "PHOTON_FLEET_SSH_PASSWORD")]
    pub esxi_password_env: String,
    /// known_hosts for the ESXi hosts (default: [esxi] known_hosts, else ~/.ssh/known_hosts).
    #[arg(long)]
    pub known_hosts: Option<PathBuf>,
    /// Record ESXi host keys not seen before (a changed key is always refused).
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// The key `up` and `status` log in to the guests with, as root (default: [guest]
    /// identity). Guest host keys are recorded on first use in fleet.known_hosts.
    #[arg(long)]
    pub guest_identity: Option<PathBuf>,
    /// ESXi hosts worked on at once.
    #[arg(long, default_value_t = esxi::fleet::DEFAULT_PARALLEL)]
    pub parallel: u16,
    /// Seconds to wait for any one answer from an ESXi host.
    #[arg(long, default_value_t = 120)]
    pub esxi_timeout: u64,
}

#[derive(Args, Debug)]
pub struct UpArgs {
    #[command(flatten)]
    pub common: FleetArgs,
    /// Show the plan only; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A host of the cluster to leave without the VIB (VMs that move there lose their
    /// volumes); repeat for more.
    #[arg(long = "skip-host", value_name = "HOST")]
    pub skip_hosts: Vec<String>,
    /// Start the hosts' SSH service (TSM-SSH) through vCenter for the run where it is
    /// stopped, and stop it again afterwards.
    #[arg(long)]
    pub enable_ssh: bool,
    /// Allow an unsigned VIB (esxcli --no-sig-check).
    #[arg(long)]
    pub no_sig_check: bool,
    /// Lower a host's acceptance level to the VIB's when needed.
    #[arg(long)]
    pub set_acceptance: bool,
    /// Replace a newer VIB on a host.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Seconds to wait for the VMs' guest IPs.
    #[arg(long, default_value_t = 600)]
    pub wait_ip_timeout: u64,
    /// Seconds the guests get to finish their first boot.
    #[arg(long, default_value_t = 600)]
    pub guest_timeout: u64,
}
