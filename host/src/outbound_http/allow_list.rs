//! Allow-list patterns (declared hosts and operator grants) in the syntax
//! operators know from Spin: `scheme://host[:port]`, with `*` for any scheme
//! or host, a `*.` prefix for subdomains, `:*` for any port, the scheme's
//! default port when none is given, and no paths.
//!
//! The same type describes what a connector declares and what an operator
//! grants; a request must match both.

use serde::{Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;
use thiserror::Error;
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SchemeMatch {
    Http,
    Https,
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostMatch {
    /// `*`: any host.
    Any,
    /// An exact, lower-cased host name.
    Name(String),
    /// `*.example.com`: any strict subdomain of `example.com`.
    Subdomain(String),
    /// An IP address literal. Naming an address this way is also what
    /// permits a private or loopback destination (see `address_policy`).
    Ip(IpAddr),
    /// `{tenant}.example.com`: a template filled from a connection field.
    /// Only meaningful in a connector's declaration.
    Template(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortMatch {
    SchemeDefault,
    Exact(u16),
    Any,
}

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPattern {
    pub scheme: SchemeMatch,
    pub host: HostMatch,
    pub port: PortMatch,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PatternError {
    #[error("{entry:?}: scheme must be http, https or *")]
    Scheme { entry: String },
    #[error("{entry:?}: allow-list entries name hosts, not paths; remove {path:?}")]
    Path { entry: String, path: String },
    #[error("{entry:?}: {reason}")]
    Host { entry: String, reason: String },
    #[error("{entry:?}: port must be a number from 1 to 65535 or *")]
    Port { entry: String },
}

impl HostPattern {
    /// Parse `scheme://host[:port]`.
    pub fn parse(entry: &str) -> Result<Self, PatternError> {
        let trimmed = entry.trim();
        let (scheme, rest) = trimmed
            .split_once("://")
            .ok_or_else(|| PatternError::Scheme {
                entry: entry.to_string(),
            })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if !path.is_empty() && path != "/" {
            return Err(PatternError::Path {
                entry: entry.to_string(),
                path: path.to_string(),
            });
        }
        let (host, port) = split_host_port(authority);
        let port = match port {
            None => PortMatch::SchemeDefault,
            Some("*") => PortMatch::Any,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => PortMatch::Exact(p),
                _ => {
                    return Err(PatternError::Port {
                        entry: entry.to_string(),
                    });
                }
            },
        };
        Self::from_parts(scheme, host, port).map_err(|reason| match reason {
            PartError::Scheme => PatternError::Scheme {
                entry: entry.to_string(),
            },
            PartError::Host(reason) => PatternError::Host {
                entry: entry.to_string(),
                reason,
            },
        })
    }

    /// Build from the structured form a connector's manifest carries.
    pub(crate) fn from_parts(scheme: &str, host: &str, port: PortMatch) -> Result<Self, PartError> {
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => SchemeMatch::Http,
            "https" => SchemeMatch::Https,
            "*" => SchemeMatch::Any,
            _ => return Err(PartError::Scheme),
        };
        let host = parse_host(host).map_err(PartError::Host)?;
        Ok(HostPattern { scheme, host, port })
    }

    /// Does this pattern allow `url`? Template hosts never match directly;
    /// call [`HostPattern::instantiate`] first.
    pub fn matches(&self, url: &Url) -> bool {
        let scheme_ok = match self.scheme {
            SchemeMatch::Any => matches!(url.scheme(), "http" | "https"),
            SchemeMatch::Http => url.scheme() == "http",
            SchemeMatch::Https => url.scheme() == "https",
        };
        if !scheme_ok {
            return false;
        }
        let Some(port) = url.port_or_known_default() else {
            return false;
        };
        let port_ok = match self.port {
            PortMatch::Any => true,
            PortMatch::Exact(p) => p == port,
            PortMatch::SchemeDefault => Some(port) == default_port(url.scheme()),
        };
        if !port_ok {
            return false;
        }
        match (&self.host, url.host()) {
            (HostMatch::Any, Some(_)) => true,
            (HostMatch::Name(name), Some(url::Host::Domain(d))) => d.eq_ignore_ascii_case(name),
            (HostMatch::Subdomain(parent), Some(url::Host::Domain(d))) => {
                let d = d.to_ascii_lowercase();
                d.len() > parent.len() + 1
                    && d.ends_with(parent.as_str())
                    && d.as_bytes()[d.len() - parent.len() - 1] == b'.'
            }
            (HostMatch::Ip(ip), Some(url::Host::Ipv4(v4))) => *ip == IpAddr::V4(v4),
            (HostMatch::Ip(ip), Some(url::Host::Ipv6(v6))) => *ip == IpAddr::V6(v6),
            _ => false,
        }
    }

    /// Fill a `{field}` template from a connection's non-secret fields. The
    /// value must be a single DNS label, so a connection can point the
    /// connector at `acme.example.com` but never widen it to another domain.
    /// Returns `None` when a field is missing or unfit.
    pub fn instantiate(&self, fields: &serde_json::Value) -> Option<HostPattern> {
        let HostMatch::Template(template) = &self.host else {
            return Some(self.clone());
        };
        let mut out = String::new();
        let mut rest = template.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}')? + start;
            let value = fields.get(&rest[start + 1..end])?.as_str()?;
            let label_ok = !value.is_empty()
                && value.len() <= 63
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !label_ok {
                return None;
            }
            out.push_str(&value.to_ascii_lowercase());
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Some(HostPattern {
            scheme: self.scheme.clone(),
            host: HostMatch::Name(out),
            port: self.port,
        })
    }
}

pub(crate) enum PartError {
    Scheme,
    Host(String),
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        // [v6]:port
        if let Some(end) = rest.find(']') {
            let host = &authority[..end + 2];
            let port = authority[end + 2..].strip_prefix(':');
            return (host, port);
        }
        return (authority, None);
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    }
}

fn parse_host(host: &str) -> Result<HostMatch, String> {
    let host = host.trim().to_ascii_lowercase();
    if host.is_empty() {
        return Err("host is empty".into());
    }
    if host == "*" {
        return Ok(HostMatch::Any);
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6
            .parse()
            .map(HostMatch::Ip)
            .map_err(|_| format!("{host:?} is not an IPv6 address"));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(HostMatch::Ip(ip));
    }
    if host.contains('{') {
        let balanced = host.matches('{').count() == host.matches('}').count();
        if !balanced || host.contains('*') {
            return Err(format!("{host:?} is not a valid host template"));
        }
        return Ok(HostMatch::Template(host));
    }
    let (wildcard, name) = match host.strip_prefix("*.") {
        Some(parent) => (true, parent),
        None => (false, host.as_str()),
    };
    let valid = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !valid {
        return Err(format!(
            "{host:?} is not a host name (use *.example.com for subdomains, * for any host)"
        ));
    }
    Ok(if wildcard {
        HostMatch::Subdomain(name.to_string())
    } else {
        HostMatch::Name(name.to_string())
    })
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            SchemeMatch::Http => "http",
            SchemeMatch::Https => "https",
            SchemeMatch::Any => "*",
        };
        write!(f, "{scheme}://")?;
        match &self.host {
            HostMatch::Any => write!(f, "*")?,
            HostMatch::Name(n) | HostMatch::Template(n) => write!(f, "{n}")?,
            HostMatch::Subdomain(n) => write!(f, "*.{n}")?,
            HostMatch::Ip(IpAddr::V4(ip)) => write!(f, "{ip}")?,
            HostMatch::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
        }
        match self.port {
            PortMatch::SchemeDefault => Ok(()),
            PortMatch::Exact(p) => write!(f, ":{p}"),
            PortMatch::Any => write!(f, ":*"),
        }
    }
}

