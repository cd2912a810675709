//! OVF import: `OvfManager.CreateImportSpec`, `ResourcePool.ImportVApp`, then the
//! `HttpNfcLease`: every disk streamed from the OVA (never extracted) to its device URL,
//! `HttpNfcLeaseProgress` while it runs, `HttpNfcLeaseComplete` at the end, and on any
//! failure `HttpNfcLeaseAbort` plus removal of the half-imported VM. The VM is marked as
//! ours ([`ImportParams::marker`], its annotation) in the import spec itself, so vCenter
//! creates it marked, before any byte is uploaded.

use crate::client::Client;
use crate::inventory::Target;
use crate::nfc::{self, Device};
use crate::soap::{child, children, echo, esc, find, method_fault, moref, text, MoRef};
use crate::{Error, Result};
use ova::{Ova, Progress};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the lease is told the upload is alive (vCenter drops a lease after about
/// five minutes without `HttpNfcLeaseProgress`).
pub const KEEPALIVE: Duration = Duration::from_secs(10);

/// Import parameters (`OvfCreateImportSpecParams`).
#[derive(Debug, Clone, Default)]
pub struct ImportParams {
    pub entity_name: String,
    /// OVF network name → vCenter network.
    pub network_mapping: Vec<(String, MoRef)>,
    /// `dhcpPolicy`, `fixedPolicy`, ...
    pub ip_allocation_policy: Option<String>,
    pub ip_protocol: Option<String>,
    /// OVF property key → value.
    pub property_mapping: Vec<(String, String)>,
    /// `thin`, `thick`, `eagerZeroedThick`, ...
    pub disk_provisioning: Option<String>,
    /// The annotation the new VM is created with: [`crate::vm::import_marker`], which is
    /// what makes a leftover of this import removable (and nothing else).
    pub marker: String,
}

/// What CreateImportSpec gave: the spec to send back and the files to upload.
pub struct ImportSpec {
    pub spec_xml: String,
    pub files: Vec<FileItem>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileItem {
    pub device_id: String,
    pub path: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Imported {
    pub vm: MoRef,
    pub bytes: u64,
    pub seconds: f64,
    pub warnings: Vec<String>,
}

fn params_xml(p: &ImportParams) -> String {
    let mut x = format!(
        "<locale></locale><deploymentOption></deploymentOption><entityName>{}</entityName>",
        esc(&p.entity_name)
    );
    for (name, net) in &p.network_mapping {
        x.push_str(&format!(
            "<networkMapping><name>{}</name>{}</networkMapping>",
            esc(name),
            net.xml("network")
        ));
    }
    if let Some(v) = &p.ip_allocation_policy {
        x.push_str(&format!(
            "<ipAllocationPolicy>{}</ipAllocationPolicy>",
            esc(v)
        ));
    }
    if let Some(v) = &p.ip_protocol {
        x.push_str(&format!("<ipProtocol>{}</ipProtocol>", esc(v)));
    }
    for (k, v) in &p.property_mapping {
        x.push_str(&format!(
            "<propertyMapping><key>{}</key><value>{}</value></propertyMapping>",
            esc(k),
            esc(v)
        ));
    }
    if let Some(v) = &p.disk_provisioning {
        x.push_str(&format!("<diskProvisioning>{}</diskProvisioning>", esc(v)));
    }
    x
}

/// The elements of `VirtualMachineConfigSpec` that come after `annotation` (schema order).
const AFTER_ANNOTATION: [&str; 49] = [
    "files",
    "tools",
    "flags",
    "consolePreferences",
    "powerOpInfo",
    "numCPUs",
    "vcpuConfig",
    "numCoresPerSocket",
    "memoryMB",
    "memoryHotAddEnabled",
    "cpuHotAddEnabled",
    "cpuHotRemoveEnabled",
    "virtualICH7MPresent",
    "virtualSMCPresent",
    "deviceChange",
    "cpuAllocation",
    "memoryAllocation",
    "latencySensitivity",
    "cpuAffinity",
    "memoryAffinity",
    "networkShaper",
    "cpuFeatureMask",
    "extraConfig",
    "swapPlacement",
    "bootOptions",
    "vAppConfig",
    "ftInfo",
    "repConfig",
    "vAppConfigRemoved",
    "vAssertsEnabled",
    "changeTrackingEnabled",
    "firmware",
    "maxMksConnections",
    "guestAutoLockEnabled",
    "managedBy",
    "memoryReservationLockedToMax",
    "nestedHVEnabled",
    "vPMCEnabled",
    "scheduledHardwareUpgradeInfo",
    "vmProfile",
    "messageBusTunnelEnabled",
    "crypto",
    "migrateEncryption",
    "sgxInfo",
    "ftEncryptionMode",
    "guestMonitoringModeInfo",
    "sevEnabled",
    "pmemFailoverEnabled",
    "vmOpNotificationToAppEnabled",
];

/// `xml` with the import spec's `configSpec.annotation` set to `note` (replaced, or
/// inserted where the schema wants it).
fn annotate(xml: &str, note: &str) -> Result<String> {
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| Error::Unexpected(format!("CreateImportSpec answer: {e}")))?;
    let cfg = find(doc.root(), "importSpec")
        .and_then(|s| child(s, "configSpec"))
        .ok_or_else(|| Error::Unexpected("the import spec has no configSpec".into()))?;
    let element = format!("<annotation>{}</annotation>", esc(note));
    let (at, end) = match child(cfg, "annotation") {
        Some(a) => (a.range().start, a.range().end),
        None => {
            let next = cfg
                .children()
                .find(|c| c.is_element() && AFTER_ANNOTATION.contains(&c.tag_name().name()));
            let at = match next {
                Some(n) => n.range().start,
                None => {
                    let r = cfg.range();
                    xml[r.clone()]
                        .rfind("</")
                        .map(|i| r.start + i)
                        .ok_or_else(|| {
                            Error::Unexpected("the import spec's configSpec is empty".into())
                        })?
                }
            };
            (at, at)
        }
    };
    Ok(format!("{}{element}{}", &xml[..at], &xml[end..]))
}

/// Reads a `CreateImportSpecResult`: errors refuse the import (all of them, one line).
/// With `note`, the VM the spec creates gets it as its annotation.
pub fn parse_import_spec(xml: &str, note: Option<&str>) -> Result<ImportSpec> {
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| Error::Unexpected(format!("CreateImportSpec answer: {e}")))?;
    let rv = find(doc.root(), "returnval")
        .ok_or_else(|| Error::Unexpected("CreateImportSpec returned nothing".into()))?;
    let messages = |tag: &str| -> Vec<String> {
        children(rv, tag)
            .map(|n| method_fault(n).to_string())
            .collect()
    };
    let errors = messages("error");
    if !errors.is_empty() {
        return Err(Error::Input(format!(
            "vCenter cannot import this OVF: {}",
            errors.join("; ")
        )));
    }
    let spec = child(rv, "importSpec")
        .ok_or_else(|| Error::Unexpected("CreateImportSpec gave no importSpec".into()))?;
    let files = children(rv, "fileItem")
        .filter_map(|f| {
            Some(FileItem {
                device_id: text(f, "deviceId")?,
                path: text(f, "path")?,
            })
        })
        .collect();
    let spec_xml = match note {
        None => echo(xml, spec, "spec")?,
        Some(n) => {
            let annotated = annotate(xml, n)?;
            let doc = roxmltree::Document::parse(&annotated)
                .map_err(|e| Error::Unexpected(format!("annotated import spec: {e}")))?;
            let spec = find(doc.root(), "importSpec")
                .ok_or_else(|| Error::Unexpected("CreateImportSpec gave no importSpec".into()))?;
            echo(&annotated, spec, "spec")?
        }
    };
    Ok(ImportSpec {
        spec_xml,
        files,
        warnings: messages("warning"),
    })
}

/// Imports the OVA's VM as `params.entity_name`. Nothing is left behind on failure.
pub fn import(
    c: &Client,
    archive: &Ova,
    ovf_text: &str,
    params: &ImportParams,
    to: &Target,
    progress: &dyn Progress,
    timeout: Duration,
) -> Result<Imported> {
    let ovf_manager = c.content.ovf_manager.clone().ok_or_else(|| {
        Error::Unexpected("this endpoint has no OvfManager (an ESXi host? use vCenter)".into())
    })?;
    let body = format!(
        "<ovfDescriptor>{}</ovfDescriptor>{}{}<cisp>{}</cisp>",
        esc(ovf_text),
        to.pool.xml("resourcePool"),
        to.datastore.xml("datastore"),
        params_xml(params)
    );
    let r = c.call("CreateImportSpec", &ovf_manager, &body)?;
    let spec = parse_import_spec(&r.xml, Some(&params.marker))?;
    let mut sizes = Vec::new();
    for f in &spec.files {
        let m = archive.member(&f.path).ok_or_else(|| {
            Error::Input(format!("the OVA has no {} (vCenter asks for it)", f.path))
        })?;
        sizes.push(m.size);
    }
    let body = format!(
        "{}{}{}",
        spec.spec_xml,
        to.folder.xml("folder"),
        to.host.map(|h| h.xml("host")).unwrap_or_default()
    );
    let r = c.call("ImportVApp", to.pool, &body)?;
    let lease = r
        .returned_ref()?
        .ok_or_else(|| Error::Unexpected("ImportVApp returned no lease".into()))?;
    let start = Instant::now();
    let total: u64 = sizes.iter().sum();
    let entity: Arc<Mutex<Option<MoRef>>> = Arc::default();
    // Ctrl-C or SIGTERM from here on: the lease is aborted and the VM removed before the
    // process exits (the same guarded removal as after a failure).
    let _undo = {
        let (c, lease, entity) = (c.clone(), lease.clone(), entity.clone());
        let marker = params.marker.clone();
        plumbing::interrupt::on_interrupt(move || {
            let known = entity.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let vm = known.or_else(|| lease_info(&c, &lease).ok().map(|(vm, _)| vm));
            let _ = c.call("HttpNfcLeaseAbort", &lease, "");
            if let Some(vm) = vm {
                let _ = crate::vm::destroy_leftover(&c, &vm, &marker, timeout);
            }
        })
    };
    let result = upload_all(
        c,
        archive,
        &lease,
        &spec.files,
        total,
        &entity,
        progress,
        timeout,
    );
    let entity = entity.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match result {
        Ok(vm) => {
            c.call("HttpNfcLeaseComplete", &lease, "")?;
            Ok(Imported {
                vm,
                bytes: total,
                seconds: start.elapsed().as_secs_f64(),
                warnings: spec.warnings,
            })
        }
        Err(e) => Err(abandon(c, &lease, entity.as_ref(), params, e, timeout)),
    }
}

/// After a failure: abort the lease and make sure the half-imported VM is gone.
fn abandon(
    c: &Client,
    lease: &MoRef,
    entity: Option<&MoRef>,
    params: &ImportParams,
    e: Error,
    timeout: Duration,
) -> Error {
    let name = &params.entity_name;
    let aborted = c.call("HttpNfcLeaseAbort", lease, "").is_ok();
    // Ours: the lease's own VM, created by this ImportVApp; destroy_leftover checks again
    // that it carries this run's marker before it touches it.
    let removed = match entity {
        Some(vm) => crate::vm::destroy_leftover(c, vm, &params.marker, timeout),
        None => Ok(()),
    };
    let after = match (aborted, removed) {
        (true, Ok(())) => format!("import lease aborted, no VM '{name}' left"),
        (_, Err(r)) => format!(
            "could not remove the half-imported VM '{name}' ({r}): delete it in vCenter, or rerun deploy, which removes it"
        ),
        (false, Ok(())) => format!(
            "vCenter could not be told to abort the import; it drops the lease by itself, and a rerun removes any VM '{name}' left"
        ),
    };
    let what = e.to_string();
    let msg = format!("{what}; {after}");
    match e {
        Error::Input(_) => Error::Input(msg),
        Error::Tls(_) | Error::Untrusted { .. } => Error::Tls(msg),
        _ => Error::Http(msg),
    }
}

/// Waits for the lease, then streams every file; returns the new VM.
#[allow(clippy::too_many_arguments)]
fn upload_all(
    c: &Client,
    archive: &Ova,
    lease: &MoRef,
    files: &[FileItem],
    total: u64,
    entity: &Mutex<Option<MoRef>>,
    progress: &dyn Progress,
    timeout: Duration,
) -> Result<MoRef> {
    wait_ready(c, lease, timeout)?;
    let (vm, devices) = lease_info(c, lease)?;
    *entity.lock().unwrap_or_else(|p| p.into_inner()) = Some(vm.clone());
    let sent = AtomicU64::new(0);
    let (stop, stopped) = mpsc::channel::<()>();
    progress.stage("upload", total);
    let outcome = std::thread::scope(|s| {
        let sent = &sent;
        s.spawn(move || keepalive(c, lease, sent, total, &stopped));
        let r = (|| {
            for f in files {
                let device = devices
                    .iter()
                    .find(|(k, _)| *k == f.device_id)
                    .map(|(_, d)| d)
                    .ok_or_else(|| {
                        Error::Unexpected(format!("the lease has no URL for {}", f.device_id))
                    })?;
                let m = archive
                    .member(&f.path)
                    .ok_or_else(|| Error::Input(format!("the OVA has no {}", f.path)))?;
                let reader = ova::WindowReader {
                    window: archive.window(m),
                    pos: 0,
                };
                let counted = Counted {
                    inner: reader,
                    sent,
                    progress,
                };
                nfc::upload(c, device, m.size, counted).map_err(|e| match e {
                    Error::Untrusted { url, reason } => Error::Untrusted {
                        url: format!("uploading {} to {url}", f.path),
                        reason,
                    },
                    e => Error::Http(format!("uploading {}: {e}", f.path)),
                })?;
            }
            Ok(())
        })();
        let _ = stop.send(());
        r
    });
    progress.done();
    outcome.map(|()| vm)
}

/// A ready lease's VM and its device URLs by import key.
fn lease_info(c: &Client, lease: &MoRef) -> Result<(MoRef, Vec<(String, Device)>)> {
    let page = c
        .retrieve(std::slice::from_ref(lease), &["info"])?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Unexpected("the lease has no info".into()))?;
    let doc = page.doc()?;
    let info =
        find(doc.root(), "val").ok_or_else(|| Error::Unexpected("the lease has no info".into()))?;
    let vm = child(info, "entity")
        .and_then(moref)
        .ok_or_else(|| Error::Unexpected("the lease names no VM".into()))?;
    let devices = children(info, "deviceUrl")
        .filter_map(|d| {
            let device = Device {
                url: text(d, "url")?,
                thumbprint: text(d, "sslThumbprint"),
            };
            Some((text(d, "importKey")?, device))
        })
        .collect();
    Ok((vm, devices))
}

