//! vDVS artifacts on the command line: inspect VIBs, bundles, plugin bundles and
//! fleet.lock; repack a VIB for ESXi 8; pair a plugin and a VIB into fleet.lock.

use crate::output::{usage, Context};
use anyhow::{Context as _, Result};
use plugin::lock::{FleetLock, PluginEntry, Release, VibEntry, LOCK_VERSION};
use plugin::{managed, pairing, Vib};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

#[derive(Serialize)]
struct VibReport<'a> {
    kind: &'static str,
    file: String,
    id: String,
    sha256: String,
    #[serde(flatten)]
    vib: &'a Vib,
    warnings: Vec<String>,
}

impl<'a> VibReport<'a> {
    fn new(file: &Path, bytes: &[u8], vib: &'a Vib) -> Self {
        Self {
            kind: "vib",
            file: file.display().to_string(),
            id: vib.id(),
            sha256: plugin::lock::sha256_hex(bytes),
            vib,
            warnings: vib.warnings(),
        }
    }
}

pub fn inspect_vib(ctx: &Context, path: &Path) -> Result<()> {
    let (bytes, vib) = plugin::open_vib(path)?;
    let report = VibReport::new(path, &bytes, &vib);
    ctx.emit(&report, || {
        let mut s = vib.info_text();
        let _ = writeln!(s, "Verified:               {}", vib.verified.join(", "));
        let _ = writeln!(s, "SHA-256 of the VIB:     {}", report.sha256);
        for w in &report.warnings {
            let _ = writeln!(s, "Warning: {w}");
        }
        s
    })
}

pub fn inspect_plugin(ctx: &Context, path: &Path) -> Result<()> {
    let b = managed::open(path)?;
    ctx.emit(&b, || {
        format!(
            "Docker managed plugin bundle {}\n  version          {}\n  interface        {} on {}\n  entrypoint       {}\n  propagatedMount  {}\n  settable env     {}\n  files            {}\n  digest           {}\n",
            path.display(),
            b.version,
            managed::VOLUME_DRIVER,
            b.socket,
            b.entrypoint.join(" "),
            b.propagated_mount,
            b.settable_env.join(", "),
            b.files,
            b.sha256
        )
    })
}

#[derive(Serialize)]
struct LockReport {
    lock: FleetLock,
    checks: Vec<plugin::lock::Checked>,
}

/// The OVA checked as deploy checks it (every manifest digest against its member); its
/// manifest's sha256, which fleet.lock records.
fn ova_manifest_sha256(path: &Path) -> plugin::Result<String> {
    let fail = |e: ova::Error| plugin::Error::Integrity(e.to_string());
    let (_, verified) = ova::Ova::open(path)
        .map_err(fail)?
        .verify(&ova::NoProgress)
        .map_err(fail)?;
    verified
        .manifest_sha256
        .ok_or_else(|| plugin::Error::Format("the OVA has no manifest (.mf)".into()))
}

pub fn inspect_lock(ctx: &Context, path: &Path) -> Result<()> {
    let lock = FleetLock::read(path)?;
    let checks = lock.verify(super::folder_of(path), &ova_manifest_sha256);
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{} {}", c.what, c.file.display()))
        .collect();
    let report = LockReport { lock, checks };
    ctx.emit(&report, || {
        let l = &report.lock;
        let mut s = format!(
            "fleet.lock   vDVS {}: plugin {} + VIB {}\n",
            l.vdvs.release, l.plugin.version, l.vib.id
        );
        for c in &report.checks {
            let _ = writeln!(
                s,
                "  {:<7}{} {}: {}",
                c.what,
                if c.ok { "ok  " } else { "FAIL" },
                c.file.display(),
                c.detail
            );
        }
        s
    })?;
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} do(es) not match the lock: rebuild, or restore the files the lock names",
            failed.join(", ")
        )
    }
}

/// Writes `bytes` to `output` through the CLI's temp-name-then-rename writer.
fn write_bytes(output: &Path, force: bool, bytes: &[u8]) -> Result<()> {
    super::write_atomically(output, force, |mut f| Ok(f.write_all(bytes)?))
}

/// Writes a freshly composed VIB and reports it.
fn write_vib(ctx: &Context, bytes: &[u8], output: &Path, force: bool, what: &str) -> Result<()> {
    write_bytes(output, force, bytes)?;
    let vib = Vib::parse(bytes)?;
    let report = VibReport::new(output, bytes, &vib);
    ctx.emit(&report, || {
        format!(
            "{what} -> {}: {} with sha-256 gunzip checksums. It is UNSIGNED: install with --no-sig-check on hosts at CommunitySupported.\n",
            output.display(),
            report.id
        )
    })
}

