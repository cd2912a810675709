//! Any bytes as a Docker managed-plugin bundle tar (config.json + rootfs/), as build-ova
//! and `inspect` read the user's --plugin. Must return an error or a bundle, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let path = dir.path().join("plugin.tar");
    std::fs::File::create(&path).unwrap().write_all(data).unwrap();
    if let Ok(b) = plugin::managed::open(&path) {
        let _ = (b.version.len(), b.files, b.sha256.len());
    }
});
