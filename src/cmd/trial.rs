//! `photon-fleet try`: arguments to [`fleet::trial::TryInputs`], first boot's lines shown
//! as they come, the report; exit 1 unless the guest came up a working Docker host.

use crate::cli::{AccelArg, TryArgs};
use crate::output::Context;
use anyhow::Result;
use fleet::trial::{run, AccelWish, TryInputs, Watch};
use std::time::Duration;

/// Lines on stderr as they happen, on a terminal (a boot takes minutes); otherwise the
/// report on stdout carries them.
struct Live {
    show: bool,
}

impl Watch for Live {
    fn step(&self, what: &str) {
        if self.show {
            eprintln!("photon-fleet: {what}");
        }
    }

    fn firstboot(&self, line: &str) {
        if self.show {
            eprintln!("  first boot: {line}");
        }
    }
}

pub fn run_try(ctx: &Context, a: &TryArgs) -> Result<()> {
    let fleet = super::fleet(a.fleet.as_deref())?;
    let inputs = TryInputs {
        ova: a.ova.clone(),
        fleet: Some(&fleet),
        vm: a.vm.clone(),
        set: a.set.clone(),
        accel: match a.accel {
            AccelArg::Auto => AccelWish::Auto,
            AccelArg::Kvm => AccelWish::Kvm,
            AccelArg::Tcg => AccelWish::Tcg,
        },
        timeout: Duration::from_secs(a.timeout),
        keep: a.keep,
        again: a.again,
        until_poweroff: a.until_poweroff,
        console_log: a.console_log.clone(),
    };
    let live = Live {
        show: ctx.bars.visible(),
    };
    let report = run(&inputs, &ctx.bars, &live)?;
    // On a terminal first boot's lines were shown as they came: the report does not repeat them.
    ctx.emit(&report, || crate::text::trial::text(&report, !live.show))?;
    if report.ok() {
        Ok(())
    } else {
        anyhow::bail!("{}", crate::text::trial::verdict(&report))
    }
}
