//! Is each VM a working Docker host? Checked over SSH, as root with the fleet's key: first
//! boot finished (its stamp), docker active, the vDVS plugin enabled at the lock's version
//! (`docker plugin inspect`, as Docker prints it). Every problem is named.

use esxi::session::{ConnectConfig, Connection};
use esxi::Target;
use serde::Serialize;

/// The stamp first boot writes when it has done its whole job.
pub const STAMP: &str = "/var/lib/photon-fleet/firstboot.done";

/// The plugin as Docker reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginState {
    pub name: String,
    pub enabled: bool,
    /// `VDVS_VERSION` from the plugin's config.
    pub version: Option<String>,
}

/// One guest, as found.
#[derive(Debug, Clone, Serialize)]
pub struct GuestReport {
    pub vm: String,
    pub address: Option<String>,
    pub ok: bool,
    pub first_boot_done: bool,
    /// `systemctl is-active docker`.
    pub docker: Option<String>,
    pub plugin: Option<PluginState>,
    /// Why it is not a working Docker host (empty when it is).
    pub problems: Vec<String>,
}

/// What a working guest has.
pub struct Want<'a> {
    /// `vsphere:latest`
    pub plugin: &'a str,
    /// The plugin version the lock pairs with the hosts' VIB.
    pub version: &'a str,
}

/// Reads `docker plugin inspect` JSON (an array with one object).
pub fn parse_plugin(json: &str) -> Option<PluginState> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let p = v.as_array()?.first()?;
    let version = p["Config"]["Env"].as_array().and_then(|env| {
        env.iter()
            .find(|e| e["Name"] == "VDVS_VERSION")
            .and_then(|e| e["Value"].as_str())
            .map(str::to_string)
    });
    Some(PluginState {
        name: p["Name"].as_str()?.to_string(),
        enabled: p["Enabled"].as_bool()?,
        version,
    })
}

/// Checks the guest `vm` at `address`.
pub fn check(vm: &str, address: Option<&str>, cfg: &ConnectConfig, want: &Want) -> GuestReport {
    let mut r = GuestReport {
        vm: vm.to_string(),
        address: address.map(str::to_string),
        ok: false,
        first_boot_done: false,
        docker: None,
        plugin: None,
        problems: Vec::new(),
    };
    let Some(addr) = address else {
        r.problems
            .push("no guest IP (VMware Tools has not reported one)".into());
        return r;
    };
    let conn = Target::parse(addr, "root").and_then(|t| Connection::open(&t, cfg));
    let conn = match conn {
        Ok(c) => c,
        Err(e) => {
            r.problems.push(format!("cannot log in over SSH: {e}"));
            return r;
        }
    };
    let run = |cmd: &str| conn.run(cmd).map_err(|e| format!("'{cmd}' failed: {e}"));
    match run(&format!("test -f {STAMP}")) {
        Ok(o) => r.first_boot_done = o.code == 0,
        Err(e) => r.problems.push(e),
    }
    if !r.first_boot_done && r.problems.is_empty() {
        r.problems.push(format!(
            "first boot has not finished (no {STAMP}; see journalctl -u photon-fleet-firstboot)"
        ));
    }
    match run("systemctl is-active docker") {
        Ok(o) => {
            let state = o.text.trim().to_string();
            if state != "active" {
                r.problems.push(format!("docker is {state}"));
            }
            r.docker = Some(state);
        }
        Err(e) => r.problems.push(e),
    }
    match run(&format!("docker plugin inspect {}", want.plugin)) {
        Ok(o) if o.code == 0 => r.plugin = parse_plugin(&o.text),
        Ok(o) => r.problems.push(format!(
            "plugin {} is not installed ({})",
            want.plugin,
            o.text.lines().next().unwrap_or("").trim()
        )),
        Err(e) => r.problems.push(e),
    }
    if let Some(p) = &r.plugin {
        if !p.enabled {
            r.problems.push(format!("plugin {} is disabled", p.name));
        }
        if p.version.as_deref() != Some(want.version) {
            r.problems.push(format!(
                "plugin {} is version {}, the lock pairs {} with the hosts' VIB",
                p.name,
                p.version.as_deref().unwrap_or("unknown"),
                want.version
            ));
        }
    }
    r.ok = r.problems.is_empty();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_plugin_inspect_is_read_as_docker_prints_it() {
        let json = r#"[{"Id":"5d9e","Name":"vsphere:latest","Enabled":true,"Settings":{"Env":["VDVS_LOG_LEVEL=info"]},"Config":{"Env":[{"Name":"VDVS_LOG_LEVEL","Value":"info"},{"Name":"VDVS_VERSION","Settable":null,"Value":"0.21.2"}]}}]"#;
        assert_eq!(
            parse_plugin(json),
            Some(PluginState {
                name: "vsphere:latest".into(),
                enabled: true,
                version: Some("0.21.2".into())
            })
        );
        let off = json.replace("\"Enabled\":true", "\"Enabled\":false");
        assert!(!parse_plugin(&off).unwrap().enabled);
        assert_eq!(parse_plugin("Error: No such plugin: vsphere"), None);
        assert_eq!(parse_plugin("[]"), None);
    }
}
