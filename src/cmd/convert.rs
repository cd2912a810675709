//! `photon-fleet disk convert IN OUT`

use super::{ensure_distinct, refuse_existing, vmdk_options};
use crate::cli::{ConvertArgs, OutFormat};
use crate::output::{usage, Context};
use anyhow::{Context as _, Result};
use indicatif::HumanBytes;
use serde::Serialize;
use std::time::Instant;

#[derive(Serialize)]
struct Report {
    input: String,
    input_format: ova::DiskFormat,
    output: String,
    output_format: &'static str,
    capacity: u64,
    populated_size: u64,
    file_size: u64,
    seconds: f64,
}

fn out_format(a: &ConvertArgs) -> Result<OutFormat> {
    if let Some(f) = a.format {
        return Ok(f);
    }
    match a
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("vmdk") => Ok(OutFormat::Vmdk),
        Some("raw" | "img") => Ok(OutFormat::Raw),
        _ => Err(usage(format!(
            "cannot tell the output format from '{}': name it .vmdk or .raw, or pass --format",
            a.output.display()
        ))),
    }
}

pub fn run(ctx: &Context, a: &ConvertArgs) -> Result<()> {
    let format = out_format(a)?;
    ensure_distinct(&a.input, &a.output)?;
    let started = Instant::now();
    let shown = a.input.display().to_string();
    let (in_format, src) = ova::open_disk(&a.input).with_context(|| shown.clone())?;
    let file_name = a
        .output
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("disk.vmdk");
    let opts = vmdk_options(&a.vmdk, file_name, ova::vmdk::AdapterType::LsiLogic)?;
    refuse_existing(&a.output, a.force)?;
    let (populated, capacity) = plumbing::write_atomically(&a.output, |f| match format {
        OutFormat::Vmdk => {
            let r = ova::vmdk::write_stream_optimized(src.as_ref(), f, &opts, &ctx.bars)
                .with_context(|| shown.clone())?;
            Ok((r.populated_size, r.capacity))
        }
        OutFormat::Raw => {
            let n =
                ova::raw::write_raw(src.as_ref(), f, &ctx.bars).with_context(|| shown.clone())?;
            Ok::<_, anyhow::Error>((n, src.size()))
        }
    })?;
    let report = Report {
        input: shown,
        input_format: in_format,
        output: a.output.display().to_string(),
        output_format: if format == OutFormat::Vmdk {
            "vmdk-stream-optimized"
        } else {
            "raw"
        },
        capacity,
        populated_size: populated,
        file_size: std::fs::metadata(&a.output)?.len(),
        seconds: started.elapsed().as_secs_f64(),
    };
    ctx.emit(&report, || {
        format!(
            "{} -> {} ({}): capacity {}, data {}, file {}, {:.1} s\n",
            report.input,
            report.output,
            report.output_format,
            HumanBytes(report.capacity),
            HumanBytes(report.populated_size),
            HumanBytes(report.file_size),
            report.seconds
        )
    })
}
