//! build-ova as a function: Photon OS base + vDVS plugin bundle + VIB -> the Docker-host
//! OVA (plugin prebaked, first boot set up), the matching VIB and fleet.lock, in an
//! output folder. [`build`] takes typed [`BuildInputs`] and returns a [`Built`] report;
//! the CLI and `up` call the same function.

use crate::bake::overlay::{self, Copied, WholeCopy};
use crate::bake::{self, debugfs::ExtFs, files, Baked, Root};
use crate::profile::{ovf_spec, BakedVersions, VmShape};
use crate::{bad, InputError, Result};
use anyhow::Context as _;
use config::Fleet;
use ova::ovf::{Firmware, OvfDisk};
use plugin::lock::{relative_to, FleetLock, InputsEntry, OvaEntry, PluginEntry, Release, VibEntry};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What build-ova is asked to do.
pub struct BuildInputs<'a> {
    pub fleet: &'a Fleet,
    pub base: PathBuf,
    pub plugin: PathBuf,
    pub vib: PathBuf,
    /// The output folder (OVA, VIB and fleet.lock go here).
    pub out: PathBuf,
    /// Replace outputs that exist.
    pub force: bool,
    /// Expand the whole base before the bake, not only its metadata (same result, slower).
    pub whole_base: bool,
    /// Deflate level, threads and adapter of the OVA's disk (its file name is set here).
    pub vmdk: ova::vmdk::WriteOptions,
}

impl<'a> BuildInputs<'a> {
    /// Inputs from fleet.toml's `[image] base` and `[vdvs] plugin/vib` where no path is given.
    pub fn from_fleet(
        fleet: &'a Fleet,
        base: Option<PathBuf>,
        plugin: Option<PathBuf>,
        vib: Option<PathBuf>,
        out: PathBuf,
    ) -> Result<Self> {
        let pick = |given: Option<PathBuf>, from: &Option<PathBuf>, what, key| {
            given
                .or_else(|| from.clone())
                .ok_or(InputError::Missing { what, key })
        };
        Ok(Self {
            fleet,
            base: pick(base, &fleet.image.base, "base", "[image] base")?,
            plugin: pick(plugin, &fleet.vdvs.plugin, "plugin", "[vdvs] plugin")?,
            vib: pick(vib, &fleet.vdvs.vib, "vib", "[vdvs] vib")?,
            out,
            force: false,
            whole_base: false,
            vmdk: ova::vmdk::WriteOptions::default(),
        })
    }
}

/// What build-ova made.
#[derive(Debug, Serialize)]
pub struct Built {
    pub ova: String,
    /// SHA-256 of the OVA's manifest (fleet.lock pins the OVA by it).
    pub manifest_sha256: String,
    pub vib: String,
    pub lock: String,
    pub base: String,
    pub base_kind: &'static str,
    /// How the base reached the work image the bake writes into.
    pub base_copy: BaseCopy,
    pub photon_version: String,
    /// /etc/photon-release of the base, as read for the version check.
    pub photon_release: Option<String>,
    pub vdvs_release: String,
    pub plugin_version: String,
    pub vib_version: String,
    /// The plugin's name and tag in Docker (`vsphere:latest`).
    pub plugin_as: String,
    pub root_partition: Option<u32>,
    pub capacity: u64,
    pub baked: Baked,
    pub seconds: Seconds,
}

/// How the base reached the work image.
#[derive(Debug, Serialize)]
#[serde(tag = "how", rename_all = "kebab-case")]
pub enum BaseCopy {
    /// Its partition tables and filesystem metadata only: the VMDK writer reads the rest
    /// from the base.
    Metadata(Copied),
    /// All of it, expanded.
    Whole { why: WholeCopy },
}

