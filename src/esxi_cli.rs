//! Command-line arguments of the ESXi commands: ssh-install, ssh-uninstall, esxi status.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Which hosts, and how to reach them safely.
#[derive(Args, Debug)]
pub struct HostArgs {
    /// An ESXi host, [user@]host[:port]; repeat for more.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// A file with one [user@]host[:port] per line (# comments).
    #[arg(long)]
    pub hosts_file: Option<PathBuf>,
    /// fleet.toml: its [esxi] section gives hosts, user, known_hosts and pinned host keys.
    #[arg(long)]
    pub fleet: Option<PathBuf>,
    /// Login user when a host does not name one.
    #[arg(long)]
    pub user: Option<String>,
    /// Private key file (otherwise ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa).
    #[arg(long, short = 'i')]
    pub identity: Option<PathBuf>,
    /// Name of the environment variable holding the SSH password (never pass it as an argument).
    #[arg(long, default_value = "PHOTON_FLEET_SSH_PASSWORD")]
    pub password_env: String,
    /// Prompt for the SSH password (on the terminal, not echoed).
    #[arg(long)]
    pub ask_password: bool,
    /// known_hosts file to check host keys against (default ~/.ssh/known_hosts).
    #[arg(long)]
    pub known_hosts: Option<PathBuf>,
    /// Record host keys not seen before in known_hosts (a changed key is always refused).
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Hosts worked on at once.
    #[arg(long, default_value_t = esxi::fleet::DEFAULT_PARALLEL, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,
    /// Seconds to wait for any one answer from a host before giving it up.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Seconds to wait for the TCP connection.
    #[arg(long, default_value_t = 10)]
    pub connect_timeout: u64,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    #[command(flatten)]
    pub hosts: HostArgs,
    /// fleet.lock: install exactly the VIB it names (after re-hashing it).
    #[arg(long, conflicts_with = "vib")]
    pub lock: Option<PathBuf>,
    /// The VIB, or an offline bundle .zip holding it.
    #[arg(long)]
    pub vib: Option<PathBuf>,
    /// Allow an unsigned VIB (esxcli --no-sig-check).
    #[arg(long)]
    pub no_sig_check: bool,
    /// Replace a newer installed version.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Lower a host's acceptance level to the VIB's when needed.
    #[arg(long)]
    pub set_acceptance: bool,
    /// Restart hostd after installing, so `esxcli storage guestvol` appears.
    #[arg(long)]
    pub restart_hostd: bool,
    /// Connect, read each host and print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub hosts: HostArgs,
    /// Connect and read only.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Subcommand, Debug)]
pub enum EsxiCommand {
    /// The vDVS driver version and vmdk-opsd state on each host.
    Status(HostArgs),
}
