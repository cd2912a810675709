//! A VIB: an `ar` archive of `descriptor.xml`, `sig.pkcs7`, then one member per payload.
//! [`Vib::parse`] proves it intact: member order, payload sizes and every declared
//! checksum (including those over the gunzipped payload).

pub mod compose;
pub mod descriptor;

pub use descriptor::{acceptance_display, Checksum, Constraint, Payload, VibDescriptor};

use crate::{ar, bad, Error, Result};
use flate2::read::MultiGzDecoder;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::io::Read;

#[derive(Debug, Clone, Serialize)]
pub struct Vib {
    pub descriptor: VibDescriptor,
    /// False when `sig.pkcs7` is empty (dev/CI builds, anything repacked).
    pub signed: bool,
    #[serde(skip)]
    pub payloads: Vec<(String, Vec<u8>)>,
    /// Checksums recomputed and found equal, e.g. `vmdkops sha-256 (gunzip)`.
    pub verified: Vec<String>,
}

fn digest(kind: &str, data: &[u8]) -> Option<String> {
    match kind {
        "sha-256" => Some(hex::encode(Sha256::digest(data))),
        "sha-1" => Some(hex::encode(Sha1::digest(data))),
        _ => None,
    }
}

/// No vDVS payload comes near this inflated (0.21's is ~30 MiB); nothing larger is read.
pub const MAX_PAYLOAD: u64 = 2 << 30;

/// The sha-256 and sha-1 of a gzip payload's inflated bytes, computed while inflating:
/// the inflated data is never held in memory (a small VIB must not be able to fill it),
/// and inflating stops with an error past [`MAX_PAYLOAD`].
pub fn gunzipped_digests(name: &str, gz: &[u8]) -> Result<(String, String)> {
    let mut z = MultiGzDecoder::new(gz).take(MAX_PAYLOAD + 1);
    let (mut sha256, mut sha1) = (Sha256::new(), Sha1::new());
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = z
            .read(&mut buf)
            .map_err(|e| bad!("payload {name} is not intact gzip data ({e})"))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_PAYLOAD {
            return Err(bad!(
                "payload {name} inflates to more than {MAX_PAYLOAD} bytes: not a VIB payload"
            ));
        }
        sha256.update(&buf[..n]);
        sha1.update(&buf[..n]);
    }
    Ok((hex::encode(sha256.finalize()), hex::encode(sha1.finalize())))
}