#[derive(Debug, Serialize, Default)]
pub struct Seconds {
    /// The base copied into the work image (its metadata, or all of it and grown).
    pub base: f64,
    pub bake: f64,
    /// The disk deflated as a streamOptimized VMDK, in place inside the OVA.
    pub vmdk: f64,
    /// The VIB copied, fleet.lock written.
    pub lock: f64,
    pub total: f64,
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

/// A digest of everything build-ova's output depends on: photon-fleet's version, the
/// base's size and modification time (as make and cargo judge a file: hashing a 16 GiB
/// base on every `up` would cost more than it saves), the plugin bundle's and the VIB's
/// digests, and fleet.toml's image sections (paths aside, and the guest login key,
/// which is not baked). fleet.lock records it; `up` rebuilds when it changes.
pub fn inputs_digest(
    fleet: &Fleet,
    base: &Path,
    plugin_sha256: &str,
    vib_sha256: &str,
) -> Result<String> {
    let meta = std::fs::metadata(base).with_context(|| base.display().to_string())?;
    let mtime = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let without = |v: serde_json::Value, keys: &[&str]| {
        let mut v = v;
        if let Some(m) = v.as_object_mut() {
            for k in keys {
                m.remove(*k);
            }
        }
        v
    };
    // serde_json's maps are sorted by key: the text is canonical.
    let doc = serde_json::json!({
        "photon_fleet": env!("CARGO_PKG_VERSION"),
        "base": { "size": meta.len(), "mtime_ns": mtime.to_string() },
        "plugin": plugin_sha256,
        "vib": vib_sha256,
        "image": without(serde_json::to_value(&fleet.image)?, &["base", "out"]),
        "docker": fleet.docker,
        "vdvs": without(serde_json::to_value(&fleet.vdvs)?, &["plugin", "vib"]),
        "guest": without(serde_json::to_value(&fleet.guest)?, &["identity"]),
        "network": serde_json::to_value(&fleet.network)?,
    });
    Ok(plugin::lock::sha256_hex(doc.to_string().as_bytes()))
}

/// The two vDVS halves, checked to be one release before any disk work.
struct Vdvs {
    bundle: plugin::managed::PluginBundle,
    vib_bytes: Vec<u8>,
    vib: plugin::Vib,
    release: String,
}

fn vdvs(i: &BuildInputs) -> Result<Vdvs> {
    let bundle =
        plugin::managed::open(&i.plugin).with_context(|| i.plugin.display().to_string())?;
    let (vib_bytes, vib) = plugin::open_vib(&i.vib).with_context(|| i.vib.display().to_string())?;
    let pair = plugin::pairing::check(&bundle.version, &vib.descriptor.version)
        .with_context(|| format!("{} and {}", i.plugin.display(), i.vib.display()))?;
    Ok(Vdvs {
        bundle,
        vib_bytes,
        vib,
        release: pair.release,
    })
}

/// The output files, named from the image's name and Photon version.
struct Outputs {
    stem: String,
    ova: PathBuf,
    vib: PathBuf,
    lock: PathBuf,
}

fn outputs(i: &BuildInputs, photon: &str, vib_version: &str) -> Result<Outputs> {
    let stem = format!("{}-{photon}", i.fleet.image.name);
    let o = Outputs {
        ova: i.out.join(format!("{stem}.ova")),
        vib: i
            .out
            .join(format!("{}-{vib_version}.vib", plugin::VDVS_VIB_NAME)),
        lock: i.out.join("fleet.lock"),
        stem,
    };
    for p in [&o.ova, &o.vib, &o.lock] {
        if p.exists() && !i.force {
            return Err(InputError::Exists(p.clone()).into());
        }
    }
    Ok(o)
}

/// The Photon version: what the base says, checked against `[image] photon_version`.
fn photon(i: &BuildInputs, release: Option<&str>, shown: &str) -> Result<String> {
    let detected = release.and_then(photon_version);
    match (&i.fleet.image.photon_version, &detected) {
        (Some(want), Some(got)) if want != got => Err(bad(format!(
            "{shown} is Photon OS {got}, but fleet.toml [image] photon_version says {want}"
        ))),
        (Some(v), _) | (None, Some(v)) => Ok(v.clone()),
        (None, None) => Err(bad(format!(
            "{shown}: no /etc/photon-release in the root filesystem; set [image] photon_version if this really is Photon OS"
        ))),
    }
}

/// What build-ova was writing into `--out` when it ran out of space.
#[derive(Clone, Copy)]
enum Writing {
    Base,
    Bake,
    Ova,
}

/// A full disk while build-ova writes into `--out` is said of `--out`, not the base.
fn out_of_space(e: anyhow::Error, out: &Path, writing: Writing) -> anyhow::Error {
    let full = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull)
    });
    let what = match writing {
        Writing::Base => "the copy of the base disk (its metadata; up to the disk's full size, sparse, when it is copied whole)",
        Writing::Bake => "the baked files",
        Writing::Ova => "the OVA",
    };
    if full {
        bad(format!(
            "{}: no space left for {what}: free space there or pick another --out",
            out.display()
        ))
    } else {
        e
    }
}

