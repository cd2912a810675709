//! A folder tree as a sorted list of entries with paths relative to its root. Names that
//! are not UTF-8 are refused, never renamed (they would be baked or packed under another
//! name). Symlinks are listed, not followed.

use std::io;
use std::path::{Path, PathBuf};

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    /// A regular file: permission bits and length.
    File {
        mode: u32,
        len: u64,
    },
    Link {
        target: String,
    },
    /// A device, socket or FIFO.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The path below the root, `/`-separated, never empty.
    pub rel: String,
    /// The path on this machine.
    pub path: PathBuf,
    pub kind: Kind,
}

fn utf8(p: &Path, what: &str) -> io::Result<String> {
    p.to_str().map(str::to_string).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} {} is not UTF-8", p.display()),
        )
    })
}

/// Every entry under `root` (not `root` itself), sorted by relative path.
pub fn tree(root: &Path) -> io::Result<Vec<Item>> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir)? {
            let path = e?.path();
            let rel = utf8(path.strip_prefix(root).unwrap_or(&path), "the name")?;
            let meta = std::fs::symlink_metadata(&path)?;
            let kind = if meta.is_dir() {
                stack.push(path.clone());
                Kind::Dir
            } else if meta.is_symlink() {
                let target = std::fs::read_link(&path)?;
                Kind::Link {
                    target: utf8(&target, &format!("the target of {rel},"))?,
                }
            } else if meta.is_file() {
                Kind::File {
                    mode: meta.permissions().mode() & 0o7777,
                    len: meta.len(),
                }
            } else {
                Kind::Other
            };
            out.push(Item { rel, path, kind });
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_sorted_relative_paths_and_refuses_names_that_are_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("b/c")).unwrap();
        std::fs::write(d.path().join("b/c/f"), "xy").unwrap();
        std::os::unix::fs::symlink("c/f", d.path().join("b/l")).unwrap();
        let t = tree(d.path()).unwrap();
        let rels: Vec<&str> = t.iter().map(|i| i.rel.as_str()).collect();
        assert_eq!(rels, ["b", "b/c", "b/c/f", "b/l"]);
        assert!(matches!(t[2].kind, Kind::File { len: 2, .. }));
        assert_eq!(
            t[3].kind,
            Kind::Link {
                target: "c/f".into()
            }
        );
        let bad = std::ffi::OsStr::from_bytes(b"caf\xe9");
        std::fs::write(d.path().join("b").join(bad), "").unwrap();
        let e = tree(d.path()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("is not UTF-8"), "{e}");
    }
}
