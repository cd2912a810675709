//! A vim25 session: HTTPS with the chosen trust, login with the session cookie,
//! ServiceContent, PropertyCollector reads and SearchIndex lookups. The password is sent
//! in the Login body only and never kept.

use crate::soap::{self, child, children, esc, moref, text, MoRef, Response};
use crate::tls::{client_config, Trust};
use crate::{Error, Result};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub struct ServiceContent {
    pub about: String,
    pub api_version: String,
    /// `VirtualCenter`, or `HostAgent` for a standalone ESXi host.
    pub api_type: String,
    pub root_folder: MoRef,
    pub property_collector: MoRef,
    pub session_manager: MoRef,
    pub search_index: MoRef,
    pub ovf_manager: Option<MoRef>,
    pub view_manager: Option<MoRef>,
    pub virtual_disk_manager: Option<MoRef>,
    pub file_manager: Option<MoRef>,
}

impl ServiceContent {
    /// A standalone ESXi host (no vCenter): no clones, no templates.
    pub fn is_standalone_host(&self) -> bool {
        self.api_type == "HostAgent"
    }
}

/// A logged-in session. Clones share it (the cookie too): an interrupt handler holds one.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    /// `https://host[:port]/sdk`
    pub sdk: String,
    cookie: Arc<Mutex<Option<String>>>,
    pub content: ServiceContent,
    trust: Trust,
    timeout: Duration,
}

/// The properties read for one object: `(name, value)`.
pub type Props = Vec<(String, Value)>;

/// One property value: references, a string, or something we do not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Refs(Vec<MoRef>),
    Ref(MoRef),
    Text(String),
}

impl Value {
    /// The references this value holds (none for text).
    pub fn refs(&self) -> Vec<MoRef> {
        match self {
            Value::Refs(r) => r.clone(),
            Value::Ref(r) => vec![r.clone()],
            Value::Text(_) => Vec::new(),
        }
    }

    /// The text of a plain value (none for references).
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl Client {
    /// Connects to `url` (`https://vc.example.com` or `.../sdk`) and reads ServiceContent.
    pub fn connect(url: &str, trust: &Trust, timeout: Duration) -> Result<Self> {
        let sdk = sdk_url(url)?;
        let agent = agent(client_config(trust)?, timeout);
        let mut c = Self {
            agent,
            sdk,
            cookie: Arc::new(Mutex::new(None)),
            trust: trust.clone(),
            timeout,
            content: ServiceContent {
                about: String::new(),
                api_version: String::new(),
                api_type: String::new(),
                root_folder: MoRef::new("Folder", "group-d1"),
                property_collector: MoRef::new("PropertyCollector", "propertyCollector"),
                session_manager: MoRef::new("SessionManager", "SessionManager"),
                search_index: MoRef::new("SearchIndex", "SearchIndex"),
                ovf_manager: None,
                view_manager: None,
                virtual_disk_manager: None,
                file_manager: None,
            },
        };
        let r = c.call(
            "RetrieveServiceContent",
            &MoRef::new("ServiceInstance", "ServiceInstance"),
            "",
        )?;
        let doc = r.doc()?;
        let rv = doc
            .descendants()
            .find(|n| n.tag_name().name() == "returnval")
            .ok_or_else(|| Error::Unexpected("no ServiceContent in the answer".into()))?;
        let get = |name: &str| child(rv, name).and_then(moref);
        let about = child(rv, "about");
        c.content = ServiceContent {
            about: about.and_then(|a| text(a, "fullName")).unwrap_or_default(),
            api_version: about
                .and_then(|a| text(a, "apiVersion"))
                .unwrap_or_default(),
            api_type: about.and_then(|a| text(a, "apiType")).unwrap_or_default(),
            root_folder: get("rootFolder")
                .ok_or_else(|| Error::Unexpected("no rootFolder".into()))?,
            property_collector: get("propertyCollector")
                .ok_or_else(|| Error::Unexpected("no propertyCollector".into()))?,
            session_manager: get("sessionManager")
                .ok_or_else(|| Error::Unexpected("no sessionManager".into()))?,
            search_index: get("searchIndex")
                .ok_or_else(|| Error::Unexpected("no searchIndex".into()))?,
            ovf_manager: get("ovfManager"),
            view_manager: get("viewManager"),
            virtual_disk_manager: get("virtualDiskManager"),
            file_manager: get("fileManager"),
        };
        Ok(c)
    }

    pub fn login(&self, user: &str, password: &str) -> Result<()> {
        self.call(
            "Login",
            &self.content.session_manager,
            &format!(
                "<userName>{}</userName><password>{}</password>",
                esc(user),
                esc(password)
            ),
        )
        .map(|_| ())
        .map_err(|e| match e {
            Error::Fault { fault, .. } if fault == "InvalidLogin" => Error::Fault {
                fault,
                message: format!("vCenter refused user '{user}' with this password"),
            },
            e => e,
        })
    }

    pub fn logout(&self) -> Result<()> {
        self.call("Logout", &self.content.session_manager, "")
            .map(|_| ())
    }

    /// One SOAP call; a fault becomes `Error::Fault`.
    pub fn call(&self, method: &str, this: &MoRef, body: &str) -> Result<Response> {
        let mut req = self
            .agent
            .post(&self.sdk)
            .set("Content-Type", "text/xml; charset=utf-8")
            .set("SOAPAction", "urn:vim25/6.5");
        if let Some(c) = self.cookie() {
            req = req.set("Cookie", &c);
        }
        let resp = match req.send_string(&soap::envelope(method, this, body)) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => {
                let body = r.into_string().unwrap_or_default();
                return Err(soap::fault(&body));
            }
            Err(ureq::Error::Transport(t)) => return Err(transport(&self.sdk, t)),
        };
        if let Some(sc) = resp.header("set-cookie") {
            let pair = sc.split(';').next().unwrap_or("").to_string();
            *self.cookie.lock().unwrap_or_else(|p| p.into_inner()) = Some(pair);
        }
        let xml = resp
            .into_string()
            .map_err(|e| Error::Http(format!("{}: {e}", self.sdk)))?;
        Ok(Response { xml })
    }

