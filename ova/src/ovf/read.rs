//! Reads an OVF descriptor (ours, ovftool's, govc's, Photon's) into [`OvfInfo`],
//! checking what an import would trip over: one VirtualSystem, disks that name
//! files in References, plain file names, parsable sizes.

use super::render::check_member_name;
use crate::{format_err, Error, Result};
use roxmltree::{Document, Node};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileRef {
    pub id: String,
    pub href: String,
    pub size: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DiskInfo {
    pub disk_id: String,
    /// The file holding the disk (None for a blank disk created on import).
    pub href: Option<String>,
    pub capacity: u64,
    pub populated_size: Option<u64>,
    pub format: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PropertyInfo {
    pub key: String,
    pub kind: String,
    pub value: String,
    pub user_configurable: bool,
    /// `ovf:password="true"`: a secret, never shown.
    pub password: bool,
    pub label: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct OvfInfo {
    pub name: String,
    pub os_type: Option<String>,
    /// e.g. `["vmx-14"]`
    pub hardware_versions: Vec<String>,
    pub cpus: Option<u64>,
    pub memory_mb: Option<u64>,
    pub firmware: Option<String>,
    pub transport: Option<String>,
    pub files: Vec<FileRef>,
    pub disks: Vec<DiskInfo>,
    pub networks: Vec<String>,
    pub nic_types: Vec<String>,
    /// SCSI controllers' ResourceSubType (`VirtualSCSI`, `lsilogic`, ...).
    pub scsi_types: Vec<String>,
    pub product: Option<String>,
    pub product_version: Option<String>,
    pub properties: Vec<PropertyInfo>,
}

impl OvfInfo {
    pub fn property(&self, key: &str) -> Option<&PropertyInfo> {
        self.properties.iter().find(|p| p.key == key)
    }
}

fn attr<'a>(n: Node<'a, '_>, local: &str) -> Option<&'a str> {
    n.attributes()
        .find(|a| a.name() == local)
        .map(|a| a.value())
}

fn children<'a, 'i>(n: Node<'a, 'i>, local: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == local)
}

fn child<'a, 'i>(n: Node<'a, 'i>, local: &'a str) -> Option<Node<'a, 'i>> {
    children(n, local).next()
}

fn text<'a>(n: Node<'a, '_>, local: &str) -> Option<&'a str> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == local)
        .and_then(|c| c.text())
        .map(str::trim)
}

/// Multiplier of a CIM programmatic unit such as `byte * 2^30` or `byte * 1024`.
fn unit_multiplier(units: &str) -> Option<u64> {
    let u: String = units.chars().filter(|c| !c.is_whitespace()).collect();
    let u = u.to_ascii_lowercase();
    let rest = u.strip_prefix("byte")?;
    if rest.is_empty() {
        return Some(1);
    }
    let rest = rest.strip_prefix('*')?;
    if let Some((base, exp)) = rest.split_once('^') {
        base.parse::<u64>().ok()?.checked_pow(exp.parse().ok()?)
    } else {
        rest.parse().ok()
    }
}

fn number(s: &str, what: &str) -> Result<u64> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| format_err!("OVF {what} '{s}' is not a number"))
}

