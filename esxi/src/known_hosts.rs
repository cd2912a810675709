//! OpenSSH known_hosts, read and appended by us (plain, hashed `|1|` and wildcard
//! entries, `@revoked`), and SHA256 fingerprints as `ssh-keygen -l` prints them.

use crate::{Error, Result};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Match,
    NotFound,
    /// The host is listed with another key (1-based line of the first such entry).
    Changed(usize),
    Revoked(usize),
}

struct Entry {
    line: usize,
    revoked: bool,
    hosts: String,
    key: Vec<u8>,
}

pub struct KnownHosts {
    entries: Vec<Entry>,
}

/// `SHA256:<base64, no padding>` of a key blob.
pub fn fingerprint(key: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(key)))
}

/// The key type named inside an SSH key blob (`ssh-ed25519`, `ssh-rsa`, ...).
pub fn key_type(key: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(key.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(key.get(4..4 + len)?).ok()
}

fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

fn hosts_match(hosts: &str, name: &str) -> bool {
    if let Some(rest) = hosts.strip_prefix("|1|") {
        let Some((salt, hash)) = rest.split_once('|') else {
            return false;
        };
        let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
            return false;
        };
        mac.update(name.as_bytes());
        return mac.verify_slice(&hash).is_ok();
    }
    let mut hit = false;
    for pat in hosts.split(',') {
        if let Some(neg) = pat.strip_prefix('!') {
            if glob(neg, name) {
                return false;
            }
        } else if glob(pat, name) {
            hit = true;
        }
    }
    hit
}

impl KnownHosts {
    /// Reads `path`; a missing file is an empty list. Lines we cannot read are skipped,
    /// as OpenSSH does.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::Input(format!("known_hosts {}: {e}", path.display()))),
        };
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let mut f = line.split_whitespace();
            let Some(mut first) = f.next() else { continue };
            if first.starts_with('#') {
                continue;
            }
            let mut revoked = false;
            if first.starts_with('@') {
                if first != "@revoked" {
                    continue; // @cert-authority: certificates are not used here
                }
                revoked = true;
                let Some(n) = f.next() else { continue };
                first = n;
            }
            let (Some(_ktype), Some(b64)) = (f.next(), f.next()) else {
                continue;
            };
            let Ok(key) = STANDARD.decode(b64) else {
                continue;
            };
            entries.push(Entry {
                line: i + 1,
                revoked,
                hosts: first.to_string(),
                key,
            });
        }
        Ok(Self { entries })
    }

    /// Checks `key` for `name` (`host` or `[host]:port`).
    pub fn check(&self, name: &str, key: &[u8]) -> Check {
        let mine: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| hosts_match(&e.hosts, name))
            .collect();
        if let Some(e) = self.entries.iter().find(|e| e.revoked && e.key == key) {
            return Check::Revoked(e.line);
        }
        if mine.iter().any(|e| !e.revoked && e.key == key) {
            return Check::Match;
        }
        match mine.iter().find(|e| !e.revoked) {
            Some(e) => Check::Changed(e.line),
            None => Check::NotFound,
        }
    }

    /// Appends `name key` to `path` (creating it 0600), as `ssh -o StrictHostKeyChecking=accept-new` does.
    pub fn append(path: &Path, name: &str, key: &[u8]) -> Result<()> {
        let ktype = key_type(key)
            .ok_or_else(|| Error::Unexpected("host key blob without a type".into()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        writeln!(f, "{name} {ktype} {}", STANDARD.encode(key))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(t: &str, body: &[u8]) -> Vec<u8> {
        let mut b = (t.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(t.as_bytes());
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn plain_hashed_wildcard_changed_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("known_hosts");
        let (k1, k2, k3) = (
            blob("ssh-ed25519", b"one"),
            blob("ssh-ed25519", b"two"),
            blob("ssh-ed25519", b"three"),
        );
        KnownHosts::append(&p, "[127.0.0.1]:2222", &k1).unwrap();
        KnownHosts::append(&p, "esx*.lab,!esx9.lab", &k2).unwrap();
        // A hashed entry for "hashed.lab", as `ssh-keygen -H` writes it.
        let salt = [7u8; 20];
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"hashed.lab");
        let hash = mac.finalize().into_bytes();
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str(&format!(
            "|1|{}|{} ssh-ed25519 {}\n@revoked * ssh-ed25519 {}\n# comment\ngarbage\n",
            STANDARD.encode(salt),
            STANDARD.encode(hash),
            STANDARD.encode(&k1),
            STANDARD.encode(&k3)
        ));
        std::fs::write(&p, text).unwrap();
        let kh = KnownHosts::load(&p).unwrap();
        assert_eq!(kh.check("[127.0.0.1]:2222", &k1), Check::Match);
        assert_eq!(kh.check("[127.0.0.1]:2222", &k2), Check::Changed(1));
        assert_eq!(kh.check("127.0.0.1", &k1), Check::NotFound, "port matters");
        assert_eq!(kh.check("esx1.lab", &k2), Check::Match);
        assert_eq!(kh.check("esx9.lab", &k2), Check::NotFound);
        assert_eq!(kh.check("hashed.lab", &k1), Check::Match);
        assert_eq!(kh.check("hashed.lab", &k2), Check::Changed(3));
        assert_eq!(kh.check("new.lab", &k3), Check::Revoked(4));
        assert_eq!(key_type(&k1), Some("ssh-ed25519"));
        assert!(fingerprint(&k1).starts_with("SHA256:"));
        assert!(KnownHosts::load(&dir.path().join("none"))
            .unwrap()
            .entries
            .is_empty());
    }
}
