//! `photon-fleet try`: arguments to [`fleet::trial::TryInputs`], first boot's lines shown
//! as they come, the report; exit 1 unless the guest came up a working Docker host.

use crate::cli::{AccelArg, TryArgs};
use crate::output::Context;
use anyhow::Result;
use fleet::trial::{run, AccelWish, TryInputs, Watch};
use std::time::Duration;

/// On a terminal, a spinner with the step and the time it has taken (a boot takes
/// minutes), and first boot's lines above it as they come; otherwise the report on stdout
/// carries them.
struct Live {
    show: bool,
    spinner: indicatif::ProgressBar,
}

impl Live {
    fn new(show: bool) -> Self {
        let spinner = if show {
            let s = indicatif::ProgressBar::new_spinner();
            s.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .expect("static template"),
            );
            s.enable_steady_tick(std::time::Duration::from_millis(120));
            s
        } else {
            indicatif::ProgressBar::hidden()
        };
        Self { show, spinner }
    }
}

impl Watch for Live {
    fn step(&self, what: &str) {
        self.spinner.set_message(what.to_string());
    }

    fn firstboot(&self, line: &str) {
        self.spinner.println(format!("  first boot: {line}"));
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
    let live = Live::new(ctx.bars.visible());
    let report = run(&inputs, &ctx.bars, &live);
    live.spinner.finish_and_clear();
    let report = report?;
    // On a terminal first boot's lines were shown as they came: the report does not repeat them.
    ctx.emit(&report, || crate::text::trial::text(&report, !live.show))?;
    if report.ok() {
        Ok(())
    } else {
        anyhow::bail!("{}", crate::text::trial::verdict(&report))
    }
}
