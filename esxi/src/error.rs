//! The esxi crate's errors.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// What the user gave us is wrong (a host spec, a known_hosts file, a flag).
    #[error("{0}")]
    Input(String),
    /// The host key is unknown or changed; never passed over silently.
    #[error(transparent)]
    HostKey(HostKeyProblem),
    /// SSH transport or authentication.
    #[error("{0}")]
    Ssh(String),
    /// An upload did not complete: how far it got, and the reason (the host's scp sink's
    /// own words when it gave any).
    #[error("upload of {remote} failed after {sent} of {total} bytes: {reason}")]
    Upload {
        remote: String,
        sent: u64,
        total: u64,
        reason: String,
    },
    /// The host answered, but not as ESXi does.
    #[error("{0}")]
    Unexpected(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Why a host key was not trusted. Nothing was sent to the host.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HostKeyProblem {
    #[error("unknown host key {seen} (not in {file}): refusing to connect")]
    Unknown { seen: String, file: String },
    #[error("HOST KEY CHANGED (now {seen}; {file} line {line} has another): refusing to connect; if the host was reinstalled, remove the old key with ssh-keygen -R '{name}' -f {file}")]
    Changed {
        seen: String,
        file: String,
        line: usize,
        name: String,
    },
    #[error("host key {seen} is revoked ({file} line {line}): refusing to connect")]
    Revoked {
        seen: String,
        file: String,
        line: usize,
    },
    #[error("host key {seen} does not match the pinned {pin}: refusing to connect (if the host was reinstalled, update the pin in fleet.toml)")]
    PinMismatch { seen: String, pin: String },
}

impl Error {
    pub fn is_input_error(&self) -> bool {
        matches!(self, Error::Input(_))
    }
}

impl From<ssh2::Error> for Error {
    fn from(e: ssh2::Error) -> Self {
        Error::Ssh(e.message().to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
