//! One module per subcommand: arguments in, a library call, the report out. The helpers
//! here are the few argument checks they share.

pub mod build;
pub mod convert;
pub mod deploy;
pub mod disk;
pub mod esxi;
pub mod inspect;
pub mod kickstart;
pub mod lock;
pub mod pack;
pub mod trial;
pub mod up;
pub mod vib;

use crate::output::usage;
use anyhow::Result;
use std::path::Path;

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

/// Writes `bytes` to `out` under a temporary name, renamed when complete.
pub fn write_file(out: &Path, force: bool, bytes: &[u8]) -> Result<()> {
    refuse_existing(out, force)?;
    plumbing::write_atomically(out, |mut f| std::io::Write::write_all(&mut f, bytes))?;
    Ok(())
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

/// fleet.toml: `--fleet`, else ./fleet.toml when there is one.
pub fn fleet(flag: Option<&Path>) -> Result<config::Fleet> {
    Ok(config::Fleet::load(flag)?)
}

/// The VMDK writer's options; `adapter` unless `--adapter` says otherwise.
pub fn vmdk_options(
    o: &crate::cli::VmdkOptions,
    file_name: &str,
    adapter: ova::vmdk::AdapterType,
) -> Result<ova::vmdk::WriteOptions> {
    Ok(ova::vmdk::WriteOptions {
        file_name: file_name.to_string(),
        adapter: match &o.adapter {
            Some(a) => ova::vmdk::AdapterType::parse(a)?,
            None => adapter,
        },
        level: o.level,
        threads: o.threads,
        ..Default::default()
    })
}
