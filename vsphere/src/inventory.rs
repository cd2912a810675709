//! Where VMs go: datacenter, VM folder, cluster (or host) resource pool, datastore and
//! network, looked up by name. A wrong name is an error that lists the names that exist.

use crate::client::{Client, Value};
use crate::soap::MoRef;
use crate::{Error, Result};
use serde::Serialize;

#[derive(Debug, Default, Clone)]
pub struct Wanted {
    pub datacenter: Option<String>,
    /// A cluster or standalone host under the datacenter's host folder.
    pub cluster: Option<String>,
    pub datastore: Option<String>,
    pub network: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Named {
    pub name: String,
    #[serde(rename = "ref")]
    pub moref: MoRef,
}

#[derive(Debug, Clone, Serialize)]
pub struct Placement {
    pub datacenter: Named,
    pub vm_folder: MoRef,
    pub compute: Named,
    pub pool: MoRef,
    pub datastore: Named,
    pub network: Named,
}

/// Where an import or a clone goes: the part of a [`Placement`] the calls take.
pub struct Target<'a> {
    pub pool: &'a MoRef,
    pub folder: &'a MoRef,
    pub datastore: &'a MoRef,
}

impl Placement {
    pub fn target(&self) -> Target<'_> {
        Target {
            pool: &self.pool,
            folder: &self.vm_folder,
            datastore: &self.datastore.moref,
        }
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
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Datacenter => "datacenter",
            Part::Datastore => "datastore",
            Part::Network => "network",
            Part::Compute => "cluster or host",
        })
    }
}

/// Picks `want` among `found` (or the only one when `want` is None).
fn pick(what: Part, want: Option<&str>, found: Vec<(MoRef, String)>) -> Result<Named> {
    let names = || {
        let mut n: Vec<String> = found.iter().map(|(_, n)| n.clone()).collect();
        n.sort_unstable();
        n.dedup();
        n
    };
    match want {
        Some(w) => found
            .iter()
            .find(|(_, n)| n == w)
            .map(|(m, n)| Named {
                name: n.clone(),
                moref: m.clone(),
            })
            .ok_or_else(|| Error::NotFound {
                what,
                name: w.to_string(),
                choices: names(),
            }),
        None if found.len() == 1 => Ok(Named {
            name: found[0].1.clone(),
            moref: found[0].0.clone(),
        }),
        None => Err(Error::Ambiguous {
            what,
            choices: names(),
        }),
    }
}

fn prop_refs(props: &[(String, Value)], name: &str) -> Vec<MoRef> {
    props
        .iter()
        .filter(|(n, _)| n == name)
        .flat_map(|(_, v)| v.refs())
        .collect()
}

pub fn resolve(c: &Client, w: &Wanted) -> Result<Placement> {
    let top = c.refs(&c.content.root_folder, "childEntity")?;
    let dcs: Vec<MoRef> = top.into_iter().filter(|m| m.kind == "Datacenter").collect();
    let datacenter = pick(Part::Datacenter, w.datacenter.as_deref(), c.names(&dcs)?)?;
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
    let vm_folder = one("vmFolder")?;
    let host_folder = one("hostFolder")?;
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
    let computes: Vec<MoRef> = c
        .refs(&host_folder, "childEntity")?
        .into_iter()
        .filter(|m| m.kind.ends_with("ComputeResource"))
        .collect();
    let compute = pick(Part::Compute, w.cluster.as_deref(), c.names(&computes)?)?;
    let pool = c
        .refs(&compute.moref, "resourcePool")?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Unexpected(format!("{} has no resource pool", compute.name)))?;
    Ok(Placement {
        datacenter,
        vm_folder,
        compute,
        pool,
        datastore,
        network,
    })
}

/// The VM called `name` in the datacenter's VM folder, if there is one.
pub fn find_vm(c: &Client, datacenter: &str, name: &str) -> Result<Option<MoRef>> {
    c.find(&format!("{datacenter}/vm/{name}"))
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
}
