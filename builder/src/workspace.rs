//! What build-ova keeps in `--out` while it runs, and nothing after: its work folder
//! (`.build-ova-PID-XXXXXX`: the raw disk, staged files), removed when the run ends, on
//! Ctrl-C/SIGTERM too; the output folder itself, removed again if this run made it and
//! failed; and leftovers of earlier runs that were killed (a work folder or a
//! `.NAME.PID.XXXXXX.partial` output of a process that no longer runs), removed at the
//! start. Nothing else in `--out` is touched.

use plumbing::interrupt::{self, Guard};
use std::path::{Path, PathBuf};

pub struct Workspace {
    dir: Option<tempfile::TempDir>,
    /// The output folder, when this run created it.
    created: Option<PathBuf>,
    _undo: Vec<Guard<'static>>,
}

const PREFIX: &str = ".build-ova-";

impl Workspace {
    /// Creates `out` if needed, removes dead runs' leftovers, makes the work folder.
    pub fn open(out: &Path) -> std::io::Result<Self> {
        let created = (!out.exists()).then(|| out.to_path_buf());
        std::fs::create_dir_all(out)?;
        let mut undo = Vec::new();
        if let Some(o) = &created {
            // Registered first, so it runs last: only an empty folder is removed.
            let o = o.clone();
            undo.push(interrupt::on_interrupt(move || {
                let _ = std::fs::remove_dir(&o);
            }));
        }
        remove_stale(out);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{}-", std::process::id()))
            .tempdir_in(out)?;
        undo.push(interrupt::remove_on_interrupt(dir.path()));
        Ok(Self {
            dir: Some(dir),
            created,
            _undo: undo,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new("."), |d| d.path())
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        drop(self.dir.take());
        if let Some(o) = &self.created {
            // Fails, as it should, when the run left its outputs there.
            let _ = std::fs::remove_dir(o);
        }
    }
}

/// Whether process `pid` is gone (so what it named after itself is a leftover).
fn dead(pid: &str) -> bool {
    pid.parse::<u32>()
        .is_ok_and(|p| p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists())
}

/// The process id in a leftover's name: `.build-ova-PID-X` or `.NAME.PID.X.partial`.
pub fn owner(name: &str) -> Option<&str> {
    if let Some(rest) = name.strip_prefix(PREFIX) {
        return rest.split_once('-').map(|(pid, _)| pid);
    }
    let inner = name.strip_prefix('.')?.strip_suffix(".partial")?;
    let mut parts = inner.rsplitn(3, '.');
    let (_random, pid, output) = (parts.next()?, parts.next()?, parts.next()?);
    let ours = [".ova", ".vib", "fleet.lock"]
        .iter()
        .any(|s| output.ends_with(s));
    ours.then_some(pid)
}

fn remove_stale(out: &Path) {
    let Ok(entries) = std::fs::read_dir(out) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(owner) else {
            continue;
        };
        if dead(pid) {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dead_runs_leftovers_are_named_as_ours() {
        assert_eq!(owner(".build-ova-4242-Ab12cd"), Some("4242"));
        assert_eq!(
            owner(".photon-docker-5.0.ova.4242.xY12zq.partial"),
            Some("4242")
        );
        assert_eq!(owner(".fleet.lock.77.abc.partial"), Some("77"));
        for theirs in [
            ".notes.txt.4242.abc.partial",
            "build-ova-4242-x",
            ".partial",
            "a.ova",
        ] {
            assert_eq!(owner(theirs), None, "{theirs}");
        }
        assert!(dead("4194303") || !Path::new("/proc/4194303").exists());
        assert!(!dead(&std::process::id().to_string()));
        assert!(!dead("1"), "init runs");
        assert!(!dead("x"));
    }
}
