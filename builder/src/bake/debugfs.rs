//! The one tool that writes into the guest's ext4: e2fsprogs' `debugfs`, driven by a
//! command file, on the filesystem inside the disk image (`image?offset=N`), with no
//! mount and no root. `E2FSPROGS_FAKE_TIME` pins every timestamp it writes, so the same
//! inputs give the same bytes.

use anyhow::{anyhow, bail, Context as _, Result};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An ext2/3/4 filesystem at `offset` in `image`.
pub struct ExtFs {
    image: PathBuf,
    offset: u64,
    /// Seconds since the epoch stamped on everything written.
    time: u32,
}

/// One directory entry as `ls -p` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub mode: u32,
}

impl DirEntry {
    pub fn is_dir(&self) -> bool {
        self.mode & 0o170000 == 0o040000
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub block_size: u64,
    pub free_blocks: u64,
    pub reserved_blocks: u64,
    pub free_inodes: u64,
}

const EXT_MAGIC: u16 = 0xEF53;

/// True when the bytes at `offset` of `image` start an ext2/3/4 filesystem.
pub fn is_ext(image: &std::fs::File, offset: u64) -> std::io::Result<bool> {
    let mut m = [0u8; 2];
    match image.read_exact_at(&mut m, offset + 1024 + 0x38) {
        Ok(()) => Ok(u16::from_le_bytes(m) == EXT_MAGIC),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// An e2fsprogs tool: from PATH, else from /usr/sbin or /sbin (not on a Debian user's PATH).
pub fn e2fs_tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    if !on_path {
        for dir in ["/usr/sbin", "/sbin"] {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    PathBuf::from(name)
}

/// Runs `cmd` (an e2fsprogs tool, `name`, made with [`e2fs_tool`]) to completion; its
/// complaint becomes one line.
pub fn run_e2fs(mut cmd: Command, name: &str) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {name}: install e2fsprogs (scripts/install-deps)"))?;
    if !out.status.success() {
        bail!(
            "{name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', "; ")
        );
    }
    Ok(())
}

/// Quotes a path for debugfs' command parser.
pub fn q(path: &str) -> Result<String> {
    if path.contains(['"', '\n', '\\']) {
        bail!("'{path}': debugfs cannot write a name holding a quote, backslash or newline");
    }
    Ok(format!("\"{path}\""))
}

impl ExtFs {
    /// Opens the filesystem; its last write time becomes the time of everything baked.
    pub fn new(image: &Path, offset: u64) -> Result<Self> {
        let f = std::fs::File::open(image)?;
        let mut t = [0u8; 4];
        f.read_exact_at(&mut t, offset + 1024 + 0x30)?;
        let time = match u32::from_le_bytes(t) {
            0 => 1_500_000_000,
            t => t,
        };
        Ok(Self {
            image: image.into(),
            offset,
            time,
        })
    }

    /// The time stamped on everything written: the filesystem's last write before ours.
    pub fn time(&self) -> u32 {
        self.time
    }

    fn spec(&self) -> String {
        format!("{}?offset={}", self.image.display(), self.offset)
    }

    fn run(&self, commands: &[String], write: bool) -> Result<(String, String)> {
        let mut file = tempfile::NamedTempFile::new()?;
        for c in commands {
            writeln!(file, "{c}")?;
        }
        file.flush()?;
        let mut cmd = Command::new(e2fs_tool("debugfs"));
        if write {
            cmd.arg("-w");
        }
        let out = cmd
            .arg("-f")
            .arg(file.path())
            .arg(self.spec())
            .env("E2FSPROGS_FAKE_TIME", self.time.to_string())
            .output()
            .map_err(|e| {
                anyhow!("cannot run debugfs ({e}): install e2fsprogs (scripts/install-deps)")
            })?;
        let stderr: String = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| !l.starts_with("debugfs ") && !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        if !out.status.success() {
            bail!("debugfs failed on {}: {stderr}", self.spec());
        }
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), stderr))
    }

