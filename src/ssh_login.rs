//! How photon-fleet logs in over SSH: to ESXi hosts (ssh-install, esxi status, up) and to
//! the guests (up, status). A key file, ssh-agent, ~/.ssh keys, a password from the
//! environment or a prompt (never argv); host keys from known_hosts, fleet.toml's pinned
//! fingerprints, or recorded when new only where that is asked for.

use anyhow::{Context as _, Result};
use esxi::session::{Auth, ConnectConfig, HostKeys, Password};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The login choices, whatever flags they came from.
pub struct Login {
    pub identity: Option<PathBuf>,
    /// The environment variable holding a password, and whether to prompt for one.
    pub password_env: Option<String>,
    pub ask_password: bool,
    pub known_hosts: PathBuf,
    pub pinned: BTreeMap<String, String>,
    pub accept_new: bool,
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

pub fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Key file, agent, ~/.ssh keys, and a password from the environment or a prompt.
fn credentials(l: &Login) -> Result<Vec<Auth>> {
    let mut auth = Vec::new();
    if let Some(k) = &l.identity {
        config::require_file(k)?;
        auth.push(Auth::KeyFile(k.clone()));
    } else {
        if std::env::var_os("SSH_AUTH_SOCK").is_some() {
            auth.push(Auth::Agent);
        }
        let keys = ["id_ed25519", "id_ecdsa", "id_rsa"].map(|k| home().join(".ssh").join(k));
        auth.extend(keys.into_iter().filter(|p| p.is_file()).map(Auth::KeyFile));
    }
    let pw = match l.password_env.as_deref().and_then(crate::cmd::env_nonempty) {
        Some(pw) => Some(pw),
        None if l.ask_password => Some(
            rpassword::prompt_password("SSH password: ")
                .context("cannot read the password from the terminal")?,
        ),
        None => None,
    };
    auth.extend(pw.map(|p| Auth::Password(Password::new(p))));
    Ok(auth)
}

pub fn connect_config(l: &Login) -> Result<ConnectConfig> {
    Ok(ConnectConfig {
        auth: credentials(l)?,
        host_keys: HostKeys {
            known_hosts: l.known_hosts.clone(),
            pinned: l.pinned.clone(),
            accept_new: l.accept_new,
            write_lock: Default::default(),
        },
        connect_timeout: l.connect_timeout,
        timeout: l.timeout,
    })
}

/// How the ESXi commands log in, from their flags and fleet.toml's [esxi].
pub fn esxi(a: &crate::esxi_cli::HostArgs, fleet: &config::Fleet) -> Result<ConnectConfig> {
    connect_config(&Login {
        identity: a.identity.clone(),
        password_env: Some(a.password_env.clone()),
        ask_password: a.ask_password,
        known_hosts: a
            .known_hosts
            .clone()
            .or_else(|| fleet.esxi.known_hosts.clone())
            .unwrap_or_else(|| home().join(".ssh/known_hosts")),
        pinned: fleet.esxi.host_keys.clone(),
        accept_new: a.accept_new_host_keys,
        timeout: Duration::from_secs(a.timeout.max(1)),
        connect_timeout: Duration::from_secs(a.connect_timeout.max(1)),
    })
}

/// How `up` and `status` log in to the guests: root with the fleet's key (`--guest-identity`,
/// else [guest] identity, else the agent and ~/.ssh), host keys recorded on first use in
/// `fleet.known_hosts` beside fleet.toml (each VM is new once; a changed key is refused).
pub fn guests(identity: Option<PathBuf>, fleet: &config::Fleet) -> Result<ConnectConfig> {
    connect_config(&Login {
        identity: identity.or_else(|| fleet.guest.identity.clone()),
        password_env: None,
        ask_password: false,
        known_hosts: fleet.dir.join("fleet.known_hosts"),
        pinned: BTreeMap::new(),
        accept_new: true,
        timeout: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(10),
    })
}
