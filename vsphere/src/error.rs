//! The vsphere crate's errors: what went wrong, with the fields a caller branches on.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// What the user gave us is wrong (a URL, a name that does not exist, a flag).
    #[error("{0}")]
    Input(String),
    /// TLS: the certificate is not trusted, or does not match the pinned thumbprint.
    #[error("{0}")]
    Tls(String),
    /// The endpoint's certificate is not trusted by the trust chosen (nothing was sent).
    #[error("{url}: the certificate is not trusted ({reason})")]
    Untrusted { url: String, reason: String },
    /// No placement object has this name.
    #[error("{what} '{name}' not found; there are: {}", list(choices))]
    NotFound {
        what: crate::inventory::Part,
        name: String,
        choices: Vec<String>,
    },
    /// Several objects could be meant and none was named.
    #[error("which {what}? there are: {}", list(choices))]
    Ambiguous {
        what: crate::inventory::Part,
        choices: Vec<String>,
    },
    /// vCenter answered with a SOAP fault.
    #[error("{fault}: {message}")]
    Fault { fault: String, message: String },
    /// The connection or HTTP itself failed.
    #[error("{0}")]
    Http(String),
    /// vCenter answered, but not as the API says it should.
    #[error("{0}")]
    Unexpected(String),
    /// A name the deploy needs is held by a VM or template photon-fleet did not make
    /// (or, for a template, one holding another OVA). Nothing was changed.
    #[error("{kind} '{name}' already exists ({power_state}, annotation {annotation:?}): {why}")]
    NameTaken {
        /// What the name was wanted for.
        role: Role,
        name: String,
        /// `VM` or `template`.
        kind: &'static str,
        power_state: String,
        /// Its annotation, shortened to one printable line.
        annotation: String,
        /// Why it cannot be used: not ours, or a template of another OVA.
        why: String,
    },
    /// A VM photon-fleet was about to remove does not carry the marker of an unfinished
    /// import of ours (any more): it was left alone.
    #[error(
        "'{name}' does not carry photon-fleet's import marker ({annotation:?}): it was left alone"
    )]
    NotOurs { name: String, annotation: String },
}

/// What a name was wanted for, so the CLI can name the flag that changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Template,
    FleetVm,
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

impl Error {
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            Error::Input(_)
                | Error::Tls(_)
                | Error::Untrusted { .. }
                | Error::NameTaken { .. }
                | Error::NotFound { .. }
                | Error::Ambiguous { .. }
        ) || matches!(self, Error::Fault { fault, .. } if fault == "InvalidLogin")
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
