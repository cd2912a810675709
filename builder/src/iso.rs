//! The Photon OS installer ISO made turnkey: the kickstart and the plugin bundle tar put
//! on the media (`/photon-fleet/`), and `ks=cdrom:/photon-fleet/ks.json` added to every
//! boot entry that installs from the media (`photon.media=cdrom`), with xorriso, the boot
//! images kept as they are (`-boot_image any replay`). The installer mounts the media at
//! `/mnt/media` (photon-os-installer `isoInstaller.py`, `Defaults.MOUNT_PATH`), reads the
//! kickstart from there, and the kickstart's `additional_files` takes the bundle from
//! `/mnt/media/photon-fleet/vdvs-plugin.tar`.

use crate::{bad, Result};
use anyhow::{bail, Context as _};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the kickstart is on the media.
pub const KS_ON_MEDIA: &str = "/photon-fleet/ks.json";
/// Where the plugin bundle tar is on the media.
pub const BUNDLE_ON_MEDIA: &str = "/photon-fleet/vdvs-plugin.tar";
/// Where the installer finds the bundle (the media is mounted at /mnt/media).
pub const BUNDLE_SOURCE: &str = "/mnt/media/photon-fleet/vdvs-plugin.tar";
/// The boot parameter that makes the installer read the kickstart.
pub const KS_PARAM: &str = "ks=cdrom:/photon-fleet/ks.json";

/// What was remastered.
#[derive(Debug, serde::Serialize)]
pub struct Remastered {
    pub iso: String,
    /// The boot configuration files changed, and how many entries in each.
    pub boot_entries: Vec<(String, usize)>,
}

/// `text` with [`KS_PARAM`] added to every line that boots the installer from the media
/// and names no kickstart yet; how many lines got it.
pub fn add_ks_param(text: &str) -> (String, usize) {
    let mut n = 0;
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let words: Vec<&str> = body.split_whitespace().collect();
        if words.contains(&"photon.media=cdrom") && !words.iter().any(|w| w.starts_with("ks=")) {
            out.push_str(body.trim_end());
            out.push(' ');
            out.push_str(KS_PARAM);
            out.push_str(end);
            n += 1;
        } else {
            out.push_str(line);
        }
    }
    (out, n)
}

