//! The vDVS artifacts' reports for people: a VIB, a plugin bundle, fleet.lock.

use plugin::lock::{Checked, FleetLock};
use plugin::{managed, Vib};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Serialize)]
pub struct VibReport<'a> {
    kind: &'static str,
    file: String,
    pub id: String,
    pub sha256: String,
    #[serde(flatten)]
    vib: &'a Vib,
    warnings: Vec<String>,
}

impl<'a> VibReport<'a> {
    pub fn new(file: &Path, bytes: &[u8], vib: &'a Vib) -> Self {
        Self {
            kind: "vib",
            file: file.display().to_string(),
            id: vib.id(),
            sha256: plugin::lock::sha256_hex(bytes),
            vib,
            warnings: vib.warnings(),
        }
    }

    pub fn text(&self) -> String {
        let mut s = self.vib.info_text();
        let _ = writeln!(
            s,
            "Verified:               {}",
            self.vib.verified.join(", ")
        );
        let _ = writeln!(s, "SHA-256 of the VIB:     {}", self.sha256);
        for w in &self.warnings {
            let _ = writeln!(s, "Warning: {w}");
        }
        s
    }
}

pub fn plugin(path: &Path, b: &managed::PluginBundle) -> String {
    format!(
        "Docker managed plugin bundle {}\n  version          {}\n  interface        {} on {}\n  entrypoint       {}\n  propagatedMount  {}\n  settable env     {}\n  files            {}\n  digest           {}\n",
        path.display(),
        b.version,
        managed::VOLUME_DRIVER,
        b.socket,
        b.entrypoint.join(" "),
        b.propagated_mount,
        b.settable_env.join(", "),
        b.files,
        b.sha256
    )
}

#[derive(Serialize)]
pub struct LockReport {
    pub lock: FleetLock,
    pub checks: Vec<Checked>,
}

impl LockReport {
    pub fn text(&self) -> String {
        let l = &self.lock;
        let mut s = format!(
            "fleet.lock   vDVS {}: plugin {} + VIB {}\n",
            l.vdvs.release, l.plugin.version, l.vib.id
        );
        for c in &self.checks {
            let _ = writeln!(
                s,
                "  {:<7}{} {}: {}",
                c.what,
                if c.ok { "ok  " } else { "FAIL" },
                c.file.display(),
                c.detail
            );
        }
        s
    }
}
