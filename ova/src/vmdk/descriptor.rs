//! The text descriptor embedded in a sparse VMDK (or standing alone beside flat extents).

use crate::vmdk::header::SECTOR;
use crate::{format_err, Error, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Controller the guest sees the disk on (`ddb.adapterType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterType {
    LsiLogic,
    BusLogic,
    Ide,
    LsiLogicSas,
    Pvscsi,
}

impl AdapterType {
    pub fn as_str(self) -> &'static str {
        match self {
            AdapterType::LsiLogic => "lsilogic",
            AdapterType::BusLogic => "buslogic",
            AdapterType::Ide => "ide",
            AdapterType::LsiLogicSas => "lsisas1068",
            AdapterType::Pvscsi => "pvscsi",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "lsilogic" => AdapterType::LsiLogic,
            "buslogic" => AdapterType::BusLogic,
            "ide" => AdapterType::Ide,
            "lsisas1068" | "lsilogicsas" => AdapterType::LsiLogicSas,
            "pvscsi" => AdapterType::Pvscsi,
            _ => {
                return Err(Error::Invalid(format!(
                    "unknown adapter type '{s}' (lsilogic, buslogic, ide, lsisas1068, pvscsi)"
                )))
            }
        })
    }
}

#[derive(Serialize)]
struct DescriptorVars<'a> {
    cid: String,
    long_cid: String,
    sectors: u64,
    file_name: &'a str,
    adapter: &'static str,
    cylinders: u64,
    hw_version: u32,
}

/// Renders the descriptor of a streamOptimized extent. The content IDs are derived
/// from the name and size so the same inputs always give the same bytes.
pub fn render_stream_descriptor(
    file_name: &str,
    sectors: u64,
    adapter: AdapterType,
    hw_version: u32,
) -> Result<String> {
    if file_name.contains(['"', '\n', '\r']) || file_name.is_empty() {
        return Err(Error::Invalid(format!(
            "'{file_name}' cannot be named in a VMDK descriptor"
        )));
    }
    let seed = Sha256::digest(format!("{file_name}\0{sectors}"));
    let vars = DescriptorVars {
        cid: hex::encode(&seed[..4]),
        long_cid: hex::encode(&seed[..16]),
        sectors,
        file_name,
        adapter: adapter.as_str(),
        cylinders: (sectors / (255 * 63)).clamp(1, 65535),
        hw_version,
    };
    templates::render("vmdk-descriptor", &vars).map_err(Error::Invalid)
}

/// One extent line: `RW 2048 SPARSE "x.vmdk"` or `RW 2048 FLAT "x-flat.vmdk" 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extent {
    pub access: String,
    pub sectors: u64,
    pub kind: String,
    pub file: String,
    pub offset: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Descriptor {
    pub create_type: String,
    pub extents: Vec<Extent>,
    pub ddb: BTreeMap<String, String>,
}

impl Descriptor {
    pub fn parse(text: &str) -> Result<Self> {
        let mut d = Descriptor::default();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim_matches(|c: char| c.is_whitespace() || c == '\0');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(ext) = parse_extent(line) {
                d.extents
                    .push(ext.map_err(|e| format_err!("descriptor line {}: {e}", n + 1))?);
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(format_err!(
                    "descriptor line {} is not 'key = value': {line:.60}",
                    n + 1
                ));
            };
            let (k, v) = (k.trim(), v.trim().trim_matches('"'));
            if k == "createType" {
                d.create_type = v.to_string();
            } else if k.starts_with("ddb.") {
                d.ddb.insert(k.to_string(), v.to_string());
            }
        }
        Ok(d)
    }

    /// Total sectors of all extents.
    pub fn sectors(&self) -> u64 {
        self.extents.iter().map(|e| e.sectors).sum()
    }

    pub fn size_bytes(&self) -> u64 {
        self.sectors() * SECTOR
    }
}

fn parse_extent(line: &str) -> Option<Result<Extent, String>> {
    let access = ["RW ", "RDONLY ", "NOACCESS "]
        .into_iter()
        .find(|a| line.starts_with(a))?;
    let rest = &line[access.len()..];
    let parse = || -> Result<Extent, String> {
        let (sectors, rest) = rest
            .trim()
            .split_once(' ')
            .ok_or("extent line is incomplete")?;
        let sectors = sectors
            .parse::<u64>()
            .map_err(|_| format!("bad extent size '{sectors}'"))?;
        let (kind, rest) = rest
            .trim()
            .split_once(' ')
            .ok_or("extent line has no file name")?;
        let rest = rest.trim();
        let (file, tail) = match rest.strip_prefix('"') {
            Some(r) => r.split_once('"').ok_or("unterminated extent file name")?,
            None => (rest, ""),
        };
        let offset = match tail.trim() {
            "" => 0,
            t => t
                .parse::<u64>()
                .map_err(|_| format!("bad extent offset '{t}'"))?,
        };
        Ok(Extent {
            access: access.trim().to_string(),
            sectors,
            kind: kind.to_string(),
            file: file.to_string(),
            offset,
        })
    };
    Some(parse())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_descriptor_parses_back() {
        let text =
            render_stream_descriptor("disk-0.vmdk", 8_388_608, AdapterType::Pvscsi, 4).unwrap();
        assert!(text.starts_with("# Disk DescriptorFile\n"));
        let d = Descriptor::parse(&text).unwrap();
        assert_eq!(d.create_type, "streamOptimized");
        assert_eq!(d.sectors(), 8_388_608);
        assert_eq!(d.extents[0].kind, "SPARSE");
        assert_eq!(d.extents[0].file, "disk-0.vmdk");
        assert_eq!(d.ddb["ddb.adapterType"], "pvscsi");
        assert_eq!(d.ddb["ddb.geometry.cylinders"], "522");
        assert_eq!(d.ddb["ddb.virtualHWVersion"], "4");
        assert_eq!(d.ddb["ddb.longContentID"].len(), 32);
        // deterministic
        assert_eq!(
            text,
            render_stream_descriptor("disk-0.vmdk", 8_388_608, AdapterType::Pvscsi, 4).unwrap()
        );
    }

    #[test]
    fn parses_flat_extents_and_rejects_garbage() {
        let d = Descriptor::parse("createType=\"monolithicFlat\"\nRW 100 FLAT \"a-flat.vmdk\" 0\n")
            .unwrap();
        assert_eq!(
            d.extents[0],
            Extent {
                access: "RW".into(),
                sectors: 100,
                kind: "FLAT".into(),
                file: "a-flat.vmdk".into(),
                offset: 0
            }
        );
        assert!(Descriptor::parse("RW x FLAT \"a\" 0")
            .unwrap_err()
            .to_string()
            .contains("bad extent size"));
        assert!(Descriptor::parse("garbage line").is_err());
        assert!(render_stream_descriptor("a\"b", 1, AdapterType::Ide, 4).is_err());
    }
}
