//! An upstream OpenID provider's metadata (OpenID Connect Discovery 1.0 §3), from its
//! discovery document or written out in the connection's options, checked before use: the
//! issuer is the one configured, and every URL Sigil will call or send a browser to is https
//! (plain http only to a loopback address, and only when the operator allows it, for tests).

use serde::{Deserialize, Serialize};
use url::{Host, Url};

/// The largest discovery document read (Auth0's own limit on a connection's metadata).
pub const MAX_DISCOVERY_DOCUMENT: usize = 128 * 1024;

/// What Sigil uses of an upstream's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    /// The issuer its ID tokens carry.
    pub issuer: String,
    /// Where the browser is sent to log in.
    pub authorization_endpoint: String,
    /// Where the code is exchanged.
    pub token_endpoint: String,
    /// The claims of the user, for an access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// Its public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Where a browser ends the upstream session (RP-initiated logout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// The PKCE methods it accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
    /// Whether its authorization responses carry `iss` (RFC 9207), which is then checked.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// Why metadata cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Not a JSON object with the members needed.
    #[error("is not OpenID provider metadata: {0}")]
    Malformed(String),
    /// The document names another issuer (Discovery §4.3).
    #[error("names the issuer {found:?}, not {expected:?}")]
    Issuer {
        /// The issuer configured.
        expected: String,
        /// The issuer the document names.
        found: String,
    },
    /// A URL that is not one Sigil may use.
    #[error("{field} {url:?} {why}")]
    Url {
        /// The member.
        field: &'static str,
        /// Its value.
        url: String,
        /// What is wrong.
        why: &'static str,
    },
}

/// Which upstream URLs are allowed: https ones, and http ones to a loopback address when the
/// operator says so (`--federation-allow-http-loopback`, for tests and local development).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Whether `http://` to 127.0.0.0/8, `::1` or `localhost` is allowed.
    pub allow_http_loopback: bool,
}

