//! vim25 SOAP envelopes out, responses and faults in. Text is escaped here and only here.

use crate::{Error, Result};

/// A managed object reference: `type` and value (`datacenter-2`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MoRef {
    pub kind: String,
    pub value: String,
}

impl MoRef {
    pub fn new(kind: &str, value: &str) -> Self {
        Self {
            kind: kind.into(),
            value: value.into(),
        }
    }

    /// `<tag type="Kind">value</tag>`
    pub fn xml(&self, tag: &str) -> String {
        format!(
            "<{tag} type=\"{}\">{}</{tag}>",
            esc(&self.kind),
            esc(&self.value)
        )
    }
}

/// XML-escapes text for an envelope (the one escaper every crate shares).
pub fn esc(s: &str) -> String {
    plumbing::text::xml_escape(s)
}

pub fn envelope(method: &str, this: &MoRef, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><{method} xmlns=\"urn:vim25\">{}{body}</{method}></soapenv:Body></soapenv:Envelope>",
        this.xml("_this")
    )
}

/// The `returnval` elements of a response body, as a parsed document kept alive by the caller.
pub struct Response {
    pub xml: String,
}

impl Response {
    pub fn doc(&self) -> Result<roxmltree::Document<'_>> {
        roxmltree::Document::parse(&self.xml)
            .map_err(|e| Error::Unexpected(format!("vCenter sent XML we cannot read: {e}")))
    }

    /// The managed object reference a method returned (a task, a lease, a view...).
    pub fn returned_ref(&self) -> Result<Option<MoRef>> {
        Ok(find(self.doc()?.root(), "returnval").and_then(moref))
    }
}

pub fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

pub fn children<'a, 'i: 'a>(
    n: roxmltree::Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

pub fn text(n: roxmltree::Node, name: &str) -> Option<String> {
    child(n, name).and_then(|c| c.text()).map(str::to_string)
}

pub fn moref(n: roxmltree::Node) -> Option<MoRef> {
    Some(MoRef::new(n.attribute("type")?, n.text()?))
}

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The `xsi:type` of an element, whatever prefix the server bound the namespace to.
pub fn xsi_type<'a>(n: roxmltree::Node<'a, '_>) -> Option<&'a str> {
    n.attribute((XSI, "type"))
}

/// The first element called `name` anywhere under `n`.
pub fn find<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.descendants()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The element `n` exactly as the server sent it, renamed to `tag`, to send back as an
/// argument (an import spec is passed on verbatim). The prefixed namespaces in scope
/// (`xsi` under whatever prefix the server chose, declared on an ancestor or not) are
/// declared on the fragment itself; the envelope gives the vim25 default namespace.
pub fn echo(doc_text: &str, n: roxmltree::Node, tag: &str) -> Result<String> {
    rename(&doc_text[n.range()], n, tag)
}

/// [`echo`], with `n`'s child `old` (as the server sent it) replaced by `new`: an object
/// read from vCenter sent back with one part changed (a device with another backing).
pub fn echo_with(
    doc_text: &str,
    n: roxmltree::Node,
    tag: &str,
    old: roxmltree::Node,
    new: &str,
) -> Result<String> {
    let (outer, inner) = (n.range(), old.range());
    if inner.start < outer.start || inner.end > outer.end {
        return Err(Error::Unexpected("cannot re-send a changed element".into()));
    }
    let text = format!(
        "{}{new}{}",
        &doc_text[outer.start..inner.start],
        &doc_text[inner.end..outer.end]
    );
    rename(&text, n, tag)
}

fn rename(frag: &str, n: roxmltree::Node, tag: &str) -> Result<String> {
    let name = n.tag_name().name();
    let open = frag
        .strip_prefix('<')
        .and_then(|f| f.strip_prefix(name))
        .ok_or_else(|| Error::Unexpected(format!("cannot re-send <{name}>")))?;
    let start_tag = &open[..open.find('>').unwrap_or(open.len())];
    let decls: String = n
        .namespaces()
        .filter_map(|ns| Some((ns.name()?, ns.uri())))
        .filter(|(p, _)| *p != "xml" && !start_tag.contains(&format!("xmlns:{p}=")))
        .map(|(p, uri)| format!(" xmlns:{p}=\"{}\"", esc(uri)))
        .collect();
    let body = match open.strip_suffix(&format!("</{name}>")) {
        Some(b) => format!("{b}</{tag}>"),
        None => open.to_string(), // self-closing
    };
    Ok(format!("<{tag}{decls}{body}"))
}