    /// Runs read-only commands; returns each one's output.
    pub fn query(&self, commands: &[String]) -> Result<Vec<String>> {
        let (out, _) = self.run(commands, false)?;
        let mut blocks: Vec<String> = Vec::new();
        for line in out.lines() {
            if line.starts_with("debugfs: ") {
                blocks.push(String::new());
            } else if let Some(b) = blocks.last_mut() {
                b.push_str(line);
                b.push('\n');
            }
        }
        if blocks.len() != commands.len() {
            bail!(
                "debugfs answered {} of {} queries",
                blocks.len(),
                commands.len()
            );
        }
        Ok(blocks)
    }

    /// The entries of each directory, `None` for one that does not exist.
    pub fn list(&self, dirs: &[String]) -> Result<BTreeMap<String, Option<Vec<DirEntry>>>> {
        let cmds = dirs
            .iter()
            .map(|d| Ok(format!("ls -p {}", q(d)?)))
            .collect::<Result<Vec<_>>>()?;
        let out = self.query(&cmds)?;
        Ok(dirs
            .iter()
            .zip(out)
            .map(|(d, text)| {
                let entries: Vec<DirEntry> = text
                    .lines()
                    .filter_map(|l| {
                        let f: Vec<&str> = l.split('/').collect();
                        (f.len() >= 7).then(|| DirEntry {
                            name: f[5].to_string(),
                            mode: u32::from_str_radix(f[2], 8).unwrap_or(0),
                        })
                    })
                    .filter(|e| e.name != "." && e.name != "..")
                    .collect();
                // An existing directory always lists "." and "..".
                let exists = !text.trim().is_empty();
                (d.clone(), exists.then_some(entries))
            })
            .collect())
    }

    pub fn stats(&self) -> Result<Stats> {
        let text = self.query(&["stats -h".to_string()])?.remove(0);
        let field = |name: &str| -> Result<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
                .with_context(|| format!("debugfs stats shows no '{name}'"))
        };
        Ok(Stats {
            block_size: field("Block size")?,
            free_blocks: field("Free blocks")?,
            reserved_blocks: field("Reserved block count")?,
            free_inodes: field("Free inodes")?,
        })
    }

    /// A small file's text, `None` when it does not exist.
    pub fn cat(&self, path: &str) -> Result<Option<String>> {
        let p = q(path)?;
        let mut out = self.query(&[format!("stat {p}"), format!("cat {p}")])?;
        let text = out.pop().unwrap_or_default();
        Ok((!out[0].trim().is_empty()).then_some(text))
    }

    /// Runs write commands; any complaint from debugfs is an error.
    pub fn apply(&self, commands: &[String]) -> Result<()> {
        let (_, stderr) = self.run(commands, true)?;
        if stderr.is_empty() {
            return Ok(());
        }
        // The filesystem holding the image is full (a full ext4 inside it is "Could not
        // allocate block"): said as an I/O error, so the caller can name the folder.
        if stderr.contains("No space left on device") {
            let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
            return Err(anyhow::Error::new(full).context(format!(
                "debugfs could not write {}: no space left on device",
                self.spec()
            )));
        }
        bail!("debugfs could not write {}: {stderr}", self.spec());
    }
}

/// Command builders (paths are quoted here).
pub mod cmd {
    use super::q;
    use anyhow::Result;

    pub fn mkdir(path: &str) -> Result<String> {
        Ok(format!("mkdir {}", q(path)?))
    }
    pub fn rm(path: &str) -> Result<String> {
        Ok(format!("rm {}", q(path)?))
    }
    pub fn write(host: &str, path: &str) -> Result<String> {
        Ok(format!("write {} {}", q(host)?, q(path)?))
    }
    pub fn symlink(path: &str, target: &str) -> Result<String> {
        Ok(format!("symlink {} {}", q(path)?, q(target)?))
    }
    /// Mode (full i_mode, octal), owner root:root.
    pub fn own(path: &str, mode: u32) -> Result<Vec<String>> {
        let p = q(path)?;
        Ok(vec![
            format!("sif {p} mode 0{mode:o}"),
            format!("sif {p} uid 0"),
            format!("sif {p} gid 0"),
        ])
    }
}
