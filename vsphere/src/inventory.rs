//! Where VMs go: datacenter, VM folder, cluster (or standalone host), resource pool, ESXi
//! host, datastore and network, looked up by name or by inventory path as govc takes them
//! (`/F0/DC1`, `/DC0/host/Prod/C1`, `Prod/C1`). A wrong name is an error that lists the
//! names that exist. In a cluster without DRS vCenter wants a host for every import and
//! clone: the connected hosts not in maintenance are offered, to spread the VMs over.

use crate::client::{Client, Value};
use crate::soap::{find, MoRef};
use crate::{Error, Result};
use serde::Serialize;

#[derive(Debug, Default, Clone)]
pub struct Wanted {
    pub datacenter: Option<String>,
    /// A cluster or standalone host under the datacenter's host folder.
    pub cluster: Option<String>,
    /// One ESXi host of the cluster: every import and clone goes there.
    pub host: Option<String>,
    /// A resource pool of the cluster (a name, or a path under its root pool); default
    /// the root pool.
    pub pool: Option<String>,
    /// A VM folder (a name, or a path under the datacenter's VM folder); default that
    /// folder.
    pub folder: Option<String>,
    pub datastore: Option<String>,
    pub network: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Named {
    /// The name, or the inventory path where objects can sit in folders (`F0/DC1`).
    pub name: String,
    #[serde(rename = "ref")]
    pub moref: MoRef,
}

/// How a network card is put on the chosen network.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NetworkKind {
    /// A standard port group (or any `Network`).
    Standard,
    /// A distributed port group.
    Distributed {
        portgroup_key: String,
        switch_uuid: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Placement {
    pub datacenter: Named,
    pub vm_folder: Named,
    pub compute: Named,
    pub pool: Named,
    pub datastore: Named,
    pub network: Named,
    pub network_kind: NetworkKind,
    /// Whether vCenter places VMs on hosts itself (a DRS cluster, or a standalone host).
    pub drs: bool,
    /// The hosts imports and clones are placed on, in turn: the one asked for, or in a
    /// cluster without DRS every connected host not in maintenance. Empty: vCenter places.
    pub hosts: Vec<Named>,
}

/// Where an import or a clone goes: the part of a [`Placement`] the calls take.
pub struct Target<'a> {
    pub pool: &'a MoRef,
    pub folder: &'a MoRef,
    pub datastore: &'a MoRef,
    pub host: Option<&'a MoRef>,
}

impl Placement {
    /// The target of the `n`th placement (0: the import): the hosts are taken in turn.
    pub fn target(&self, n: usize) -> Target<'_> {
        Target {
            pool: &self.pool.moref,
            folder: &self.vm_folder.moref,
            datastore: &self.datastore.moref,
            host: self.host(n).map(|h| &h.moref),
        }
    }

    /// The host the `n`th placement goes to, when vCenter does not choose.
    pub fn host(&self, n: usize) -> Option<&Named> {
        (!self.hosts.is_empty()).then(|| &self.hosts[n % self.hosts.len()])
    }
}

/// What part of the placement a name is for (errors say which; the CLI names the flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Datacenter,
    Datastore,
    Network,
    /// A cluster or a standalone host.
    Compute,
    Host,
    Pool,
    Folder,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Datacenter => "datacenter",
            Part::Datastore => "datastore",
            Part::Network => "network",
            Part::Compute => "cluster or host",
            Part::Host => "ESXi host",
            Part::Pool => "resource pool",
            Part::Folder => "VM folder",
        })
    }
}

