//! How ssh-install and friends log in to ESXi hosts: a key file, ssh-agent, ~/.ssh keys,
//! a password from the environment or a prompt (never argv), and how host keys are
//! trusted (known_hosts, fleet.toml's pinned fingerprints, --accept-new-host-keys).

use crate::esxi_cli::HostArgs;
use anyhow::{Context as _, Result};
use esxi::session::{Auth, ConnectConfig, HostKeys, Password};
use std::path::PathBuf;
use std::time::Duration;

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Key file, agent, ~/.ssh keys, and a password from the environment or a prompt.
fn credentials(a: &HostArgs) -> Result<Vec<Auth>> {
    let mut auth = Vec::new();
    if let Some(k) = &a.identity {
        config::require_file(k)?;
        auth.push(Auth::KeyFile(k.clone()));
    } else {
        if std::env::var_os("SSH_AUTH_SOCK").is_some() {
            auth.push(Auth::Agent);
        }
        let keys = ["id_ed25519", "id_ecdsa", "id_rsa"].map(|k| home().join(".ssh").join(k));
        auth.extend(keys.into_iter().filter(|p| p.is_file()).map(Auth::KeyFile));
    }
    let pw = match crate::cmd::env_nonempty(&a.password_env) {
        Some(pw) => Some(pw),
        None if a.ask_password => Some(
            rpassword::prompt_password("ESXi SSH password: ")
                .context("cannot read the password from the terminal")?,
        ),
        None => None,
    };
    auth.extend(pw.map(|p| Auth::Password(Password::new(p))));
    Ok(auth)
}

pub fn connect_config(a: &HostArgs, fleet: &config::Fleet) -> Result<ConnectConfig> {
    let known_hosts = a
        .known_hosts
        .clone()
        .or_else(|| fleet.esxi.known_hosts.clone())
        .unwrap_or_else(|| home().join(".ssh/known_hosts"));
    Ok(ConnectConfig {
        auth: credentials(a)?,
        host_keys: HostKeys {
            known_hosts,
            pinned: fleet.esxi.host_keys.clone(),
            accept_new: a.accept_new_host_keys,
            write_lock: Default::default(),
        },
        connect_timeout: Duration::from_secs(a.connect_timeout.max(1)),
        timeout: Duration::from_secs(a.timeout.max(1)),
    })
}
