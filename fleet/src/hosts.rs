//! Which ESXi hosts must carry the VIB before any VM boots: the hosts of the cluster the
//! fleet's VMs go to, as vCenter lists them (reached at their management address), plus
//! fleet.toml's `[esxi] hosts`, which add hosts or override how a listed one is reached.
//! A host is left out only when the user names it to skip.

use esxi::target::{collect, Source};
use esxi::Target;
use serde::Serialize;
use vsphere::hosts::HostInfo;
use vsphere::soap::MoRef;

/// One host the VIB goes onto (or that is skipped).
#[derive(Debug, Clone, Serialize)]
pub struct FleetHost {
    /// Its name in vCenter (none for a host only fleet.toml lists).
    pub name: Option<String>,
    pub target: Target,
    /// Left out on request (`skip`); volumes on VMs that move there will fail.
    pub skipped: bool,
    pub connected: bool,
    pub maintenance: bool,
    /// Its SSH service, when vCenter offers it.
    #[serde(skip)]
    pub service_system: Option<MoRef>,
}

/// Merges vCenter's hosts with fleet.toml's: a fleet.toml host whose name or address is
/// a vCenter host's replaces how that host is reached; others are added. `skip` names
/// hosts (vCenter name, address or fleet.toml spec) to leave out.
pub fn merge(
    found: &[HostInfo],
    listed: &[String],
    user: &str,
    skip: &[String],
) -> crate::Result<Vec<FleetHost>> {
    let listed = collect(listed.iter().map(|s| (s.as_str(), Source::Given)), user)?;
    let mut out: Vec<FleetHost> = found
        .iter()
        .map(|h| {
            let reach = h.address.clone().unwrap_or_else(|| h.name.clone());
            let target = listed
                .iter()
                .find(|t| t.host == h.name || Some(&t.host) == h.address.as_ref())
                .cloned()
                .map_or_else(|| Target::parse(&reach, user), Ok)?;
            Ok(FleetHost {
                name: Some(h.name.clone()),
                target,
                skipped: false,
                connected: h.connected,
                maintenance: h.maintenance,
                service_system: h.service_system.clone(),
            })
        })
        .collect::<crate::Result<_>>()?;
    for t in listed {
        if !out
            .iter()
            .any(|h| h.target.host == t.host && h.target.port == t.port)
        {
            out.push(FleetHost {
                name: None,
                target: t,
                skipped: false,
                connected: true,
                maintenance: false,
                service_system: None,
            });
        }
    }
    for s in skip {
        let hit = out.iter_mut().filter(|h| {
            h.name.as_deref() == Some(s.as_str())
                || h.target.host == *s
                || h.target.to_string() == *s
        });
        let mut any = false;
        for h in hit {
            h.skipped = true;
            any = true;
        }
        if !any {
            return Err(crate::bad(format!(
                "host '{s}' (to skip) is neither a host of the cluster nor in [esxi] hosts"
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(name: &str, address: Option<&str>) -> HostInfo {
        HostInfo {
            moref: MoRef::new("HostSystem", name),
            name: name.into(),
            address: address.map(str::to_string),
            connected: true,
            maintenance: false,
            service_system: None,
        }
    }

    #[test]
    fn vcenters_hosts_are_reached_at_their_management_address_unless_fleet_toml_says() {
        let vc = [
            found("esx1.lab", Some("10.0.0.11")),
            found("esx2.lab", None),
        ];
        let listed = vec!["admin@10.0.0.11:2222".to_string(), "esx9.lab".into()];
        let hosts = merge(&vc, &listed, "root", &["esx2.lab".into()]).unwrap();
        let shown: Vec<(String, bool)> = hosts
            .iter()
            .map(|h| (format!("{}@{}", h.target.user, h.target), h.skipped))
            .collect();
        assert_eq!(
            shown,
            [
                ("admin@10.0.0.11:2222".into(), false),
                ("root@esx2.lab".into(), true),
                ("root@esx9.lab".into(), false)
            ]
        );
        assert_eq!(hosts[0].name.as_deref(), Some("esx1.lab"));
        assert_eq!(hosts[2].name, None);
        let e = merge(&vc, &[], "root", &["nope".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("host 'nope' (to skip)"), "{e}");
    }
}
