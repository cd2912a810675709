//! The OVF manifest (`.mf`): one `ALGO(file)= hex` line per file.

use crate::{format_err, Error, Result};
use sha2::{Digest, Sha256};
use std::io::Read;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "SHA1" => Some(Self::Sha1),
            "SHA256" => Some(Self::Sha256),
            "SHA512" => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// Hex digest of everything `r` yields; `on_bytes` is told of each chunk read.
    pub fn digest_reader(self, mut r: impl Read, mut on_bytes: impl FnMut(u64)) -> Result<String> {
        let mut buf = vec![0u8; 1 << 20];
        macro_rules! run {
            ($h:expr) => {{
                let mut h = $h;
                loop {
                    let n = r.read(&mut buf)?;
                    if n == 0 {
                        break hex::encode(h.finalize());
                    }
                    h.update(&buf[..n]);
                    on_bytes(n as u64);
                }
            }};
        }
        Ok(match self {
            // SHA-1 only for reading old manifests (older ovftool wrote SHA1).
            Self::Sha1 => run!(sha1::Sha1::new()),
            Self::Sha256 => run!(Sha256::new()),
            Self::Sha512 => run!(sha2::Sha512::new()),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub algorithm: Algorithm,
    pub file: String,
    pub digest: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub entries: Vec<Entry>,
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Self> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let bad = || {
                format_err!(
                    "manifest line {} is not 'ALGO(file)= digest': {line:.80}",
                    n + 1
                )
            };
            let (algo, rest) = line.split_once('(').ok_or_else(bad)?;
            let (file, digest) = rest.rsplit_once(")=").ok_or_else(bad)?;
            let algorithm = Algorithm::parse(algo.trim()).ok_or_else(|| {
                format_err!("manifest line {}: unknown digest algorithm '{algo}'", n + 1)
            })?;
            let digest = digest.trim().to_ascii_lowercase();
            let want = match algorithm {
                Algorithm::Sha1 => 40,
                Algorithm::Sha256 => 64,
                Algorithm::Sha512 => 128,
            };
            if digest.len() != want || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format_err!(
                    "manifest line {}: '{digest:.20}' is not a {} digest",
                    n + 1,
                    algorithm.name()
                ));
            }
            entries.push(Entry {
                algorithm,
                file: file.to_string(),
                digest,
            });
        }
        Ok(Self { entries })
    }

    /// SHA-256 entries in the order given, as ovftool writes them.
    pub fn render(&self) -> String {
        self.entries
            .iter()
            .map(|e| format!("{}({})= {}\n", e.algorithm.name(), e.file, e.digest))
            .collect()
    }

    pub fn add_sha256(&mut self, file: &str, digest: &str) {
        self.entries.push(Entry {
            algorithm: Algorithm::Sha256,
            file: file.into(),
            digest: digest.into(),
        });
    }

    pub fn get(&self, file: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.file == file)
    }

    /// Checks one file's digest.
    pub fn check(&self, file: &str, actual: &str) -> Result<()> {
        match self.get(file) {
            Some(e) if e.digest == actual => Ok(()),
            Some(e) => Err(Error::Integrity(format!(
                "{file}: {} mismatch (manifest {}, file {actual}): the file is damaged or was changed",
                e.algorithm.name(),
                e.digest
            ))),
            None => Err(Error::Integrity(format!("{file} is not listed in the manifest"))),
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_renders_and_checks() {
        let h = sha256_hex(b"abc");
        let text = format!(
            "SHA256(a.ovf)= {h}\nSHA1(b.vmdk)= {}\n",
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let m = Manifest::parse(&text).unwrap();
        assert_eq!(m.entries.len(), 2);
        assert_eq!(m.render(), text);
        m.check("a.ovf", &h).unwrap();
        let err = m
            .check("a.ovf", &sha256_hex(b"abd"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("SHA256 mismatch"), "{err}");
        assert!(m
            .check("c.vmdk", &h)
            .unwrap_err()
            .to_string()
            .contains("not listed"));
        let sha1 = Algorithm::Sha1.digest_reader(&b"abc"[..], |_| {}).unwrap();
        assert_eq!(sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(Manifest::parse("SHA256 a.ovf = x").is_err());
        assert!(Manifest::parse("MD5(a)= d41d8cd98f00b204e9800998ecf8427e")
            .unwrap_err()
            .to_string()
            .contains("unknown digest"));
        assert!(Manifest::parse("SHA256(a)= 1234")
            .unwrap_err()
            .to_string()
            .contains("not a SHA256"));
    }
}
