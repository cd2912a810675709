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
            (rest.to_string(), None) // a bare IPv6 address
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (rest.to_string(), None),
            }
        };
        let port = match port {
            None => 22,
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

/// Parses every spec (and the lines of hosts files: `#` comments, blank lines skipped),
/// dropping repeats but keeping the first-seen order.
pub fn collect<'a>(specs: impl IntoIterator<Item = &'a str>, user: &str) -> Result<Vec<Target>> {
    let mut out: Vec<Target> = Vec::new();
    for spec in specs {
        let line = spec.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let t = Target::parse(line, user)?;
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
        let all = collect(
            ["esx1", "root@esx1:22", "# comment", "", "esx2:2200 # lab"],
            "root",
        )
        .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].port, 2200);
        for bad in ["esx1:0", "esx1:http", "@esx1", "es x1", "esx1;rm"] {
            assert!(Target::parse(bad, "root").is_err(), "{bad}");
        }
    }
}