/// Picks `want` among `found` (`(ref, path)`; or the only one when `want` is None). A
/// name with a `/` is a path: relative to where `found` was listed, or absolute when it
/// starts with `/` (then it must start with `abs`, the listing's own absolute path). A
/// plain name matches the last part of a path, and must match only one.
fn choose(what: Part, want: Option<&str>, found: Vec<(MoRef, String)>, abs: &str) -> Result<Named> {
    let paths = |f: &[&(MoRef, String)]| {
        let mut n: Vec<String> = f.iter().map(|(_, n)| n.clone()).collect();
        n.sort_unstable();
        n.dedup();
        n
    };
    // An object listed twice (vCenter lists a distributed port group under the
    // datacenter and its switch) is one object.
    let mut found = found;
    found.sort_by(|a, b| (&a.1, &a.0.value).cmp(&(&b.1, &b.0.value)));
    found.dedup_by(|a, b| a.0 == b.0);
    let all: Vec<&(MoRef, String)> = found.iter().collect();
    let named = |(m, n): &(MoRef, String)| Named {
        name: n.clone(),
        moref: m.clone(),
    };
    let Some(w) = want else {
        return match found.len() {
            1 => Ok(named(&found[0])),
            _ => Err(Error::Ambiguous {
                what,
                choices: paths(&all),
            }),
        };
    };
    let not_found = || Error::NotFound {
        what,
        name: w.to_string(),
        choices: paths(&all),
    };
    let rel = match w.strip_prefix('/') {
        Some(a) => match abs.trim_matches('/') {
            "" => a,
            base => a
                .strip_prefix(base)
                .and_then(|r| r.strip_prefix('/'))
                .ok_or_else(not_found)?,
        },
        None => w,
    }
    .trim_end_matches('/');
    // A path (absolute, or with a `/`) names one place; a plain name may be anywhere.
    let hits: Vec<&(MoRef, String)> = if w.starts_with('/') || rel.contains('/') {
        all.iter().copied().filter(|(_, p)| p == rel).collect()
    } else {
        all.iter()
            .copied()
            .filter(|(_, p)| p.rsplit('/').next() == Some(rel))
            .collect()
    };
    match hits.as_slice() {
        [one] => Ok(named(one)),
        [] => Err(not_found()),
        many => Err(Error::Ambiguous {
            what,
            choices: paths(many),
        }),
    }
}

/// Picks `want` among objects that sit in no folders (datastores, networks).
fn pick(what: Part, want: Option<&str>, found: Vec<(MoRef, String)>) -> Result<Named> {
    choose(what, want, found, "")
}

fn prop_refs(props: &[(String, Value)], name: &str) -> Vec<MoRef> {
    props
        .iter()
        .filter(|(n, _)| n == name)
        .flat_map(|(_, v)| v.refs())
        .collect()
}

fn prop_text(props: &[(String, Value)], name: &str) -> Option<String> {
    props
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.text().map(str::to_string))
}

