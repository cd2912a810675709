//! One SSH connection to one host (libssh2 through the `ssh2` crate): connect with a
//! deadline, verify the host key before anything is sent, authenticate, run commands
//! and upload files over SCP. Passwords never leave this module except to libssh2.

use crate::known_hosts::{fingerprint, Check, KnownHosts};
use crate::target::Target;
use crate::{Error, HostKeyProblem, Result};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
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

fn ssh(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Ssh(format!("{what}: {e}"))
}

impl Connection {
    pub fn open(target: &Target, cfg: &ConnectConfig) -> Result<Self> {
        let addrs: Vec<_> = (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|e| ssh("cannot resolve", e))?
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
                "cannot connect",
                last.map_or("no address".into(), |e| e.to_string()),
            )
        })?;
        let mut sess = ssh2::Session::new().map_err(|e| ssh("libssh2", e))?;
        sess.set_tcp_stream(tcp);
        sess.set_timeout(cfg.timeout.as_millis().min(u32::MAX as u128) as u32);
        sess.handshake()
            .map_err(|e| ssh("SSH handshake failed", e))?;
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

    /// Writes `bytes` to the absolute `remote` path with the SCP protocol, as OpenSSH's
    /// `scp -O` sends a file to `scp -t`: wait for the sink's ready byte, send the `C`
    /// line, the data and the closing `\0`, reading the sink's answer after each step.
    /// A `\x01`/`\x02` answer is the sink's own error text, and is what the error says.
    pub fn upload(&self, remote: &str, bytes: &[u8]) -> Result<()> {
        let total = bytes.len() as u64;
        let fail = |sent: u64, reason: String| Error::Upload {
            remote: remote.to_string(),
            sent,
            total,
            reason,
        };
        let name = remote.rsplit('/').next().unwrap_or(remote);
        if name.is_empty() || name.contains(['\n', '\0']) {
            return Err(fail(0, "not a file path".into()));
        }
        let mut ch = self.sess.channel_session()?;
        ch.exec(&format!("scp -t {}", plumbing::text::shell_quote(remote)))?;
        let step = |ch: &mut ssh2::Channel, sent: u64| -> Result<()> {
            sink_answer(ch).map_err(|reason| fail(sent, reason))
        };
        step(&mut ch, 0)?;
        ch.write_all(format!("C0644 {total} {name}\n").as_bytes())
            .map_err(|e| fail(0, e.to_string()))?;
        step(&mut ch, 0)?;
        let mut sent = 0u64;
        for chunk in bytes.chunks(256 << 10) {
            ch.write_all(chunk)
                .map_err(|e| fail(sent, format!("connection lost ({e})")))?;
            sent += chunk.len() as u64;
        }
        ch.write_all(&[0])
            .map_err(|e| fail(sent, format!("connection lost ({e})")))?;
        step(&mut ch, sent)?;
        ch.send_eof()?;
        ch.wait_eof()?;
        ch.close()?;
        ch.wait_close()?;
        match ch.exit_status()? {
            0 => Ok(()),
            c => Err(fail(sent, format!("scp on the host exited {c}"))),
        }
    }
}

/// Reads one answer of an SCP sink: `\0` is OK; `\x01` (warning) and `\x02` (fatal)
/// are followed by the sink's message line. The end of the stream means the
/// connection (or the sink) went away.
fn sink_answer(ch: &mut impl Read) -> std::result::Result<(), String> {
    let mut b = [0u8; 1];
    match ch.read(&mut b) {
        Ok(0) => return Err("connection lost (the host closed it)".into()),
        Ok(_) => {}
        Err(e) => return Err(format!("connection lost ({e})")),
    }
    if b[0] == 0 {
        return Ok(());
    }
    let mut line = Vec::new();
    while line.len() < 1024 {
        match ch.read(&mut b) {
            Ok(1) if b[0] != b'\n' => line.push(b[0]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&line).trim().to_string();
    Err(if text.is_empty() {
        format!("the host's scp answered {:#04x}", b[0])
    } else {
        format!("the host's scp said: {text}")
    })
}

fn verify_host_key(
    target: &Target,
    sess: &ssh2::Session,
    keys: &HostKeys,
) -> Result<Option<String>> {
    let (key, _) = sess
        .host_key()
        .ok_or_else(|| ssh("no host key", "the server sent none"))?;
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
        return Err(Error::HostKey(HostKeyProblem::PinMismatch {
            seen: fp,
            pin,
        }));
    }
    let file = keys.known_hosts.display().to_string();
    let _guard = keys.write_lock.lock().unwrap_or_else(|p| p.into_inner());
    match KnownHosts::load(&keys.known_hosts)?.check(&name, key) {
        Check::Match => Ok(None),
        Check::Changed(line) => Err(Error::HostKey(HostKeyProblem::Changed {
            seen: fp,
            file,
            line,
            name,
        })),
        Check::Revoked(line) => Err(Error::HostKey(HostKeyProblem::Revoked {
            seen: fp,
            file,
            line,
        })),
        Check::NotFound if keys.accept_new => {
            KnownHosts::append(&keys.known_hosts, &name, key)?;
            Ok(Some(fp))
        }
        Check::NotFound => Err(Error::HostKey(HostKeyProblem::Unknown { seen: fp, file })),
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
        "authentication as '{}' failed; tried {}",
        target.user,
        if tried.is_empty() {
            "nothing (no key, agent or password given)".into()
        } else {
            tried.join(", ")
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::sink_answer;

    #[test]
    fn sink_answers_are_read_as_openssh_scp_sends_them() {
        assert_eq!(sink_answer(&mut &b"\0"[..]), Ok(()));
        assert_eq!(
            sink_answer(&mut &b"\x01scp: /tmp/x: No such file or directory\n"[..]),
            Err("the host's scp said: scp: /tmp/x: No such file or directory".into())
        );
        assert_eq!(
            sink_answer(&mut &b"\x02scp: protocol error\nmore"[..]),
            Err("the host's scp said: scp: protocol error".into())
        );
        assert_eq!(
            sink_answer(&mut &b""[..]),
            Err("connection lost (the host closed it)".into())
        );
        assert_eq!(
            sink_answer(&mut &b"\x07"[..]),
            Err("the host's scp answered 0x07".into())
        );
    }
}
