//! `photon-fleet kickstart`: arguments to [`builder::kickstart::KickstartInputs`], the
//! kickstart written under a temporary name and renamed, the report.

use crate::cli::{InstallerArg, KickstartArgs};
use crate::output::Context;
use anyhow::Result;
use builder::kickstart::{make, Installer, KickstartInputs};

pub fn run(ctx: &Context, a: &KickstartArgs) -> Result<()> {
    super::refuse_existing(&a.output, a.force)?;
    let fleet = super::fleet(a.fleet.as_deref())?;
    let pick = |flag: &Option<std::path::PathBuf>, f: &Option<std::path::PathBuf>, what: &str| {
        flag.clone().or_else(|| f.clone()).ok_or_else(|| {
            crate::output::usage(format!(
                "no {what}: pass --{what} or set [vdvs] {what} in fleet.toml"
            ))
        })
    };
    let made = make(&KickstartInputs {
        fleet: &fleet,
        plugin: pick(&a.plugin, &fleet.vdvs.plugin, "plugin")?,
        vib: pick(&a.vib, &fleet.vdvs.vib, "vib")?,
        bundle_source: a.bundle_source.clone(),
        disk: a.disk.clone(),
        installer: match a.installer {
            InstallerArg::Current => Installer::Current,
            InstallerArg::V2_8 => Installer::V2_8,
            InstallerArg::Legacy => Installer::Legacy,
        },
        root_password_hash: super::env_nonempty("PHOTON_FLEET_ROOT_PASSWORD_HASH"),
    })?;
    super::write_file(&a.output, true, made.text.as_bytes())?;
    #[derive(serde::Serialize)]
    struct Report<'a> {
        kickstart: String,
        #[serde(flatten)]
        made: &'a builder::kickstart::Made,
    }
    let r = Report {
        kickstart: a.output.display().to_string(),
        made: &made,
    };
    ctx.emit(&r, || {
        format!(
            "{}: Photon kickstart (linux-esx, docker, open-vm-tools, vDVS {}); the installer must find the plugin bundle tar at {}\n",
            r.kickstart, made.plugin_version, made.bundle_source
        )
    })
}
