//! Any bytes as a disk's GPT (what build-ova reads from the user's base): read the table,
//! then the partitions' offsets and lengths. Must return an error or a table, never panic
//! or overflow.
#![no_main]
use libfuzzer_sys::fuzz_target;
#[path = "shm.rs"]
mod shm;

fuzz_target!(|data: &[u8]| {
    let f = shm::file_with(data);
    // Disks are at least a few sectors: pad small inputs so the header is reached.
    if data.len() < 34 * 512 {
        f.as_file().set_len(34 * 512).unwrap();
    }
    let Ok(disk) = ova::RawDisk::open(f.path()) else {
        return;
    };
    if let Ok(Some(table)) = ova::gpt::read(&disk) {
        for p in &table.partitions {
            let _ = (p.offset(), p.len(), p.may_be_root());
        }
    }
});
