//! What a run made, undone when Ctrl-C (SIGINT) or SIGTERM arrives: files and folders
//! registered here are removed, registered actions run (newest first), one line is
//! printed, and the process exits 130 or 143. Without [`install`] nothing is caught.
//! A [`Guard`] unregisters its entry when dropped (the run finished or undid it itself).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

type Action = Box<dyn Fn() + Send + Sync>;

enum Undo {
    Remove(PathBuf),
    Run(Action),
}

/// A set of things to undo. The process has one ([`remove_on_interrupt`],
/// [`on_interrupt`]); tests make their own.
#[derive(Default)]
pub struct Registry {
    next: AtomicU64,
    entries: Mutex<Vec<(u64, Undo)>>,
}

static GLOBAL: Registry = Registry {
    next: AtomicU64::new(1),
    entries: Mutex::new(Vec::new()),
};

/// Keeps its entry registered while alive.
pub struct Guard<'a> {
    registry: &'a Registry,
    id: u64,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.registry
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(id, _)| *id != self.id);
    }
}

impl Registry {
    fn register(&self, u: Undo) -> Guard<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, u));
        Guard { registry: self, id }
    }

    pub fn remove(&self, path: &Path) -> Guard<'_> {
        self.register(Undo::Remove(path.to_path_buf()))
    }

    pub fn run(&self, f: impl Fn() + Send + Sync + 'static) -> Guard<'_> {
        self.register(Undo::Run(Box::new(f)))
    }

    /// Undoes everything registered, newest first; returns how many entries there were.
    pub fn undo_all(&self) -> usize {
        let entries: Vec<(u64, Undo)> =
            std::mem::take(&mut *self.entries.lock().unwrap_or_else(|p| p.into_inner()));
        let n = entries.len();
        for (_, u) in entries.into_iter().rev() {
            match u {
                Undo::Remove(p) if p.is_dir() => {
                    let _ = std::fs::remove_dir_all(&p);
                }
                Undo::Remove(p) => {
                    let _ = std::fs::remove_file(&p);
                }
                Undo::Run(f) => f(),
            }
        }
        n
    }
}

/// Removes `path` (a file, or a folder with everything in it) on an interrupt.
pub fn remove_on_interrupt(path: &Path) -> Guard<'static> {
    GLOBAL.remove(path)
}

/// Runs `f` on an interrupt (e.g. abort an import lease and remove its VM).
pub fn on_interrupt(f: impl Fn() + Send + Sync + 'static) -> Guard<'static> {
    GLOBAL.run(f)
}

static UNDOING: AtomicBool = AtomicBool::new(false);

/// For a thread that sees the effects of an undo (its child process killed, say): while
/// the handler undoes and exits, it waits here instead of reporting them as a failure.
/// Returns at once when no signal came.
pub fn wait_if_undoing() {
    while UNDOING.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Catches SIGINT and SIGTERM on a thread of its own: undoes what is registered, prints
/// `say(signal name, entries undone)` on stderr, exits 128 + the signal's number.
pub fn install(say: fn(&str, usize) -> String) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let name = if sig == SIGINT {
                "interrupted"
            } else {
                "terminated"
            };
            UNDOING.store(true, Ordering::SeqCst);
            let n = GLOBAL.undo_all();
            eprintln!("{}", say(name, n));
            std::process::exit(128 + sig);
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_paths_and_actions_are_undone_unless_dropped() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::create_dir_all(a.join("deep")).unwrap();
        std::fs::write(&b, "x").unwrap();
        let ran = std::sync::Arc::new(AtomicU64::new(0));
        let seen = ran.clone();
        let r = Registry::default();
        let _ga = r.remove(&a);
        let gb = r.remove(&b);
        let _gc = r.run(move || {
            seen.fetch_add(1, Ordering::SeqCst);
        });
        drop(gb);
        assert_eq!(r.undo_all(), 2);
        assert!(!a.exists(), "registered folder removed");
        assert!(b.exists(), "a dropped guard unregisters");
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
