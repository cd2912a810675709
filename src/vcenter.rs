//! The vCenter login from flags, the environment (PHOTON_FLEET_VC_*, then govc's GOVC_*),
//! fleet.toml's [vcenter] or a prompt, and the TLS trust; then a logged-in client. The
//! password never comes from argv and is never printed.

use crate::cmd::env_nonempty;
use crate::output::usage;
use crate::vc_cli::VcArgs;
use anyhow::{Context as _, Result};
use config::VcenterSection;
use std::time::Duration;
use vsphere::{Client, Trust};

/// URL, user and password: flags/env first, then govc's variables (GOVC_URL may carry
/// `user:password@`, which is read from the environment only, never from argv).
fn credentials(a: &VcArgs, f: &VcenterSection) -> Result<(String, String, String)> {
    let govc = env_nonempty("GOVC_URL");
    let url = a
        .url
        .clone()
        .or_else(|| f.url.clone())
        .or_else(|| govc.clone())
        .ok_or_else(|| {
            usage("which vCenter? set PHOTON_FLEET_VC_URL (or GOVC_URL), or pass --url")
        })?;
    // govc's forms: a bare host, host:port, https://host/sdk, user:password@host.
    let parsed = vsphere::client::parse_url(&url)?;
    let in_argv = a.url.is_some()
        && std::env::var("PHOTON_FLEET_VC_URL").ok().as_deref() != Some(url.as_str());
    if in_argv && parsed.password.is_some() {
        return Err(usage(
            "credentials in --url would be visible to every user of this machine: put them in PHOTON_FLEET_VC_USER / PHOTON_FLEET_VC_PASSWORD",
        ));
    }
    let (from_url_user, from_url_pass) = (parsed.user.clone(), parsed.password.clone());
    let user = a
        .user
        .clone()
        .or_else(|| f.user.clone())
        .or_else(|| env_nonempty("GOVC_USERNAME"))
        .or(from_url_user)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            usage("which vCenter user? set PHOTON_FLEET_VC_USER (or GOVC_USERNAME), or pass --user")
        })?;
    let password = match env_nonempty(&a.password_env)
        .or_else(|| env_nonempty("GOVC_PASSWORD"))
        .or(from_url_pass)
    {
        Some(p) => p,
        None if a.ask_password => {
            rpassword::prompt_password(format!("vCenter password for {user}: "))
                .context("cannot read the password from the terminal")?
        }
        None => {
            return Err(usage(format!(
                "no vCenter password: set {} (or GOVC_PASSWORD), or pass --ask-password",
                a.password_env
            )))
        }
    };
    Ok((url, user, password))
}

fn trust(a: &VcArgs, f: &VcenterSection) -> Result<Trust> {
    let govc_insecure =
        env_nonempty("GOVC_INSECURE").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    Ok(match a.thumbprint.as_ref().or(f.thumbprint.as_ref()) {
        Some(t) => Trust::thumbprint(t)?,
        None if a.insecure || f.insecure == Some(true) || govc_insecure => Trust::Insecure,
        None => Trust::SystemRoots,
    })
}

/// A logged-in client; log out when done.
pub fn connect(a: &VcArgs, f: &VcenterSection) -> Result<Client> {
    let (url, user, password) = credentials(a, f)?;
    let client = Client::connect(&url, &trust(a, f)?, Duration::from_secs(a.timeout.max(1)))?;
    client.login(&user, &password)?;
    Ok(client)
}
