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

/// Picks `want` among `found` (or the only one when `want` is None).
fn pick(what: &str, flag: &str, want: Option<&str>, found: Vec<(MoRef, String)>) -> Result<Named> {
    let names = || {
        let mut n: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
        n.sort_unstable();
        n.dedup();
        if n.is_empty() {
            "none".to_string()
        } else {
            n.join(", ")
        }
    };
    match want {
        Some(w) => found
            .iter()
            .find(|(_, n)| n == w)
            .map(|(m, n)| Named {
                name: n.clone(),
                moref: m.clone(),
            })
            .ok_or_else(|| Error::Input(format!("{what} '{w}' not found; there are: {}", names()))),
        None if found.len() == 1 => Ok(Named {
            name: found[0].1.clone(),
            moref: found[0].0.clone(),
        }),
        None => Err(Error::Input(format!(
            "which {what}? pass {flag} (there are: {})",
            names()
        ))),
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
    let datacenter = pick(
        "datacenter",
        "--datacenter",
        w.datacenter.as_deref(),
        c.names(&dcs)?,
    )?;
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
        "datastore",
        "--datastore",
        w.datastore.as_deref(),
        c.names(&prop_refs(&props, "datastore"))?,
    )?;
    let network = pick(
        "network",
        "--network",
        Some(&w.network),
        c.names(&prop_refs(&props, "network"))?,
    )?;
    let computes: Vec<MoRef> = c
        .refs(&host_folder, "childEntity")?
        .into_iter()
        .filter(|m| m.kind.ends_with("ComputeResource"))
        .collect();
    let compute = pick(
        "cluster or host",
        "--cluster",
        w.cluster.as_deref(),
        c.names(&computes)?,
    )?;
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
