//! Who is calling: the client's address, behind the proxies the operator trusts.
//!
//! The socket's peer is the client unless it is a trusted proxy (`--trusted-proxies`). Only
//! then are `Forwarded` (RFC 7239) or, without it, `X-Forwarded-For` believed, read from the
//! right: each hop a trusted proxy added is skipped, and the first address no trusted proxy
//! vouches for is the client. A client can write anything into those headers; what it wrote
//! sits left of the first untrusted hop, where it is never read.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The networks whose forwarding headers are believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// A `--trusted-proxies` entry that is neither an address nor a CIDR block.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR block (such as 10.0.0.0/8 or ::1)")]
pub struct ProxyListError(String);

impl FromStr for TrustedProxies {
    type Err = ProxyListError;

    /// A comma-separated list of addresses and CIDR blocks; an empty list trusts nobody.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| ProxyListError(entry.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies (an IPv4-mapped IPv6 address counts as its
    /// IPv4 address).
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request that came from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for(headers).unwrap_or_else(|| x_forwarded_for(headers));
        let mut client = peer;
        for hop in hops.iter().rev() {
            // An obfuscated or unknown hop (RFC 7239 §6) ends what can be known: the last
            // trusted proxy is as far back as the chain goes.
            let Some(ip) = hop else { return client };
            client = *ip;
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// The `for=` hops of every `Forwarded` header in order, or `None` when there is none.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    let mut any = false;
    for value in headers.get_all("forwarded") {
        any = true;
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in value.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| value.trim())
            });
            if let Some(node) = node {
                hops.push(node_address(node.trim_matches('"')));
            }
        }
    }
    any.then_some(hops)
}

/// The hops of every `X-Forwarded-For` header in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(value) => value
                .split(',')
                .map(|hop| node_address(hop.trim()))
                .collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// An address from a hop: `192.0.2.1`, `192.0.2.1:8080`, `[2001:db8::1]:8080` or
/// `2001:db8::1`; `None` for `unknown`, obfuscated names and anything else.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    let bracketed = node.strip_prefix('[')?.split(']').next()?;
    bracketed.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The client's address, as [`TrustedProxies::client_ip`] found it for this request (put in
/// the request's extensions by the `observe` middleware).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientIp(pub(crate) IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(ip) = parts.extensions.get::<ClientIp>() {
            return Ok(*ip);
        }
        // Outside the middleware (a router served without it): the socket's peer, or the
        // unspecified address when even that is unknown.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(addr)| {
                addr.ip().to_canonical()
            });
        Ok(ClientIp(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_client_is_the_first_hop_no_trusted_proxy_vouches_for() {
        let trusted: TrustedProxies = "10.0.0.0/8, 127.0.0.1, ::1".parse().unwrap();
        type Case = (
            &'static str,
            &'static [(&'static str, &'static str)],
            &'static str,
        );
        let cases: &[Case] = &[
            // An untrusted peer's headers are ignored.
            (
                "203.0.113.9",
                &[("x-forwarded-for", "1.2.3.4")],
                "203.0.113.9",
            ),
            (
                "203.0.113.9",
                &[("forwarded", "for=1.2.3.4")],
                "203.0.113.9",
            ),
            // A trusted peer: the right-most untrusted hop, never a spoofed one left of it.
            (
                "10.0.0.1",
                &[("x-forwarded-for", "6.6.6.6, 198.51.100.7")],
                "198.51.100.7",
            ),
            (
                "10.0.0.1",
                &[("x-forwarded-for", "198.51.100.7, 10.1.1.1")],
                "198.51.100.7",
            ),
            (
                "10.0.0.1",
                &[
                    ("x-forwarded-for", "198.51.100.7"),
                    ("x-forwarded-for", "10.2.2.2"),
                ],
                "198.51.100.7",
            ),
            // Forwarded wins over X-Forwarded-For; quoted IPv6 with a port; mixed case.
            (
                "127.0.0.1",
                &[
                    ("forwarded", "for=\"[2001:db8::7]:4711\";proto=https"),
                    ("x-forwarded-for", "9.9.9.9"),
                ],
                "2001:db8::7",
            ),
            (
                "::1",
                &[("forwarded", "For=192.0.2.60;proto=http, for=10.0.0.5")],
                "192.0.2.60",
            ),
            // Only trusted hops: the left-most one.
            (
                "10.0.0.1",
                &[("x-forwarded-for", "10.0.0.2, 10.0.0.3")],
                "10.0.0.2",
            ),
            // No header: the proxy itself.
            ("10.0.0.1", &[], "10.0.0.1"),
            // An unknown hop stops the walk at the last trusted address.
            ("10.0.0.1", &[("forwarded", "for=unknown")], "10.0.0.1"),
            (
                "10.0.0.1",
                &[("x-forwarded-for", "garbage, 10.0.0.9")],
                "10.0.0.9",
            ),
            // An IPv4-mapped peer is its IPv4 address.
            (
                "::ffff:10.0.0.1",
                &[("x-forwarded-for", "192.0.2.1:999")],
                "192.0.2.1",
            ),
        ];
        for (peer, pairs, want) in cases {
            let got = trusted.client_ip(peer.parse().unwrap(), &headers(pairs));
            assert_eq!(got.to_string(), *want, "peer {peer} with {pairs:?}");
        }
    }

    #[test]
    fn an_empty_list_trusts_nobody_and_bad_entries_are_named() {
        let nobody: TrustedProxies = "".parse().unwrap();
        let got = nobody.client_ip(
            "127.0.0.1".parse().unwrap(),
            &headers(&[("x-forwarded-for", "1.2.3.4")]),
        );
        assert_eq!(got.to_string(), "127.0.0.1");
        let err = "10.0.0.0/8,not-an-ip"
            .parse::<TrustedProxies>()
            .unwrap_err();
        assert!(err.to_string().contains("\"not-an-ip\""), "{err}");
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
    }
}
