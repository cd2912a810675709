//! `photon-fleet kickstart`: arguments to [`builder::kickstart::KickstartInputs`], the
//! kickstart written under a temporary name and renamed (or, with `--iso`, put on the
//! installer ISO with the plugin bundle: [`builder::iso`]), the report.

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
    if a.iso.is_some() && a.output.extension().is_some_and(|e| e == "json") {
        return Err(crate::output::usage(format!(
            "-o {}: with --iso, -o names the ISO to write",
            a.output.display()
        )));
    }
    let plugin = pick(&a.plugin, &fleet.vdvs.plugin, "plugin")?;
    let made = make(&KickstartInputs {
        fleet: &fleet,
        plugin: plugin.clone(),
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
    #[derive(serde::Serialize)]
    struct Report<'a> {
        kickstart: String,
        #[serde(flatten)]
        made: &'a builder::kickstart::Made,
        #[serde(skip_serializing_if = "Option::is_none")]
        iso: Option<builder::iso::Remastered>,
    }
    let iso = match &a.iso {
        None => {
            super::write_file(&a.output, true, made.text.as_bytes())?;
            None
        }
        Some(iso) => Some(builder::iso::remaster(iso, &a.output, &made.text, &plugin)?),
    };
    let r = Report {
        kickstart: match &iso {
            Some(_) => format!("{}:{}", a.output.display(), builder::iso::KS_ON_MEDIA),
            None => a.output.display().to_string(),
        },
        made: &made,
        iso,
    };
    ctx.emit(&r, || match &r.iso {
        Some(i) => format!(
            "{}: Photon installer ISO with the kickstart ({}) and the plugin bundle ({}), vDVS {}; boot entries now reading it: {}\n",
            i.iso,
            builder::iso::KS_ON_MEDIA,
            builder::iso::BUNDLE_ON_MEDIA,
            made.plugin_version,
            i.boot_entries
                .iter()
                .map(|(f, n)| format!("{f} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => format!(
            "{}: Photon kickstart (linux-esx, docker, open-vm-tools, tar, vDVS {}); the installer must find the plugin bundle tar at {}\n",
            r.kickstart, made.plugin_version, made.bundle_source
        ),
    })
}
