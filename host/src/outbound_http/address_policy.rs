//! Which IP addresses a connector may connect to, checked after DNS
//! resolution so that a public-looking name resolving to 127.0.0.1 or the
//! cloud metadata service (SSRF, DNS rebinding) is refused.
//!
//! The check runs inside the HTTP client's resolver, i.e. on the very
//! addresses the connection is then made to, on every redirect hop.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// Addresses that are not on the public internet: loopback, private,
/// link-local (cloud metadata lives at 169.254.169.254), shared carrier
/// NAT, unspecified, multicast, broadcast, documentation and reserved
/// ranges, and their IPv6 equivalents (including IPv4-mapped forms).
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_non_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_non_public_v4(v4);
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (incl. fd00:ec2::254)
                || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || (seg[0] == 0x0064 && seg[1] == 0xff9b) // NAT64, may embed private v4
                || (seg[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
        }
    }
}

fn is_non_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 shared address space
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || o[0] >= 240 // reserved
}

/// The per-grant part of the policy: which non-public addresses the
/// operator named explicitly (as IP literals in the grant).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PermittedPrivate(pub BTreeSet<IpAddr>);

impl PermittedPrivate {
    pub fn permits(&self, ip: IpAddr) -> bool {
        !is_non_public(ip) || self.0.contains(&canonical(ip))
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Static name → address entries consulted before DNS (like /etc/hosts);
/// operators use them for split-horizon names, tests for fake domains.
pub type DnsOverrides = Arc<HashMap<String, Vec<IpAddr>>>;

/// The error the resolver returns for a refused address; found again in
/// the reqwest error's source chain to report "denied" rather than a
/// network failure.
#[derive(Debug)]
pub struct AddressDenied {
    pub host: String,
    pub ip: IpAddr,
}

impl std::fmt::Display for AddressDenied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} resolves to {}, a private, loopback or link-local address; the grant must name {} explicitly to allow it",
            self.host, self.ip, self.ip
        )
    }
}

impl std::error::Error for AddressDenied {}

/// reqwest resolver enforcing a [`PermittedPrivate`] set.
pub struct CheckedResolver {
    pub permitted: PermittedPrivate,
    pub overrides: DnsOverrides,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let permitted = self.permitted.clone();
        let overridden = self.overrides.get(&host).cloned();
        Box::pin(async move {
            let addrs: Vec<IpAddr> = match overridden {
                Some(ips) => ips,
                None => tokio::net::lookup_host((host.as_str(), 0))
                    .await?
                    .map(|sa| sa.ip())
                    .collect(),
            };
            // Refuse the whole answer if any address is refused: connecting
            // to "the public ones only" would let a rebinding answer win on
            // a retry.
            if let Some(&ip) = addrs.iter().find(|ip| !permitted.permits(**ip)) {
                return Err(Box::new(AddressDenied { host, ip })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let iter: reqwest::dns::Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(iter)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn classifies_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "224.0.0.1",
        ] {
            assert!(is_non_public(ip(private)), "{private} should be non-public");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_non_public(ip(public)), "{public} should be public");
        }
    }

    #[test]
    fn named_addresses_are_permitted_also_in_mapped_form() {
        let p = PermittedPrivate([ip("127.0.0.1")].into_iter().collect());
        assert!(p.permits(ip("127.0.0.1")));
        assert!(p.permits(ip("::ffff:127.0.0.1")));
        assert!(!p.permits(ip("127.0.0.2")));
        assert!(p.permits(ip("1.1.1.1")));
    }
}
