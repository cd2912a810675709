//! `photon-fleet build-ova`: Photon OS base + vDVS plugin bundle + VIB -> out/ with the
//! Docker-host OVA (plugin prebaked, first boot set up), the matching VIB and fleet.lock.

use super::{folder_of, human_bytes, load_fleet, pick_path, refuse_existing, vmdk_options};
use crate::bake::{self, debugfs::ExtFs, files};
use crate::cli::BuildArgs;
use crate::fleet::parse_size;
use crate::output::{usage, Context};
use crate::profile::{ovf_spec, BakedVersions, VmShape};
use anyhow::{Context as _, Result};
use ova::ovf::{Firmware, OvfDisk};
use plugin::lock::{FleetLock, OvaEntry, PluginEntry, Release, VibEntry, LOCK_VERSION};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Serialize)]
struct Report {
    ova: String,
    /// SHA-256 of the OVA's manifest (fleet.lock pins the OVA by it).
    manifest_sha256: String,
    vib: String,
    lock: String,
    base: String,
    base_kind: &'static str,
    photon_version: String,
    /// /etc/photon-release of the base, as read for the version check.
    photon_release: Option<String>,
    vdvs_release: String,
    plugin_version: String,
    vib_version: String,
    root_partition: Option<u32>,
    capacity: u64,
    baked: bake::Baked,
    seconds: Seconds,
}

#[derive(Serialize, Default)]
struct Seconds {
    /// The base expanded to a raw copy (and grown).
    base: f64,
    bake: f64,
    /// The disk deflated as a streamOptimized VMDK, in place inside the OVA.
    vmdk: f64,
    /// The VIB copied, fleet.lock written.
    lock: f64,
    total: f64,
}

/// "VMware Photon OS 5.0\nPHOTON_BUILD_NUMBER=..." -> "5.0"
fn photon_version(release: &str) -> Option<String> {
    let first = release.lines().next()?;
    let v = first.rsplit(' ').next()?.trim();
    (first.contains("Photon") && !v.is_empty()).then(|| v.to_string())
}

/// Deletes the finished outputs again unless `keep()` is called (a later step failed).
struct Undo(Vec<PathBuf>);

