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
    /// Converge the whole fleet fleet.toml describes: build the image when fleet.lock no
    /// longer matches, put the matching VIB on every ESXi host of the cluster (before any
    /// VM boots), deploy the VMs, then check inside every guest that it is a working
    /// Docker host. Prints the plan first; --dry-run stops there. Rerun to finish.
    Up(crate::up_cli::UpArgs),
    /// The fleet as it is against fleet.lock: ESXi hosts (VIB, vmdk-opsd), VMs (power,
    /// IP, OVA), guests (plugin version and state); exit 1 when anything differs.
    Status(crate::up_cli::FleetArgs),
    /// Build the Docker-host OVA from a Photon OS base: Docker enabled, the vDVS plugin
    /// prebaked (created and enabled at first boot, no network needed), first-boot setup
    /// from the OVF environment; writes the OVA, the matching VIB and fleet.lock to --out.
    BuildOva(BuildArgs),
    /// Boot the OVA here under qemu (its disk read in place, behind an overlay) with an OVF
    /// environment CD-ROM from --set / fleet.toml, follow the serial console and report
    /// first boot: exit 0 only when the guest is a working Docker host.
    Try(TryArgs),
    /// Write the Photon installer kickstart (JSON) that installs the same Docker host from
    /// the Photon ISO: docker, open-vm-tools and a postinstall laying down the baked files.
    Kickstart(KickstartArgs),
    /// Import the OVA into vCenter once and clone a fleet of VMs from it: per-VM values,
    /// powered on, optionally waiting for guest IPs. --dry-run prints the plan only.
    Deploy(crate::vc_cli::DeployArgs),
    /// vCenter tools.
    #[command(subcommand)]
    Vc(crate::vc_cli::VcCommand),
    /// Install the matching vDVS VIB on ESXi hosts over SSH: in parallel, idempotent,
    /// host keys verified, every host checked afterwards.
    SshInstall(crate::esxi_cli::InstallArgs),
    /// Remove the vDVS VIB from ESXi hosts over SSH.
    SshUninstall(crate::esxi_cli::UninstallArgs),
    /// ESXi host tools.
    #[command(subcommand)]
    Esxi(crate::esxi_cli::EsxiCommand),
    /// Show and verify what a file holds: OVA (manifest checked), OVF, VMDK, VIB or
    /// offline bundle (every checksum checked), plugin bundle, fleet.lock (files re-hashed).
    Inspect(InspectArgs),
    /// VIB tools.
    #[command(subcommand)]
    Vib(VibCommand),
    /// fleet.lock tools.
    #[command(subcommand)]
    Lock(LockCommand),
    /// Disk image tools.
    #[command(subcommand)]
    Disk(DiskCommand),
    /// OVA tools.
    #[command(subcommand)]
    Ova(OvaCommand),
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AccelArg {
    /// KVM when /dev/kvm can run a stock kernel, else TCG.
    Auto,
    Kvm,
    Tcg,
}

#[derive(Args)]
pub struct TryArgs {
    /// The OVA (build-ova's output).
    pub ova: PathBuf,
    /// fleet.toml: the VM's values come from its [[vm]] entry and [network], as for deploy
    /// (default: ./fleet.toml if present).
    #[arg(long)]
    pub fleet: Option<PathBuf>,
    /// Which [[vm]] of the fleet file to be (default: the first).
    #[arg(long)]
    pub vm: Option<String>,
    /// KEY=VALUE: a vApp property value (e.g. hostname=dh-01, network.mode=static).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The accelerator.
    #[arg(long, value_enum, default_value = "auto")]
    pub accel: AccelArg,
    /// Seconds to wait for first boot's result before stopping qemu.
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
    /// Keep the overlay (in OVA.try beside the OVA) for a second boot with --again.
    #[arg(long)]
    pub keep: bool,
    /// Boot the overlay kept by --keep once more (a second boot: first boot skips).
    #[arg(long, conflicts_with = "keep")]
    pub again: bool,
    /// Follow the console until the guest powers itself off, not just to first boot's result.
    #[arg(long)]
    pub until_poweroff: bool,
    /// Also write the whole serial console to this file.
    #[arg(long, value_name = "FILE")]
    pub console_log: Option<PathBuf>,
}

#[derive(Args)]
pub struct BuildArgs {
    /// fleet.toml with [image], [docker], [vdvs], [guest], [network] (default: ./fleet.toml if present).
    #[arg(long)]
    pub fleet: Option<PathBuf>,
    /// The Photon OS base: an .ova (as Photon publishes it), a .vmdk or a raw disk.
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// The vDVS managed-plugin bundle: a folder or .tar with config.json and rootfs/.
    #[arg(long)]
    pub plugin: Option<PathBuf>,
    /// The matching vDVS VIB, or an offline bundle .zip holding it.
    #[arg(long)]
    pub vib: Option<PathBuf>,
    /// Output folder: the OVA, the VIB and fleet.lock go here.
    #[arg(long, short, default_value = "out")]
    pub out: PathBuf,
    /// Replace outputs that exist.
    #[arg(long)]
    pub force: bool,
    /// Expand the whole base into the output folder before the bake, instead of only its
    /// partition tables and filesystem metadata (slower; the OVA is the same).
    #[arg(long)]
    pub whole_base: bool,
    #[command(flatten)]
    pub vmdk: VmdkOptions,
}

