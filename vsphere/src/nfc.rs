//! Uploads to an import lease's device URLs: where each goes (vCenter itself for `*`,
//! otherwise the ESXi host that writes the disk), how that endpoint is trusted (a host by
//! the thumbprint the lease gives for it, which came over the verified vCenter session, as
//! govc does; `--insecure` only when it was asked), and that vCenter's session cookie is
//! sent to vCenter only (the lease's URL is the host's ticket).

use crate::client::Client;
use crate::tls::{labeled_config, Trust};
use crate::{Error, Result};

/// One device URL of a lease, as vCenter gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub url: String,
    /// `HttpNfcLeaseDeviceUrl.sslThumbprint`: the host's certificate (empty: not given).
    pub thumbprint: Option<String>,
}

/// Where an upload goes and how it is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// vCenter (or the ESXi host we are logged in to): its session and trust.
    Session { url: String },
    /// Another host: its own trust, no session cookie.
    Host {
        url: String,
        /// `host[:port]`, for messages.
        authority: String,
        trust: Trust,
    },
}

impl Endpoint {
    pub fn url(&self) -> &str {
        match self {
            Endpoint::Session { url } | Endpoint::Host { url, .. } => url,
        }
    }

    /// "vCenter" or "ESXi host esx1.lab", for messages.
    pub fn describe(&self) -> String {
        match self {
            Endpoint::Session { .. } => "vCenter".into(),
            Endpoint::Host { authority, .. } => format!("ESXi host {authority}"),
        }
    }
}

fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// Decides where `d` is uploaded, for a session at `sdk` trusted by `session_trust`.
/// A pure decision: nothing is connected.
pub fn endpoint(sdk: &str, session_trust: &Trust, d: &Device) -> Result<Endpoint> {
    let ours = authority(sdk);
    if let Some(rest) = d.url.strip_prefix("https://*/") {
        return Ok(Endpoint::Session {
            url: format!("https://{ours}/{rest}"),
        });
    }
    if !d.url.starts_with("https://") {
        return Err(Error::Unexpected(format!(
            "the import lease gives a device URL that is not https: {}",
            d.url
        )));
    }
    let host = authority(&d.url);
    if host.eq_ignore_ascii_case(ours) {
        return Ok(Endpoint::Session { url: d.url.clone() });
    }
    let thumbprint = d.thumbprint.as_deref().filter(|t| !t.trim().is_empty());
    let trust = match (session_trust, thumbprint) {
        (Trust::Insecure, _) => Trust::Insecure,
        (_, Some(t)) => Trust::thumbprint(t).map_err(|_| {
            Error::Unexpected(format!(
                "the import lease gives ESXi host {host} a thumbprint that is not SHA-1: {t}"
            ))
        })?,
        // No thumbprint given: the host's certificate must be trusted as vCenter's is
        // (the system's CAs; a thumbprint pinned for vCenter cannot be the host's).
        (t, None) => t.clone(),
    };
    Ok(Endpoint::Host {
        url: d.url.clone(),
        authority: host.to_string(),
        trust,
    })
}

/// What the lease said, for a host endpoint's certificate check message.
const LEASE_LABEL: &str = "the one vCenter gave for this host in the import lease";

/// Streams `len` bytes to `d` (HTTP POST, as vSphere's NFC wants).
pub fn upload(c: &Client, d: &Device, len: u64, body: impl std::io::Read) -> Result<()> {
    let to = endpoint(&c.sdk, c.trust(), d)?;
    let (agent, cookie) = match &to {
        Endpoint::Session { .. } => (c.agent().clone(), c.cookie()),
        Endpoint::Host { trust, .. } => {
            let label = match trust {
                Trust::Thumbprint(_) => LEASE_LABEL,
                _ => "trusted",
            };
            (c.agent_for(labeled_config(trust, label)?), None)
        }
    };
    let mut req = agent
        .post(to.url())
        .set("Content-Type", "application/x-vnd.vmware-streamVmdk")
        .set("Content-Length", &len.to_string());
    if let Some(cookie) = cookie {
        req = req.set("Cookie", &cookie);
    }
    let place = to.describe();
    match req.send(body) {
        Ok(_) => Ok(()),
        Err(ureq::Error::Status(code, r)) => Err(Error::Http(format!(
            "{place}: HTTP {code} {}",
            r.status_text()
        ))),
        Err(ureq::Error::Transport(t)) => {
            let why = std::error::Error::source(&t)
                .map(|e| e.to_string())
                .unwrap_or_else(|| t.message().unwrap_or("I/O error").to_string());
            let msg = format!("{t} {why}");
            if msg.contains("thumbprint") || msg.contains("certificate") {
                let mut reason = tls_reason(&why, &msg);
                if matches!(to, Endpoint::Host { .. }) {
                    reason.push_str(
                        "; if the host's certificate was replaced, reconnect the host in vCenter",
                    );
                }
                Err(Error::Untrusted { url: place, reason })
            } else if t.kind() == ureq::ErrorKind::Io {
                Err(Error::Http(format!("{place}: connection lost: {why}")))
            } else {
                Err(Error::Http(format!("{place}: {why}")))
            }
        }
    }
}

