//! Which Docker plugin goes with which ESXi VIB. vDVS versions its VIB as
//! `<tag>.<short sha>-0.0.1`, and the plugin by tag; both halves must come from one
//! release (a 0.19+ plugin against an older VIB fails with `VolumeDriver.Create:
//! Device not found`). Refused here, before anything is installed or baked.

use crate::{Error, Result};
use serde::Serialize;

/// Public vDVS releases: tag, commit of the tag, release date.
pub const RELEASES: &[(&str, &str, &str)] = &[
    ("0.19", "641f741", "2017-12-01"),
    ("0.20", "15f5e1d", "2017-12-20"),
    ("0.21", "ddbf56b", "2018-01-31"),
    ("0.21.1", "c420818", "2018-02-13"),
    ("0.21.2", "8b7dc30", "2018-04-16"),
];

/// A VIB version split into its parts: `0.21.c420818-0.0.1` -> tag 0.21, sha c420818.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VibVersion {
    pub tag: String,
    pub sha: Option<String>,
    pub release: String,
}

impl VibVersion {
    pub fn parse(v: &str) -> Result<Self> {
        let (base, release) = v.rsplit_once('-').ok_or_else(|| {
            Error::Invalid(format!(
                "VIB version '{v}' is not \"<tag>.<sha>-<release>\""
            ))
        })?;
        let (tag, sha) = match base.rsplit_once('.') {
            Some((t, s)) if s.len() >= 7 && s.chars().all(|c| c.is_ascii_hexdigit()) => {
                (t.to_string(), Some(s.to_string()))
            }
            _ => (base.to_string(), None),
        };
        Ok(Self {
            tag,
            sha,
            release: release.into(),
        })
    }

    /// The release this VIB was built from: by commit when known, else by tag.
    pub fn release_tag(&self) -> String {
        self.sha
            .as_deref()
            .and_then(|sha| {
                RELEASES
                    .iter()
                    .find(|(_, s, _)| sha.starts_with(s))
                    .map(|(t, _, _)| t.to_string())
            })
            .unwrap_or_else(|| self.tag.clone())
    }
}

/// `0.21.2` -> [0, 21, 2]; anything non-numeric is refused.
fn numeric(tag: &str) -> Option<Vec<u64>> {
    tag.split('.').map(|p| p.parse().ok()).collect()
}

fn at_least_019(tag: &str) -> bool {
    numeric(tag).is_some_and(|n| n >= vec![0, 19])
}

#[derive(Debug, Clone, Serialize)]
pub struct Pairing {
    pub release: String,
    pub plugin_version: String,
    pub vib_version: String,
}

/// Checks that `plugin` (a tag such as `0.21.2`) and `vib` (a VIB version) belong together.
pub fn check(plugin: &str, vib: &str) -> Result<Pairing> {
    let plugin = plugin.trim_start_matches('v');
    let v = VibVersion::parse(vib)?;
    let vib_release = v.release_tag();
    if vib_release == plugin {
        return Ok(Pairing {
            release: plugin.into(),
            plugin_version: plugin.into(),
            vib_version: vib.into(),
        });
    }
    // Builds before Oct 2016 were all "1.0.0-0.0.1", with no commit: older than any 0.19.
    let vib_is_019_on = v.sha.is_some() && at_least_019(&vib_release);
    let why = if at_least_019(plugin) && !vib_is_019_on {
        format!(
            "plugin {plugin} needs a VIB from 0.19 on, but the VIB is {vib} (release {vib_release}): volume creation would fail with \"VolumeDriver.Create: Device not found\""
        )
    } else {
        format!("plugin {plugin} and VIB {vib} (release {vib_release}) are from different vDVS releases")
    };
    Err(Error::Mismatch(format!(
        "{why}; use the VIB of release {plugin} (its version starts with {plugin}.)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_by_tag_or_by_known_commit() {
        assert_eq!(
            check("0.21.2", "0.21.2.8b7dc30-0.0.1").unwrap().release,
            "0.21.2"
        );
        // The 0.21.1 bundle's VIB says "0.21" with 0.21.1's commit.
        assert_eq!(
            check("0.21.1", "0.21.c420818-0.0.1").unwrap().release,
            "0.21.1"
        );
        assert_eq!(check("0.21", "0.21.ddbf56b-0.0.1").unwrap().release, "0.21");
        assert_eq!(
            check("0.22-dev", "0.22-dev.abcdef1-0.0.1").unwrap().release,
            "0.22-dev"
        );
    }

    #[test]
    fn refuses_mismatches_with_the_reason() {
        let e = check("0.21.2", "0.18.0577889-0.0.1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Device not found") && e.contains("0.19"), "{e}");
        let e = check("0.21.2", "0.21.c420818-0.0.1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("different vDVS releases") && e.contains("release 0.21.1"),
            "{e}"
        );
        let e = check("0.21.2", "1.0.0-0.0.1").unwrap_err().to_string();
        assert!(e.contains("Device not found"), "{e}");
        assert!(check("0.21.2", "garbage").is_err());
    }

    #[test]
    fn splits_versions() {
        let v = VibVersion::parse("0.14.0577889-0.0.1").unwrap();
        assert_eq!(
            (v.tag.as_str(), v.sha.as_deref(), v.release.as_str()),
            ("0.14", Some("0577889"), "0.0.1")
        );
        let v = VibVersion::parse("1.0.0-0.0.1").unwrap();
        assert_eq!((v.tag.as_str(), v.sha), ("1.0.0", None));
    }
}