impl UrlPolicy {
    /// `url` parsed, when it may be used as `field`.
    pub fn check(self, field: &'static str, url: &str) -> Result<Url, MetadataError> {
        let refuse = |why| MetadataError::Url {
            field,
            url: url.to_owned(),
            why,
        };
        let parsed = Url::parse(url).map_err(|_| refuse("is not an absolute URL"))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refuse("must not carry credentials"));
        }
        if parsed.fragment().is_some() {
            return Err(refuse("must not have a fragment"));
        }
        match parsed.scheme() {
            "https" if parsed.host().is_some() => Ok(parsed),
            "http" if is_loopback(&parsed) => {
                if self.allow_http_loopback {
                    Ok(parsed)
                } else {
                    Err(refuse(
                        "uses http; only https is allowed (http to a loopback address needs the \
                         server's --federation-allow-http-loopback)",
                    ))
                }
            }
            _ => Err(refuse("must be an https URL")),
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The discovery document's URL for a connection's `discovery_url`, which Auth0 takes either as
/// the issuer's base or as the full `/.well-known/openid-configuration` URL.
pub fn discovery_url(configured: &str) -> String {
    const WELL_KNOWN: &str = "/.well-known/openid-configuration";
    if configured.trim_end_matches('/').ends_with(WELL_KNOWN) {
        configured.trim_end_matches('/').to_owned()
    } else {
        format!("{}{WELL_KNOWN}", configured.trim_end_matches('/'))
    }
}

/// Whether `a` and `b` name the same issuer, forgiving only a trailing slash (people drop it
/// when they type an issuer; the document's spelling is what tokens carry).
pub fn same_issuer(a: &str, b: &str) -> bool {
    a == b || a.trim_end_matches('/') == b.trim_end_matches('/')
}

impl ProviderMetadata {
    /// A discovery document, checked: at most [`MAX_DISCOVERY_DOCUMENT`] bytes, the issuer
    /// `expected` when one was configured, every URL allowed by `policy`.
    pub fn from_discovery(
        document: &[u8],
        expected: Option<&str>,
        policy: UrlPolicy,
    ) -> Result<Self, MetadataError> {
        if document.len() > MAX_DISCOVERY_DOCUMENT {
            return Err(MetadataError::Malformed(format!(
                "larger than {MAX_DISCOVERY_DOCUMENT} bytes"
            )));
        }
        let metadata: ProviderMetadata = serde_json::from_slice(document)
            .map_err(|e| MetadataError::Malformed(e.to_string()))?;
        if let Some(expected) = expected
            && !same_issuer(expected, &metadata.issuer)
        {
            return Err(MetadataError::Issuer {
                expected: expected.to_owned(),
                found: metadata.issuer,
            });
        }
        metadata.checked(policy)
    }

    /// The metadata, once every URL in it is allowed by `policy` (and a JWKS is given: an
    /// OpenID provider's ID tokens cannot be checked without one).
    pub fn checked(self, policy: UrlPolicy) -> Result<Self, MetadataError> {
        policy.check("authorization_endpoint", &self.authorization_endpoint)?;
        policy.check("token_endpoint", &self.token_endpoint)?;
        for (field, url) in [
            ("userinfo_endpoint", &self.userinfo_endpoint),
            ("jwks_uri", &self.jwks_uri),
            ("end_session_endpoint", &self.end_session_endpoint),
        ] {
            if let Some(url) = url {
                policy.check(field, url)?;
            }
        }
        if self.jwks_uri.is_none() {
            return Err(MetadataError::Malformed("jwks_uri is missing".to_owned()));
        }
        if self.issuer.trim().is_empty() {
            return Err(MetadataError::Malformed("issuer is empty".to_owned()));
        }
        Ok(self)
    }

    /// Whether the upstream takes PKCE with S256.
    pub fn supports_s256(&self) -> bool {
        self.code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(issuer: &str, base: &str) -> Vec<u8> {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{base}/auth"),
            "token_endpoint": format!("{base}/token"),
            "userinfo_endpoint": format!("{base}/me"),
            "jwks_uri": format!("{base}/jwks"),
            "code_challenge_methods_supported": ["S256"],
            "response_types_supported": ["code"],
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn discovery_is_checked_for_its_issuer_and_urls() {
        let strict = UrlPolicy::default();
        let loopback = UrlPolicy {
            allow_http_loopback: true,
        };
        let https = document("https://idp.example.com/", "https://idp.example.com");
        let local = document("http://127.0.0.1:9000", "http://127.0.0.1:9000");
        let elsewhere = document("http://10.0.0.5", "http://10.0.0.5");
        for (case, doc, expected, policy, outcome) in [
            (
                "https, as configured",
                &https,
                Some("https://idp.example.com/"),
                strict,
                Ok(()),
            ),
            (
                "a trailing slash forgiven",
                &https,
                Some("https://idp.example.com"),
                strict,
                Ok(()),
            ),
            ("no issuer configured", &https, None, strict, Ok(())),
            (
                "another issuer",
                &https,
                Some("https://evil.example.com/"),
                strict,
                Err("names the issuer"),
            ),
            ("http to loopback, allowed", &local, None, loopback, Ok(())),
            (
                "http to loopback, not allowed",
                &local,
                None,
                strict,
                Err("uses http"),
            ),
            (
                "http elsewhere",
                &elsewhere,
                None,
                loopback,
                Err("must be an https URL"),
            ),
            (
                "not JSON",
                &b"<html>".to_vec(),
                None,
                strict,
                Err("is not OpenID"),
            ),
        ] {
            let got = ProviderMetadata::from_discovery(doc, expected, policy);
            match (got, outcome) {
                (Ok(m), Ok(())) => assert!(m.supports_s256(), "{case}"),
                (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{case}: {e}"),
                (got, want) => panic!("{case}: {got:?}, wanted {want:?}"),
            }
        }
        let big = vec![b' '; MAX_DISCOVERY_DOCUMENT + 1];
        assert!(ProviderMetadata::from_discovery(&big, None, strict).is_err());
    }

    #[test]
    fn urls_with_credentials_or_fragments_are_refused() {
        let policy = UrlPolicy::default();
        for url in [
            "https://user:pw@idp.example.com/auth",
            "https://idp.example.com/auth#x",
            "ftp://idp.example.com/auth",
            "/auth",
        ] {
            assert!(
                policy.check("authorization_endpoint", url).is_err(),
                "{url}"
            );
        }
        assert!(
            policy
                .check("authorization_endpoint", "https://idp.example.com/a?b=c")
                .is_ok()
        );
    }

    #[test]
    fn discovery_urls_take_a_base_or_the_full_url() {
        for (configured, url) in [
            (
                "https://idp.example.com",
                "https://idp.example.com/.well-known/openid-configuration",
            ),
            (
                "https://idp.example.com/",
                "https://idp.example.com/.well-known/openid-configuration",
            ),
            (
                "https://idp.example.com/t/.well-known/openid-configuration",
                "https://idp.example.com/t/.well-known/openid-configuration",
            ),
        ] {
            assert_eq!(discovery_url(configured), url, "{configured}");
        }
    }
}
