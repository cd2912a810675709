//! Any bytes as a base disk's root filesystem (what build-ova walks before the bake): the
//! ext4 metadata walk must name its blocks or say why it cannot, never panic, overflow,
//! loop or allocate beyond the disk's size.
#![no_main]
use libfuzzer_sys::fuzz_target;
#[path = "shm.rs"]
mod shm;

fuzz_target!(|data: &[u8]| {
    let f = shm::file_with(data);
    let Ok(disk) = ova::RawDisk::open(f.path()) else {
        return;
    };
    if let Ok(m) = builder::bake::meta::metadata(&disk, 0) {
        assert!(m.bytes() <= ova::DiskSource::size(&disk));
    }
});
