//! The fuzzer's bytes as a file (the readers take paths): in /dev/shm when there is one,
//! so each run costs no disk I/O. Shared by the targets that read files.
use std::io::Write;

pub fn file_with(data: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new_in("/dev/shm")
        .or_else(|_| tempfile::NamedTempFile::new())
        .unwrap();
    f.write_all(data).unwrap();
    f
}
