//! Virtual machines: list them (one ContainerView read), clone, power on, reconfigure,
//! mark as template, remove photon-fleet's own import leftovers, and read vApp property
//! keys, guest IPs and the extraConfig key that marks a VM as one of the fleet's.
//!
//! What photon-fleet owns, and so may ever remove or power off, is decided here:
//! - a VM whose annotation holds [`IMPORT_MARKER`] is an import of ours that has not
//!   finished (set in the import spec, before any byte is uploaded; replaced by the
//!   template note when the import completes). Only such a VM is ever destroyed.
//! - a VM whose extraConfig holds [`FLEET_VM_KEY`] was cloned by photon-fleet; it is
//!   counted as a fleet VM (never replaced, never removed).

use crate::client::{object_props, Client, Value};
use crate::soap::{children, esc, find, text, MoRef};
use crate::{task, Error, Result};
use std::time::Duration;

/// One VM as the fleet logic sees it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VmInfo {
    #[serde(rename = "ref")]
    pub moref: Option<MoRef>,
    pub name: String,
    pub template: bool,
    pub annotation: String,
    pub power_state: String,
    pub ip: Option<String>,
    /// For a VM cloned by photon-fleet: the sha256 of the OVA its template came from
    /// ([`FLEET_VM_KEY`]). Read only for the VMs a deploy asks about ([`fleet_marks`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet_ova: Option<String>,
}

/// The annotation prefix of an import in progress: `photon-fleet:importing run=<id>
/// ova-sha256=<sha>`. vCenter keeps it from `ImportVApp`'s config spec.
pub const IMPORT_MARKER: &str = "photon-fleet:importing";

/// The annotation photon-fleet gives the VM of an import while it runs.
pub fn import_marker(run: &str, ova_sha256: &str) -> String {
    format!("{IMPORT_MARKER} run={run} ova={ova_sha256}")
}

/// The extraConfig key every clone photon-fleet makes carries (value: the OVA sha256).
pub const FLEET_VM_KEY: &str = "photon-fleet.ova-sha256";

/// The extraConfig keys earlier photon-fleet releases set on every clone: a VM with one
/// of them was made by photon-fleet too.
const FLEET_GUESTINFO: &str = "guestinfo.photon-fleet.";

/// An annotation as one short printable line, for messages.
pub fn annotation_line(a: &str) -> String {
    let one: String = a
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one = one.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 80 {
        format!("{}...", one.chars().take(77).collect::<String>())
    } else {
        one
    }
}

const VM_PROPS: [&str; 5] = [
    "name",
    "config.template",
    "config.annotation",
    "runtime.powerState",
    "guest.ipAddress",
];

fn info_of(obj: MoRef, props: Vec<(String, Value)>) -> VmInfo {
    let mut vm = VmInfo {
        moref: Some(obj),
        ..VmInfo::default()
    };
    for (name, v) in props {
        let Value::Text(t) = v else { continue };
        match name.as_str() {
            "name" => vm.name = t,
            "config.template" => vm.template = t == "true",
            "config.annotation" => vm.annotation = t,
            "runtime.powerState" => vm.power_state = t,
            "guest.ipAddress" => vm.ip = Some(t).filter(|t| !t.is_empty()),
            _ => {}
        }
    }
    vm
}

