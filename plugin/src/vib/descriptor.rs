//! `descriptor.xml` of a VIB: what esxcli and vibauthor read.

use crate::{bad, Result};
use roxmltree::{Document, Node};
use serde::Serialize;

/// ESXi limits a VIB version ("version-release") to 35 characters.
pub const MAX_VERSION_LEN: usize = 35;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checksum {
    /// `sha-256`, `sha-1`, `md5`
    pub kind: String,
    /// `gunzip` when the digest is over the decompressed payload.
    pub verify_process: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payload {
    pub name: String,
    /// `tgz`, `vgz`, `boot`, ...
    pub kind: String,
    pub size: u64,
    pub checksums: Vec<Checksum>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Constraint {
    pub name: String,
    pub relation: Option<String>,
    pub version: Option<String>,
}

impl std::fmt::Display for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.relation, &self.version) {
            (Some(r), Some(v)) => write!(f, "{} {r} {v}", self.name),
            _ => f.write_str(&self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VibDescriptor {
    pub vib_type: String,
    pub name: String,
    pub version: String,
    pub vendor: String,
    pub summary: String,
    pub description: String,
    pub release_date: String,
    /// `certified`, `accepted`, `partner`, `community`
    pub acceptance_level: String,
    pub live_install_allowed: bool,
    pub live_remove_allowed: bool,
    pub maintenance_mode: bool,
    pub depends: Vec<Constraint>,
    pub conflicts: Vec<Constraint>,
    pub replaces: Vec<Constraint>,
    pub provides: Vec<Constraint>,
    pub files: Vec<String>,
    pub payloads: Vec<Payload>,
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text(n: Node, name: &str) -> String {
    child(n, name)
        .and_then(|c| c.text())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `true`/`false` element; `<x/>` (empty) counts as true, as vibauthor writes them.
fn flag(n: Node, name: &str, default: bool) -> bool {
    match child(n, name) {
        None => default,
        Some(c) => !matches!(c.text().map(str::trim), Some("false" | "False" | "0")),
    }
}

fn constraints(rel: Option<Node>, name: &str) -> Vec<Constraint> {
    let Some(group) = rel.and_then(|r| child(r, name)) else {
        return Vec::new();
    };
    group
        .children()
        .filter(|c| c.tag_name().name() == "constraint")
        .map(|c| Constraint {
            name: c.attribute("name").unwrap_or_default().to_string(),
            relation: c.attribute("relation").map(String::from),
            version: c.attribute("version").map(String::from),
        })
        .collect()
}

impl VibDescriptor {
    pub fn parse(xml: &str) -> Result<Self> {
        let doc =
            Document::parse(xml).map_err(|e| bad!("descriptor.xml is not well-formed XML: {e}"))?;
        let root = doc.root_element();
        if root.tag_name().name() != "vib" {
            return Err(bad!(
                "descriptor.xml's root is <{}>, not <vib>",
                root.tag_name().name()
            ));
        }
        let rel = child(root, "relationships");
        let mut payloads = Vec::new();
        if let Some(ps) = child(root, "payloads") {
            for p in ps.children().filter(|c| c.tag_name().name() == "payload") {
                let name = p
                    .attribute("name")
                    .ok_or_else(|| bad!("descriptor.xml: <payload> without a name"))?;
                let size = p.attribute("size").unwrap_or("0");
                let size = size
                    .parse()
                    .map_err(|_| bad!("descriptor.xml: payload {name} has a bad size '{size}'"))?;
                let checksums = p
                    .children()
                    .filter(|c| c.tag_name().name() == "checksum")
                    .map(|c| Checksum {
                        kind: c.attribute("checksum-type").unwrap_or_default().to_string(),
                        verify_process: c.attribute("verify-process").map(String::from),
                        value: c.text().unwrap_or_default().trim().to_ascii_lowercase(),
                    })
                    .collect();
                payloads.push(Payload {
                    name: name.into(),
                    kind: p.attribute("type").unwrap_or_default().into(),
                    size,
                    checksums,
                });
            }
        }
        let d = Self {
            vib_type: Some(text(root, "type"))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "bootbank".into()),
            name: text(root, "name"),
            version: text(root, "version"),
            vendor: text(root, "vendor"),
            summary: text(root, "summary"),
            description: text(root, "description"),
            release_date: text(root, "release-date"),
            acceptance_level: Some(text(root, "acceptance-level"))
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "community".into()),
            live_install_allowed: flag(root, "live-install-allowed", false),
            live_remove_allowed: flag(root, "live-remove-allowed", false),
            maintenance_mode: child(root, "system-requires")
                .is_some_and(|s| flag(s, "maintenance-mode", true)),
            depends: constraints(rel, "depends"),
            conflicts: constraints(rel, "conflicts"),
            replaces: constraints(rel, "replaces"),
            provides: constraints(rel, "provides"),
            files: child(root, "file-list")
                .map(|fl| {
                    fl.children()
                        .filter_map(|f| f.text())
                        .map(str::trim)
                        .filter(|f| !f.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            payloads,
        };
        d.validate()?;
        Ok(d)
    }

    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty() || self.vendor.is_empty() {
            return Err(bad!("descriptor.xml has no <name> or <vendor>"));
        }
        if self.version.is_empty() || self.version.len() > MAX_VERSION_LEN {
            return Err(bad!(
                "VIB version '{}' is {} characters; ESXi takes 1 to {MAX_VERSION_LEN} (\"version-release\")",
                self.version,
                self.version.len()
            ));
        }
        if !self.version.contains('-') {
            return Err(bad!(
                "VIB version '{}' is not \"version-release\" (e.g. 0.21.2.8b7dc30-0.0.1)",
                self.version
            ));
        }
        if acceptance_display(&self.acceptance_level).is_none() {
            return Err(bad!(
                "unknown acceptance level '{}' (certified, accepted, partner, community)",
                self.acceptance_level
            ));
        }
        Ok(())
    }

    /// `<vendor>_<type>_<name>_<version>`, as esxcli prints it.
    pub fn id(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.vendor, self.vib_type, self.name, self.version
        )
    }

    /// The `esx-version` dependency, if any (e.g. `>= 6.0.0`).
    pub fn esx_version_constraint(&self) -> Option<&Constraint> {
        self.depends.iter().find(|c| c.name == "esx-version")
    }
}

/// Acceptance level as esxcli shows it (`accepted` -> `VMwareAccepted`).
pub fn acceptance_display(level: &str) -> Option<&'static str> {
    Some(match level {
        "certified" => "VMwareCertified",
        "accepted" => "VMwareAccepted",
        "partner" => "PartnerSupported",
        "community" => "CommunitySupported",
        _ => return None,
    })
}