impl Undo {
    fn keep(mut self) {
        self.0.clear();
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub fn run(ctx: &Context, a: &BuildArgs) -> Result<()> {
    let started = Instant::now();
    let mut secs = Seconds::default();
    let fleet = load_fleet(&a.fleet)?;
    let base = pick_path(&a.base, &fleet.image.base, "base", "[image] base")?;
    let plugin_path = pick_path(&a.plugin, &fleet.vdvs.plugin, "plugin", "[vdvs] plugin")?;
    let vib_path = pick_path(&a.vib, &fleet.vdvs.vib, "vib", "[vdvs] vib")?;

    // Both vDVS halves first: a mismatch is refused before any disk work.
    let bundle =
        plugin::managed::open(&plugin_path).with_context(|| plugin_path.display().to_string())?;
    let (vib_bytes, vib) =
        plugin::open_vib(&vib_path).with_context(|| vib_path.display().to_string())?;
    let pair = plugin::pairing::check(&bundle.version, &vib.descriptor.version)
        .with_context(|| format!("{} and {}", plugin_path.display(), vib_path.display()))?;
    let disk_size = fleet
        .image
        .disk_size
        .as_deref()
        .map(parse_size)
        .transpose()
        .map_err(usage)?;

    std::fs::create_dir_all(&a.out).with_context(|| a.out.display().to_string())?;
    let work = tempfile::Builder::new()
        .prefix(".build-ova-")
        .tempdir_in(&a.out)?;
    let raw_path = work.path().join("disk.raw");
    let shown = base.display().to_string();

    // 1. The base, as one sparse raw copy.
    let t = Instant::now();
    let raw = std::fs::File::create(&raw_path)?;
    let base_kind = bake::expand(&base, &raw, &ctx.bars)?;
    drop(raw);
    let mut root = bake::find_root(&raw_path, &shown)?;
    if let Some(size) = disk_size {
        root = bake::grow(&raw_path, root, size).with_context(|| shown.clone())?;
    }
    secs.base = t.elapsed().as_secs_f64();

    // 2. The bake.
    let t = Instant::now();
    let fs = ExtFs::new(&raw_path, root.offset)?;
    let release = fs.cat("/etc/photon-release")?;
    let detected = release.as_deref().and_then(photon_version);
    let photon = match (&fleet.image.photon_version, &detected) {
        (Some(want), Some(got)) if want != got => {
            return Err(usage(format!(
                "{shown} is Photon OS {got}, but fleet.toml [image] photon_version says {want}"
            )))
        }
        (Some(v), _) | (None, Some(v)) => v.clone(),
        (None, None) => {
            return Err(usage(format!(
                "{shown}: no /etc/photon-release in the root filesystem; set [image] photon_version if this really is Photon OS"
            )))
        }
    };
    let stem = format!("{}-{photon}", fleet.image.name);
    let ova_path = a.out.join(format!("{stem}.ova"));
    let vib_out = a.out.join(format!(
        "{}-{}.vib",
        plugin::VDVS_VIB_NAME,
        vib.descriptor.version
    ));
    let lock_path = a.out.join("fleet.lock");
    for p in [&ova_path, &vib_out, &lock_path] {
        refuse_existing(p, a.force)?;
    }
    let bundle_dir = if plugin_path.is_dir() {
        plugin_path.clone()
    } else {
        let dir = work.path().join("bundle");
        unpack(&plugin_path, &dir)?;
        dir
    };
    let versions = files::Versions {
        plugin: &bundle.version,
        vib: &vib.descriptor.version,
    };
    let mut entries = files::config_entries(&fleet, &versions)?;
    entries.extend(files::bundle_entries(&bundle_dir)?);
    let entries = bake::stage(files::with_parents(entries), &{
        let d = work.path().join("files");
        std::fs::create_dir(&d)?;
        d
    })?;
    let zone = fleet
        .guest
        .timezone
        .as_ref()
        .map(|tz| format!("/usr/share/zoneinfo/{tz}"));
    let mut must: Vec<&str> = files::ENABLED_UNITS[..2].iter().map(|(_, t)| *t).collect();
    must.extend(zone.as_deref());
    let total: u64 = entries.iter().map(|e| e.size()).sum();
    ova::Progress::stage(&ctx.bars, "bake", total);
    let baked = bake::bake(&fs, &entries, &must, &shown)?;
    ova::Progress::advance(&ctx.bars, total);
    ova::Progress::done(&ctx.bars);
    secs.bake = t.elapsed().as_secs_f64();

    // 3. The OVA: the disk deflated straight into it, then the descriptor in front.
    let t = Instant::now();
    let shape = VmShape {
        name: stem.clone(),
        cpus: fleet.image.cpus,
        memory_mb: fleet.image.memory_mb,
        hw_version: fleet.image.hw_version,
        network: fleet.image.network.clone(),
        firmware: if fleet.image.firmware == "bios" {
            Firmware::Bios
        } else {
            Firmware::Efi
        },
    };
    let baked_versions = BakedVersions {
        photon: Some(photon.clone()),
        plugin: Some(bundle.version.clone()),
        vib: Some(vib.descriptor.version.clone()),
    };
    let ovf = |disk: &OvfDisk| {
        let mut spec = ovf_spec(&shape, disk.clone(), &baked_versions);
        if let Some(p) = spec.product.as_mut() {
            for prop in &mut p.properties {
                match prop.key.as_str() {
                    "network.gateway" => {
                        prop.value = fleet.network.gateway.clone().unwrap_or_default()
                    }
                    "network.dns" => prop.value = fleet.network.dns.join(","),
                    _ => {}
                }
            }
        }
        ova::ovf::render(&spec)
    };
    let disk_name = format!("{stem}-disk1.vmdk");
    let src = bake::consume::Consumed::open(&raw_path)?;
    let opts = vmdk_options(&a.vmdk, &disk_name)?;
    let written = ova::write_ova(&ova_path, &src, &opts, 0, &ovf, &ctx.bars)
        .with_context(|| ova_path.display().to_string())?;
    drop(src);
    let _ = std::fs::remove_file(&raw_path);
    secs.vmdk = t.elapsed().as_secs_f64();

    // 4. The VIB beside it, the lock.
    let t = Instant::now();
    let undo = Undo(vec![ova_path.clone(), vib_out.clone()]);
    super::write_atomically(&vib_out, true, |f| {
        std::io::Write::write_all(&mut &*f, &vib_bytes)?;
        Ok(())
    })?;
    let dir = folder_of(&lock_path);
    let lock = FleetLock {
        lock_version: LOCK_VERSION,
        vdvs: Release {
            release: pair.release.clone(),
        },
        plugin: PluginEntry {
            version: bundle.version.clone(),
            file: super::vdvs::relative_to(&plugin_path, dir),
            sha256: bundle.sha256.clone(),
        },
        vib: VibEntry {
            id: vib.id(),
            version: vib.descriptor.version.clone(),
            file: super::vdvs::relative_to(&vib_out, dir),
            sha256: plugin::lock::sha256_hex(&vib_bytes),
        },
        ova: Some(OvaEntry {
            file: super::vdvs::relative_to(&ova_path, dir),
            manifest_sha256: written.manifest_sha256.clone(),
        }),
    };
    lock.write(&lock_path)
        .with_context(|| lock_path.display().to_string())?;
    undo.keep();
    secs.lock = t.elapsed().as_secs_f64();
    secs.total = started.elapsed().as_secs_f64();

    let report = Report {
        ova: ova_path.display().to_string(),
        manifest_sha256: written.manifest_sha256,
        vib: vib_out.display().to_string(),
        lock: lock_path.display().to_string(),
        base: shown,
        base_kind,
        photon_version: photon,
        photon_release: release,
        vdvs_release: pair.release,
        plugin_version: bundle.version,
        vib_version: vib.descriptor.version.clone(),
        root_partition: root.partition.as_ref().map(|p| p.number),
        capacity: written.disk.capacity,
        baked,
        seconds: secs,
    };
    ctx.emit(&report, || {
        format!(
            "{}: Photon OS {} Docker host, vDVS {} (plugin {} as {}:{}, {} files / {} baked into partition {}), disk {}\n{}: the matching VIB\n{}: the lock\nmanifest sha256 {}  ({:.1} s: base {:.1}, bake {:.1}, vmdk into the OVA {:.1}, VIB + lock {:.1})\n",
            report.ova,
            report.photon_version,
            report.vdvs_release,
            report.plugin_version,
            fleet.vdvs.alias,
            fleet.vdvs.tag,
            report.baked.files,
            human_bytes(report.baked.bytes),
            report.root_partition.map_or("-".into(), |n| n.to_string()),
            human_bytes(report.capacity),
            report.vib,
            report.lock,
            report.manifest_sha256,
            report.seconds.total,
            report.seconds.base,
            report.seconds.bake,
            report.seconds.vmdk,
            report.seconds.lock,
        )
    })
}

/// Unpacks a plugin bundle tar (optionally gzipped) into `dir`.
fn unpack(tar_path: &Path, dir: &Path) -> Result<()> {
    let f = std::fs::File::open(tar_path)?;
    let name = tar_path.to_string_lossy();
    let reader: Box<dyn std::io::Read> = if name.ends_with(".gz") || name.ends_with(".tgz") {
        Box::new(flate2::read::GzDecoder::new(f))
    } else {
        Box::new(f)
    };
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive
        .unpack(dir)
        .with_context(|| format!("{}: cannot unpack the plugin bundle", tar_path.display()))?;
    Ok(())
}
