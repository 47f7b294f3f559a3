//! HTTP GET for JWK Sets and OpenID Connect discovery documents, bounded in time and size.
//!
//! TLS is rustls on aws-lc-rs, with the platform's trust store. Proxies from the usual
//! environment variables (`HTTPS_PROXY`, `NO_PROXY`, …) are honoured.

use std::io::Read;
use std::time::Duration;

use anyhow::{Context, bail};

/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The largest body accepted. A JWK Set of a hundred RSA-4096 keys is well under this.
const MAX_BODY: u64 = 1024 * 1024;

/// Whether `text` names an http(s) URL rather than a file.
pub(crate) fn is_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Fetches `url` and returns its body. Any status other than 2xx is an error.
pub(crate) fn get(url: &str) -> anyhow::Result<Vec<u8>> {
    let client = reqwest::blocking::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("sigil/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot start the HTTP client")?;
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .map_err(|e| unreachable_error(url, &e))?;
    let status = response.status();
    if !status.is_success() {
        bail!("GET {url} answered HTTP {status}; check the URL");
    }
    if response.content_length().is_some_and(|len| len > MAX_BODY) {
        bail!("GET {url} answered with more than {MAX_BODY} bytes; that is not a key set");
    }
    let mut body = Vec::new();
    response
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|e| anyhow::anyhow!("cannot read the answer from {url}: {e}"))?;
    if body.len() as u64 > MAX_BODY {
        bail!("GET {url} answered with more than {MAX_BODY} bytes; that is not a key set");
    }
    Ok(body)
}

/// One line for a request that got no answer, naming the root cause ("Connection refused")
/// rather than reqwest's outer "error sending request".
fn unreachable_error(url: &str, e: &reqwest::Error) -> anyhow::Error {
    if e.is_timeout() {
        return anyhow::anyhow!(
            "cannot reach {url}: no answer within {} s; check the URL and the network",
            TIMEOUT.as_secs()
        );
    }
    if e.is_builder() {
        return anyhow::anyhow!("{url} is not a usable URL: {}", root_cause(e));
    }
    anyhow::anyhow!(
        "cannot reach {url}: {}; check the URL and that the server is running",
        root_cause(e)
    )
}

fn root_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
