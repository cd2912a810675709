//! What the user can do about an error: the libraries report typed errors and know no
//! flags; the flags and commands that fix them are named here, once, for every command.

use vsphere::inventory::Part;

/// The remedy for the first error in the chain that has one.
pub fn remedy(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|c| {
        if let Some(v) = c.downcast_ref::<vsphere::Error>() {
            return vcenter(v);
        }
        if let Some(b) = c.downcast_ref::<builder::InputError>() {
            return Some(match b {
                builder::InputError::Missing { what, .. } => format!("or pass --{what}"),
                builder::InputError::Exists(_) => "pass --force to replace it".into(),
            });
        }
        if let Some(t) = c.downcast_ref::<fleet::trial::InputError>() {
            use fleet::trial::InputError::*;
            return Some(match t {
                KvmUnusable { .. } => "pass --accel tcg (or auto)".into(),
                NoKeptBoot { .. } => "boot it with try --keep first".into(),
                OvaChanged { .. } => "boot it afresh with try --keep (without --again)".into(),
            });
        }
        match c.downcast_ref::<fleet::install::VibProblem>()? {
            fleet::install::VibProblem::NoneGiven => {
                Some("pass --lock fleet.lock (preferred) or --vib FILE".into())
            }
            fleet::install::VibProblem::Unsigned { .. } => Some(
                "pass --no-sig-check to install it (hosts must be at CommunitySupported; see --set-acceptance)"
                    .into(),
            ),
            _ => None,
        }
    })
}

fn vcenter(e: &vsphere::Error) -> Option<String> {
    use vsphere::Error::*;
    Some(match e {
        Untrusted { .. } => "install vCenter's CA, or pin it with --thumbprint (shown by 'photon-fleet vc thumbprint'), or pass --insecure".into(),
        Ambiguous { what, .. } => format!("pass {}", flag(*what)),
        NotFound { what, .. } => format!("pick one with {}", flag(*what)),
        NameTaken {
            role: vsphere::Role::Template,
            ..
        } => "photon-fleet never replaces it: choose another template name with --template (or [vcenter] template in fleet.toml)".into(),
        NameTaken {
            role: vsphere::Role::FleetVm,
            ..
        } => "photon-fleet never replaces it: choose other VM names with --name-prefix (or the [[vm]] names in fleet.toml)".into(),
        _ => return None,
    })
}

fn flag(p: Part) -> &'static str {
    match p {
        Part::Datacenter => "--datacenter",
        Part::Datastore => "--datastore",
        Part::Network => "--network",
        Part::Compute => "--cluster",
        Part::Host => "--host",
        Part::Pool => "--pool",
        Part::Folder => "--folder",
    }
}
