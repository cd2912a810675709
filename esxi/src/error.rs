use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// What the user gave us is wrong (a host spec, a known_hosts file, a flag).
    #[error("{0}")]
    Input(String),
    /// The host key is unknown or changed; never passed over silently.
    #[error("{0}")]
    HostKey(String),
    /// SSH transport or authentication.
    #[error("{0}")]
    Ssh(String),
    /// The host answered, but not as ESXi does.
    #[error("{0}")]
    Unexpected(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
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
