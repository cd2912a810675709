//! Virtual machines: list them (one ContainerView read), clone, power on, reconfigure,
//! mark as template, destroy, and read vApp property keys and guest IPs.

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

/// The keys vCenter gave the VM's vApp properties: `(id, key)`. Empty when the VM has
/// no vApp options (or the endpoint does not model them).
pub fn vapp_property_keys(c: &Client, vm: &MoRef) -> Result<Vec<(String, i32)>> {
    let pages = c.retrieve(std::slice::from_ref(vm), &["config.vAppConfig"])?;
    let mut out = Vec::new();
    for page in &pages {
        let doc = page.doc()?;
        let Some(val) = find(doc.root(), "val") else {
            continue;
        };
        for p in children(val, "property") {
            if let (Some(id), Some(key)) = (text(p, "id"), text(p, "key")) {
                if let Ok(k) = key.parse() {
                    out.push((id, k));
                }
            }
        }
    }
    Ok(out)
}

fn run_task(
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
}

/// The `VirtualMachineConfigSpec` body (elements in the schema's order).
pub fn config_spec_xml(cfg: &CloneConfig) -> String {
    let mut x = String::new();
    if let Some(a) = &cfg.annotation {
        x.push_str(&format!("<annotation>{}</annotation>", esc(a)));
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
    at: &crate::import::Target,
    cfg: &CloneConfig,
    t: Duration,
) -> Result<MoRef> {
    let body = format!(
        "{}<name>{}</name><spec><location>{}{}</location><template>false</template><config>{}</config><powerOn>false</powerOn></spec>",
        at.folder.xml("folder"),
        esc(name),
        at.datastore.xml("datastore"),
        at.pool.xml("pool"),
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

/// Removes `vm` if it still exists (powering it off first).
pub fn destroy_if_present(c: &Client, vm: &MoRef, t: Duration) -> Result<()> {
    let state = match c.properties(std::slice::from_ref(vm), &["runtime.powerState"]) {
        Ok(p) if p.is_empty() => return Ok(()),
        Ok(p) => p,
        Err(Error::Fault { fault, .. }) if fault == "ManagedObjectNotFound" => return Ok(()),
        Err(e) => return Err(e),
    };
    let on = state
        .iter()
        .flat_map(|(_, p)| p)
        .any(|(_, v)| v.text() == Some("poweredOn"));
    if on {
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
        });
        let a = x.find("<annotation>").unwrap();
        let e = x.find("<extraConfig").unwrap();
        let v = x.find("<vAppConfig>").unwrap();
        assert!(a < e && e < v, "{x}");
        assert!(x.contains("ab &amp; cd") && x.contains("web&lt;1&gt;"));
        assert!(
            x.contains("<operation>edit</operation><info><key>3</key><value>10.0.0.5/24</value>")
        );
        assert_eq!(config_spec_xml(&CloneConfig::default()), "");
    }
}
