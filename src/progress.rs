//! indicatif progress bars behind the `ova::Progress` trait (on stderr; hidden when
//! stderr is not a terminal, with --quiet or --json).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

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

/// A spinner line per item (host, VM) showing its current step, above a total bar.
pub struct LineBars {
    multi: MultiProgress,
    pub total: ProgressBar,
    lines: Mutex<BTreeMap<String, ProgressBar>>,
}

impl LineBars {
    pub fn new(visible: bool, n: usize, unit: &str) -> Self {
        let multi = MultiProgress::with_draw_target(if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let total = multi.add(ProgressBar::new(n as u64));
        total.set_style(
            ProgressStyle::with_template(&format!(
                "{{msg:>24}} [{{bar:32}}] {{pos}}/{{len}} {unit} {{elapsed}}"
            ))
            .expect("static template")
            .progress_chars("=> "),
        );
        total.set_message(format!("all {unit}"));
        Self {
            multi,
            total,
            lines: Mutex::new(BTreeMap::new()),
        }
    }

    /// Shows `step` on `key`'s line (made on first use).
    pub fn line(&self, key: &str, step: &str) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let bar = lines.entry(key.to_string()).or_insert_with(|| {
            let b = self
                .multi
                .insert_before(&self.total, ProgressBar::new_spinner());
            b.set_style(
                ProgressStyle::with_template("{prefix:>24} {spinner} {msg}")
                    .expect("static template"),
            );
            b.set_prefix(key.to_string());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        bar.set_message(step.to_string());
    }

    /// Removes `key`'s line, prints `summary` above the bars, counts one more done.
    pub fn finish(&self, key: &str, summary: &str) {
        if let Some(b) = self
            .lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key)
        {
            b.finish_and_clear();
        }
        let _ = self.multi.println(summary);
        self.total.inc(1);
    }
}