/// `path` made absolute with symlinks resolved, also when its last parts do not exist yet.
fn resolved(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut at = abs.as_path();
    loop {
        if let Ok(real) = at.canonicalize() {
            return rest.iter().rev().fold(real, |p, part| p.join(part));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return abs,
        }
    }
}

/// `--out` and the inputs are apart: the output folder inside an input would be read as
/// part of it (the plugin bundle), and an input inside `--out` could be replaced.
fn check_apart(i: &BuildInputs) -> Result<()> {
    let out = resolved(&i.out);
    for (flag, input) in [
        ("--base", &i.base),
        ("--plugin", &i.plugin),
        ("--vib", &i.vib),
    ] {
        let inp = resolved(input);
        let shown = (i.out.display(), input.display());
        if out.starts_with(&inp) {
            return Err(bad(format!(
                "--out {} is inside {flag} {}: pick an output folder apart from the inputs",
                shown.0, shown.1
            )));
        }
        if inp.starts_with(&out) {
            return Err(bad(format!(
                "{flag} {} is inside --out {}: pick an output folder apart from the inputs",
                shown.1, shown.0
            )));
        }
    }
    Ok(())
}

/// Runs build-ova. Nothing is left under a final name unless everything succeeded.
pub fn build(i: &BuildInputs, progress: &dyn ova::Progress) -> Result<Built> {
    let started = Instant::now();
    let mut secs = Seconds::default();
    let v = vdvs(i)?;
    let disk_size = i
        .fleet
        .image
        .disk_size
        .as_deref()
        .map(config::parse_size)
        .transpose()
        .map_err(bad)?;
    check_apart(i)?;
    let work =
        crate::workspace::Workspace::open(&i.out).with_context(|| i.out.display().to_string())?;
    let raw_path = work.path().join("disk.raw");
    let shown = i.base.display().to_string();

    // 1. The base: its metadata copied into a sparse work image (or all of it).
    let t = Instant::now();
    let (base_kind, base_src) = bake::open_base(&i.base)?;
    let base_seen = stamp(&i.base)?;
    let work_file = std::fs::File::create(&raw_path)?;
    let grows = disk_size.is_some_and(|s| s != base_src.size());
    let prepared = if grows {
        Err(WholeCopy::Growing)
    } else if i.whole_base {
        Err(WholeCopy::Asked)
    } else {
        overlay::prepare(base_src.as_ref(), &work_file, progress)
            .map_err(|e| out_of_space(e, &i.out, Writing::Base))?
    };
    let base_copy = match prepared {
        Ok(copied) => BaseCopy::Metadata(copied),
        Err(why) => {
            bake::expand(base_src.as_ref(), &work_file, &shown, progress)
                .map_err(|e| out_of_space(e, &i.out, Writing::Base))?;
            BaseCopy::Whole { why }
        }
    };
    drop(work_file);
    let mut root = bake::find_root(&raw_path, &shown)?;
    if let Some(size) = disk_size {
        root = bake::grow(&raw_path, root, size)
            .with_context(|| shown.clone())
            .map_err(|e| out_of_space(e, &i.out, Writing::Base))?;
    }
    secs.base = t.elapsed().as_secs_f64();

    // 2. The bake.
    let t = Instant::now();
    let fs = ExtFs::new(&raw_path, root.offset)?;
    if let BaseCopy::Metadata(copied) = &base_copy {
        // The one file the bake reads: its contents are not metadata.
        let work = std::fs::OpenOptions::new().write(true).open(&raw_path)?;
        let root_fs = copied.filesystem_at(root.offset)?;
        overlay::copy_file(
            &fs,
            base_src.as_ref(),
            &work,
            root_fs,
            "/etc/photon-release",
        )
        .map_err(|e| out_of_space(e, &i.out, Writing::Base))?;
    }
    let release = fs.cat("/etc/photon-release")?;
    let photon = photon(i, release.as_deref(), &shown)?;
    let out = outputs(i, &photon, &v.vib.descriptor.version)?;
    let baked = bake_files(i, &v, &fs, work.path(), &shown, progress)
        .map_err(|e| out_of_space(e, &i.out, Writing::Bake))?;
    secs.bake = t.elapsed().as_secs_f64();

    // 3. The OVA: the disk deflated straight into it, then the descriptor in front.
    let t = Instant::now();
    let disk: Box<dyn ova::DiskSource> = match &base_copy {
        BaseCopy::Metadata(_) => Box::new(overlay::Overlay::new(&raw_path, base_src)?),
        BaseCopy::Whole { .. } => Box::new(bake::consume::Consumed::open(&raw_path)?),
    };
    let written = write_ova(i, &v, &out, &photon, disk.as_ref(), progress)
        .map_err(|e| out_of_space(e, &i.out, Writing::Ova))?;
    drop(disk);
    let _ = std::fs::remove_file(&raw_path);
    secs.vmdk = t.elapsed().as_secs_f64();

    // 4. The VIB beside it, the lock.
    let t = Instant::now();
    let undo = Undo(vec![out.ova.clone(), out.vib.clone()]);
    // The base was read until the OVA was written: it must be the base it was at the start.
    if stamp(&i.base)? != base_seen {
        return Err(bad(format!(
            "{shown} changed while build-ova read it: run it again with the base left alone"
        )));
    }
    plumbing::write_atomically(&out.vib, |f| {
        std::io::Write::write_all(&mut &*f, &v.vib_bytes)
    })?;
    lock(i, &v, &out, &written.manifest_sha256)?;
    undo.keep();
    secs.lock = t.elapsed().as_secs_f64();
    secs.total = started.elapsed().as_secs_f64();
    Ok(Built {
        ova: out.ova.display().to_string(),
        manifest_sha256: written.manifest_sha256,
        vib: out.vib.display().to_string(),
        lock: out.lock.display().to_string(),
        base: shown,
        base_kind,
        base_copy,
        photon_version: photon,
        photon_release: release,
        vdvs_release: v.release,
        plugin_version: v.bundle.version,
        vib_version: v.vib.descriptor.version.clone(),
        plugin_as: format!("{}:{}", i.fleet.vdvs.alias, i.fleet.vdvs.tag),
        root_partition: root_number(&root),
        capacity: written.disk.capacity,
        baked,
        seconds: secs,
    })
}

