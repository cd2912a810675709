use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// What the user gave us is wrong (a URL, a name that does not exist, a flag).
    #[error("{0}")]
    Input(String),
    /// TLS: the certificate is not trusted, or does not match the pinned thumbprint.
    #[error("{0}")]
    Tls(String),
    /// vCenter answered with a SOAP fault.
    #[error("{fault}: {message}")]
    Fault { fault: String, message: String },
    /// The connection or HTTP itself failed.
    #[error("{0}")]
    Http(String),
    /// vCenter answered, but not as the API says it should.
    #[error("{0}")]
    Unexpected(String),
}

impl Error {
    pub fn is_input_error(&self) -> bool {
        matches!(self, Error::Input(_) | Error::Tls(_))
            || matches!(self, Error::Fault { fault, .. } if fault == "InvalidLogin")
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
