//! Any bytes as a sparse VMDK: open, walk the tables, read the start. Must not panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ova::DiskSource;

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = ova::vmdk::VmdkImage::open(data.to_vec()) {
        let _ = img.facts();
        let mut buf = vec![0u8; img.size().min(4 << 20) as usize];
        let _ = img.read_at(&mut buf, 0);
        let _ = img.next_data(0);
    }
});