/// A file's size and modification time: what tells that it changed.
fn stamp(path: &Path) -> Result<(u64, std::time::SystemTime)> {
    let m = std::fs::metadata(path).with_context(|| path.display().to_string())?;
    Ok((m.len(), m.modified()?))
}

fn root_number(root: &Root) -> Option<u32> {
    root.partition.as_ref().map(|p| p.number)
}

/// Stages the baked files (config from fleet.toml, the plugin bundle) and writes them.
fn bake_files(
    i: &BuildInputs,
    v: &Vdvs,
    fs: &ExtFs,
    work: &Path,
    shown: &str,
    progress: &dyn ova::Progress,
) -> Result<Baked> {
    let bundle_dir = if i.plugin.is_dir() {
        i.plugin.clone()
    } else {
        let dir = work.join("bundle");
        unpack(&i.plugin, &dir)?;
        dir
    };
    let versions = files::Versions {
        plugin: &v.bundle.version,
        vib: &v.vib.descriptor.version,
    };
    let mut entries = files::config_entries(i.fleet, &versions)?;
    entries.extend(files::bundle_entries(&bundle_dir)?);
    let staged = work.join("files");
    std::fs::create_dir(&staged)?;
    let entries = bake::stage(files::with_parents(entries), &staged)?;
    let zone = i
        .fleet
        .guest
        .timezone
        .as_ref()
        .map(|tz| format!("/usr/share/zoneinfo/{tz}"));
    let mut must: Vec<&str> = files::REQUIRED_UNITS.to_vec();
    must.extend(zone.as_deref());
    let total: u64 = entries.iter().map(|e| e.size()).sum();
    progress.stage("bake", total);
    let baked = bake::bake(fs, &entries, &must, shown)?;
    progress.advance(total);
    progress.done();
    Ok(baked)
}