fn wait_ready(c: &Client, lease: &MoRef, timeout: Duration) -> Result<()> {
    use plumbing::poll::{until, Poll};
    let ready = until(timeout, Duration::from_millis(500), || {
        let props = c.properties(std::slice::from_ref(lease), &["state"])?;
        let state = props
            .iter()
            .flat_map(|(_, p)| p)
            .find_map(|(_, v)| v.text())
            .unwrap_or_default()
            .to_string();
        match state.as_str() {
            "ready" => Ok(Poll::Ready(())),
            "error" => {
                // Only read `error` in state error: vcsim fails on an unset property.
                let page = c.retrieve(std::slice::from_ref(lease), &["error"])?;
                let doc = page[0].doc()?;
                Err(find(doc.root(), "val")
                    .map(method_fault)
                    .unwrap_or_else(|| Error::Unexpected("the import lease failed".into())))
            }
            "done" => Err(Error::Unexpected("the import lease ended early".into())),
            _ => Ok(Poll::NotYet),
        }
    })?;
    ready.ok_or_else(|| {
        Error::Http(format!(
            "the import lease was not ready after {} s",
            timeout.as_secs()
        ))
    })
}

/// Sends `HttpNfcLeaseProgress` every [`KEEPALIVE`] until told to stop.
fn keepalive(c: &Client, lease: &MoRef, sent: &AtomicU64, total: u64, stop: &mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(KEEPALIVE) {
        let pct = (sent.load(Ordering::Relaxed) * 100)
            .checked_div(total)
            .unwrap_or(0)
            .min(99);
        let _ = c.call(
            "HttpNfcLeaseProgress",
            lease,
            &format!("<percent>{pct}</percent>"),
        );
    }
}

