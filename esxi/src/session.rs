//! One SSH connection to one host (libssh2 through the `ssh2` crate): connect with a
//! deadline, verify the host key before anything is sent, authenticate, run commands
//! and upload files over SCP. Passwords never leave this module except to libssh2.

use crate::known_hosts::{fingerprint, Check, KnownHosts};
use crate::target::Target;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// A secret that prints as `***`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(s: String) -> Self {
        Self(s)
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone)]
pub enum Auth {
    Agent,
    KeyFile(PathBuf),
    Password(Password),
}

/// How host keys are trusted: pinned fingerprints first, then known_hosts.
#[derive(Debug)]
pub struct HostKeys {
    pub known_hosts: PathBuf,
    /// `host`, `host:port` or `[host]:port` -> `SHA256:...`
    pub pinned: BTreeMap<String, String>,
    pub accept_new: bool,
    /// Serialises appends to known_hosts across parallel hosts.
    pub write_lock: Mutex<()>,
}

#[derive(Debug)]
pub struct ConnectConfig {
    pub auth: Vec<Auth>,
    pub host_keys: HostKeys,
    pub connect_timeout: Duration,
    /// Per command / per read or write; a host slower than this is given up.
    pub timeout: Duration,
}

pub struct Output {
    pub code: i32,
    pub text: String,
}

pub struct Connection {
    sess: ssh2::Session,
    /// Set when a new host key was recorded during connect.
    pub recorded_key: Option<String>,
}

fn ssh(target: &Target, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Ssh(format!("{target}: {what}: {e}"))
}

impl Connection {
    pub fn open(target: &Target, cfg: &ConnectConfig) -> Result<Self> {
        let addrs: Vec<_> = (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|e| ssh(target, "cannot resolve", e))?
            .collect();
        let mut last = None;
        let mut tcp = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, cfg.connect_timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = tcp.ok_or_else(|| {
            ssh(
                target,
                "cannot connect",
                last.map_or("no address".into(), |e| e.to_string()),
            )
        })?;
        let mut sess = ssh2::Session::new().map_err(|e| ssh(target, "libssh2", e))?;
        sess.set_tcp_stream(tcp);
        sess.set_timeout(cfg.timeout.as_millis().min(u32::MAX as u128) as u32);
        sess.handshake()
            .map_err(|e| ssh(target, "SSH handshake failed", e))?;
        let recorded_key = verify_host_key(target, &sess, &cfg.host_keys)?;
        authenticate(target, &sess, &cfg.auth)?;
        Ok(Self { sess, recorded_key })
    }

    /// Runs `cmd`; stdout and stderr together, and the exit code.
    pub fn run(&self, cmd: &str) -> Result<Output> {
        let mut ch = self.sess.channel_session()?;
        ch.exec(cmd)?;
        let mut text = String::new();
        ch.read_to_string(&mut text)?;
        let mut err = String::new();
        ch.stderr().read_to_string(&mut err)?;
        text.push_str(&err);
        ch.wait_close()?;
        let code = ch.exit_status()?;
        Ok(Output { code, text })
    }

    /// Writes `bytes` to the absolute `remote` path over SCP.
    pub fn upload(&self, remote: &str, bytes: &[u8]) -> Result<()> {
        let mut ch = self
            .sess
            .scp_send(Path::new(remote), 0o644, bytes.len() as u64, None)?;
        for chunk in bytes.chunks(64 << 10) {
            ch.write_all(chunk)?;
        }
        ch.send_eof()?;
        ch.wait_eof()?;
        ch.close()?;
        ch.wait_close()?;
        match ch.exit_status()? {
            0 => Ok(()),
            c => Err(Error::Ssh(format!("scp to {remote} exited {c}"))),
        }
    }
}

fn verify_host_key(
    target: &Target,
    sess: &ssh2::Session,
    keys: &HostKeys,
) -> Result<Option<String>> {
    let (key, _) = sess
        .host_key()
        .ok_or_else(|| ssh(target, "no host key", "the server sent none"))?;
    let fp = fingerprint(key);
    let name = target.known_hosts_name();
    let pin = [
        name.clone(),
        target.host.clone(),
        format!("{}:{}", target.host, target.port),
    ]
    .iter()
    .find_map(|n| keys.pinned.get(n).cloned());
    if let Some(pin) = pin {
        if pin.trim_end_matches('=') == fp {
            return Ok(None);
        }
        return Err(Error::HostKey(format!(
            "{target}: host key {fp} does not match the pinned {pin}: refusing to connect (if the host was reinstalled, update the pin in fleet.toml)"
        )));
    }
    let kh_path = keys.known_hosts.display();
    let _guard = keys.write_lock.lock().unwrap_or_else(|p| p.into_inner());
    match KnownHosts::load(&keys.known_hosts)?.check(&name, key) {
        Check::Match => Ok(None),
        Check::Changed(line) => Err(Error::HostKey(format!(
            "{target}: HOST KEY CHANGED (now {fp}; {kh_path} line {line} has another): refusing to connect; if the host was reinstalled, remove the old key with ssh-keygen -R '{name}' -f {kh_path}"
        ))),
        Check::Revoked(line) => Err(Error::HostKey(format!(
            "{target}: host key {fp} is revoked ({kh_path} line {line}): refusing to connect"
        ))),
        Check::NotFound if keys.accept_new => {
            KnownHosts::append(&keys.known_hosts, &name, key)?;
            Ok(Some(fp))
        }
        Check::NotFound => Err(Error::HostKey(format!(
            "{target}: unknown host key {fp} (not in {kh_path}): compare it with the host's console, then rerun with --accept-new-host-keys to record it"
        ))),
    }
}

fn authenticate(target: &Target, sess: &ssh2::Session, auth: &[Auth]) -> Result<()> {
    let mut tried = Vec::new();
    for a in auth {
        let (what, r) = match a {
            Auth::Agent => ("ssh-agent", sess.userauth_agent(&target.user)),
            Auth::KeyFile(p) => (
                "key",
                sess.userauth_pubkey_file(&target.user, None, p, None),
            ),
            Auth::Password(Password(pw)) => ("password", sess.userauth_password(&target.user, pw)),
        };
        match r {
            Ok(()) if sess.authenticated() => return Ok(()),
            Ok(()) => tried.push(what.to_string()),
            Err(e) => tried.push(match a {
                Auth::KeyFile(p) => format!("key {} ({})", p.display(), e.message()),
                _ => format!("{what} ({})", e.message()),
            }),
        }
    }
    Err(Error::Ssh(format!(
        "{target}: authentication as '{}' failed; tried {}",
        target.user,
        if tried.is_empty() {
            "nothing (no key, agent or password given)".into()
        } else {
            tried.join(", ")
        }
    )))
}