/// Every VM and template under `container` (a datacenter or folder), in one read.
pub fn list(c: &Client, container: &MoRef) -> Result<Vec<VmInfo>> {
    let vm_mgr = c
        .content
        .view_manager
        .clone()
        .ok_or_else(|| Error::Unexpected("this endpoint has no ViewManager".into()))?;
    let r = c.call(
        "CreateContainerView",
        &vm_mgr,
        &format!(
            "{}<type>VirtualMachine</type><recursive>true</recursive>",
            container.xml("container")
        ),
    )?;
    let view = r
        .returned_ref()?
        .ok_or_else(|| Error::Unexpected("CreateContainerView returned nothing".into()))?;
    let mut spec = String::from("<specSet><propSet><type>VirtualMachine</type>");
    for p in VM_PROPS {
        spec.push_str(&format!("<pathSet>{p}</pathSet>"));
    }
    spec.push_str(&format!(
        "</propSet><objectSet>{}<skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><name>view</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet><options/>",
        view.xml("obj")
    ));
    let pages = c.retrieve_spec(&spec);
    let _ = c.call("DestroyView", &view, "");
    let mut out = Vec::new();
    for page in pages? {
        out.extend(object_props(&page)?.into_iter().map(|(o, p)| info_of(o, p)));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Current state of the given VMs (name, power, IP), in their order.
pub fn refresh(c: &Client, vms: &[MoRef]) -> Result<Vec<VmInfo>> {
    let mut got: Vec<VmInfo> = c
        .properties(vms, &VM_PROPS)?
        .into_iter()
        .map(|(o, p)| info_of(o, p))
        .collect();
    got.sort_by_key(|i| vms.iter().position(|v| Some(v) == i.moref.as_ref()));
    Ok(got)
}

/// Fills `fleet_ova` for each VM in `vms` from its extraConfig (one read for all of them).
pub fn fleet_marks(c: &Client, vms: &mut [VmInfo]) -> Result<()> {
    let refs: Vec<MoRef> = vms.iter().filter_map(|v| v.moref.clone()).collect();
    if refs.is_empty() {
        return Ok(());
    }
    for page in c.retrieve(&refs, &["config.extraConfig"])? {
        let doc = page.doc()?;
        for o in doc
            .descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == "objects")
        {
            let Some(obj) = crate::soap::child(o, "obj").and_then(crate::soap::moref) else {
                continue;
            };
            let mark = o
                .descendants()
                .filter(|n| n.is_element() && n.tag_name().name() == "key")
                .find_map(|k| {
                    let key = k.text()?;
                    let value = || {
                        k.next_sibling_element()
                            .and_then(|v| v.text())
                            .unwrap_or("")
                            .to_string()
                    };
                    if key == FLEET_VM_KEY {
                        Some(value())
                    } else if key.starts_with(FLEET_GUESTINFO) {
                        Some(String::new())
                    } else {
                        None
                    }
                });
            if let Some(vm) = vms.iter_mut().find(|v| v.moref.as_ref() == Some(&obj)) {
                vm.fleet_ova = mark;
            }
        }
    }
    Ok(())
}

/// One vApp property of a VM as vCenter keeps it: its OVF id, the integer key vCenter
/// gave it (never assumed: read), and whether a value may be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VAppProperty {
    pub id: String,
    pub key: i32,
    pub user_configurable: bool,
}

/// The VM's vApp properties. Empty when it has no vApp options (or the endpoint does
/// not model them).
pub fn vapp_properties(c: &Client, vm: &MoRef) -> Result<Vec<VAppProperty>> {
    let pages = c.retrieve(std::slice::from_ref(vm), &["config.vAppConfig"])?;
    let mut out = Vec::new();
    for page in &pages {
        let doc = page.doc()?;
        let Some(val) = find(doc.root(), "val") else {
            continue;
        };
        for p in children(val, "property") {
            if let (Some(id), Some(key)) = (text(p, "id"), text(p, "key")) {
                if let Ok(key) = key.parse() {
                    out.push(VAppProperty {
                        id,
                        key,
                        user_configurable: text(p, "userConfigurable").as_deref() == Some("true"),
                    });
                }
            }
        }
    }
    Ok(out)
}

pub(crate) fn run_task(
    c: &Client,
    method: &str,
    this: &MoRef,
    body: &str,
    t: Duration,
) -> Result<Option<MoRef>> {
    let r = c.call(method, this, body)?;
    let task = r
        .returned_ref()?
        .ok_or_else(|| Error::Unexpected(format!("{method} returned no task")))?;
    task::wait(c, &task, t, |_| {})
}

/// Per-VM settings of a clone.
#[derive(Debug, Clone, Default)]
pub struct CloneConfig {
    pub annotation: Option<String>,
    /// `guestinfo.*` and other extraConfig keys.
    pub extra_config: Vec<(String, String)>,
    /// vApp property key → value (edits of properties the template has).
    pub vapp_values: Vec<(i32, String)>,
    /// `deviceChange` elements (network cards onto the wanted network: [`crate::nic`]).
    pub device_change: Vec<String>,
}

/// The `VirtualMachineConfigSpec` body (elements in the schema's order).
pub fn config_spec_xml(cfg: &CloneConfig) -> String {
    let mut x = String::new();
    if let Some(a) = &cfg.annotation {
        x.push_str(&format!("<annotation>{}</annotation>", esc(a)));
    }
    for d in &cfg.device_change {
        x.push_str(d);
    }
    for (k, v) in &cfg.extra_config {
        x.push_str(&format!(
            "<extraConfig xsi:type=\"OptionValue\"><key>{}</key><value xsi:type=\"xsd:string\">{}</value></extraConfig>",
            esc(k),
            esc(v)
        ));
    }
    if !cfg.vapp_values.is_empty() {
        x.push_str("<vAppConfig>");
        for (key, v) in &cfg.vapp_values {
            x.push_str(&format!(
                "<property><operation>edit</operation><info><key>{key}</key><value>{}</value></info></property>",
                esc(v)
            ));
        }
        x.push_str("</vAppConfig>");
    }
    x
}

