//! Where tenant code may reach out to: the egress allow-lists of Actions' `fetch` (and, later,
//! of anything else the server fetches for a tenant), and the addresses that are never
//! reachable without the operator's say-so.
//!
//! Two lists must both allow a host: the operator's ([`Egress`], a server flag, which may
//! also open private networks by CIDR) and the tenant's ([`HostPattern`]s, a tenant setting).
//! Both are empty by default, so nothing leaves the server until both say so. Whatever the
//! lists say, an address that is not public (loopback, private, link-local such as a cloud's
//! metadata service, …) is refused unless one of the operator's networks holds it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

/// A host an allow-list lets through: `api.example.com`, `*.example.com` (its subdomains,
/// not itself), or `*` (any host). Over HTTPS only, unless written `http://host` (then both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern {
    host: Host,
    plain_http: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    Any,
    Exact(String),
    /// `.example.com`: what a name must end with.
    Subdomains(String),
}

/// Why an allow-list entry is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a host pattern: give a host name (api.example.com), *.domain, or *, \
     optionally after http:// to allow plain HTTP"
)]
pub struct PatternError(pub String);

impl FromStr for HostPattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || PatternError(text.to_owned());
        let trimmed = text.trim();
        let (plain_http, rest) = match trimmed.strip_prefix("http://") {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix("https://").unwrap_or(trimmed)),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest).to_ascii_lowercase();
        let host = if rest == "*" {
            Host::Any
        } else if let Some(domain) = rest.strip_prefix("*.") {
            Host::Subdomains(format!(".{}", name(domain).ok_or_else(bad)?))
        } else {
            Host::Exact(name(&rest).ok_or_else(bad)?.to_owned())
        };
        Ok(HostPattern { host, plain_http })
    }
}

/// `text` when it is a host name or an IP address (as a URL writes it), nothing else.
fn name(text: &str) -> Option<&str> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && (text.parse::<IpAddr>().is_ok()
            || (text.starts_with('[') && text.ends_with(']'))
            || text.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }));
    ok.then_some(text)
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.plain_http {
            f.write_str("http://")?;
        }
        match &self.host {
            Host::Any => f.write_str("*"),
            Host::Exact(host) => f.write_str(host),
            Host::Subdomains(suffix) => write!(f, "*{suffix}"),
        }
    }
}

impl HostPattern {
    /// Whether a request with `scheme` to `host` (as a URL gives it, lowercase) is let through.
    pub fn allows(&self, scheme: &str, host: &str) -> bool {
        let scheme_ok = scheme == "https" || (scheme == "http" && self.plain_http);
        scheme_ok
            && match &self.host {
                Host::Any => true,
                Host::Exact(exact) => exact == host,
                Host::Subdomains(suffix) => host.ends_with(suffix.as_str()),
            }
    }
}

/// The patterns of a tenant's list, each checked: the first entry that is not one refuses the
/// whole list.
pub fn parse_patterns<S: AsRef<str>>(list: &[S]) -> Result<Vec<HostPattern>, PatternError> {
    list.iter().map(|entry| entry.as_ref().parse()).collect()
}

/// Whether `patterns` let a request with `scheme` to `host` through.
pub fn allowed_by(patterns: &[HostPattern], scheme: &str, host: &str) -> bool {
    patterns.iter().any(|p| p.allows(scheme, host))
}

/// The operator's allow-list (`sigil serve --actions-egress`): the hosts tenant code may ever
/// reach, and the networks it may reach although they are not public.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Egress {
    /// The hosts.
    pub hosts: Vec<HostPattern>,
    /// Networks opened although not public (e.g. `10.1.0.0/16` for an internal API).
    pub networks: Vec<IpNet>,
}

impl FromStr for Egress {
    type Err = PatternError;

    /// A comma-separated list of host patterns and CIDR blocks (`*.example.com,10.1.0.0/16`);
    /// empty for none.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut egress = Egress::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.parse::<IpNet>() {
                Ok(network) => egress.networks.push(network),
                Err(_) => egress.hosts.push(entry.parse()?),
            }
        }
        Ok(egress)
    }
}

