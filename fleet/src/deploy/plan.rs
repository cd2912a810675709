//! What a deploy will do, decided from what vCenter has: a pure function over the VMs
//! listed ([`survey`]) and the VMs wanted, so every case is tested without vCenter.
//! Nothing photon-fleet did not make is ever planned for change.

use serde::Serialize;
use vsphere::soap::MoRef;
use vsphere::vm::{self, VmInfo};
use vsphere::{Client, Error, Result, Role};

/// The annotation text that marks a finished template of photon-fleet's.
const SHA_MARKER: &str = "photon-fleet:ova-sha256=";

/// Marks a template as holding the OVA with this sha256 (in its annotation).
pub fn sha_marker(sha256: &str) -> String {
    format!("{SHA_MARKER}{sha256}")
}

/// The prefix of the guestinfo keys that carry each VM's values (readable in the guest
/// with `vmtoolsd --cmd "info-get guestinfo.photon-fleet.hostname"`).
pub const GUESTINFO: &str = "guestinfo.photon-fleet.";

/// One VM of the fleet: its name and vApp property values (`hostname`, `network.address`...).
#[derive(Debug, Clone, Serialize)]
pub struct VmSpec {
    pub name: String,
    pub values: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TemplateAction {
    /// A template for this OVA is there: no upload.
    Reuse,
    /// Import the OVA as the template.
    Import,
    /// A VM under the template's name is a leftover of an interrupted import: remove it, import.
    ReplaceLeftover,
    /// The import finished but was not marked as a template: mark it.
    Mark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VmAction {
    Create,
    /// Exists and is running: nothing to do.
    Exists,
    /// Exists, powered off: power it on.
    PowerOn,
    /// Exists and stays off (power-on not wanted).
    ExistsOff,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedVm {
    pub name: String,
    pub action: VmAction,
    /// The VM when it exists already.
    #[serde(skip)]
    pub moref: Option<MoRef>,
    /// The ESXi host a new VM is placed on, when vCenter does not choose (a host asked
    /// for, or a cluster without DRS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<vsphere::inventory::Named>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub template: String,
    pub template_action: TemplateAction,
    /// The template's reference when it is reused.
    #[serde(skip)]
    pub template_ref: Option<MoRef>,
    /// The VMs this run removes (only leftovers of our own unfinished imports).
    pub remove: Vec<Removal>,
    pub vms: Vec<PlannedVm>,
}

/// A VM the plan removes, and why photon-fleet may: it carries the marker of an import
/// of ours that never finished ([`vm::IMPORT_MARKER`]).
#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    pub name: String,
    pub power_state: String,
    pub reason: String,
}

/// What vCenter has that the plan needs: every VM of the datacenter, and for those named
/// like a wanted VM, whether photon-fleet cloned them ([`vm::fleet_marks`]).
pub fn survey(c: &Client, container: &MoRef, wanted: &[VmSpec]) -> Result<Vec<VmInfo>> {
    let mut all = vm::list(c, container)?;
    let mut named: Vec<VmInfo> = all
        .iter()
        .filter(|v| wanted.iter().any(|w| w.name == v.name))
        .cloned()
        .collect();
    vm::fleet_marks(c, &mut named)?;
    for n in named {
        if let Some(v) = all.iter_mut().find(|v| v.moref == n.moref) {
            v.fleet_ova = n.fleet_ova;
        }
    }
    Ok(all)
}

fn taken(v: &VmInfo, role: Role, why: &str) -> Error {
    Error::NameTaken {
        role,
        name: v.name.clone(),
        kind: if v.template { "template" } else { "VM" },
        power_state: v.power_state.clone(),
        annotation: vm::annotation_line(&v.annotation),
        why: why.into(),
    }
}

/// Decides what to do from what vCenter has ([`survey`]). Nothing photon-fleet did not
/// make is ever planned for change: a template name or a VM name held by anything else
/// is refused, and the only removal is a leftover of an unfinished import of ours.
pub fn plan(
    existing: &[VmInfo],
    wanted: &[VmSpec],
    template_name: &str,
    sha256: &str,
    power_on: bool,
    standalone: bool,
) -> Result<Plan> {
    let marker = sha_marker(sha256);
    let mut remove = Vec::new();
    // A standalone ESXi host has no templates: there the base VM is what is reused.
    let (template_action, template_ref, template) = match existing
        .iter()
        .find(|v| (v.template || standalone) && v.annotation.contains(&marker))
    {
        Some(t) => (TemplateAction::Reuse, t.moref.clone(), t.name.clone()),
        None => match existing.iter().find(|v| v.name == template_name) {
            None => (TemplateAction::Import, None, template_name.to_string()),
            Some(v) if v.annotation.contains(vm::IMPORT_MARKER) => {
                remove.push(Removal {
                    name: v.name.clone(),
                    power_state: v.power_state.clone(),
                    reason: format!(
                        "left by an interrupted photon-fleet import ({})",
                        vm::annotation_line(&v.annotation)
                    ),
                });
                (
                    TemplateAction::ReplaceLeftover,
                    v.moref.clone(),
                    v.name.clone(),
                )
            }
            Some(v) if !v.template && v.annotation.contains(&marker) => {
                (TemplateAction::Mark, v.moref.clone(), v.name.clone())
            }
            Some(v) if v.template && v.annotation.contains(SHA_MARKER) => {
                return Err(taken(v, Role::Template, "it holds another OVA"))
            }
            Some(v) => return Err(taken(v, Role::Template, "photon-fleet did not make it")),
        },
    };
    let mut vms = Vec::new();
    for (i, w) in wanted.iter().enumerate() {
        if wanted[..i].iter().any(|o| o.name == w.name) {
            return Err(Error::Input(format!(
                "VM name '{}' is asked for twice",
                w.name
            )));
        }
        if w.name == template {
            return Err(Error::Input(format!(
                "VM name '{}' is the template's name",
                w.name
            )));
        }
        let found = existing.iter().find(|v| v.name == w.name);
        let action = match found {
            None => VmAction::Create,
            Some(v) if v.template => {
                return Err(taken(v, Role::FleetVm, "it is a template, not a VM"))
            }
            Some(v) if v.fleet_ova.is_none() => {
                return Err(taken(v, Role::FleetVm, "photon-fleet did not make it"))
            }
            Some(v) if v.power_state == "poweredOn" => VmAction::Exists,
            Some(_) if power_on => VmAction::PowerOn,
            Some(_) => VmAction::ExistsOff,
        };
        vms.push(PlannedVm {
            name: w.name.clone(),
            action,
            moref: found.and_then(|v| v.moref.clone()),
            host: None,
        });
    }
    Ok(Plan {
        template,
        template_action,
        template_ref,
        remove,
        vms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(name: &str, template: bool, annotation: &str, power: &str) -> VmInfo {
        VmInfo {
            moref: Some(MoRef::new("VirtualMachine", &format!("vm-{name}"))),
            name: name.into(),
            template,
            annotation: annotation.into(),
            power_state: power.into(),
            ip: None,
            fleet_ova: None,
        }
    }

    /// A VM photon-fleet cloned (its extraConfig marker read).
    fn ours(name: &str, power: &str) -> VmInfo {
        VmInfo {
            fleet_ova: Some("ab".repeat(32)),
            ..vm(name, false, "", power)
        }
    }

    fn want(names: &[&str]) -> Vec<VmSpec> {
        names
            .iter()
            .map(|n| VmSpec {
                name: n.to_string(),
                values: vec![],
            })
            .collect()
    }

    fn refused(r: Result<Plan>) -> (Role, String, String) {
        match r {
            Err(Error::NameTaken {
                role, name, why, ..
            }) => (role, name, why),
            other => panic!("expected NameTaken, got {other:?}"),
        }
    }

    #[test]
    fn templates_are_found_by_sha_not_by_name() {
        let sha = "ab".repeat(32);
        let tagged = format!("note\n{}", sha_marker(&sha));
        let existing = [vm("old-name", true, &tagged, "poweredOff")];
        let p = plan(
            &existing,
            &want(&["a-01"]),
            "photon-fleet-abab",
            &sha,
            true,
            false,
        )
        .unwrap();
        assert_eq!(p.template_action, TemplateAction::Reuse);
        assert_eq!(p.template, "old-name");
        assert!(p.remove.is_empty());
        let other = "cd".repeat(32);
        let p = plan(&existing, &want(&["a-01"]), "t", &other, true, false).unwrap();
        assert_eq!(p.template_action, TemplateAction::Import);
        assert_eq!(p.template, "t");
    }

    #[test]
    fn only_our_unfinished_imports_are_removed() {
        let sha = "ab".repeat(32);
        let marked = vm::import_marker("run1", &sha);
        let leftover = [vm("t", false, &marked, "poweredOff")];
        let p = plan(&leftover, &want(&["a"]), "t", &sha, true, false).unwrap();
        assert_eq!(p.template_action, TemplateAction::ReplaceLeftover);
        assert_eq!(p.remove.len(), 1);
        assert_eq!(p.remove[0].name, "t");
        assert!(p.remove[0].reason.contains("run=run1"), "{:?}", p.remove);
        // Another OVA's unfinished import under this name is ours all the same.
        let p = plan(&leftover, &want(&["a"]), "t", &"cd".repeat(32), true, false).unwrap();
        assert_eq!(p.template_action, TemplateAction::ReplaceLeftover);

        let unmarked = [vm("t", false, &sha_marker(&sha), "poweredOff")];
        let p = plan(&unmarked, &want(&["a"]), "t", &sha, true, false).unwrap();
        assert_eq!(p.template_action, TemplateAction::Mark);
        assert!(p.remove.is_empty());
        // On a standalone ESXi host that VM is the base VM itself, under any name.
        let base = [vm("base", false, &sha_marker(&sha), "poweredOff")];
        let p = plan(&base, &want(&["a"]), "t", &sha, true, true).unwrap();
        assert_eq!(p.template_action, TemplateAction::Reuse);
        assert_eq!(p.template, "base");

        // Anything else under the template's name is refused, whatever its state.
        for foreign in [
            vm("t", false, "someone's VM", "poweredOn"),
            vm("t", false, "", "poweredOff"),
            vm("t", false, "", "poweredOn"),
            vm("t", true, "", "poweredOff"),
        ] {
            let (role, name, why) =
                refused(plan(&[foreign], &want(&["a"]), "t", &sha, true, false));
            assert_eq!((role, name.as_str()), (Role::Template, "t"));
            assert_eq!(why, "photon-fleet did not make it");
        }
        let other_template = [vm("t", true, &sha_marker(&"cd".repeat(32)), "poweredOff")];
        let (role, _, why) = refused(plan(&other_template, &want(&["a"]), "t", &sha, true, false));
        assert_eq!(
            (role, why.as_str()),
            (Role::Template, "it holds another OVA")
        );
    }

    #[test]
    fn vms_are_created_only_when_missing_and_never_taken_over() {
        let sha = "ab".repeat(32);
        let existing = [ours("a-01", "poweredOn"), ours("a-02", "poweredOff")];
        let p = plan(
            &existing,
            &want(&["a-01", "a-02", "a-03"]),
            "t",
            &sha,
            true,
            false,
        )
        .unwrap();
        let acts: Vec<VmAction> = p.vms.iter().map(|v| v.action).collect();
        assert_eq!(
            acts,
            [VmAction::Exists, VmAction::PowerOn, VmAction::Create]
        );
        assert!(p.vms[0].moref.is_some() && p.vms[2].moref.is_none());
        let p = plan(&existing, &want(&["a-02"]), "t", &sha, false, false).unwrap();
        assert_eq!(p.vms[0].action, VmAction::ExistsOff);
        let e = plan(&existing, &want(&["x", "x"]), "t", &sha, true, false).unwrap_err();
        assert!(e.to_string().contains("'x' is asked for twice"), "{e}");
        let e = plan(&existing, &want(&["t"]), "t", &sha, true, false).unwrap_err();
        assert!(e.to_string().contains("is the template's name"), "{e}");
        let tmpl = [vm("a-01", true, "", "poweredOff")];
        let (role, name, why) = refused(plan(&tmpl, &want(&["a-01"]), "t", &sha, true, false));
        assert_eq!((role, name.as_str()), (Role::FleetVm, "a-01"));
        assert_eq!(why, "it is a template, not a VM");
        // A VM under a fleet name that photon-fleet did not clone: refused, not "exists".
        let foreign = [vm("a-01", false, "", "poweredOff")];
        let (role, _, why) = refused(plan(&foreign, &want(&["a-01"]), "t", &sha, true, false));
        assert_eq!(
            (role, why.as_str()),
            (Role::FleetVm, "photon-fleet did not make it")
        );
    }
}
