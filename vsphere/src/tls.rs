//! How we trust vCenter's certificate: the system's CA store (default), a pinned SHA-1
//! thumbprint (what vSphere and govc show, `AA:BB:...`), or not at all (`--insecure`).

use crate::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use sha1::{Digest, Sha1};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    SystemRoots,
    /// SHA-1 of the leaf certificate, hex without separators, lower case.
    Thumbprint(String),
    Insecure,
}

impl Trust {
    /// `AA:BB:..` or `aabb..` (SHA-1, 20 bytes) as vSphere and govc print it.
    pub fn thumbprint(s: &str) -> Result<Self> {
        let hex: String = s
            .chars()
            .filter(|c| *c != ':')
            .collect::<String>()
            .to_lowercase();
        if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::Input(format!(
                "thumbprint '{s}' is not a SHA-1 fingerprint (20 hex bytes, e.g. AB:CD:...)"
            )));
        }
        Ok(Trust::Thumbprint(hex))
    }
}

/// `AB:CD:...` of a DER certificate.
pub fn sha1_thumbprint(der: &[u8]) -> String {
    Sha1::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `AB:CD:...` of a thumbprint kept as lower-case hex.
fn colons(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).to_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// Where the leaf certificate's thumbprint is put when `recording_config` connects.
pub type Seen = Arc<Mutex<Option<String>>>;

#[derive(Debug)]
struct Pinned {
    /// `None`: any certificate is taken (`--insecure`, or only reading the thumbprint).
    want: Option<String>,
    provider: Arc<CryptoProvider>,
    seen: Option<Seen>,
    /// What the wanted thumbprint is, for the refusal: "the pinned one", ...
    label: &'static str,
}

impl Pinned {
    /// The handshake signature's verdict. Without a wanted thumbprint (`--insecure`, or
    /// only reading the thumbprint) nothing rests on it, so a key too weak to check (an
    /// old appliance's 1024-bit RSA) is let through; with a pin it must hold, and a weak
    /// key is named as the reason.
    fn signed(
        &self,
        cert: &CertificateDer<'_>,
        verdict: std::result::Result<HandshakeSignatureValid, rustls::Error>,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        match verdict {
            Ok(v) => Ok(v),
            Err(_) if self.want.is_none() => Ok(HandshakeSignatureValid::assertion()),
            Err(e) => match rsa_bits(cert) {
                Some(bits) if bits < 2048 => Err(rustls::Error::General(format!(
                    "its key is {bits}-bit RSA, too weak to verify: replace the certificate (or pass --insecure)"
                ))),
                _ => Err(e),
            },
        }
    }
}

/// The modulus size of a DER certificate's RSA key (None: not RSA, or unreadable).
pub fn rsa_bits(der: &[u8]) -> Option<usize> {
    // rsaEncryption's OID appears in the SubjectPublicKeyInfo only.
    const OID: [u8; 11] = [
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01,
    ];
    let at = der.windows(OID.len()).position(|w| w == OID)? + OID.len();
    let mut p = &der[at..];
    if p.starts_with(&[0x05, 0x00]) {
        p = &p[2..];
    }
    let (bits, _) = tlv(p, 0x03)?;
    let (key, _) = tlv(bits.get(1..)?, 0x30)?;
    let (n, _) = tlv(key, 0x02)?;
    let n = &n[n.iter().position(|b| *b != 0)?..];
    Some(n.len() * 8 - n[0].leading_zeros() as usize)
}

/// One DER element with tag `tag` at the start of `p`: its contents and what follows.
fn tlv(p: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *p.first()? != tag {
        return None;
    }
    let (len, head) = match *p.get(1)? {
        l if l < 0x80 => (l as usize, 2),
        0x81 => (*p.get(2)? as usize, 3),
        0x82 => (((*p.get(2)? as usize) << 8) | *p.get(3)? as usize, 4),
        _ => return None,
    };
    let body = p.get(head..head + len)?;
    Some((body, &p[head + len..]))
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let got = sha1_thumbprint(end_entity);
        if let Some(seen) = &self.seen {
            *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(got.clone());
        }
        if self
            .want
            .as_ref()
            .is_none_or(|w| got.replace(':', "").to_lowercase() == *w)
        {
            Ok(ServerCertVerified::assertion())
        } else {
            let want = self.want.as_deref().unwrap_or_default();
            Err(rustls::Error::General(format!(
                "certificate thumbprint {got} is not {} ({})",
                self.label,
                colons(want)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        self.signed(cert, verify_tls12_signature(message, cert, dss, algs))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        self.signed(cert, verify_tls13_signature(message, cert, dss, algs))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

pub fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>> {
    labeled_config(trust, "the pinned one")
}

/// [`client_config`], naming the wanted thumbprint `label` when a certificate is refused.
pub fn labeled_config(trust: &Trust, label: &'static str) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let config = match trust {
        Trust::SystemRoots => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::Thumbprint(want) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned {
                want: Some(want.clone()),
                provider,
                seen: None,
                label,
            }))
            .with_no_client_auth(),
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned {
                want: None,
                provider,
                seen: None,
                label,
            }))
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Takes any certificate and records its thumbprint in `seen`: for showing the
/// thumbprint to the user, never for sending anything.
pub fn recording_config(seen: Seen) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned {
            want: None,
            provider,
            seen: Some(seen),
            label: "any",
        }))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_read_as_vsphere_and_govc_print_them() {
        let colons = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01";
        let want = Trust::Thumbprint("abcdef0123456789abcdef0123456789abcdef01".into());
        assert_eq!(Trust::thumbprint(colons).unwrap(), want);
        assert_eq!(Trust::thumbprint(&colons.replace(':', "")).unwrap(), want);
        for bad in ["AB:CD", "zz".repeat(20).as_str(), ""] {
            let e = Trust::thumbprint(bad).unwrap_err().to_string();
            assert!(e.contains("is not a SHA-1 fingerprint"), "{e}");
        }
        // The SHA-1 of the DER bytes, upper case with colons.
        assert_eq!(
            sha1_thumbprint(b"abc"),
            "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"
        );
    }
}