pub fn parse(xml: &str) -> Result<OvfInfo> {
    let doc = Document::parse(xml)
        .map_err(|e| format_err!("OVF descriptor is not well-formed XML: {e}"))?;
    let env = doc.root_element();
    if env.tag_name().name() != "Envelope" {
        return Err(format_err!(
            "OVF descriptor's root element is <{}>, not <Envelope>",
            env.tag_name().name()
        ));
    }
    if child(env, "VirtualSystemCollection").is_some() {
        return Err(Error::Unsupported(
            "multi-VM OVFs (VirtualSystemCollection / vApps) are not supported".into(),
        ));
    }
    let vs = child(env, "VirtualSystem")
        .ok_or_else(|| format_err!("OVF descriptor has no <VirtualSystem>"))?;
    let mut info = OvfInfo {
        name: text(vs, "Name")
            .or_else(|| attr(vs, "id"))
            .unwrap_or_default()
            .to_string(),
        ..Default::default()
    };
    if let Some(refs) = child(env, "References") {
        for f in children(refs, "File") {
            let href = attr(f, "href").ok_or_else(|| format_err!("OVF <File> without ovf:href"))?;
            check_member_name(href).map_err(|e| format_err!("OVF References: {e}"))?;
            let size = attr(f, "size")
                .map(|s| number(s, "file size"))
                .transpose()?;
            info.files.push(FileRef {
                id: attr(f, "id").unwrap_or_default().into(),
                href: href.into(),
                size,
            });
        }
    }
    if let Some(ds) = child(env, "DiskSection") {
        for d in children(ds, "Disk") {
            info.disks.push(parse_disk(d, &info.files)?);
        }
    }
    if let Some(ns) = child(env, "NetworkSection") {
        info.networks = children(ns, "Network")
            .filter_map(|n| attr(n, "name"))
            .map(String::from)
            .collect();
    }
    if let Some(os) = child(vs, "OperatingSystemSection") {
        info.os_type = attr(os, "osType").map(String::from);
    }
    if let Some(hw) = child(vs, "VirtualHardwareSection") {
        parse_hardware(hw, &mut info)?;
    }
    for ps in children(vs, "ProductSection") {
        info.product = info.product.or(text(ps, "Product").map(String::from));
        info.product_version = info
            .product_version
            .or(text(ps, "Version").map(String::from));
        let prefix = match (attr(ps, "class"), attr(ps, "instance")) {
            (Some(c), Some(i)) => format!("{c}.{{key}}.{i}"),
            (Some(c), None) => format!("{c}.{{key}}"),
            _ => "{key}".into(),
        };
        for p in children(ps, "Property") {
            let key =
                attr(p, "key").ok_or_else(|| format_err!("OVF <Property> without ovf:key"))?;
            info.properties.push(PropertyInfo {
                key: prefix.replace("{key}", key),
                kind: attr(p, "type").unwrap_or("string").into(),
                value: attr(p, "value").unwrap_or_default().into(),
                user_configurable: attr(p, "userConfigurable") == Some("true"),
                password: attr(p, "password") == Some("true"),
                label: text(p, "Label").map(String::from),
            });
        }
    }
    Ok(info)
}

fn parse_disk(d: Node, files: &[FileRef]) -> Result<DiskInfo> {
    let disk_id = attr(d, "diskId").ok_or_else(|| format_err!("OVF <Disk> without ovf:diskId"))?;
    let href = match attr(d, "fileRef") {
        Some(r) => Some(
            files
                .iter()
                .find(|f| f.id == r)
                .ok_or_else(|| {
                    format_err!(
                        "OVF disk {disk_id} refers to file '{r}', which References does not list"
                    )
                })?
                .href
                .clone(),
        ),
        None => None,
    };
    let units = attr(d, "capacityAllocationUnits").unwrap_or("byte");
    let mult = unit_multiplier(units)
        .ok_or_else(|| format_err!("OVF disk {disk_id}: unknown capacity unit '{units}'"))?;
    let raw =
        attr(d, "capacity").ok_or_else(|| format_err!("OVF disk {disk_id} has no ovf:capacity"))?;
    let capacity = number(raw, "disk capacity")?
        .checked_mul(mult)
        .ok_or_else(|| format_err!("OVF disk {disk_id}: capacity overflows"))?;
    Ok(DiskInfo {
        disk_id: disk_id.into(),
        href,
        capacity,
        populated_size: attr(d, "populatedSize")
            .map(|s| number(s, "populatedSize"))
            .transpose()?,
        format: attr(d, "format").unwrap_or_default().into(),
    })
}

fn parse_hardware(hw: Node, info: &mut OvfInfo) -> Result<()> {
    info.transport = attr(hw, "transport").map(String::from);
    if let Some(sys) = child(hw, "System") {
        if let Some(t) = text(sys, "VirtualSystemType") {
            info.hardware_versions = t.split_whitespace().map(String::from).collect();
        }
    }
    for item in children(hw, "Item") {
        let kind = text(item, "ResourceType").unwrap_or_default();
        let qty = text(item, "VirtualQuantity");
        match kind {
            "3" => info.cpus = qty.map(|q| number(q, "CPU count")).transpose()?,
            "4" => {
                let units = text(item, "AllocationUnits").unwrap_or("byte * 2^20");
                let mult = unit_multiplier(units)
                    .ok_or_else(|| format_err!("OVF memory: unknown unit '{units}'"))?;
                info.memory_mb = match qty.map(|q| number(q, "memory size")).transpose()? {
                    Some(q) => Some(
                        q.checked_mul(mult)
                            .ok_or_else(|| format_err!("OVF memory size {q} {units}: too large"))?
                            >> 20,
                    ),
                    None => None,
                };
            }
            "10" => info
                .nic_types
                .push(text(item, "ResourceSubType").unwrap_or("unknown").into()),
            "6" => info
                .scsi_types
                .push(text(item, "ResourceSubType").unwrap_or("unknown").into()),
            _ => {}
        }
    }
    for c in children(hw, "Config") {
        if attr(c, "key") == Some("firmware") {
            info.firmware = attr(c, "value").map(String::from);
        }
    }
    Ok(())
}
