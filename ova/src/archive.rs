//! Reading an OVA: members are located in the tar and read in place, the descriptor
//! parsed and the manifest checked as an importer would. (Writing: [`crate::package`].)

use crate::manifest::{Algorithm, Manifest};
use crate::progress::Progress;
use crate::source::FileWindow;
use crate::vmdk::VmdkImage;
use crate::{format_err, ovf, Error, Result};
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Member {
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

/// An OVA opened for reading: members are located, never extracted.
pub struct Ova {
    file: Arc<File>,
    members: Vec<Member>,
}

/// What [`Ova::verify`] checked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verified {
    pub ovf: String,
    pub manifest: Option<String>,
    /// SHA-256 of the manifest member: with every listed digest matching, it pins the
    /// descriptor and every disk (fleet.lock records it).
    pub manifest_sha256: Option<String>,
    /// Files whose digest matched, with the algorithm used.
    pub checked: Vec<(String, Algorithm)>,
    /// Members no manifest line covers.
    pub unlisted: Vec<String>,
    pub warnings: Vec<String>,
}

impl Ova {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut archive = tar::Archive::new(&file);
        let mut members = Vec::new();
        let entries = archive
            .entries_with_seek()
            .map_err(|e| format_err!("not a tar archive: {e}"))?;
        for entry in entries {
            let entry = entry.map_err(|e| format_err!("damaged tar archive: {e}"))?;
            let kind = entry.header().entry_type();
            let raw_name = entry
                .path()
                .map_err(|e| format_err!("tar member with a bad name: {e}"))?;
            let name = raw_name
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            if kind.is_dir() || name.is_empty() {
                continue;
            }
            if !kind.is_file() {
                return Err(format_err!(
                    "OVA member '{name}' is not a regular file ({kind:?})"
                ));
            }
            ovf::check_member_name(&name).map_err(|e| format_err!("OVA member: {e}"))?;
            let (offset, size) = (entry.raw_file_position(), entry.size());
            if offset.checked_add(size).is_none_or(|end| end > len) {
                return Err(format_err!("OVA member '{name}' ({size} bytes) runs past the end of the archive: it is truncated"));
            }
            if members.iter().any(|m: &Member| m.name == name) {
                return Err(format_err!("OVA holds '{name}' twice"));
            }
            members.push(Member { name, offset, size });
        }
        if members.is_empty() {
            return Err(format_err!(
                "not an OVA: the tar archive is empty or not a tar archive"
            ));
        }
        let mut file = file;
        file.rewind()?;
        Ok(Self {
            file: Arc::new(file),
            members,
        })
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    pub fn window(&self, m: &Member) -> FileWindow {
        FileWindow::new(self.file.clone(), m.offset, m.size)
    }

    fn read_text(&self, m: &Member) -> Result<String> {
        if m.size > 64 << 20 {
            return Err(format_err!(
                "{} is {} bytes, too large for a descriptor",
                m.name,
                m.size
            ));
        }
        let mut buf = vec![0u8; m.size as usize];
        crate::source::ReadAt::read_exact_at(&self.window(m), &mut buf, 0)?;
        String::from_utf8(buf).map_err(|_| format_err!("{} is not UTF-8 text", m.name))
    }

    /// The descriptor: the first `.ovf` member (an OVA must hold exactly one).
    pub fn ovf(&self) -> Result<(String, String)> {
        let mut ovfs = self.members.iter().filter(|m| m.name.ends_with(".ovf"));
        let m = ovfs
            .next()
            .ok_or_else(|| format_err!("not an OVA: no .ovf descriptor inside"))?;
        if let Some(other) = ovfs.next() {
            return Err(format_err!(
                "OVA holds two descriptors ({} and {})",
                m.name,
                other.name
            ));
        }
        Ok((m.name.clone(), self.read_text(m)?))
    }

    /// The manifest: its member name, parsed lines and SHA-256 of its bytes.
    pub fn manifest(&self) -> Result<Option<(String, Manifest, String)>> {
        match self.members.iter().find(|m| m.name.ends_with(".mf")) {
            None => Ok(None),
            Some(m) => {
                let text = self.read_text(m)?;
                let mf = Manifest::parse(&text).map_err(|e| format_err!("{}: {e}", m.name))?;
                let digest = crate::manifest::sha256_hex(text.as_bytes());
                Ok(Some((m.name.clone(), mf, digest)))
            }
        }
    }

    /// Checks the archive as an importer would: descriptor first and well-formed,
    /// every referenced file present, every manifest digest right.
    pub fn verify(&self, progress: &dyn Progress) -> Result<(ovf::OvfInfo, Verified)> {
        let (ovf_name, text) = self.ovf()?;
        let info = ovf::parse(&text).map_err(|e| format_err!("{ovf_name}: {e}"))?;
        let mut warnings = Vec::new();
        if self.members[0].name != ovf_name {
            warnings.push(format!(
                "{ovf_name} is not the first member (vSphere streams OVAs and wants it first)"
            ));
        }
        for f in &info.files {
            let m = self.member(&f.href).ok_or_else(|| {
                format_err!(
                    "{ovf_name} references {}, which the OVA does not contain",
                    f.href
                )
            })?;
            if f.size.is_some_and(|s| s != m.size) {
                warnings.push(format!(
                    "{}: OVF says {} bytes, the archive holds {}",
                    f.href,
                    f.size.unwrap_or(0),
                    m.size
                ));
            }
        }
        let manifest = self.manifest()?;
        let mut checked = Vec::new();
        let mut unlisted = Vec::new();
        match &manifest {
            None => warnings.push("no manifest (.mf): nothing in the OVA was verified".into()),
            Some((mf_name, mf, _)) => {
                let total = mf
                    .entries
                    .iter()
                    .filter_map(|e| self.member(&e.file))
                    .map(|m| m.size)
                    .sum();
                progress.stage("verify manifest", total);
                for e in &mf.entries {
                    let m = self.member(&e.file).ok_or_else(|| {
                        format_err!("{mf_name} lists {}, which the OVA does not contain", e.file)
                    })?;
                    let reader = WindowReader {
                        window: self.window(m),
                        pos: 0,
                    };
                    let digest = e.algorithm.digest_reader(reader, |n| progress.advance(n))?;
                    mf.check(&e.file, &digest)?;
                    checked.push((e.file.clone(), e.algorithm));
                }
                progress.done();
                for m in &self.members {
                    if m.name != *mf_name && !m.name.ends_with(".cert") && mf.get(&m.name).is_none()
                    {
                        unlisted.push(m.name.clone());
                    }
                }
            }
        }
        Ok((
            info,
            Verified {
                ovf: ovf_name,
                manifest_sha256: manifest.as_ref().map(|m| m.2.clone()),
                manifest: manifest.map(|m| m.0),
                checked,
                unlisted,
                warnings,
            },
        ))
    }

    /// A disk of the OVA as a readable VMDK, read in place.
    pub fn disk(&self, href: &str) -> Result<VmdkImage<FileWindow>> {
        let m = self
            .member(href)
            .ok_or_else(|| format_err!("the OVA does not contain {href}"))?;
        VmdkImage::open(self.window(m)).map_err(|e| match e {
            Error::Format(msg) => format_err!("{href}: {msg}"),
            other => other,
        })
    }
}

/// Sequential reads over a window.
pub struct WindowReader {
    pub window: FileWindow,
    pub pos: u64,
}

impl Read for WindowReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use crate::source::ReadAt;
        let n = (self.window.len() - self.pos).min(buf.len() as u64) as usize;
        self.window.read_exact_at(&mut buf[..n], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}