pub fn repack(ctx: &Context, input: &Path, output: &Path, force: bool) -> Result<()> {
    super::ensure_distinct(input, output)?;
    super::refuse_existing(output, force)?;
    let (_, vib) = plugin::open_vib(input).with_context(|| input.display().to_string())?;
    let bytes = plugin::vib::compose::repack(&vib)?;
    write_vib(ctx, &bytes, output, force, &input.display().to_string())
}

pub fn compose(ctx: &Context, a: &crate::cli::ComposeArgs) -> Result<()> {
    super::refuse_existing(&a.output, a.force)?;
    if !a.stage.is_dir() {
        return Err(usage(format!(
            "{}: the stage must be a folder",
            a.stage.display()
        )));
    }
    let mut spec = plugin::vib::VibDescriptor::vdvs(&a.version, &a.release_date);
    spec.name.clone_from(&a.name);
    spec.vendor.clone_from(&a.vendor);
    spec.acceptance_level.clone_from(&a.acceptance);
    let payload = plugin::vib::compose::payload_from_dir(&a.payload, &a.stage)
        .with_context(|| a.stage.display().to_string())?;
    let bytes = plugin::vib::compose::compose(&spec, &[payload])?;
    write_vib(
        ctx,
        &bytes,
        &a.output,
        a.force,
        &a.stage.display().to_string(),
    )
}

pub fn bundle(
    ctx: &Context,
    input: &Path,
    output: &Path,
    bulletin: Option<&str>,
    force: bool,
) -> Result<()> {
    super::ensure_distinct(input, output)?;
    super::refuse_existing(output, force)?;
    let (bytes, vib) = plugin::open_vib(input).with_context(|| input.display().to_string())?;
    let d = &vib.descriptor;
    let bulletin = match bulletin {
        Some(b) => b.to_string(),
        None => match pairing::VibVersion::parse(&d.version) {
            Ok(v) if d.name == "esx-vmdkops-service" => format!("VDVS_driver-{}", v.release_tag()),
            _ => format!("{}-{}", d.name, d.version),
        },
    };
    if bulletin.is_empty()
        || !bulletin
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(usage(format!(
            "bulletin ID '{bulletin}' may only hold letters, digits, '.', '_' and '-'"
        )));
    }
    let zip = plugin::bundle::write_bundle(&[(&vib, &bytes)], &bulletin, &d.release_date)?;
    write_bytes(output, force, &zip)?;
    #[derive(Serialize)]
    struct BundleReport<'a> {
        kind: &'static str,
        file: String,
        bulletin: &'a str,
        vibs: Vec<String>,
        sha256: String,
    }
    let report = BundleReport {
        kind: "offline-bundle",
        file: output.display().to_string(),
        bulletin: &bulletin,
        vibs: vec![vib.id()],
        sha256: plugin::lock::sha256_hex(&zip),
    };
    ctx.emit(&report, || {
        format!(
            "{} -> {}: bulletin {bulletin} with {}\n",
            input.display(),
            output.display(),
            vib.id()
        )
    })
}

/// `file` as the lock should record it: relative to the lock's folder when it is inside it.
pub fn relative_to(file: &Path, dir: &Path) -> String {
    let abs = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let (f, d) = (abs(file), abs(dir));
    f.strip_prefix(&d)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| f.display().to_string())
}

pub fn create_lock(
    ctx: &Context,
    plugin_path: &Path,
    vib_path: &Path,
    output: &Path,
    force: bool,
) -> Result<()> {
    super::refuse_existing(output, force)?;
    let bundle = managed::open(plugin_path).with_context(|| plugin_path.display().to_string())?;
    let (_, vib) = plugin::open_vib(vib_path).with_context(|| vib_path.display().to_string())?;
    let pair = pairing::check(&bundle.version, &vib.descriptor.version)?;
    let dir = super::folder_of(output);
    let lock = FleetLock {
        lock_version: LOCK_VERSION,
        vdvs: Release {
            release: pair.release,
        },
        plugin: PluginEntry {
            version: bundle.version,
            file: relative_to(plugin_path, dir),
            sha256: bundle.sha256,
        },
        vib: VibEntry {
            id: vib.id(),
            version: vib.descriptor.version.clone(),
            file: relative_to(vib_path, dir),
            sha256: plugin::lock::sha256_file(vib_path)?,
        },
        ova: None,
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
