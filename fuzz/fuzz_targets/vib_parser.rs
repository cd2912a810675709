//! Any bytes as a VIB (ar container + descriptor.xml + payload checksums), and as an
//! offline bundle zip. Must return an error or a VIB, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(vib) = plugin::Vib::parse(data) {
        let _ = vib.id();
        let _ = vib.warnings();
        let _ = vib.info_text();
    }
    let _ = plugin::bundle::read_bundle(std::io::Cursor::new(data));
});