fn xorriso(args: &[&std::ffi::OsStr]) -> Result<String> {
    let out = Command::new("xorriso")
        .args(args)
        .output()
        .context("cannot run xorriso: install it (scripts/install-deps)")?;
    if !out.status.success() {
        bail!(
            "xorriso failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| l.contains("FAILURE") || l.contains("SORRY"))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes `out`: an ISO holding `ovf-env.xml` with `xml`, labelled as vSphere labels the
/// OVF environment CD-ROM of the ISO transport.
pub fn ovf_env_iso(xml: &str, out: &Path) -> Result<()> {
    let work = tempfile::tempdir()?;
    let file = work.path().join(ova::ovf::env::FILE_NAME);
    std::fs::write(&file, xml)?;
    let _ = std::fs::remove_file(out);
    let mut map = std::ffi::OsString::from(format!("/{}=", ova::ovf::env::FILE_NAME));
    map.push(file.as_os_str());
    xorriso(&[
        "-as".as_ref(),
        "mkisofs".as_ref(),
        "-quiet".as_ref(),
        "-V".as_ref(),
        ova::ovf::env::ISO_LABEL.as_ref(),
        "-J".as_ref(),
        "-R".as_ref(),
        "-graft-points".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        map.as_os_str(),
    ])
    .with_context(|| format!("{}: writing the OVF environment ISO", out.display()))?;
    Ok(())
}

/// Writes `out`: the installer ISO `iso` with `ks_json` and the plugin bundle (a folder,
/// packed here, or a tar) on it and the boot entries pointing at the kickstart. Nothing is
/// left under `out` on failure.
pub fn remaster(iso: &Path, out: &Path, ks_json: &str, bundle: &Path) -> Result<Remastered> {
    config::require_file(iso)?;
    let shown = iso.display().to_string();
    let work = tempfile::tempdir()?;
    // Ctrl-C or SIGTERM: the copies made here go too (the ISO's temporary file is
    // registered by plumbing::Output).
    let _undo = plumbing::interrupt::remove_on_interrupt(work.path());
    let bundle_tar = if bundle.is_dir() {
        let t = work.path().join("vdvs-plugin.tar");
        bundle_tar(bundle, &t)?;
        t
    } else {
        bundle.to_path_buf()
    };
    let listed = xorriso(&[
        "-indev".as_ref(),
        iso.as_os_str(),
        "-find".as_ref(),
        "/".as_ref(),
        "-type".as_ref(),
        "f".as_ref(),
        "-name".as_ref(),
        "*.cfg".as_ref(),
    ])
    .with_context(|| format!("{shown}: not an ISO image xorriso can read"))?;
    let mut maps: Vec<(PathBuf, String)> = Vec::new();
    let mut entries = Vec::new();
    for (k, cfg) in listed
        .lines()
        .map(|l| l.trim().trim_matches('\''))
        .filter(|l| l.starts_with('/'))
        .enumerate()
    {
        let local = work.path().join(format!("cfg-{k}"));
        xorriso(&[
            "-osirrox".as_ref(),
            "on".as_ref(),
            "-indev".as_ref(),
            iso.as_os_str(),
            "-extract".as_ref(),
            cfg.as_ref(),
            local.as_os_str(),
        ])?;
        let text = std::fs::read_to_string(&local).unwrap_or_default();
        let (changed, n) = add_ks_param(&text);
        if n > 0 {
            let _ = std::fs::remove_file(&local);
            std::fs::write(&local, changed)?;
            maps.push((local, cfg.to_string()));
            entries.push((cfg.to_string(), n));
        }
    }
    if entries.is_empty() {
        return Err(bad(format!(
            "{shown}: no boot entry installs from the media (photon.media=cdrom): not a Photon OS installer ISO"
        )));
    }
    let ks = work.path().join("ks.json");
    std::fs::write(&ks, ks_json)?;
    maps.push((ks, KS_ON_MEDIA.into()));
    maps.push((bundle_tar, BUNDLE_ON_MEDIA.into()));

    let tmp = plumbing::Output::create(out).with_context(|| out.display().to_string())?;
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "-indev".as_ref(),
        iso.as_os_str(),
        "-outdev".as_ref(),
        tmp.path().as_os_str(),
        "-boot_image".as_ref(),
        "any".as_ref(),
        "replay".as_ref(),
    ];
    for (local, on_media) in &maps {
        args.extend(["-map".as_ref(), local.as_os_str(), on_media.as_ref()]);
    }
    xorriso(&args).with_context(|| format!("{}: writing the ISO", out.display()))?;
    tmp.commit().with_context(|| out.display().to_string())?;
    Ok(Remastered {
        iso: out.display().to_string(),
        boot_entries: entries,
    })
}

/// The plugin bundle folder as a tar (entries sorted, owner root, times zero), as the
/// kickstart's postinstall unpacks it.
pub fn bundle_tar(bundle: &Path, out: &Path) -> Result<()> {
    let items = plumbing::walk::tree(bundle).with_context(|| bundle.display().to_string())?;
    plumbing::write_atomically(out, |f| -> Result<()> {
        let mut b = tar::Builder::new(f);
        for it in &items {
            let mut h = tar::Header::new_ustar();
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            match &it.kind {
                plumbing::walk::Kind::Dir => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o755);
                    h.set_size(0);
                    b.append_data(&mut h, format!("{}/", it.rel), std::io::empty())?;
                }
                plumbing::walk::Kind::File { mode, len } => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(*mode);
                    h.set_size(*len);
                    b.append_data(&mut h, &it.rel, std::fs::File::open(&it.path)?)?;
                }
                plumbing::walk::Kind::Link { target } => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_mode(0o777);
                    h.set_size(0);
                    b.append_link(&mut h, &it.rel, target)?;
                }
                plumbing::walk::Kind::Other => {
                    bail!(
                        "{}: only files, folders and links go into a plugin bundle",
                        it.path.display()
                    )
                }
            }
        }
        b.finish()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kickstart_parameter_goes_on_installing_entries_once() {
        let cfg = "label install\n  kernel vmlinuz\n  append initrd=initrd.img root=/dev/ram0 photon.media=cdrom\nlabel rescue\n  append initrd=initrd.img rescue\n  append photon.media=cdrom ks=http://x/ks.json\n";
        let (out, n) = add_ks_param(cfg);
        assert_eq!(n, 1);
        assert!(out.contains("photon.media=cdrom ks=cdrom:/photon-fleet/ks.json\nlabel rescue"));
        assert!(
            out.contains("append photon.media=cdrom ks=http://x/ks.json\n"),
            "theirs kept"
        );
        // Again: nothing more to do.
        assert_eq!(add_ks_param(&out), (out.clone(), 0));
        let (grub, n) = add_ks_param("  linux /isolinux/vmlinuz root=/dev/ram0 photon.media=cdrom");
        assert_eq!(n, 1);
        assert!(grub.ends_with("photon.media=cdrom ks=cdrom:/photon-fleet/ks.json"));
    }
}
