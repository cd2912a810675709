//! Shared CLI plumbing: JSON vs text output, one-line errors and exit codes
//! (0 ok, 1 failed, 2 bad usage or input).

use crate::progress::Bars;
use std::io::IsTerminal;

pub struct Context {
    pub json: bool,
    pub bars: Bars,
}

impl Context {
    pub fn new(json: bool, quiet: bool) -> Self {
        let visible = !json && !quiet && std::io::stderr().is_terminal();
        Self {
            json,
            bars: Bars::new(visible),
        }
    }

    /// Prints `value` as JSON, or `text()` for people.
    pub fn emit<T: serde::Serialize>(
        &self,
        value: &T,
        text: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            print!("{}", text());
        }
        Ok(())
    }
}

/// An error caused by what the user gave us (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// The error and its causes on one line, without repeats.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

pub fn exit_code(e: &anyhow::Error) -> u8 {
    let input = e.chain().any(|c| {
        c.downcast_ref::<UsageError>().is_some()
            || c.downcast_ref::<ova::Error>()
                .is_some_and(ova::Error::is_input_error)
            || c.downcast_ref::<plugin::Error>()
                .is_some_and(plugin::Error::is_input_error)
            || c.downcast_ref::<esxi::Error>()
                .is_some_and(esxi::Error::is_input_error)
            || c.downcast_ref::<vsphere::Error>()
                .is_some_and(vsphere::Error::is_input_error)
    });
    if input {
        2
    } else {
        1
    }
}
