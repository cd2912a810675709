//! Outputs are written beside their final path under a temporary name
//! (`.NAME.PID.XXXXXX.partial`, mode 0644: the process id tells a later run whether its
//! writer is gone), synced, and renamed only when complete: a failed,
//! killed or interrupted run never leaves a partial file under the final name. The
//! temporary file is removed when the [`Output`] is dropped, and on Ctrl-C/SIGTERM.

use crate::interrupt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// A file being written for `out`.
pub struct Output {
    tmp: tempfile::NamedTempFile,
    out: PathBuf,
    _undo: interrupt::Guard<'static>,
}

impl Output {
    /// Creates the temporary file beside `out`.
    pub fn create(out: &Path) -> io::Result<Self> {
        let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.{}.", std::process::id()))
            .suffix(".partial")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .tempfile_in(folder_of(out))?;
        let undo = interrupt::remove_on_interrupt(tmp.path());
        Ok(Self {
            tmp,
            out: out.to_path_buf(),
            _undo: undo,
        })
    }

    pub fn file(&self) -> &File {
        self.tmp.as_file()
    }

    /// The temporary path (for tools that write the file themselves).
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Syncs the file and gives it its final name.
    pub fn commit(self) -> io::Result<()> {
        self.tmp.as_file().sync_all()?;
        self.tmp.persist(&self.out).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Runs `write` on a temporary file beside `out` and renames it to `out` only when
/// `write` succeeds.
pub fn write_atomically<T, E: From<io::Error>>(
    out: &Path,
    write: impl FnOnce(&File) -> Result<T, E>,
) -> Result<T, E> {
    let o = Output::create(out)?;
    let value = write(o.file())?;
    o.commit()?;
    Ok(value)
}

/// The folder holding `path` (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_left_under_the_final_name_unless_complete() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("x.bin");
        let r: Result<(), io::Error> = write_atomically(&out, |f| {
            io::Write::write_all(&mut &*f, b"half")?;
            Err(io::Error::other("stop"))
        });
        assert_eq!(r.unwrap_err().to_string(), "stop");
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            0,
            "temp removed"
        );
        write_atomically(&out, |f| io::Write::write_all(&mut &*f, b"whole")).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert_eq!(folder_of(Path::new("a.ova")), Path::new("."));
        assert_eq!(folder_of(Path::new("out/a.ova")), Path::new("out"));
    }
}
