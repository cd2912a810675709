//! Builds VIBs the way vibauthor does: payload directory -> deterministic tar.gz,
//! descriptor rendered from `templates/vib-descriptor.hbs` with sizes and every
//! checksum (sha-256, and sha-256 + sha-1 over the gunzipped payload for ESXi 8),
//! then `ar` of descriptor.xml, an empty sig.pkcs7 (unsigned) and the payloads.

use super::{Constraint, Vib, VibDescriptor};
use crate::{ar, Error, Result};
use flate2::{write::GzEncoder, Compression, GzBuilder};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

impl VibDescriptor {
    /// The vDVS driver VIB as its source descriptor declares it; `compose` fills in
    /// the file list and payloads.
    pub fn vdvs(version: &str, release_date: &str) -> Self {
        Self {
            vib_type: "bootbank".into(),
            name: "esx-vmdkops-service".into(),
            version: version.into(),
            vendor: "VMWare".into(),
            summary: "ESX-side daemon supporting basic VMDK operations requested by a guest".into(),
            description: "Executes VMDK operations requested by an in-the-guest application."
                .into(),
            release_date: release_date.into(),
            acceptance_level: "community".into(),
            live_install_allowed: true,
            live_remove_allowed: true,
            maintenance_mode: false,
            depends: vec![Constraint {
                name: "esx-version".into(),
                relation: Some(">=".into()),
                version: Some("6.0.0".into()),
            }],
            conflicts: Vec::new(),
            replaces: Vec::new(),
            provides: Vec::new(),
            files: Vec::new(),
            payloads: Vec::new(),
        }
    }
}

/// A payload ready to go in: gzip bytes plus the files it installs.
pub struct PayloadData {
    pub name: String,
    /// `tgz` or `vgz`
    pub kind: String,
    pub gz: Vec<u8>,
    pub files: Vec<String>,
}

#[derive(Serialize)]
struct PayloadVars<'a> {
    name: &'a str,
    kind: &'a str,
    size: usize,
    sha256: String,
    sha256_gunzip: String,
    sha1_gunzip: String,
}

/// The template sees the descriptor as `d`; lists that need defaults or come from the
/// payloads are given beside it.
#[derive(Serialize)]
struct DescriptorVars<'a> {
    d: &'a VibDescriptor,
    relationships: Vec<RelationVars<'a>>,
    files: Vec<&'a str>,
    payloads: Vec<PayloadVars<'a>>,
}

#[derive(Serialize)]
struct ConstraintVars<'a> {
    name: &'a str,
    relation: Option<&'a str>,
    version: Option<&'a str>,
}

#[derive(Serialize)]
struct RelationVars<'a> {
    tag: &'static str,
    constraints: Vec<ConstraintVars<'a>>,
}

/// Tars `dir` (sorted, mtime 0, owner 0/0, modes kept) and gzips it reproducibly.
pub fn payload_from_dir(name: &str, dir: &Path) -> Result<PayloadData> {
    use plumbing::walk::{tree, Kind};
    let gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    let mut tar = tar::Builder::new(gz);
    let mut files = Vec::new();
    for item in tree(dir)? {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mode(std::fs::symlink_metadata(&item.path)?.permissions().mode() & 0o7777);
        match item.kind {
            Kind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                tar.append_data(&mut h, &item.rel, std::io::empty())?;
            }
            Kind::File { len, .. } => {
                h.set_size(len);
                tar.append_data(&mut h, &item.rel, std::fs::File::open(&item.path)?)?;
                files.push(item.rel);
            }
            _ => {
                return Err(Error::Invalid(format!(
                    "{}: only files and folders can go into a VIB payload",
                    item.path.display()
                )))
            }
        }
    }
    let gz: GzEncoder<Vec<u8>> = tar.into_inner()?;
    Ok(PayloadData {
        name: name.into(),
        kind: "tgz".into(),
        gz: gz.finish()?,
        files,
    })
}

/// Composes an unsigned VIB.
pub fn compose<'a>(spec: &'a VibDescriptor, payloads: &'a [PayloadData]) -> Result<Vec<u8>> {
    let mut vars_payloads = Vec::new();
    for p in payloads {
        let (sha256_gunzip, sha1_gunzip) = super::gunzipped_digests(&p.name, &p.gz)?;
        vars_payloads.push(PayloadVars {
            name: &p.name,
            kind: &p.kind,
            size: p.gz.len(),
            sha256: hex::encode(Sha256::digest(&p.gz)),
            sha256_gunzip,
            sha1_gunzip,
        });
    }
    let relation = |tag, list: &'a [Constraint]| RelationVars {
        tag,
        constraints: list
            .iter()
            .map(|c| ConstraintVars {
                name: &c.name,
                relation: c.relation.as_deref(),
                version: c.version.as_deref(),
            })
            .collect(),
    };
    let vars = DescriptorVars {
        d: spec,
        relationships: vec![
            relation("depends", &spec.depends),
            relation("conflicts", &spec.conflicts),
            relation("replaces", &spec.replaces),
            relation("provides", &spec.provides),
        ],
        files: payloads
            .iter()
            .flat_map(|p| p.files.iter().map(String::as_str))
            .collect(),
        payloads: vars_payloads,
    };
    let xml = templates::render("vib-descriptor", &vars).map_err(Error::Invalid)?;
    // Check what we made with the same parser that checks what others made.
    super::VibDescriptor::parse(&xml)?;
    let mut members: Vec<(&str, &[u8])> =
        vec![("descriptor.xml", xml.as_bytes()), ("sig.pkcs7", b"")];
    members.extend(payloads.iter().map(|p| (p.name.as_str(), p.gz.as_slice())));
    let vib = ar::write(&members)?;
    Vib::parse(&vib)?;
    Ok(vib)
}

/// Re-composes `vib` with every checksum ESXi 8 wants; payload bytes are kept as they
/// are. The result is unsigned.
pub fn repack(vib: &Vib) -> Result<Vec<u8>> {
    let d = &vib.descriptor;
    let mut payloads = Vec::new();
    for (i, (name, gz)) in vib.payloads.iter().enumerate() {
        let kind = d.payloads.get(i).map_or("tgz".into(), |p| p.kind.clone());
        // The file list belongs to the VIB, not a payload: carry it on the first one.
        let files = if i == 0 { d.files.clone() } else { Vec::new() };
        payloads.push(PayloadData {
            name: name.clone(),
            kind,
            gz: gz.clone(),
            files,
        });
    }
    compose(d, &payloads)
}