impl Serialize for HostPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A list of patterns; a URL is allowed when any entry matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(pub Vec<HostPattern>);

impl AllowList {
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, PatternError> {
        entries
            .iter()
            .map(|e| HostPattern::parse(e.as_ref()))
            .collect::<Result<_, _>>()
            .map(AllowList)
    }

    pub fn allows(&self, url: &Url) -> bool {
        self.0.iter().any(|p| p.matches(url))
    }

    /// Addresses the list names explicitly, which are the only private,
    /// loopback or link-local destinations it permits.
    pub fn named_ips(&self) -> Vec<IpAddr> {
        self.0
            .iter()
            .filter_map(|p| match p.host {
                HostMatch::Ip(ip) => Some(ip),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    fn allows(pattern: &str, u: &str) -> bool {
        HostPattern::parse(pattern)
            .expect("pattern")
            .matches(&url(u))
    }

    #[test]
    fn exact_host_uses_scheme_default_port() {
        assert!(allows(
            "https://api.example.com",
            "https://api.example.com/v1"
        ));
        assert!(allows(
            "https://api.example.com",
            "https://API.example.com:443/"
        ));
        assert!(!allows(
            "https://api.example.com",
            "https://api.example.com:8443/"
        ));
        assert!(!allows(
            "https://api.example.com",
            "http://api.example.com/"
        ));
        assert!(!allows(
            "https://api.example.com",
            "https://api.example.com.evil.io/"
        ));
    }

    #[test]
    fn wildcards() {
        assert!(allows("https://*.example.com", "https://a.example.com/"));
        assert!(allows("https://*.example.com", "https://a.b.example.com/"));
        assert!(!allows("https://*.example.com", "https://example.com/"));
        assert!(!allows("https://*.example.com", "https://badexample.com/"));
        assert!(allows("*://*:*", "http://anything.io:9999/"));
        assert!(allows("http://127.0.0.1:*", "http://127.0.0.1:4567/x"));
        assert!(!allows("http://127.0.0.1:*", "http://127.0.0.2:4567/x"));
        assert!(allows("http://[::1]:8080", "http://[::1]:8080/"));
    }

    #[test]
    fn rejects_malformed_entries() {
        assert!(matches!(
            HostPattern::parse("api.example.com"),
            Err(PatternError::Scheme { .. })
        ));
        assert!(matches!(
            HostPattern::parse("ftp://x.io"),
            Err(PatternError::Scheme { .. })
        ));
        assert!(matches!(
            HostPattern::parse("https://x.io/path"),
            Err(PatternError::Path { .. })
        ));
        assert!(matches!(
            HostPattern::parse("https://x.io:99999"),
            Err(PatternError::Port { .. })
        ));
        assert!(matches!(
            HostPattern::parse("https://a.*.io"),
            Err(PatternError::Host { .. })
        ));
        assert!(matches!(
            HostPattern::parse("https://"),
            Err(PatternError::Host { .. })
        ));
    }

    #[test]
    fn templates_take_one_label_only() {
        let p = HostPattern::parse("https://{tenant}.example.com").expect("pattern");
        let ok = p
            .instantiate(&serde_json::json!({"tenant": "Acme"}))
            .expect("filled");
        assert!(ok.matches(&url("https://acme.example.com/")));
        assert!(
            p.instantiate(&serde_json::json!({"tenant": "evil.io/x"}))
                .is_none()
        );
        assert!(
            p.instantiate(&serde_json::json!({"tenant": "a.b"}))
                .is_none()
        );
        assert!(p.instantiate(&serde_json::json!({})).is_none());
        assert!(!p.matches(&url("https://acme.example.com/")));
    }

    #[test]
    fn display_round_trips() {
        for e in [
            "https://*.example.com:8443",
            "*://*:*",
            "http://[::1]:80",
            "http://10.0.0.1",
        ] {
            assert_eq!(HostPattern::parse(e).expect("pattern").to_string(), e);
        }
    }
}
