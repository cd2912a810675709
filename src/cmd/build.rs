//! `photon-fleet build-ova`: arguments to [`builder::build::BuildInputs`], the build, the report.

use crate::cli::BuildArgs;
use crate::output::Context;
use anyhow::Result;
use builder::build::{build, BuildInputs};

pub fn run(ctx: &Context, a: &BuildArgs) -> Result<()> {
    let fleet = super::fleet(a.fleet.as_deref())?;
    let mut inputs = BuildInputs::from_fleet(
        &fleet,
        a.base.clone(),
        a.plugin.clone(),
        a.vib.clone(),
        a.out.clone(),
    )?;
    inputs.force = a.force;
    inputs.whole_base = a.whole_base;
    inputs.vmdk = super::vmdk_options(&a.vmdk, "disk1.vmdk", ova::vmdk::AdapterType::Pvscsi)?;
    let built = build(&inputs, &ctx.bars)?;
    ctx.emit(&built, || crate::text::build::built(&built))
}
