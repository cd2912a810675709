//! `photon-fleet lock create`, and `inspect fleet.lock`.

use crate::output::Context;
use crate::text::vdvs::LockReport;
use anyhow::{Context as _, Result};
use plugin::lock::{FleetLock, PluginEntry, Release, VibEntry, LOCK_VERSION};
use std::path::Path;

pub fn create(
    ctx: &Context,
    plugin_path: &Path,
    vib_path: &Path,
    output: &Path,
    force: bool,
) -> Result<()> {
    super::refuse_existing(output, force)?;
    let bundle =
        plugin::managed::open(plugin_path).with_context(|| plugin_path.display().to_string())?;
    let (_, vib) = plugin::open_vib(vib_path).with_context(|| vib_path.display().to_string())?;
    let pair = plugin::pairing::check(&bundle.version, &vib.descriptor.version)?;
    let dir = plumbing::folder_of(output);
    let lock = FleetLock {
        lock_version: LOCK_VERSION,
        vdvs: Release {
            release: pair.release,
        },
        plugin: PluginEntry::of(&bundle, plugin_path, dir),
        vib: VibEntry::of(&vib, vib_path, plugin::lock::sha256_file(vib_path)?, dir),
        ova: None,
        inputs: None,
    };
    lock.write(output)
        .with_context(|| output.display().to_string())?;
    ctx.emit(&lock, || {
        format!(
            "{}: vDVS {} = plugin {} + {}\n",
            output.display(),
            lock.vdvs.release,
            lock.plugin.version,
            lock.vib.id
        )
    })
}

pub fn inspect(ctx: &Context, path: &Path) -> Result<()> {
    let lock = FleetLock::read(path)?;
    let checks = fleet::image::verify_lock(&lock, path);
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{} {}", c.what, c.file.display()))
        .collect();
    let report = LockReport { lock, checks };
    ctx.emit(&report, || report.text())?;
    if failed.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} do(es) not match the lock: rebuild, or restore the files the lock names",
        failed.join(", ")
    )
}
