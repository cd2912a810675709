//! Any bytes as an OVA: list, read the OVF and manifest, verify. Must not panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
#[path = "shm.rs"]
mod shm;

fuzz_target!(|data: &[u8]| {
    let f = shm::file_with(data);
    let path = f.path().to_path_buf();
    if let Ok(ova) = ova::Ova::open(&path) {
        let _ = ova.verify(&ova::NoProgress);
        if let Ok((_, text)) = ova.ovf() {
            if let Ok(info) = ova::ovf::parse(&text) {
                for d in info.disks.iter().filter_map(|d| d.href.as_deref()) {
                    let _ = ova.disk(d).and_then(|img| img.facts());
                }
            }
        }
    }
});