/// Every object under `top` whose type `keep` takes, following `via` (`childEntity`,
/// `resourcePool`) down through objects of type `down`, with its path under `top`.
fn tree(
    c: &Client,
    top: &MoRef,
    via: &str,
    down: &str,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<(MoRef, String)>> {
    let mut out = Vec::new();
    let mut todo = vec![(top.clone(), String::new())];
    while let Some((at, prefix)) = todo.pop() {
        let kids: Vec<MoRef> = c
            .refs(&at, via)?
            .into_iter()
            .filter(|m| m.kind == down || keep(&m.kind))
            .collect();
        if kids.is_empty() {
            continue;
        }
        for (m, n) in c.names(&kids)? {
            let path = if prefix.is_empty() {
                n
            } else {
                format!("{prefix}/{n}")
            };
            if keep(&m.kind) {
                out.push((m.clone(), path.clone()));
            }
            if m.kind == down {
                todo.push((m, path));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

pub fn resolve(c: &Client, w: &Wanted) -> Result<Placement> {
    let root = c.content.root_folder.clone();
    let dcs = tree(c, &root, "childEntity", "Folder", &|k| k == "Datacenter")?;
    let datacenter = choose(Part::Datacenter, w.datacenter.as_deref(), dcs, "/")?;
    let dc_path = format!("/{}", datacenter.name);
    let props = c
        .properties(
            std::slice::from_ref(&datacenter.moref),
            &["vmFolder", "hostFolder", "datastore", "network"],
        )?
        .into_iter()
        .next()
        .map(|(_, p)| p)
        .unwrap_or_default();
    let one = |n: &str| {
        prop_refs(&props, n)
            .into_iter()
            .next()
            .ok_or_else(|| Error::Unexpected(format!("datacenter {} has no {n}", datacenter.name)))
    };
    let vm_root = one("vmFolder")?;
    let host_folder = one("hostFolder")?;
    let vm_folder = match &w.folder {
        None => Named {
            name: format!("{}/vm", datacenter.name),
            moref: vm_root,
        },
        Some(f) => {
            let folders = tree(c, &vm_root, "childEntity", "Folder", &|k| k == "Folder")?;
            let mut n = choose(Part::Folder, Some(f), folders, &format!("{dc_path}/vm"))?;
            n.name = format!("{}/vm/{}", datacenter.name, n.name);
            n
        }
    };
    let datastore = pick(
        Part::Datastore,
        w.datastore.as_deref(),
        c.names(&prop_refs(&props, "datastore"))?,
    )?;
    let network = pick(
        Part::Network,
        Some(&w.network),
        c.names(&prop_refs(&props, "network"))?,
    )?;
    let network_kind = network_kind(c, &network)?;
    let computes = tree(c, &host_folder, "childEntity", "Folder", &|k| {
        k.ends_with("ComputeResource")
    })?;
    let compute = choose(
        Part::Compute,
        w.cluster.as_deref(),
        computes,
        &format!("{dc_path}/host"),
    )?;
    let root_pool = c
        .refs(&compute.moref, "resourcePool")?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Unexpected(format!("{} has no resource pool", compute.name)))?;
    let pool = match &w.pool {
        None => Named {
            name: "Resources".into(),
            moref: root_pool,
        },
        Some(p) => {
            let mut pools = tree(c, &root_pool, "resourcePool", "ResourcePool", &|k| {
                k == "ResourcePool"
            })?;
            pools.push((root_pool.clone(), String::new()));
            let abs = format!("{dc_path}/host/{}/Resources", compute.name);
            let rel = p.trim_start_matches("Resources/");
            let mut n = if p == "Resources" || p.trim_end_matches('/') == abs {
                Named {
                    name: String::new(),
                    moref: root_pool,
                }
            } else {
                pools.retain(|(_, path)| !path.is_empty());
                choose(Part::Pool, Some(rel), pools, &abs)?
            };
            n.name = if n.name.is_empty() {
                "Resources".into()
            } else {
                format!("Resources/{}", n.name)
            };
            n
        }
    };
    let drs = compute.moref.kind != "ClusterComputeResource" || drs_enabled(c, &compute.moref)?;
    let hosts = match &w.host {
        Some(h) => {
            let all = crate::hosts::of_compute(c, &compute.moref)?;
            let found = all
                .into_iter()
                .map(|h| (h.moref, h.name))
                .collect::<Vec<_>>();
            vec![choose(Part::Host, Some(h), found, "")?]
        }
        None if !drs => crate::hosts::of_compute(c, &compute.moref)?
            .into_iter()
            .filter(|h| h.connected && !h.maintenance)
            .map(|h| Named {
                name: h.name,
                moref: h.moref,
            })
            .collect(),
        None => Vec::new(),
    };
    if !drs && hosts.is_empty() {
        return Err(Error::Input(format!(
            "cluster {} has DRS off and no connected host out of maintenance to place VMs on",
            compute.name
        )));
    }
    Ok(Placement {
        datacenter,
        vm_folder,
        compute,
        pool,
        datastore,
        network,
        network_kind,
        drs,
        hosts,
    })
}

/// A distributed port group's key and its switch's UUID; a standard one needs nothing.
fn network_kind(c: &Client, n: &Named) -> Result<NetworkKind> {
    match n.moref.kind.as_str() {
        "DistributedVirtualPortgroup" => {
            let props = c
                .properties(
                    std::slice::from_ref(&n.moref),
                    &["key", "config.distributedVirtualSwitch"],
                )?
                .into_iter()
                .next()
                .map(|(_, p)| p)
                .unwrap_or_default();
            let key = prop_text(&props, "key");
            let dvs = prop_refs(&props, "config.distributedVirtualSwitch");
            let uuid = match dvs.first() {
                Some(d) => c
                    .properties(std::slice::from_ref(d), &["uuid"])?
                    .into_iter()
                    .next()
                    .and_then(|(_, p)| prop_text(&p, "uuid")),
                None => None,
            };
            match (key, uuid) {
                (Some(portgroup_key), Some(switch_uuid)) => Ok(NetworkKind::Distributed {
                    portgroup_key,
                    switch_uuid,
                }),
                _ => Err(Error::Unexpected(format!(
                    "distributed port group {} has no key or switch",
                    n.name
                ))),
            }
        }
        "OpaqueNetwork" => Err(Error::Input(format!(
            "network {} is an NSX opaque network, which deploy does not attach; pick a port group",
            n.name
        ))),
        _ => Ok(NetworkKind::Standard),
    }
}

/// Whether a cluster has DRS on (`configurationEx.drsConfig.enabled`).
fn drs_enabled(c: &Client, cluster: &MoRef) -> Result<bool> {
    let pages = c.retrieve(std::slice::from_ref(cluster), &["configurationEx"])?;
    for page in &pages {
        let doc = page.doc()?;
        if let Some(drs) = find(doc.root(), "drsConfig") {
            return Ok(crate::soap::text(drs, "enabled").as_deref() == Some("true"));
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(names: &[&str]) -> Vec<(MoRef, String)> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (MoRef::new("Datastore", &format!("ds-{i}")), n.to_string()))
            .collect()
    }

    #[test]
    fn names_are_picked_or_the_real_ones_listed() {
        let two = found(&["ssd", "nfs"]);
        assert_eq!(
            pick(Part::Datastore, Some("nfs"), two.clone())
                .unwrap()
                .moref
                .value,
            "ds-1"
        );
        let e = pick(Part::Datastore, Some("sata"), two.clone()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "datastore 'sata' not found; there are: nfs, ssd"
        );
        assert!(matches!(
            e,
            Error::NotFound {
                what: Part::Datastore,
                ..
            }
        ));
        let e = pick(Part::Datastore, None, two).unwrap_err();
        assert_eq!(e.to_string(), "which datastore? there are: nfs, ssd");
        assert!(e.is_input_error());
        assert_eq!(
            pick(Part::Compute, None, found(&["c0"])).unwrap().name,
            "c0"
        );
        let e = pick(Part::Network, Some("x"), found(&[])).unwrap_err();
        assert_eq!(e.to_string(), "network 'x' not found; there are: none");
    }

    #[test]
    fn paths_are_read_as_govc_reads_them() {
        let tree = found(&["C0", "Prod/C1", "Test/C1", "Prod/Web/C2"]);
        let abs = "/F0/DC1/host";
        let got = |w: &str| {
            choose(Part::Compute, Some(w), tree.clone(), abs)
                .map(|n| n.name)
                .map_err(|e| e.to_string())
        };
        assert_eq!(got("C0").unwrap(), "C0");
        assert_eq!(got("C2").unwrap(), "Prod/Web/C2", "a unique name anywhere");
        assert_eq!(got("Prod/C1").unwrap(), "Prod/C1");
        assert_eq!(got("/F0/DC1/host/Test/C1").unwrap(), "Test/C1");
        assert_eq!(got("Prod/Web/C2/").unwrap(), "Prod/Web/C2");
        assert_eq!(
            got("C1").unwrap_err(),
            "which cluster or host? there are: Prod/C1, Test/C1"
        );
        // An absolute path is exact: its last part alone does not match elsewhere.
        for wrong in [
            "/F0/DC1/host/C1",
            "/F0/DC2/host/C0",
            "/F0/DC1/hostC0",
            "Web/C2",
        ] {
            assert!(got(wrong).unwrap_err().contains("not found"), "{wrong}");
        }
        // Listed twice (a distributed port group): one object.
        let twice = vec![
            (
                MoRef::new("DistributedVirtualPortgroup", "dvpg-1"),
                "pg".into(),
            ),
            (
                MoRef::new("DistributedVirtualPortgroup", "dvpg-1"),
                "pg".into(),
            ),
        ];
        assert_eq!(
            pick(Part::Network, Some("pg"), twice).unwrap().moref.value,
            "dvpg-1"
        );
    }
}
