//! One module per subcommand, plus the helpers they share.

pub mod build;
pub mod convert;
pub mod demo_base;
pub mod deploy;
pub mod esxi;
pub mod inspect;
pub mod kickstart;
pub mod pack;
pub mod vdvs;

use crate::output::usage;
use anyhow::{Context as _, Result};
use std::fs::File;
use std::path::Path;

/// Runs `write` against a temporary file beside `out` and renames it to `out` only
/// when `write` succeeds, so a failed or interrupted run never leaves a partial file
/// under the final name.
pub fn write_atomically<T>(
    out: &Path,
    force: bool,
    write: impl FnOnce(&File) -> Result<T>,
) -> Result<T> {
    refuse_existing(out, force)?;
    let dir = folder_of(out);
    let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    let value = write(tmp.as_file())?;
    tmp.as_file().sync_all()?;
    tmp.persist(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(value)
}

/// Refuses to replace `out` unless `--force`; commands call it early, before the work.
pub fn refuse_existing(out: &Path, force: bool) -> Result<()> {
    if out.exists() && !force {
        return Err(usage(format!(
            "{} already exists (pass --force to replace it)",
            out.display()
        )));
    }
    Ok(())
}

/// The folder holding `path` (`.` for a bare file name): where temp files go, and what
/// a fleet.lock's paths are relative to.
pub fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Refuses an input path that is missing or not a regular file (exit 2, the path named),
/// before anything reads it.
pub fn require_file(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(m) if m.is_dir() => Err(usage(format!(
            "{}: is a directory, expected a file",
            path.display()
        ))),
        Ok(_) => Err(usage(format!("{}: not a regular file", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(usage(format!("{}: no such file", path.display())))
        }
        Err(e) => Err(usage(format!("{}: {e}", path.display()))),
    }
}

/// `--fleet`, else ./fleet.toml when present, else an empty fleet.
pub fn load_fleet(flag: &Option<std::path::PathBuf>) -> Result<crate::fleet::Fleet> {
    let path = flag
        .clone()
        .or_else(|| Some(std::path::PathBuf::from("fleet.toml")).filter(|p| p.exists()));
    path.as_deref().map_or(
        Ok(crate::fleet::Fleet::default()),
        crate::fleet::Fleet::read,
    )
}

/// A path from its flag, else from fleet.toml, else a usage error naming both.
pub fn pick_path(
    flag: &Option<std::path::PathBuf>,
    from_fleet: &Option<std::path::PathBuf>,
    flag_name: &str,
    key: &str,
) -> Result<std::path::PathBuf> {
    flag.clone().or_else(|| from_fleet.clone()).ok_or_else(|| {
        usage(format!(
            "no {flag_name}: pass --{flag_name} or set {key} in fleet.toml"
        ))
    })
}

/// A non-empty environment variable.
pub fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Refuses to write onto the input (a convert in place would destroy it).
pub fn ensure_distinct(input: &Path, output: &Path) -> Result<()> {
    if let (Ok(a), Ok(b)) = (input.canonicalize(), output.canonicalize()) {
        if a == b {
            return Err(usage(format!(
                "{} is both the input and the output",
                input.display()
            )));
        }
    }
    Ok(())
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

pub fn vmdk_options(
    o: &crate::cli::VmdkOptions,
    file_name: &str,
) -> Result<ova::vmdk::WriteOptions> {
    Ok(ova::vmdk::WriteOptions {
        file_name: file_name.to_string(),
        adapter: ova::vmdk::AdapterType::parse(&o.adapter)?,
        level: o.level,
        threads: o.threads,
        ..Default::default()
    })
}
