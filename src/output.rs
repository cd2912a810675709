//! Shared CLI plumbing: JSON vs text output, one-line errors and exit codes
//! (0 ok, 1 failed, 2 bad usage or input). Writing to a closed pipe ends quietly.

use crate::progress::Bars;
use std::io::{IsTerminal, Write};

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
        let out = if self.json {
            serde_json::to_string_pretty(value)? + "\n"
        } else {
            text()
        };
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }
}

/// An error caused by what the user gave us (exit code 2).
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(config::BadInput(msg.into()))
}

/// The error and its causes on one line, without repeats; bytes that are not printable
/// (from a damaged input file, say) are escaped, never sent to the terminal.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts
        .join(": ")
        .chars()
        .flat_map(|c| {
            let esc: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            esc
        })
        .collect()
}

/// Did the error come from writing to a pipe whose reader went away (`| head`)?
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub fn exit_code(e: &anyhow::Error) -> u8 {
    let input = e.chain().any(|c| {
        c.downcast_ref::<config::BadInput>().is_some()
            || c.downcast_ref::<config::Error>().is_some()
            || c.downcast_ref::<fleet::install::VibProblem>().is_some()
            || c.downcast_ref::<builder::InputError>().is_some()
            || c.downcast_ref::<fleet::trial::InputError>().is_some()
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