    /// How this session's endpoint is trusted.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    pub(crate) fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// An agent with this session's timeouts and another trust (for an ESXi host).
    pub(crate) fn agent_for(&self, tls: std::sync::Arc<rustls::ClientConfig>) -> ureq::Agent {
        agent(tls, self.timeout)
    }

    pub(crate) fn cookie(&self) -> Option<String> {
        self.cookie
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `SearchIndex.FindByInventoryPath`: `DC0/datastore/LocalDS_0` and the like.
    pub fn find(&self, path: &str) -> Result<Option<MoRef>> {
        let r = self.call(
            "FindByInventoryPath",
            &self.content.search_index,
            &format!("<inventoryPath>{}</inventoryPath>", esc(path)),
        )?;
        r.returned_ref()
    }

    /// `RetrievePropertiesEx` for `props` of every object in `objs`, following
    /// continuation tokens; the raw answers, for callers that read nested data.
    pub fn retrieve(&self, objs: &[MoRef], props: &[&str]) -> Result<Vec<Response>> {
        let mut kinds: Vec<&str> = objs.iter().map(|o| o.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let mut spec = String::from("<specSet>");
        for k in kinds {
            spec.push_str(&format!("<propSet><type>{}</type>", esc(k)));
            for p in props {
                spec.push_str(&format!("<pathSet>{}</pathSet>", esc(p)));
            }
            spec.push_str("</propSet>");
        }
        for o in objs {
            spec.push_str(&format!("<objectSet>{}</objectSet>", o.xml("obj")));
        }
        spec.push_str("</specSet><options/>");
        self.retrieve_spec(&spec)
    }

    /// Runs a complete `specSet` + `options` body and follows `ContinueRetrievePropertiesEx`.
    pub fn retrieve_spec(&self, spec: &str) -> Result<Vec<Response>> {
        let pc = &self.content.property_collector;
        let mut pages = vec![self.call("RetrievePropertiesEx", pc, spec)?];
        while let Some(token) = pages.last().and_then(|r| {
            let doc = r.doc().ok()?;
            let t = doc.descendants().find(|n| n.tag_name().name() == "token")?;
            t.text().map(str::to_string)
        }) {
            let body = format!("<token>{}</token>", esc(&token));
            pages.push(self.call("ContinueRetrievePropertiesEx", pc, &body)?);
        }
        Ok(pages)
    }

    /// Reads `props` of every object in `objs`.
    pub fn properties(&self, objs: &[MoRef], props: &[&str]) -> Result<Vec<(MoRef, Props)>> {
        if objs.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for page in self.retrieve(objs, props)? {
            out.extend(object_props(&page)?);
        }
        Ok(out)
    }

    /// `(object, name)` for each of `objs`, in their order.
    /// The names of `objs`. An object gone meanwhile (vCenter faults the whole read with
    /// `ManagedObjectNotFound`) is left out.
    pub fn names(&self, objs: &[MoRef]) -> Result<Vec<(MoRef, String)>> {
        let gone =
            |e: &Error| matches!(e, Error::Fault { fault, .. } if fault == "ManagedObjectNotFound");
        let (props, objs) = match self.properties(objs, &["name"]) {
            Ok(p) => (p, objs.to_vec()),
            Err(e) if gone(&e) && objs.len() > 1 => {
                let mut props = Vec::new();
                let mut there = Vec::new();
                for o in objs {
                    match self.properties(std::slice::from_ref(o), &["name"]) {
                        Ok(p) => {
                            props.extend(p);
                            there.push(o.clone());
                        }
                        Err(e) if gone(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
                (props, there)
            }
            Err(e) => return Err(e),
        };
        Ok(objs
            .iter()
            .map(|o| {
                let name = props
                    .iter()
                    .find(|(p, _)| p == o)
                    .and_then(|(_, v)| v.iter().find_map(|(_, v)| v.text().map(str::to_string)))
                    .unwrap_or_else(|| o.value.clone());
                (o.clone(), name)
            })
            .collect())
    }

    pub fn refs(&self, obj: &MoRef, prop: &str) -> Result<Vec<MoRef>> {
        let p = self.properties(std::slice::from_ref(obj), &[prop])?;
        Ok(p.into_iter()
            .flat_map(|(_, v)| v)
            .flat_map(|(_, v)| v.refs())
            .collect())
    }
}

/// `(object, properties)` for each `objects` element of a RetrievePropertiesEx answer.
pub fn object_props(page: &Response) -> Result<Vec<(MoRef, Props)>> {
    let doc = page.doc()?;
    let mut out = Vec::new();
    for o in doc
        .descendants()
        .filter(|n| n.tag_name().name() == "objects")
    {
        let Some(obj) = child(o, "obj").and_then(moref) else {
            continue;
        };
        let mut vals = Vec::new();
        for ps in children(o, "propSet") {
            let (Some(name), Some(val)) = (text(ps, "name"), child(ps, "val")) else {
                continue;
            };
            let refs: Vec<MoRef> = children(val, "ManagedObjectReference")
                .filter_map(moref)
                .collect();
            let v = if !refs.is_empty()
                || soap::xsi_type(val).is_some_and(|t| t.starts_with("ArrayOf"))
            {
                Value::Refs(refs)
            } else if let Some(r) = moref(val).filter(|_| val.attribute("type").is_some()) {
                Value::Ref(r)
            } else {
                Value::Text(val.text().unwrap_or("").to_string())
            };
            vals.push((name, v));
        }
        out.push((obj, vals));
    }
    Ok(out)
}

/// A vCenter URL as govc takes it: `host`, `host:port`, `https://host/sdk`, optionally
/// with `user:password@` (percent-encoded). The password is kept only to log in and is
/// never shown: messages use [`VcUrl::sdk`], which holds no credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct VcUrl {
    /// `https://host[:port]/sdk`
    pub sdk: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for VcUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VcUrl")
            .field("sdk", &self.sdk)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a vCenter URL (see [`VcUrl`]); errors never repeat the credentials.
pub fn parse_url(url: &str) -> Result<VcUrl> {
    let u = url.trim();
    let (scheme, rest) = match u.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("https".to_string(), u),
    };
    let authority = rest.split('/').next().unwrap_or("");
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((ui, h)) => (Some(ui), h),
        None => (None, authority),
    };
    let shown = format!(
        "{scheme}://{}{host}",
        if userinfo.is_some() { "***@" } else { "" }
    );
    match scheme.as_str() {
        "https" => {}
        "http" => {
            return Err(Error::Input(format!(
                "vCenter URL '{shown}': plain http is refused; use https://"
            )))
        }
        _ => {
            return Err(Error::Input(format!(
                "vCenter URL '{shown}': only https:// is spoken"
            )))
        }
    }
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(Error::Input(format!("vCenter URL '{shown}' has no host")));
    }
    let (user, password) = match userinfo {
        None => (None, None),
        Some(ui) => {
            let (u, p) = ui.split_once(':').unwrap_or((ui, ""));
            (
                Some(percent_decode(u)).filter(|u| !u.is_empty()),
                Some(percent_decode(p)).filter(|p| !p.is_empty()),
            )
        }
    };
    Ok(VcUrl {
        sdk: format!("https://{host}/sdk"),
        user,
        password,
    })
}

fn agent(tls: Arc<rustls::ClientConfig>, timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .user_agent(concat!("photon-fleet/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .timeout_connect(timeout)
        .timeout_read(timeout)
        .timeout_write(timeout)
        .build()
}

fn sdk_url(url: &str) -> Result<String> {
    Ok(parse_url(url)?.sdk)
}

fn transport(sdk: &str, t: ureq::Transport) -> Error {
    let mut msg = t.to_string();
    if msg.contains("BadSignature") {
        msg.push_str(" (a key too weak to verify, such as 1024-bit RSA? replace the certificate)");
    }
    if msg.contains("certificate") || msg.contains("UnknownIssuer") || msg.contains("thumbprint") {
        Error::Untrusted {
            url: sdk.to_string(),
            reason: msg.lines().last().unwrap_or(&msg).to_string(),
        }
    } else {
        Error::Http(format!("{sdk}: {msg}"))
    }
}

/// The SHA-1 thumbprint of the certificate `url` presents (no trust decision made).
pub fn fetch_thumbprint(url: &str, timeout: Duration) -> Result<String> {
    let sdk = sdk_url(url)?;
    let host = sdk
        .trim_start_matches("https://")
        .trim_end_matches("/sdk")
        .to_string();
    let (name, port) = match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => (
            h.trim_matches(['[', ']']).to_string(),
            p.parse().unwrap_or(443),
        ),
        _ => (host.clone(), 443u16),
    };
    let seen = std::sync::Arc::new(Mutex::new(None::<String>));
    let cfg = crate::tls::recording_config(seen.clone())?;
    let server = rustls::pki_types::ServerName::try_from(name.clone())
        .map_err(|e| Error::Input(format!("{name}: {e}")))?;
    let mut conn =
        rustls::ClientConnection::new(cfg, server).map_err(|e| Error::Tls(e.to_string()))?;
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), port))
        .map_err(|e| Error::Http(format!("{host}: {e}")))?
        .next()
        .ok_or_else(|| Error::Http(format!("{host}: no address")))?;
    let mut sock = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| Error::Http(format!("{host}: {e}")))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)
            .map_err(|e| Error::Tls(format!("{host}: {e}")))?;
    }
    let got = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    got.ok_or_else(|| Error::Tls(format!("{host}: no certificate presented")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_as_govc_reads_them_and_never_echo_a_password() {
        let plain = parse_url("vc.lab").unwrap();
        assert_eq!(plain.sdk, "https://vc.lab/sdk");
        assert_eq!((plain.user, plain.password), (None, None));
        assert_eq!(
            parse_url("https://vc.lab:8443/sdk").unwrap().sdk,
            "https://vc.lab:8443/sdk"
        );
        let creds = parse_url("administrator%40vsphere.local:p%40ss:w@vc.lab/sdk").unwrap();
        assert_eq!(creds.sdk, "https://vc.lab/sdk");
        assert_eq!(creds.user.as_deref(), Some("administrator@vsphere.local"));
        assert_eq!(creds.password.as_deref(), Some("p@ss:w"));
        assert!(
            !format!("{creds:?}").contains("p@ss"),
            "Debug hides the password"
        );
        for (bad, says) in [
            ("http://admin:Secret-1@vc.lab", "plain http is refused"),
            ("admin:Secret-1@", "has no host"),
            ("ftp://admin:Secret-1@vc.lab", "only https://"),
        ] {
            let e = parse_url(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains("Secret-1") && e.contains("***@"), "{e}");
            assert!(matches!(parse_url(bad), Err(Error::Input(_))));
        }
    }
}
