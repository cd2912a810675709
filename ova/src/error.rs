//! The crate's error type. Every message is one line and says what is wrong with
//! the input; callers add the file name as context.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is not what it claims to be (bad magic, offsets past EOF, bad XML, ...).
    #[error("{0}")]
    Format(String),
    /// The input is valid but uses something this tool does not handle.
    #[error("{0}")]
    Unsupported(String),
    /// A checksum in a manifest does not match the data.
    #[error("{0}")]
    Integrity(String),
    /// The caller asked for something impossible (bad option values).
    #[error("{0}")]
    Invalid(String),
    /// Something this crate got wrong itself (not the input's fault).
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl Error {
    /// True for errors caused by the input or the options, not by the machine or by us.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, Error::Io(_) | Error::Internal(_))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for a format error with a formatted message.
#[macro_export]
macro_rules! format_err {
    ($($arg:tt)*) => { $crate::Error::Format(format!($($arg)*)) };
}
