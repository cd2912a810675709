//! The serial console as `try` reads it: bytes to clean lines (terminal escapes dropped,
//! control bytes never passed on), and what a line means: a first-boot line, first boot's
//! result line, or a sign that the disk will not boot (so `try` says so at once, not after
//! its timeout).

use serde::Serialize;

/// What first boot prints before each of its lines.
pub const FIRSTBOOT_PREFIX: &str = "photon-fleet-firstboot: ";

/// First boot's last line: `result=ok|failed|already-done docker=STATE plugin=STATE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirstBootResult {
    pub result: String,
    pub docker: String,
    pub plugin: String,
}

impl FirstBootResult {
    /// A working Docker host: first boot done (now or before), docker running, the
    /// plugin enabled.
    pub fn ready(&self) -> bool {
        matches!(self.result.as_str(), "ok" | "already-done")
            && self.docker == "active"
            && self.plugin == "enabled"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A first-boot line, without its prefix.
    FirstBoot(String),
    Result(FirstBootResult),
    /// The firmware, boot loader or kernel gave up: the disk does not boot. The line, and
    /// what it means.
    CannotBoot(String, &'static str),
    Other,
}

/// What firmware, boot loaders and the kernel print when there is nothing to boot or the
/// boot broke off, and what it means.
const CANNOT_BOOT: &[(&str, &str)] = &[
    (
        "No bootable option or device was found",
        "the EFI firmware found nothing to boot",
    ),
    ("No bootable device", "the BIOS found nothing to boot"),
    (
        "Boot failed: not a bootable disk",
        "the BIOS found no boot loader",
    ),
    (
        "Shell>",
        "the EFI firmware found no boot loader and stopped at its shell",
    ),
    ("grub>", "GRUB found no configuration it could boot"),
    ("grub rescue>", "GRUB could not find its own files"),
    ("Kernel panic - not syncing", "the kernel panicked"),
    (
        "You are in emergency mode",
        "systemd stopped in emergency mode",
    ),
    (
        "Give root password for maintenance",
        "systemd stopped in emergency mode",
    ),
];

/// Raw console bytes as a printable line: ANSI/VT100 escape sequences (the firmware's
/// screen drawing) removed, other control bytes dropped.
pub fn clean(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            match chars.peek() {
                // CSI: ESC [ params final-byte (0x40..=0x7e)
                Some('[') => {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&d) {
                            break;
                        }
                    }
                }
                // Charset designation: ESC, an intermediate, a final character.
                Some('(' | ')' | '*' | '+' | '-' | '.' | '/' | '#' | '%') => {
                    chars.next();
                    chars.next();
                }
                // ESC and one more character (keypad modes, cursor save, ...)
                Some(_) => {
                    chars.next();
                }
                None => {}
            }
        } else if c == '\t' || !c.is_control() {
            out.push(c);
        }
    }
    out.trim_end().to_string()
}

fn result(rest: &str) -> Option<FirstBootResult> {
    let rest = rest.strip_prefix("result=")?;
    let mut fields = rest.split_whitespace();
    let result = fields.next()?.to_string();
    let (mut docker, mut plugin) = (String::new(), String::new());
    for f in fields {
        if let Some(v) = f.strip_prefix("docker=") {
            docker = v.to_string();
        } else if let Some(v) = f.strip_prefix("plugin=") {
            plugin = v.to_string();
        }
    }
    Some(FirstBootResult {
        result,
        docker,
        plugin,
    })
}

/// Where a first-boot line's text starts: at the start of the line, or right after the
/// `ident[pid]: ` journald puts on what it forwards to the console (behind its timestamp,
/// and maybe behind a login prompt that has no newline). A line that only quotes one
/// (another program printing the journal) is not first boot's.
fn firstboot_text(line: &str) -> Option<&str> {
    let at = line.find(FIRSTBOOT_PREFIX)?;
    let head = &line[..at];
    let forwarded = head.ends_with("]: ")
        && head
            .split_whitespace()
            .last()
            .and_then(|w| w.strip_suffix("]:"))
            .and_then(|w| w.split_once('['))
            .is_some_and(|(ident, pid)| {
                !ident.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
            });
    (head.trim().is_empty() || forwarded).then(|| &line[at + FIRSTBOOT_PREFIX.len()..])
}

/// What a cleaned console line means.
pub fn classify(line: &str) -> Line {
    if let Some(rest) = firstboot_text(line) {
        return match result(rest) {
            Some(r) => Line::Result(r),
            None => Line::FirstBoot(rest.to_string()),
        };
    }
    if let Some((_, meaning)) = CANNOT_BOOT.iter().find(|(m, _)| line.contains(m)) {
        return Line::CannotBoot(line.trim().to_string(), meaning);
    }
    Line::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_removed_and_control_bytes_dropped() {
        assert_eq!(
            clean(b"\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001\r"),
            "BdsDxe: loading Boot0001"
        );
        assert_eq!(clean(b"a\x07b\x1b(Bc\x00d"), "abcd");
        assert_eq!(clean("é ok".as_bytes()), "é ok");
    }

    #[test]
    fn first_boot_lines_and_its_result() {
        assert_eq!(
            classify(
                "[   12.3] photon-fleet-firstboot[486]: photon-fleet-firstboot: hostname dh-01"
            ),
            Line::FirstBoot("hostname dh-01".into())
        );
        let Line::Result(r) =
            classify("photon-fleet-firstboot: result=ok docker=active plugin=enabled")
        else {
            panic!("not a result line")
        };
        assert!(r.ready());
        let Line::Result(r) =
            classify("photon-fleet-firstboot: result=failed docker=active plugin=missing")
        else {
            panic!("not a result line")
        };
        assert!(!r.ready());
        assert_eq!(r.plugin, "missing");
        let Line::Result(r) =
            classify("photon-fleet-firstboot: result=already-done docker=inactive plugin=enabled")
        else {
            panic!("not a result line")
        };
        assert!(!r.ready(), "docker not running is not a working host");
    }

    #[test]
    fn journal_forwarded_lines_count_quoted_ones_do_not() {
        assert_eq!(
            classify("[   31.177883] photon-fleet-firstboot[486]: photon-fleet-firstboot: loaded vmw_vmci"),
            Line::FirstBoot("loaded vmw_vmci".into())
        );
        assert_eq!(
            classify("photon-fleet-firstboot[486]: photon-fleet-firstboot: done"),
            Line::FirstBoot("done".into())
        );
        assert_eq!(
            classify("dh-01 login: [   33.71] photon-fleet-firstboot[565]: photon-fleet-firstboot: already done"),
            Line::FirstBoot("already done".into()),
            "behind a login prompt without a newline"
        );
        assert_eq!(
            classify("[   45.03] lab-report[699]: lab-report: firstboot.journal=photon-fleet-firstboot: result=ok docker=active plugin=enabled"),
            Line::Other
        );
        assert_eq!(classify("echo photon-fleet-firstboot: done"), Line::Other);
    }

    #[test]
    fn firmware_and_kernel_giving_up_is_seen() {
        for l in [
            "BdsDxe: No bootable option or device was found.",
            "Shell> ",
            "2.0 Shell> ",
            "[    3.1] Kernel panic - not syncing: VFS: Unable to mount root fs",
            "You are in emergency mode. After logging in, type \"journalctl -xb\"",
        ] {
            assert!(
                matches!(classify(&clean(l.as_bytes())), Line::CannotBoot(..)),
                "{l}"
            );
        }
        assert_eq!(classify("Booting `Photon'"), Line::Other);
    }
}