fn write_ova(
    i: &BuildInputs,
    v: &Vdvs,
    out: &Outputs,
    photon: &str,
    disk: &dyn ova::DiskSource,
    progress: &dyn ova::Progress,
) -> Result<ova::package::Written> {
    let image = &i.fleet.image;
    let shape = VmShape {
        name: out.stem.clone(),
        cpus: image.cpus,
        memory_mb: image.memory_mb,
        hw_version: image.hw_version,
        network: image.network.clone(),
        firmware: if image.firmware == "bios" {
            Firmware::Bios
        } else {
            Firmware::Efi
        },
    };
    let baked_versions = BakedVersions {
        photon: Some(photon.to_string()),
        plugin: Some(v.bundle.version.clone()),
        vib: Some(v.vib.descriptor.version.clone()),
    };
    let net = &i.fleet.network;
    let ovf = |disk: &OvfDisk| {
        let mut spec = ovf_spec(&shape, disk.clone(), &baked_versions);
        if let Some(p) = spec.product.as_mut() {
            for prop in &mut p.properties {
                match prop.key.as_str() {
                    "network.gateway" => prop.value = net.gateway.clone().unwrap_or_default(),
                    "network.dns" => prop.value = net.dns.join(","),
                    _ => {}
                }
            }
        }
        ova::ovf::render(&spec)
    };
    let opts = ova::vmdk::WriteOptions {
        file_name: format!("{}-disk1.vmdk", out.stem),
        ..i.vmdk.clone()
    };
    ova::write_ova(&out.ova, disk, &opts, 0, &ovf, progress)
        .with_context(|| out.ova.display().to_string())
}

fn lock(i: &BuildInputs, v: &Vdvs, out: &Outputs, manifest_sha256: &str) -> Result<()> {
    let dir = plumbing::folder_of(&out.lock);
    let lock = FleetLock {
        lock_version: plugin::lock::LOCK_VERSION,
        vdvs: Release {
            release: v.release.clone(),
        },
        plugin: PluginEntry::of(&v.bundle, &i.plugin, dir),
        vib: VibEntry::of(
            &v.vib,
            &out.vib,
            plugin::lock::sha256_hex(&v.vib_bytes),
            dir,
        ),
        ova: Some(OvaEntry {
            file: relative_to(&out.ova, dir),
            manifest_sha256: manifest_sha256.to_string(),
        }),
        inputs: Some(InputsEntry {
            sha256: inputs_digest(
                i.fleet,
                &i.base,
                &v.bundle.sha256,
                &plugin::lock::sha256_hex(&v.vib_bytes),
            )?,
        }),
    };
    lock.write(&out.lock)
        .with_context(|| out.lock.display().to_string())?;
    Ok(())
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