impl Egress {
    /// Whether a request with `scheme` to `host` is let through by the operator.
    pub fn allows_host(&self, scheme: &str, host: &str) -> bool {
        allowed_by(&self.hosts, scheme, host)
    }

    /// Whether `address` may be connected to: a public one, or one in the operator's networks.
    pub fn allows_address(&self, address: IpAddr) -> bool {
        is_public(address) || self.networks.iter().any(|n| n.contains(&address))
    }
}

/// Whether `address` is on the public internet: not loopback, private (RFC 1918, `fc00::/7`),
/// shared (CGNAT), link-local (cloud metadata at 169.254.169.254), unspecified, multicast,
/// broadcast, reserved or for documentation. An IPv4 address inside IPv6 counts as itself.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, o2, _] = a.octets();
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_multicast()
        || a.is_broadcast()
        || a.is_documentation()
        || o0 == 0
        || (o0 == 100 && (64..128).contains(&o1)) // 100.64.0.0/10, shared (CGNAT)
        || (o0 == 192 && o1 == 0 && o2 == 0) // 192.0.0.0/24, protocol assignments
        || (o0 == 198 && (o1 == 18 || o1 == 19)) // 198.18.0.0/15, benchmarking
        || o0 >= 240) // 240.0.0.0/4, reserved
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7, unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10, link-local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10, site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // 2001:db8::/32, documentation
        || (s[0] == 0x0064 && s[1] == 0xff9b) // 64:ff9b::/96, NAT64: may reach anything
        || (s[0] == 0x2002) // 2002::/16, 6to4: may reach anything
        || s[..6] == [0; 6]) // ::/96 and the IPv4-compatible addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_allow_what_they_name_over_https_unless_http_is_written() {
        let cases = [
            ("api.example.com", "https", "api.example.com", true),
            ("api.example.com", "http", "api.example.com", false),
            ("http://api.example.com", "http", "api.example.com", true),
            ("https://API.example.com/", "https", "api.example.com", true),
            ("api.example.com", "https", "evil-api.example.com", false),
            ("*.example.com", "https", "a.b.example.com", true),
            ("*.example.com", "https", "example.com", false),
            ("*.example.com", "https", "badexample.com", false),
            ("*", "https", "anything.test", true),
            ("*", "http", "anything.test", false),
            ("http://*", "http", "anything.test", true),
            ("127.0.0.1", "https", "127.0.0.1", true),
        ];
        for (pattern, scheme, host, allowed) in cases {
            let parsed: HostPattern = pattern.parse().unwrap();
            assert_eq!(
                parsed.allows(scheme, host),
                allowed,
                "{pattern} {scheme}://{host}"
            );
        }
        for bad in ["", "*.", "a b", "https://x/y", "ftp://x", "*.*", "x..y"] {
            assert!(bad.parse::<HostPattern>().is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            "http://*.Example.com"
                .parse::<HostPattern>()
                .unwrap()
                .to_string(),
            "http://*.example.com"
        );
    }

    #[test]
    fn only_public_addresses_are_reachable_unless_the_operator_opens_a_network() {
        let refused = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "2001:db8::1",
            "::127.0.0.1",
        ];
        let operator: Egress = "*,10.1.0.0/16".parse().unwrap();
        for address in refused {
            let ip: IpAddr = address.parse().unwrap();
            assert!(!is_public(ip), "{address} counted as public");
        }
        for address in [
            "93.184.215.14",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(address.parse().unwrap()), "{address} refused");
        }
        assert!(operator.allows_address("10.1.200.3".parse().unwrap()));
        assert!(!operator.allows_address("10.2.0.1".parse().unwrap()));
        assert_eq!(operator.hosts.len(), 1);
        assert!("api.example.com, ,10.0.0.0/8".parse::<Egress>().is_ok());
        assert!("api.example.com,not a host".parse::<Egress>().is_err());
        assert_eq!("".parse::<Egress>().unwrap(), Egress::default());
    }
}
