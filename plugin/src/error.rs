//! The crate's error type: one line each, saying what is wrong and what to do.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The artifact is damaged or is not what it claims to be.
    #[error("{0}")]
    Format(String),
    /// A checksum does not match.
    #[error("{0}")]
    Integrity(String),
    /// The plugin and the VIB do not belong together.
    #[error("{0}")]
    Mismatch(String),
    /// Bad options or unusable input values.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub fn is_input_error(&self) -> bool {
        !matches!(self, Error::Io(_))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[macro_export]
macro_rules! bad {
    ($($arg:tt)*) => { $crate::Error::Format(format!($($arg)*)) };
}