struct Counted<'a, R> {
    inner: R,
    sent: &'a AtomicU64,
    progress: &'a dyn Progress,
}

impl<R: std::io::Read> std::io::Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        self.progress.advance(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_spec_results_are_read() {
        let ok = r#"<E xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><returnval><importSpec xsi:type="VirtualMachineImportSpec"><configSpec><name>t</name></configSpec></importSpec><fileItem><deviceId>/t/disk:0</deviceId><path>t-disk1.vmdk</path><size>10</size></fileItem><warning><fault xsi:type="OvfHostValueNotParsed"/><localizedMessage>odd value</localizedMessage></warning></returnval></E>"#;
        let s = parse_import_spec(ok, None).unwrap();
        assert!(s
            .spec_xml
            .starts_with("<spec xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"VirtualMachineImportSpec\">"));
        assert_eq!(
            s.files,
            vec![FileItem {
                device_id: "/t/disk:0".into(),
                path: "t-disk1.vmdk".into()
            }]
        );
        assert_eq!(s.warnings, vec!["OvfHostValueNotParsed: odd value"]);
        let bad = r#"<E xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><returnval><error><fault xsi:type="OvfUnsupportedType"/><localizedMessage>unsupported resource type: 99</localizedMessage></error></returnval></E>"#;
        let e = parse_import_spec(bad, Some("note"))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            e,
            "vCenter cannot import this OVF: OvfUnsupportedType: unsupported resource type: 99"
        );
    }

    #[test]
    fn the_import_marker_is_in_the_spec_where_the_schema_wants_it() {
        let wrap = |cfg: &str| {
            format!(
                r#"<E xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><returnval><importSpec xsi:type="VirtualMachineImportSpec"><configSpec>{cfg}</configSpec><resPoolEntity type="ResourcePool">p</resPoolEntity></importSpec></returnval></E>"#
            )
        };
        let note = "photon-fleet:importing run=1 ova=a&b";
        let spec = |cfg: &str| parse_import_spec(&wrap(cfg), Some(note)).unwrap().spec_xml;
        // Inserted before the first element the schema puts after annotation...
        let s = spec("<name>t</name><guestId>x</guestId><files><vmPathName>[ds] t</vmPathName></files><numCPUs>2</numCPUs>");
        assert!(
            s.contains("<guestId>x</guestId><annotation>photon-fleet:importing run=1 ova=a&amp;b</annotation><files>"),
            "{s}"
        );
        // ... replacing an annotation the OVF brought ...
        let s = spec("<name>t</name><annotation>from the OVF</annotation><numCPUs>2</numCPUs>");
        assert!(!s.contains("from the OVF"), "{s}");
        assert_eq!(s.matches("<annotation>").count(), 1, "{s}");
        assert!(s.contains("</annotation><numCPUs>"), "{s}");
        // ... at the end when nothing follows; nested names do not count as children.
        let s =
            spec("<name>t</name><vAppConfig><product><name>files</name></product></vAppConfig>");
        assert!(s.contains("<name>t</name><annotation>"), "{s}");
        let s = spec("<name>t</name>");
        assert!(s.contains("<name>t</name><annotation>"), "{s}");
        assert!(
            s.contains("</annotation></configSpec><resPoolEntity"),
            "{s}"
        );
    }

    #[test]
    fn params_are_escaped_and_ordered() {
        let x = params_xml(&ImportParams {
            entity_name: "a<b".into(),
            network_mapping: vec![("VM Network".into(), MoRef::new("Network", "network-7"))],
            ip_allocation_policy: Some("dhcpPolicy".into()),
            ip_protocol: None,
            property_mapping: vec![("hostname".into(), "h&1".into())],
            disk_provisioning: Some("thin".into()),
            marker: String::new(),
        });
        assert!(x.contains("<entityName>a&lt;b</entityName>"));
        let order = [
            "entityName",
            "networkMapping",
            "ipAllocationPolicy",
            "propertyMapping",
            "diskProvisioning",
        ];
        let pos: Vec<usize> = order
            .iter()
            .map(|t| x.find(&format!("<{t}>")).unwrap())
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{x}");
        assert!(x.contains("<value>h&amp;1</value>"));
    }
}
