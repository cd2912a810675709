//! build-ova's report for people.

use builder::build::{BaseCopy, Built};
use indicatif::HumanBytes;

/// How the base was read: "metadata 21 MiB" or "copied whole: why".
fn base_copy(c: &BaseCopy) -> String {
    match c {
        BaseCopy::Metadata(m) => format!("its metadata, {}", HumanBytes(m.metadata_bytes)),
        BaseCopy::Whole { why } => format!("copied whole: {why}"),
    }
}

pub fn built(b: &Built) -> String {
    let s = &b.seconds;
    format!(
        "{}: Photon OS {} Docker host, vDVS {} (plugin {} as {}, {} files / {} baked into partition {}), disk {}\n{}: the matching VIB\n{}: the lock\nmanifest sha256 {}  ({:.1} s: base {:.1} ({}), bake {:.1}, vmdk into the OVA {:.1}, VIB + lock {:.1})\n",
        b.ova,
        b.photon_version,
        b.vdvs_release,
        b.plugin_version,
        b.plugin_as,
        b.baked.files,
        HumanBytes(b.baked.bytes),
        b.root_partition.map_or("-".into(), |n| n.to_string()),
        HumanBytes(b.capacity),
        b.vib,
        b.lock,
        b.manifest_sha256,
        s.total,
        s.base,
        base_copy(&b.base_copy),
        s.bake,
        s.vmdk,
        s.lock,
    )
}
