//! Fetching the issuer's discovery document and JWKS over HTTP, with a timeout and a size cap.

use std::time::Duration;

use serde::Deserialize;
use sigil_jose::{KeyKind, KeySet};

use crate::error::GuardError;

/// The largest discovery document or JWKS read. Auth0's JWKS is about 3 KiB.
const MAX_DOCUMENT: usize = 256 * 1024;

/// Where the keys come from.
#[derive(Debug)]
pub(crate) struct Remote {
    http: reqwest::Client,
    pub(crate) jwks_url: String,
}

impl Remote {
    pub(crate) fn new(http: reqwest::Client, jwks_url: String) -> Self {
        Remote { http, jwks_url }
    }

    /// The key set, with every key it holds that can verify a signature. A document with no
    /// usable key is an error, so the last good keys stay in use.
    pub(crate) async fn keys(&self) -> Result<KeySet, GuardError> {
        let body = get(&self.http, &self.jwks_url).await?;
        key_set(&body, &self.jwks_url)
    }
}

/// The keys of a JWK Set document that can verify signatures (others are skipped, RFC 7517 §5).
/// A document with none is an error, so the last good keys stay in use; so is one holding a
/// shared secret, which a published key set must never do.
pub(crate) fn key_set(document: &[u8], url: &str) -> Result<KeySet, GuardError> {
    let bad = |reason: String| GuardError::Jwks {
        url: url.to_owned(),
        reason,
    };
    let (keys, skipped) =
        KeySet::from_jwks(document).map_err(|e| bad(format!("is not usable: {e}")))?;
    for key in &skipped {
        tracing::debug!(kid = ?key.kid, reason = %key.reason, "JWKS key skipped");
    }
    if keys.keys().iter().any(|k| k.kind() == KeyKind::Oct) {
        return Err(bad(
            "publishes a shared secret (kty oct); a public key set must hold public keys only"
                .to_owned(),
        ));
    }
    if keys.is_empty() {
        return Err(bad(format!(
            "has no key that can verify signatures ({} skipped)",
            skipped.len()
        )));
    }
    Ok(keys)
}

/// An HTTP client for the issuer: bounded time, no cookies, a few redirects at most.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, GuardError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("sigil-guard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| GuardError::Config(format!("cannot build the HTTP client: {e}")))
}

/// OpenID Connect Discovery 1.0 §4: the issuer's metadata, of which the guard needs two members.
/// Returns the issuer as the document states it and its `jwks_uri`.
///
/// The document must name the configured issuer (§4.3). The one difference forgiven is a
/// trailing slash, which people drop when they type an issuer (`https://tenant.auth0.com`):
/// the document's spelling then wins, since that is what tokens carry.
pub(crate) async fn discover(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<(String, String), GuardError> {
    #[derive(Deserialize)]
    struct Metadata {
        issuer: String,
        jwks_uri: String,
    }
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let body = get(http, &url).await?;
    let bad = |reason: String| GuardError::Discovery {
        url: url.clone(),
        reason,
    };
    let metadata: Metadata = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("is not OpenID Connect discovery metadata: {e}")))?;
    let same = metadata.issuer == issuer
        || metadata.issuer.trim_end_matches('/') == issuer.trim_end_matches('/');
    if !same {
        return Err(bad(format!(
            "names the issuer {:?}, not {issuer:?}; configure the issuer exactly as tokens carry it",
            metadata.issuer
        )));
    }
    if reqwest::Url::parse(&metadata.jwks_uri).is_err() {
        return Err(bad(format!(
            "has a jwks_uri that is not a URL: {:?}",
            metadata.jwks_uri
        )));
    }
    Ok((metadata.issuer, metadata.jwks_uri))
}

/// GETs `url`, expecting 200 and at most [`MAX_DOCUMENT`] bytes.
async fn get(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, GuardError> {
    let failed = |reason: String| GuardError::Fetch {
        url: url.to_owned(),
        reason,
    };
    let mut response = http
        .get(url)
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| failed(describe(&e)))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(failed(format!("it answered {}", response.status())));
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_DOCUMENT as u64)
    {
        return Err(failed(format!("it is larger than {MAX_DOCUMENT} bytes")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(describe(&e)))? {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(failed(format!("it is larger than {MAX_DOCUMENT} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest's error with its causes, which is where "connection refused" lives.
fn describe(e: &reqwest::Error) -> String {
    // The outer message repeats the URL, which the caller already names.
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if causes.is_empty() {
        e.to_string()
    } else {
        causes.join(": ")
    }
}