/// A `LocalizedMethodFault` (task or lease error) as `Type: message`.
pub fn method_fault(n: roxmltree::Node) -> Error {
    let fault = child(n, "fault")
        .and_then(xsi_type)
        .unwrap_or("MethodFault")
        .to_string();
    let message = text(n, "localizedMessage")
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| fault.clone());
    Error::Fault { fault, message }
}

/// Reads a SOAP fault: the fault type from `detail` (e.g. `InvalidLogin`) and `faultstring`.
pub fn fault(xml: &str) -> Error {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return Error::Unexpected(format!(
            "vCenter answered with something that is not SOAP: {}",
            xml.chars().take(120).collect::<String>()
        ));
    };
    let message = doc
        .descendants()
        .find(|n| n.tag_name().name() == "faultstring")
        .and_then(|n| n.text())
        .unwrap_or("")
        .trim()
        .to_string();
    let kind = doc
        .descendants()
        .find(|n| n.tag_name().name() == "detail")
        .and_then(|d| d.children().find(|c| c.is_element()))
        .map(|f| {
            xsi_type(f)
                .map(str::to_string)
                .unwrap_or_else(|| f.tag_name().name().trim_end_matches("Fault").to_string())
        })
        .unwrap_or_else(|| "SoapFault".into());
    Error::Fault {
        fault: kind,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_escape_and_faults_parse() {
        let e = envelope(
            "Login",
            &MoRef::new("SessionManager", "SessionManager"),
            &format!("<userName>{}</userName>", esc("a<b&\"c")),
        );
        assert!(e.contains("<_this type=\"SessionManager\">SessionManager</_this>"));
        assert!(e.contains("a&lt;b&amp;&quot;c"));
        let f = fault("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>Login failure</faultstring><detail><InvalidLoginFault xmlns=\"urn:vim25\" xsi:type=\"InvalidLogin\"></InvalidLoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>");
        assert_eq!(f.to_string(), "InvalidLogin: Login failure");
        assert!(matches!(fault("<html>"), Error::Unexpected(_)));
    }

    #[test]
    fn echo_keeps_the_servers_namespaces() {
        let xml = r#"<r xmlns="urn:vim25"><returnval><importSpec xmlns:X="http://www.w3.org/2001/XMLSchema-instance" X:type="VirtualMachineImportSpec"><configSpec><name>a&amp;b</name></configSpec></importSpec><e/></returnval></r>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let spec = find(doc.root(), "importSpec").unwrap();
        assert_eq!(xsi_type(spec), Some("VirtualMachineImportSpec"));
        let out = echo(xml, spec, "spec").unwrap();
        assert_eq!(
            out,
            r#"<spec xmlns:X="http://www.w3.org/2001/XMLSchema-instance" X:type="VirtualMachineImportSpec"><configSpec><name>a&amp;b</name></configSpec></spec>"#
        );
        assert_eq!(
            echo(xml, find(doc.root(), "e").unwrap(), "f").unwrap(),
            "<f/>"
        );
        // A prefix the server declared on an ancestor (Go's encoder does) travels along.
        let go = r#"<r xmlns="urn:vim25"><val xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance"><VirtualDevice XMLSchema-instance:type="VirtualVmxnet3"><key>7</key></VirtualDevice></val></r>"#;
        let d = roxmltree::Document::parse(go).unwrap();
        let dev = find(d.root(), "VirtualDevice").unwrap();
        let sent = echo(go, dev, "device").unwrap();
        let env = envelope("X", &MoRef::new("T", "t"), &sent);
        let back = roxmltree::Document::parse(&env).unwrap();
        let device = find(back.root(), "device").unwrap();
        assert_eq!(xsi_type(device), Some("VirtualVmxnet3"), "{sent}");
        // What we send back parses to the same structure.
        let env = envelope("ImportVApp", &MoRef::new("ResourcePool", "p"), &out);
        let d = roxmltree::Document::parse(&env).unwrap();
        let s = find(d.root(), "spec").unwrap();
        assert_eq!(xsi_type(s), Some("VirtualMachineImportSpec"));
        assert_eq!(
            text(child(s, "configSpec").unwrap(), "name").unwrap(),
            "a&b"
        );
    }
}
