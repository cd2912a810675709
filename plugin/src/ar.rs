//! The Unix `ar` container a VIB is: `!<arch>\n`, then 60-byte member headers each
//! followed by the data (padded to an even offset). Reads GNU (`name/`, `//` long
//! names), BSD (`#1/len`) and plain names; writes GNU-style, deterministically.

use crate::{bad, Result};

pub const MAGIC: &[u8; 8] = b"!<arch>\n";
const HEADER: usize = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    pub name: String,
    pub data: &'a [u8],
}

fn field(h: &[u8], range: std::ops::Range<usize>) -> &str {
    std::str::from_utf8(&h[range]).unwrap_or("").trim_end()
}

/// Lists the members of an ar archive held in memory.
pub fn read(bytes: &[u8]) -> Result<Vec<Member<'_>>> {
    if !bytes.starts_with(MAGIC) {
        return Err(bad!("not an ar archive (a VIB starts with \"!<arch>\")"));
    }
    let mut pos = MAGIC.len();
    let mut members = Vec::new();
    let mut long_names: &[u8] = &[];
    while pos < bytes.len() {
        if bytes.len() - pos < HEADER {
            if bytes[pos..].iter().all(|&b| b == b'\n') {
                break;
            }
            return Err(bad!(
                "ar archive is truncated inside a member header at offset {pos}"
            ));
        }
        let h = &bytes[pos..pos + HEADER];
        if &h[58..60] != b"`\n" {
            return Err(bad!("ar member header at offset {pos} is damaged"));
        }
        let size: usize = field(h, 48..58).parse().map_err(|_| {
            bad!(
                "ar member at offset {pos} has a bad size '{}'",
                field(h, 48..58)
            )
        })?;
        let start = pos + HEADER;
        let end = start.checked_add(size).filter(|&e| e <= bytes.len()).ok_or_else(|| {
            bad!("ar member at offset {pos} says {size} bytes but the archive ends first: the VIB is truncated")
        })?;
        let raw = field(h, 0..16);
        let mut data = &bytes[start..end];
        let name = if raw == "//" {
            long_names = data;
            None
        } else if raw == "/" || raw == "/SYM64/" {
            None
        } else if let Some(len) = raw.strip_prefix("#1/") {
            let len: usize = len.parse().map_err(|_| bad!("bad BSD long name '{raw}'"))?;
            if len > data.len() {
                return Err(bad!(
                    "BSD long name of member at offset {pos} runs past its data"
                ));
            }
            let (n, rest) = data.split_at(len);
            data = rest;
            Some(
                String::from_utf8_lossy(n)
                    .trim_end_matches('\0')
                    .to_string(),
            )
        } else if let Some(off) = raw.strip_prefix('/') {
            let off: usize = off
                .parse()
                .map_err(|_| bad!("bad GNU long name reference '{raw}'"))?;
            let tail = long_names
                .get(off..)
                .ok_or_else(|| bad!("GNU long name reference '{raw}' is out of range"))?;
            let end = tail.iter().position(|&b| b == b'\n').unwrap_or(tail.len());
            Some(
                String::from_utf8_lossy(&tail[..end])
                    .trim_end_matches('/')
                    .to_string(),
            )
        } else {
            Some(raw.trim_end_matches('/').to_string())
        };
        if let Some(name) = name {
            members.push(Member { name, data });
        }
        pos = end + (end & 1);
    }
    Ok(members)
}

/// Writes members as a GNU ar archive with mtime 0, owner 0/0 and mode 0644, as
/// `ar rD` does. Names must fit the 15-character short form.
pub fn write(members: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let mut out = MAGIC.to_vec();
    for (name, data) in members {
        if name.len() > 15 || name.is_empty() || name.contains('/') {
            return Err(crate::Error::Invalid(format!(
                "ar member name '{name}' must be 1-15 characters without '/'"
            )));
        }
        let header = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            format!("{name}/"),
            0,
            0,
            0,
            100644,
            data.len()
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        if out.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_odd_sizes() {
        let a = write(&[
            ("descriptor.xml", b"<vib/>"),
            ("sig.pkcs7", b""),
            ("payload1", b"odd"),
        ])
        .unwrap();
        let m = read(&a).unwrap();
        let names: Vec<_> = m.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["descriptor.xml", "sig.pkcs7", "payload1"]);
        assert_eq!(m[2].data, b"odd");
        assert_eq!(&a[8..24], b"descriptor.xml/ ");
    }

    #[test]
    fn damaged_archives_are_refused() {
        let a = write(&[("descriptor.xml", b"<vib/>"), ("payload1", &[1u8; 100])]).unwrap();
        assert!(read(&a[..a.len() - 10])
            .unwrap_err()
            .to_string()
            .contains("truncated"));
        assert!(read(b"PK\x03\x04")
            .unwrap_err()
            .to_string()
            .contains("not an ar archive"));
        let mut bad = a.clone();
        bad[8 + 58] = b'X';
        assert!(read(&bad).unwrap_err().to_string().contains("damaged"));
        let e = write(&[("a-name-longer-than-15", b"")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("a-name-longer-than-15"), "{e}");
    }

    #[test]
    fn reads_bsd_and_gnu_long_names() {
        let mut a = MAGIC.to_vec();
        a.extend_from_slice(
            format!(
                "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                "#1/20", 0, 0, 0, 644, 23
            )
            .as_bytes(),
        );
        a.extend_from_slice(b"a-rather-long-name.xmlabc");
        a.truncate(a.len() - 2);
        a.push(b'\n');
        let m = read(&a).unwrap();
        assert_eq!(m[0].name, "a-rather-long-name.x");
        assert_eq!(m[0].data, b"mla");
    }
}
