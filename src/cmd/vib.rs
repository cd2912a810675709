//! `photon-fleet vib compose|repack|bundle`, and `inspect` of a VIB or a plugin bundle.

use crate::cli::{ComposeArgs, VibCommand};
use crate::output::{usage, Context};
use crate::text::vdvs::VibReport;
use anyhow::{Context as _, Result};
use plugin::{managed, Vib};
use std::path::Path;

pub fn run(ctx: &Context, c: &VibCommand) -> Result<()> {
    match c {
        VibCommand::Compose(a) => compose(ctx, a),
        VibCommand::Repack {
            input,
            output,
            force,
        } => repack(ctx, input, output, *force),
        VibCommand::Bundle {
            vib,
            output,
            bulletin,
            force,
        } => bundle(ctx, vib, output, bulletin.as_deref(), *force),
    }
}

pub fn inspect_vib(ctx: &Context, path: &Path) -> Result<()> {
    let (bytes, vib) = plugin::open_vib(path)?;
    let report = VibReport::new(path, &bytes, &vib);
    ctx.emit(&report, || report.text())
}

pub fn inspect_plugin(ctx: &Context, path: &Path) -> Result<()> {
    let b = managed::open(path)?;
    ctx.emit(&b, || crate::text::vdvs::plugin(path, &b))
}

/// Writes a freshly composed VIB and reports it.
fn write_vib(ctx: &Context, bytes: &[u8], output: &Path, force: bool, what: &str) -> Result<()> {
    super::write_file(output, force, bytes)?;
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

fn repack(ctx: &Context, input: &Path, output: &Path, force: bool) -> Result<()> {
    super::ensure_distinct(input, output)?;
    super::refuse_existing(output, force)?;
    let (_, vib) = plugin::open_vib(input).with_context(|| input.display().to_string())?;
    let bytes = plugin::vib::compose::repack(&vib)?;
    write_vib(ctx, &bytes, output, force, &input.display().to_string())
}

fn compose(ctx: &Context, a: &ComposeArgs) -> Result<()> {
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
    let stage = a.stage.display().to_string();
    write_vib(ctx, &bytes, &a.output, a.force, &stage)
}

fn bundle(
    ctx: &Context,
    input: &Path,
    output: &Path,
    bulletin: Option<&str>,
    force: bool,
) -> Result<()> {
    super::ensure_distinct(input, output)?;
    super::refuse_existing(output, force)?;
    let (bytes, vib) = plugin::open_vib(input).with_context(|| input.display().to_string())?;
    let bulletin = match bulletin {
        Some(b) => b.to_string(),
        None => plugin::bundle::default_bulletin(&vib),
    };
    let zip =
        plugin::bundle::write_bundle(&[(&vib, &bytes)], &bulletin, &vib.descriptor.release_date)?;
    super::write_file(output, force, &zip)?;
    let report = serde_json::json!({
        "kind": "offline-bundle",
        "file": output.display().to_string(),
        "bulletin": bulletin,
        "vibs": [vib.id()],
        "sha256": plugin::lock::sha256_hex(&zip),
    });
    ctx.emit(&report, || {
        format!(
            "{} -> {}: bulletin {bulletin} with {}\n",
            input.display(),
            output.display(),
            vib.id()
        )
    })
}