impl Vib {
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let members = ar::read(bytes)?;
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        match names.as_slice() {
            ["descriptor.xml", "sig.pkcs7", ..] => {}
            _ => {
                return Err(bad!(
                    "VIB members are [{}]; a VIB holds descriptor.xml, sig.pkcs7, then its payloads, in that order",
                    names.join(", ")
                ))
            }
        }
        let xml = std::str::from_utf8(members[0].data)
            .map_err(|_| bad!("descriptor.xml is not UTF-8"))?;
        let descriptor = VibDescriptor::parse(xml)?;
        let rest = &members[2..];
        let mut payloads = Vec::new();
        let mut verified = Vec::new();
        for (i, p) in descriptor.payloads.iter().enumerate() {
            let m = rest.iter().find(|m| m.name == p.name).ok_or_else(|| {
                bad!(
                    "descriptor.xml declares payload '{}' but the VIB does not contain it",
                    p.name
                )
            })?;
            if rest.get(i).map(|m| m.name.as_str()) != Some(p.name.as_str()) {
                return Err(bad!(
                    "payload '{}' is out of the order descriptor.xml gives",
                    p.name
                ));
            }
            if p.size != 0 && p.size != m.data.len() as u64 {
                return Err(Error::Integrity(format!(
                    "payload {} is {} bytes, descriptor.xml says {}: the VIB is damaged",
                    p.name,
                    m.data.len(),
                    p.size
                )));
            }
            let mut unzipped: Option<(String, String)> = None;
            for c in &p.checksums {
                let actual = match c.verify_process.as_deref() {
                    None => digest(&c.kind, m.data),
                    Some("gunzip") => {
                        let (sha256, sha1) = match &unzipped {
                            Some(d) => d.clone(),
                            None => unzipped.insert(gunzipped_digests(&p.name, m.data)?).clone(),
                        };
                        match c.kind.as_str() {
                            "sha-256" => Some(sha256),
                            "sha-1" => Some(sha1),
                            _ => None,
                        }
                    }
                    Some(other) => {
                        return Err(bad!("payload {}: unknown verify-process '{other}'", p.name))
                    }
                };
                let Some(actual) = actual else {
                    continue;
                };
                let how = c
                    .verify_process
                    .as_deref()
                    .map(|v| format!(" ({v})"))
                    .unwrap_or_default();
                if actual != c.value {
                    return Err(Error::Integrity(format!(
                        "payload {} {}{how} mismatch: descriptor {} but data {actual}: the VIB is damaged",
                        p.name, c.kind, c.value
                    )));
                }
                verified.push(format!("{} {}{how}", p.name, c.kind));
            }
            payloads.push((p.name.clone(), m.data.to_vec()));
        }
        if let Some(extra) = rest
            .iter()
            .find(|m| !descriptor.payloads.iter().any(|p| p.name == m.name))
        {
            return Err(bad!(
                "VIB member '{}' is not a payload descriptor.xml declares",
                extra.name
            ));
        }
        Ok(Self {
            descriptor,
            signed: !members[1].data.is_empty(),
            payloads,
            verified,
        })
    }

    pub fn id(&self) -> String {
        self.descriptor.id()
    }

    /// True when every payload carries the sha-256 gunzip checksum ESXi 8 requires.
    pub fn has_esxi8_checksums(&self) -> bool {
        self.descriptor.payloads.iter().all(|p| {
            p.checksums
                .iter()
                .any(|c| c.kind == "sha-256" && c.verify_process.as_deref() == Some("gunzip"))
        })
    }

    /// What an administrator must know before installing it.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if !self.signed {
            w.push(
                "unsigned (empty sig.pkcs7): esxcli needs --no-sig-check, and the host's acceptance level must be CommunitySupported".into(),
            );
        }
        if !self.has_esxi8_checksums() {
            w.push(
                "no sha-256 gunzip checksum: ESXi 8.0 refuses it with [ProfileValidationError]; `photon-fleet vib repack` adds it (the result is unsigned)".into(),
            );
        }
        if let Some(c) = self.descriptor.esx_version_constraint() {
            w.push(format!(
                "requires {c}: older hosts fail with [DependencyError]"
            ));
        }
        if self.descriptor.maintenance_mode {
            w.push("install needs the host in maintenance mode".into());
        }
        w
    }

    /// The same report `vibauthor -i -v x.vib` prints, in its order.
    pub fn info_text(&self) -> String {
        let d = &self.descriptor;
        let list = |v: &[Constraint]| {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = format!(
            "**** Info for VIB: {} ****\nVIB Format:             2.0.0\nVIB ID:                 {}\nVIB Type:               {}\nName:                   {}\nVersion:                {}\nVendor:                 {}\nSummary:                {}\nDescription:            {}\nCreation Date:          {}\nProvides:               {}\nDepends:                {}\nConflicts:              {}\nReplaces:               {}\nMaintenanceMode:        remove/update: {mm}, installation: {mm}\nSigned:                 {}\nAcceptanceLevel:        {}\nLiveInstallAllowed:     {}\nLiveRemoveAllowed:      {}\nPayloads:\n  Name            Type   Size      Checksums\n",
            d.name,
            d.id(),
            d.vib_type,
            d.name,
            d.version,
            d.vendor,
            d.summary,
            d.description,
            d.release_date,
            list(&d.provides),
            list(&d.depends),
            list(&d.conflicts),
            list(&d.replaces),
            cap(self.signed),
            d.acceptance_level,
            cap(d.live_install_allowed),
            cap(d.live_remove_allowed),
            mm = cap(d.maintenance_mode),
        );
        for p in &d.payloads {
            for (i, c) in p.checksums.iter().enumerate() {
                let how = c
                    .verify_process
                    .as_deref()
                    .map(|v| format!(" ({v})"))
                    .unwrap_or_default();
                let lead = if i == 0 {
                    format!("  {:<15} {:<6} {:<9}", p.name, p.kind, p.size)
                } else {
                    " ".repeat(34)
                };
                s.push_str(&format!("{lead} {}{how} {}\n", c.kind, c.value));
            }
        }
        s
    }
}

fn cap(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

#[cfg(test)]
pub(crate) mod tests;