/// `CloneVM_Task` of `template` into `folder`/`pool`/`datastore` as `name`, powered off.
pub fn clone(
    c: &Client,
    template: &MoRef,
    name: &str,
    at: &crate::inventory::Target,
    cfg: &CloneConfig,
    t: Duration,
) -> Result<MoRef> {
    let body = format!(
        "{}<name>{}</name><spec><location>{}{}{}</location><template>false</template><config>{}</config><powerOn>false</powerOn></spec>",
        at.folder.xml("folder"),
        esc(name),
        at.datastore.xml("datastore"),
        at.pool.xml("pool"),
        at.host.map(|h| h.xml("host")).unwrap_or_default(),
        config_spec_xml(cfg)
    );
    run_task(c, "CloneVM_Task", template, &body, t)?
        .ok_or_else(|| Error::Unexpected(format!("cloning {name} returned no VM")))
}

pub fn reconfigure(c: &Client, vm: &MoRef, cfg: &CloneConfig, t: Duration) -> Result<()> {
    let body = format!("<spec>{}</spec>", config_spec_xml(cfg));
    run_task(c, "ReconfigVM_Task", vm, &body, t).map(|_| ())
}

pub fn rename(c: &Client, vm: &MoRef, name: &str, t: Duration) -> Result<()> {
    run_task(
        c,
        "Rename_Task",
        vm,
        &format!("<newName>{}</newName>", esc(name)),
        t,
    )
    .map(|_| ())
}

pub fn mark_as_template(c: &Client, vm: &MoRef) -> Result<()> {
    c.call("MarkAsTemplate", vm, "").map(|_| ())
}

pub fn power_on(c: &Client, vm: &MoRef, t: Duration) -> Result<()> {
    run_task(c, "PowerOnVM_Task", vm, "", t).map(|_| ())
}

/// Removes `vm`, a leftover of an import of ours, if it still exists. Its annotation
/// is read again right here and must still hold `marker` (the [`IMPORT_MARKER`], or the
/// marker of one run): any other VM is refused with [`Error::NotOurs`] and left as it is,
/// powered on or not. This is the only place photon-fleet powers off or destroys a VM.
pub fn destroy_leftover(c: &Client, vm: &MoRef, marker: &str, t: Duration) -> Result<()> {
    let now = match refresh(c, std::slice::from_ref(vm)) {
        Ok(p) if p.is_empty() => return Ok(()),
        Ok(mut p) => p.remove(0),
        Err(Error::Fault { fault, .. }) if fault == "ManagedObjectNotFound" => return Ok(()),
        Err(e) => return Err(e),
    };
    if !now.annotation.contains(marker) {
        return Err(Error::NotOurs {
            name: now.name,
            annotation: annotation_line(&now.annotation),
        });
    }
    // An import never powers its VM on; if something did, the marker still says it is ours.
    if now.power_state == "poweredOn" {
        run_task(c, "PowerOffVM_Task", vm, "", t)?;
    }
    run_task(c, "Destroy_Task", vm, "", t).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_specs_follow_the_schema_order_and_escape() {
        let x = config_spec_xml(&CloneConfig {
            annotation: Some("ova-sha256=ab & cd".into()),
            extra_config: vec![("guestinfo.photon-fleet.hostname".into(), "web<1>".into())],
            vapp_values: vec![(3, "10.0.0.5/24".into())],
            device_change: vec!["<deviceChange><operation>edit</operation></deviceChange>".into()],
        });
        let a = x.find("<annotation>").unwrap();
        let d = x.find("<deviceChange>").unwrap();
        let e = x.find("<extraConfig").unwrap();
        let v = x.find("<vAppConfig>").unwrap();
        assert!(a < d && d < e && e < v, "{x}");
        assert!(x.contains("ab &amp; cd") && x.contains("web&lt;1&gt;"));
        assert!(
            x.contains("<operation>edit</operation><info><key>3</key><value>10.0.0.5/24</value>")
        );
        assert_eq!(config_spec_xml(&CloneConfig::default()), "");
    }
}
