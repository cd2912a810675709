//! What the user gave that is wrong: a file that is missing or invalid, a value that
//! cannot be used. Every crate reports such input with these types, so the CLI can tell
//! bad input (exit 2) from a failure (exit 1) without knowing each crate.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file the user named is missing, is not a regular file, or cannot be read.
    #[error("{path}: {why}")]
    File { path: String, why: String },
    /// A file the user named is not valid (the key, line or value is in `why`).
    #[error("{path}: {why}")]
    Invalid { path: String, why: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Input that is wrong, said in one line naming the file, flag or value (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Refuses an input path that is missing or not a regular file, before anything reads it.
pub fn require_file(path: &Path) -> Result<()> {
    let why = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => return Ok(()),
        Ok(m) if m.is_dir() => "is a directory, expected a file".to_string(),
        Ok(_) => "not a regular file".to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "no such file".to_string(),
        Err(e) => e.to_string(),
    };
    Err(Error::File {
        path: path.display().to_string(),
        why,
    })
}

/// The text of the file at `path` (`what` it should be, for the message when it is not text).
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    require_file(path)?;
    std::fs::read_to_string(path).map_err(|e| Error::File {
        path: path.display().to_string(),
        why: match e.kind() {
            std::io::ErrorKind::InvalidData => format!("not {what} (not UTF-8 text)"),
            _ => e.to_string(),
        },
    })
}
