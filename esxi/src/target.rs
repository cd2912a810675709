//! Which hosts to work on: `[user@]host[:port]`, from flags, a hosts file or fleet.toml.

use crate::{Error, Result};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Target {
    pub user: String,
    pub host: String,
    pub port: u16,
}

impl Target {
    /// Parses `[user@]host[:port]` (IPv6 as `[addr]:port`); `user` is the default user.
    pub fn parse(spec: &str, user: &str) -> Result<Self> {
        let spec = spec.trim();
        let (u, rest) = match spec.rsplit_once('@') {
            Some((u, r)) => (u.to_string(), r),
            None => (user.to_string(), spec),
        };
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, tail) = r
                .split_once(']')
                .ok_or_else(|| Error::Input(format!("host '{spec}': missing ']'")))?;
            (h.to_string(), tail.strip_prefix(':'))
        } else if rest.matches(':').count() > 1 {
            return Err(Error::Input(format!(
                "host '{spec}': more than one ':' (an IPv6 address goes in brackets: [addr]:port)"
            )));
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (rest.to_string(), None),
            }
        };
        let port = match port {
            None if rest.ends_with(']') || !rest.starts_with('[') => 22,
            None => {
                return Err(Error::Input(format!(
                    "host '{spec}': text after ']' (expected [addr]:port)"
                )))
            }
            Some(p) => p.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                Error::Input(format!("host '{spec}': port '{p}' is not a number 1-65535"))
            })?,
        };
        let ok = |c: char| c.is_ascii_alphanumeric() || "-._:".contains(c);
        if host.is_empty() || !host.chars().all(ok) {
            return Err(Error::Input(format!(
                "host '{spec}': not a host name or address"
            )));
        }
        if u.is_empty()
            || !u
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        {
            return Err(Error::Input(format!("host '{spec}': bad user name '{u}'")));
        }
        Ok(Self {
            user: u,
            host,
            port,
        })
    }

    /// The name known_hosts uses: `host`, or `[host]:port` off port 22.
    pub fn known_hosts_name(&self) -> String {
        if self.port == 22 {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.port == 22 {
            write!(f, "{}", self.host)
        } else if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Where a host spec came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A command-line flag or a fleet.toml list: empty is an error.
    Given,
    /// A line of a hosts file: `#` comments and blank lines are skipped.
    File { path: &'a str, line: usize },
}

/// Parses every spec, dropping repeats but keeping the first-seen order. A bad line of a
/// hosts file is reported with the file and the line number.
pub fn collect<'a>(
    specs: impl IntoIterator<Item = (&'a str, Source<'a>)>,
    user: &str,
) -> Result<Vec<Target>> {
    let mut out: Vec<Target> = Vec::new();
    for (spec, from) in specs {
        let t = match from {
            Source::Given if spec.trim().is_empty() => {
                return Err(Error::Input("host '': empty host name".into()))
            }
            Source::Given => Target::parse(spec, user)?,
            Source::File { path, line } => {
                let text = spec.split('#').next().unwrap_or("").trim();
                if text.is_empty() {
                    continue;
                }
                Target::parse(text, user)
                    .map_err(|e| Error::Input(format!("{path} line {line}: {e}")))?
            }
        };
        if !out.iter().any(|o| o.host == t.host && o.port == t.port) {
            out.push(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_host_port_and_dedupes() {
        let t = Target::parse("admin@esx1.lab:2222", "root").unwrap();
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port),
            ("admin", "esx1.lab", 2222)
        );
        assert_eq!(t.known_hosts_name(), "[esx1.lab]:2222");
        let t = Target::parse("10.0.0.5", "root").unwrap();
        assert_eq!((t.user.as_str(), t.port), ("root", 22));
        assert_eq!(t.known_hosts_name(), "10.0.0.5");
        assert_eq!(
            Target::parse("[fe80::1]:23", "root").unwrap().host,
            "fe80::1"
        );
        let file = |line| Source::File {
            path: "hosts.txt",
            line,
        };
        let all = collect(
            [
                ("esx1", Source::Given),
                ("root@esx1:22", file(1)),
                ("# comment", file(2)),
                ("", file(3)),
                ("esx2:2200 # lab", file(4)),
            ],
            "root",
        )
        .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].port, 2200);
        let bad = |spec: &str| Target::parse(spec, "root").unwrap_err().to_string();
        for spec in [
            "esx1:0",
            "esx1:http",
            "@esx1",
            "es x1",
            "esx1;rm",
            "u@h:22:33",
        ] {
            assert!(bad(spec).starts_with(&format!("host '{spec}'")), "{spec}");
        }
        assert!(bad("u@h:22:33").contains("more than one ':'"));
        assert!(bad("fe80::1").contains("brackets"));
        assert!(bad("[fe80::1]x").contains("[addr]:port"));
        assert_eq!(Target::parse("[fe80::1]", "root").unwrap().port, 22);
        let e = collect([("", Source::Given)], "root").unwrap_err();
        assert_eq!(e.to_string(), "host '': empty host name");
        let e = collect([("ok", file(1)), ("h:1:2", file(2))], "root").unwrap_err();
        assert!(
            e.to_string().starts_with("hosts.txt line 2: host 'h:1:2'"),
            "{e}"
        );
    }
}