#[derive(Args)]
pub struct KickstartArgs {
    /// fleet.toml (default: ./fleet.toml if present).
    #[arg(long)]
    pub fleet: Option<PathBuf>,
    /// The vDVS managed-plugin bundle (its version goes into the image).
    #[arg(long)]
    pub plugin: Option<PathBuf>,
    /// The matching VIB or offline bundle (checked against the plugin).
    #[arg(long)]
    pub vib: Option<PathBuf>,
    /// Where the installer finds the plugin bundle as a .tar. The default is where
    /// `--iso` puts it: on the install media, which the installer mounts at /mnt/media.
    #[arg(long, default_value = builder::iso::BUNDLE_SOURCE)]
    pub bundle_source: String,
    /// A Photon OS installer ISO to make turnkey: written to -o with the kickstart and the
    /// plugin bundle tar on the media (/photon-fleet/) and `ks=cdrom:/photon-fleet/ks.json`
    /// on every boot entry that installs from it (xorriso; boot images kept).
    #[arg(long)]
    pub iso: Option<PathBuf>,
    /// Target disk device.
    #[arg(long, default_value = "/dev/sda")]
    pub disk: String,
    /// photon-os-installer release the kickstart is for: current = v2.9 and later (Photon
    /// 5 ISOs from 2025 on); v2-8 = v2.8 (public_key an object, no services key); legacy =
    /// v2.7 and earlier (public_key a string). Each gets only the keys it knows.
    #[arg(long, value_enum, default_value = "current")]
    pub installer: InstallerArg,
    /// The kickstart file to write (with --iso: the ISO).
    #[arg(long, short, default_value = "ks.json")]
    pub output: PathBuf,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum InstallerArg {
    /// photon-os-installer v2.9 and later.
    Current,
    /// photon-os-installer v2.8.
    #[value(name = "v2-8")]
    V2_8,
    /// photon-os-installer v2.7 and earlier.
    Legacy,
}

#[derive(Args)]
pub struct InspectArgs {
    /// An .ova, .ovf, .vmdk, .vib, offline-bundle .zip, plugin bundle (folder or .tar) or fleet.lock.
    pub file: PathBuf,
    /// Also inflate every grain of every disk (finds damaged compressed data).
    #[arg(long)]
    pub deep: bool,
}

#[derive(Subcommand)]
pub enum DiskCommand {
    /// Convert a disk: raw or any sparse VMDK in; streamOptimized VMDK or raw out.
    Convert(ConvertArgs),
    /// Write a Photon-like demo base: GPT, EFI system partition and an ext4 root laid out
    /// like Photon OS 5.0 (docker and open-vm-tools units, zoneinfo). NOT bootable: it
    /// shows build-ova end to end where no Photon OS image can be downloaded.
    DemoBase(DemoBaseArgs),
}

#[derive(Args)]
pub struct DemoBaseArgs {
    /// The raw image to write.
    pub output: PathBuf,
    /// Disk size ("2GiB", "64MiB"); the root partition takes what the ESP leaves.
    #[arg(long, default_value = "2GiB")]
    pub size: String,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
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
    /// Controller type recorded in the VMDK (ddb.adapterType): lsilogic, buslogic, ide,
    /// lsisas1068, pvscsi [default: pvscsi in an OVA, whose OVF declares a PVSCSI
    /// controller; lsilogic for a VMDK alone].
    #[arg(long)]
    pub adapter: Option<String>,
    /// Deflate level: 1 fastest ... 9 smallest (as zlib); 10-12 smaller still (libdeflate).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=12))]
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

#[derive(Subcommand)]
pub enum VibCommand {
    /// Compose an (unsigned) VIB from a stage folder, as vibauthor does: the folder's
    /// tree becomes the payload; defaults describe the vDVS driver VIB.
    Compose(ComposeArgs),
    /// Re-compose a VIB (or the VIB of an offline bundle) with the sha-256 gunzip
    /// checksums ESXi 8 requires. The result is unsigned.
    Repack {
        input: PathBuf,
        output: PathBuf,
        /// Replace the output if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Wrap a VIB in an offline bundle (.zip) that `esxcli software vib install -d` and
    /// vSphere Lifecycle Manager import.
    Bundle {
        vib: PathBuf,
        output: PathBuf,
        /// Bulletin ID (default: VDVS_driver-<release> for a vDVS VIB).
        #[arg(long)]
        bulletin: Option<String>,
        /// Replace the output if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
pub enum LockCommand {
    /// Pair a plugin bundle and a VIB (refused unless they are one vDVS release) and write fleet.lock.
    Create {
        /// The managed-plugin bundle: a folder or .tar with config.json and rootfs/.
        #[arg(long)]
        plugin: PathBuf,
        /// The VIB, or an offline bundle .zip holding it.
        #[arg(long)]
        vib: PathBuf,
        /// Where to write the lock.
        #[arg(long, short, default_value = "fleet.lock")]
        output: PathBuf,
        /// Replace the output if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args)]
pub struct ComposeArgs {
    /// Folder whose tree is installed on ESXi (e.g. etc/init.d/vmdk-opsd, usr/lib/vmware/...).
    pub stage: PathBuf,
    pub output: PathBuf,
    /// VIB version, "<tag>.<sha>-<release>" (at most 35 characters).
    #[arg(long)]
    pub version: String,
    #[arg(long, default_value = "esx-vmdkops-service")]
    pub name: String,
    #[arg(long, default_value = "VMWare")]
    pub vendor: String,
    /// certified, accepted, partner or community.
    #[arg(long, default_value = "community")]
    pub acceptance: String,
    /// Payload name (vDVS: vmdkops).
    #[arg(long, default_value = "vmdkops")]
    pub payload: String,
    /// Release date recorded in the descriptor (fixed, so builds are reproducible).
    #[arg(long, default_value = "2018-04-16T00:00:00")]
    pub release_date: String,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
}
