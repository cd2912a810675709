//! indicatif progress bars behind the `ova::Progress` trait (on stderr; hidden when
//! stderr is not a terminal, with --quiet or --json).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;

pub struct Bars {
    visible: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub fn new(visible: bool) -> Self {
        Self {
            visible,
            bar: Mutex::new(None),
        }
    }

    pub fn visible(&self) -> bool {
        self.visible
    }
}

impl ova::Progress for Bars {
    fn stage(&self, label: &str, total: u64) {
        let bar = if self.visible {
            ProgressBar::new(total)
        } else {
            ProgressBar::hidden()
        };
        if self.visible {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        let style = ProgressStyle::with_template(
            "{msg:>16} [{bar:32}] {binary_bytes:>10}/{binary_total_bytes} {binary_bytes_per_sec:>12} eta {eta}",
        )
        .expect("static template")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(label.to_string());
        *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
    }

    fn advance(&self, n: u64) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            b.inc(n);
        }
    }

    fn done(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}
