//! `photon-fleet disk demo-base`: a Photon-like, NOT bootable base for demos and tests.

use crate::cli::DemoBaseArgs;
use crate::output::{usage, Context};
use anyhow::Result;
use indicatif::HumanBytes;

pub fn demo_base(ctx: &Context, a: &DemoBaseArgs) -> Result<()> {
    let size = config::parse_size(&a.size).map_err(|e| usage(format!("--size: {e}")))?;
    super::refuse_existing(&a.output, a.force)?;
    let r = builder::demo_base::write(&a.output, size)?;
    ctx.emit(&r, || {
        format!(
            "{}: {} demo base, ext4 root on partition {} at offset {} ({}); NOT bootable, pass a real Photon OVA with --base\n",
            r.file,
            HumanBytes(r.size),
            r.root_partition,
            r.root_offset,
            HumanBytes(r.root_size)
        )
    })
}