/// The readable part of a rustls refusal: our verifier's own sentence when it refused
/// (`why`, the transport error's source), else the last line of ureq's message.
fn tls_reason(why: &str, msg: &str) -> String {
    match why.find("certificate thumbprint ") {
        Some(i) => why[i..].trim_end_matches('"').to_string(),
        None => msg.lines().last().unwrap_or(msg).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(url: &str, thumb: Option<&str>) -> Device {
        Device {
            url: url.into(),
            thumbprint: thumb.map(String::from),
        }
    }

    #[test]
    fn hosts_are_trusted_by_the_leases_thumbprint_and_never_get_the_session() {
        let sdk = "https://vc.lab:8989/sdk";
        let pinned = Trust::thumbprint(&"AB".repeat(20)).unwrap();
        let host_tp = "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67";
        // `*` is "the host you talk to": vCenter, its session.
        assert_eq!(
            endpoint(sdk, &pinned, &dev("https://*/nfc/l-1/disk-0.vmdk", None)).unwrap(),
            Endpoint::Session {
                url: "https://vc.lab:8989/nfc/l-1/disk-0.vmdk".into()
            }
        );
        // An ESXi host: its own thumbprint from the lease, whatever vCenter's trust is.
        for session in [&pinned, &Trust::SystemRoots] {
            let e = endpoint(
                sdk,
                session,
                &dev("https://esx1.lab/nfc/52a/disk-0.vmdk", Some(host_tp)),
            )
            .unwrap();
            assert_eq!(
                e,
                Endpoint::Host {
                    url: "https://esx1.lab/nfc/52a/disk-0.vmdk".into(),
                    authority: "esx1.lab".into(),
                    trust: Trust::thumbprint(host_tp).unwrap(),
                }
            );
            assert_eq!(e.describe(), "ESXi host esx1.lab");
        }
        // --insecure stays insecure; no thumbprint given: vCenter's trust.
        let e = endpoint(sdk, &Trust::Insecure, &dev("https://esx1/x", Some(host_tp)));
        assert!(matches!(
            e,
            Ok(Endpoint::Host {
                trust: Trust::Insecure,
                ..
            })
        ));
        let e = endpoint(sdk, &Trust::SystemRoots, &dev("https://esx1/x", Some(" ")));
        assert!(matches!(
            e,
            Ok(Endpoint::Host {
                trust: Trust::SystemRoots,
                ..
            })
        ));
        // Nonsense from the lease is named, never followed.
        let e = endpoint(sdk, &pinned, &dev("http://esx1/x", None)).unwrap_err();
        assert!(e.to_string().contains("not https"), "{e}");
        let e = endpoint(sdk, &pinned, &dev("https://esx1/x", Some("zz"))).unwrap_err();
        assert!(e.to_string().contains("not SHA-1"), "{e}");
    }

    #[test]
    fn refusals_read_as_one_clean_reason() {
        let why =
            "unexpected error: certificate thumbprint AA:BB is not the one vCenter gave (CC:DD)";
        assert_eq!(
            tls_reason(why, "ignored"),
            "certificate thumbprint AA:BB is not the one vCenter gave (CC:DD)"
        );
        assert_eq!(
            tls_reason(
                "invalid peer certificate: UnknownIssuer",
                "a\nb: UnknownIssuer"
            ),
            "b: UnknownIssuer"
        );
    }
}
