//! The command line (clap). Each subcommand's work lives in `cmd/`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "photon-fleet", version, about = "Photon OS Docker hosts with vSphere Docker Volume Service, as a fleet", long_about = None)]
pub struct Cli {
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Build the Docker-host OVA with the vDVS plugin prebaked (not in this release yet: issue 7).
    BuildOva(Pending),
    /// Import the OVA into vCenter and clone a fleet of VMs (not in this release yet: issue 6).
    Deploy(Pending),
    /// Install the matching vDVS VIB on ESXi hosts over SSH (not in this release yet: issue 5).
    SshInstall(Pending),
    /// Show what an OVA, OVF or VMDK holds; an OVA's manifest is verified.
    Inspect(InspectArgs),
    /// Disk image tools.
    #[command(subcommand)]
    Disk(DiskCommand),
    /// OVA tools.
    #[command(subcommand)]
    Ova(OvaCommand),
    /// Print a shell completion script.
    Completions {
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
pub struct Pending {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

#[derive(Args)]
pub struct InspectArgs {
    /// An .ova, .ovf or .vmdk file.
    pub file: PathBuf,
    /// Also inflate every grain of every disk (finds damaged compressed data).
    #[arg(long)]
    pub deep: bool,
}

#[derive(Subcommand)]
pub enum DiskCommand {
    /// Convert a disk: raw or any sparse VMDK in; streamOptimized VMDK or raw out.
    Convert(ConvertArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutFormat {
    /// streamOptimized VMDK (what OVAs and vSphere imports carry).
    Vmdk,
    /// Raw image (sparse where the disk is zero).
    Raw,
}

#[derive(Args)]
pub struct VmdkOptions {
    /// Controller type recorded in the VMDK (ddb.adapterType).
    #[arg(long, default_value = "lsilogic")]
    pub adapter: String,
    /// Deflate level: 1 fastest ... 9 smallest.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub level: u32,
    /// Deflate threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(Args)]
pub struct ConvertArgs {
    /// Source: a raw image, a sparse VMDK (stream-optimized or monolithic) or a flat VMDK descriptor.
    pub input: PathBuf,
    /// Destination file.
    pub output: PathBuf,
    /// Output format (default: from the extension, .vmdk or .raw/.img).
    #[arg(long, short = 'O', value_enum)]
    pub format: Option<OutFormat>,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub vmdk: VmdkOptions,
}

#[derive(Subcommand)]
pub enum OvaCommand {
    /// Pack a disk into an OVA with the Photon Docker-host hardware profile.
    Pack(PackArgs),
}

#[derive(Args)]
pub struct PackArgs {
    /// The VM's disk: raw or VMDK.
    pub disk: PathBuf,
    /// The OVA to write.
    pub output: PathBuf,
    /// VM name inside the OVF (default: the output's file stem).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value_t = 2)]
    pub cpus: u32,
    /// Memory in MB.
    #[arg(long, default_value_t = 2048)]
    pub memory: u64,
    /// Virtual hardware version (vmx-NN): 13+ for the Photon guest type, 14 = ESXi 6.7.
    #[arg(long, default_value_t = 14)]
    pub hw_version: u32,
    /// Network the NIC connects to.
    #[arg(long, default_value = "VM Network")]
    pub network: String,
    /// Boot firmware.
    #[arg(long, value_enum, default_value = "efi")]
    pub firmware: FirmwareArg,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub vmdk: VmdkOptions,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FirmwareArg {
    Efi,
    Bios,
}
