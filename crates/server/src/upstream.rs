//! Calls to other identity providers: their discovery documents, keys, token endpoints and
//! UserInfo. One HTTP client (rustls on aws-lc-rs) that follows no redirects and uses no proxy
//! from the environment; every call has a time limit and a size cap per document, and at most
//! [`CONCURRENT_CALLS`] run at once, so a slow upstream cannot tie up the server. Every URL
//! was checked by core's `UrlPolicy` before it got here (https, or http to loopback when the
//! operator allows it).
//!
//! What the documents must say is decided in `sigil_core::federation`; this module only
//! fetches them. Upstream error texts are logged (bounded), never shown to anyone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde_json::{Map, Value};
use sigil_core::federation::metadata::MAX_DISCOVERY_DOCUMENT;
use sigil_core::federation::settings::TokenAuth;
use sigil_core::federation::{Discovery, Policy, ProviderMetadata, Settings};
use sigil_jose::KeySet;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Longest one call may take.
const CALL_TIME: Duration = Duration::from_secs(5);
const CONNECT_TIME: Duration = Duration::from_secs(3);
/// Upstream calls in flight at once, across all logins.
pub(crate) const CONCURRENT_CALLS: usize = 64;
/// The largest key set read.
const MAX_JWKS: usize = 256 * 1024;
/// The largest token response read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;
/// The largest UserInfo response read.
const MAX_USERINFO: usize = 256 * 1024;
/// How long fetched keys are used before they are read again.
const KEYS_TTL: Duration = Duration::from_secs(3600);
/// The least time between two reads of one key set when a token names an unknown key (a
/// token cannot make Sigil hammer the upstream).
const KEYS_COOL_DOWN: Duration = Duration::from_secs(30);
const USER_AGENT: &str = "Sigil";
/// How much of an upstream's error text is logged.
const LOGGED_TEXT: usize = 200;

/// Why a call to an upstream failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    /// It could not be reached, or did not answer in time.
    #[error("cannot reach {0}: {1}")]
    Unreachable(String, String),
    /// Too many calls are in flight.
    #[error("too many upstream calls at once")]
    Busy,
    /// It answered with an error status.
    #[error("{url} answered {status}: {text}")]
    Status {
        /// What was called.
        url: String,
        /// Its status.
        status: u16,
        /// The start of its answer, for the log.
        text: String,
    },
    /// The answer was larger than allowed.
    #[error("{0} answered more than {1} bytes")]
    TooLarge(String, usize),
    /// The answer is not what it should be.
    #[error("{0}")]
    Malformed(String),
}

/// The tokens an upstream's token endpoint gave.
pub(crate) struct TokenSet {
    pub(crate) access_token: Option<String>,
    pub(crate) id_token: Option<String>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) expires_in: Option<i64>,
}

impl TokenSet {
    /// What Sigil keeps of these tokens in the user's identity.
    pub(crate) fn tokens(&self) -> sigil_core::federation::account::UpstreamTokens {
        sigil_core::federation::account::UpstreamTokens {
            access_token: self.access_token.clone(),
            refresh_token: self.refresh_token.clone(),
            expires_in: self.expires_in,
        }
    }
}

struct CachedKeys {
    json: Arc<Vec<u8>>,
    fetched: Instant,
}

/// The server's calls to upstreams, and what it keeps of them.
pub(crate) struct Upstreams {
    client: reqwest::Client,
    /// Where calls are counted (none outside a server: `sigil connections create`).
    metrics: Option<Arc<crate::metrics::Metrics>>,
    permits: Semaphore,
    policy: RwLock<Arc<Policy>>,
    keys: Mutex<HashMap<String, CachedKeys>>,
}

fn bounded(text: &str) -> String {
    text.chars()
        .take(LOGGED_TEXT)
        .filter(|c| !c.is_control())
        .collect()
}

impl Upstreams {
    pub(crate) fn new(metrics: Option<Arc<crate::metrics::Metrics>>) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIME)
            .timeout(CALL_TIME)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Upstreams {
            client,
            metrics,
            permits: Semaphore::new(CONCURRENT_CALLS),
            policy: RwLock::new(Arc::new(Policy::default())),
            keys: Mutex::new(HashMap::new()),
        })
    }

    /// What the operator decided about upstreams.
    pub(crate) fn policy(&self) -> Arc<Policy> {
        self.policy
            .read()
            .map_or_else(|p| Arc::clone(p.get_ref()), |p| Arc::clone(&p))
    }

    pub(crate) fn set_policy(&self, policy: Policy) {
        match self.policy.write() {
            Ok(mut p) => *p = Arc::new(policy),
            Err(mut p) => **p.get_mut() = Arc::new(policy),
        }
    }

    /// Sends `request` (a `call` of the kind the metrics name), and reads at most `cap` bytes
    /// of a 2xx answer; counts the outcome.
    async fn call(
        &self,
        call: &'static str,
        request: reqwest::RequestBuilder,
        url: &str,
        cap: usize,
    ) -> Result<Vec<u8>, UpstreamError> {
        let outcome = self.send(request, url, cap).await;
        if let Some(metrics) = &self.metrics {
            let result = match &outcome {
                Ok(_) => "ok",
                Err(UpstreamError::Unreachable(..)) => "unreachable",
                Err(UpstreamError::Busy) => "busy",
                Err(UpstreamError::Status { .. }) => "status",
                Err(UpstreamError::TooLarge(..)) => "too_large",
                Err(UpstreamError::Malformed(_)) => "malformed",
            };
            metrics.upstream_call(call, result);
        }
        outcome
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
        cap: usize,
    ) -> Result<Vec<u8>, UpstreamError> {
        let _permit = self
            .permits
            .try_acquire()
            .map_err(|_| UpstreamError::Busy)?;
        let unreachable =
            |e: reqwest::Error| UpstreamError::Unreachable(url.to_owned(), e.to_string());
        let mut response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        if response
            .content_length()
            .is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX))
        {
            return Err(UpstreamError::TooLarge(url.to_owned(), cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > cap {
                return Err(UpstreamError::TooLarge(url.to_owned(), cap));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(UpstreamError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
                text: bounded(&String::from_utf8_lossy(&body)),
            });
        }
        Ok(body)
    }

    async fn get(
        &self,
        call: &'static str,
        url: &str,
        cap: usize,
    ) -> Result<Vec<u8>, UpstreamError> {
        let request = self
            .client
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        self.call(call, request, url, cap).await
    }

    /// The upstream's metadata, read from its discovery document and checked.
    pub(crate) async fn discover(&self, discovery: &Discovery) -> Result<ProviderMetadata, String> {
        let url = discovery.url.as_str();
        let document = self
            .get("discovery", url, MAX_DISCOVERY_DOCUMENT)
            .await
            .map_err(|e| e.to_string())?;
        ProviderMetadata::from_discovery(&document, discovery.issuer.as_deref(), self.policy().urls)
            .map_err(|e| format!("the discovery document at {url} {e}"))
    }

    /// The key set at `jwks_uri`: the cached one unless it is stale, or unless `refresh` asks
    /// again (a token named a key it lacks) and the last read is old enough.
    pub(crate) async fn keys(
        &self,
        jwks_uri: &str,
        refresh: bool,
    ) -> Result<KeySet, UpstreamError> {
        let cached = self.keys.lock().ok().and_then(|keys| {
            keys.get(jwks_uri).and_then(|c| {
                let age = c.fetched.elapsed();
                let wanted = if refresh {
                    age < KEYS_COOL_DOWN
                } else {
                    age < KEYS_TTL
                };
                wanted.then(|| Arc::clone(&c.json))
            })
        });
        let json = match cached {
            Some(json) => json,
            None => {
                let json = Arc::new(self.get("keys", jwks_uri, MAX_JWKS).await?);
                if let Ok(mut keys) = self.keys.lock() {
                    keys.insert(
                        jwks_uri.to_owned(),
                        CachedKeys {
                            json: Arc::clone(&json),
                            fetched: Instant::now(),
                        },
                    );
                }
                json
            }
        };
        KeySet::from_jwks(&json)
            .map(|(set, _skipped)| set)
            .map_err(|e| UpstreamError::Malformed(format!("the key set at {jwks_uri}: {e}")))
    }

    /// Exchanges `code` at the upstream's token endpoint (RFC 6749 §4.1.3), with the
    /// connection's client `secret` and the PKCE verifier.
    pub(crate) async fn exchange(
        &self,
        settings: &Settings,
        secret: &str,
        code: &str,
        verifier: Option<&str>,
        redirect_uri: &str,
    ) -> Result<TokenSet, UpstreamError> {
        let url = settings.metadata.token_endpoint.as_str();
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        let mut request = self
            .client
            .post(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        match settings.token_auth {
            TokenAuth::Post => {
                form.push(("client_id", &settings.client_id));
                form.push(("client_secret", secret));
            }
            TokenAuth::Basic => {
                // RFC 6749 §2.3.1: each part form-encoded before Basic.
                let encode = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                request = request.basic_auth(encode(&settings.client_id), Some(encode(secret)));
            }
        }
        let body = serde_urlencoded::to_string(&form)
            .map_err(|e| UpstreamError::Malformed(e.to_string()))?;
        let request = request
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body(body);
        let answer = self.call("token", request, url, MAX_TOKEN_RESPONSE).await?;
        let json: Map<String, Value> = serde_json::from_slice(&answer)
            .or_else(|_| {
                // Some OAuth 2.0 providers answer in form encoding.
                serde_urlencoded::from_bytes::<Vec<(String, String)>>(&answer).map(|pairs| {
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect()
                })
            })
            .map_err(|_| UpstreamError::Malformed(format!("{url} answered no token response")))?;
        if let Some(error) = json.get("error").and_then(Value::as_str) {
            return Err(UpstreamError::Status {
                url: url.to_owned(),
                status: 200,
                text: bounded(error),
            });
        }
        let text = |name: &str| {
            json.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let expires_in = match json.get("expires_in") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        Ok(TokenSet {
            access_token: text("access_token"),
            id_token: text("id_token"),
            refresh_token: text("refresh_token"),
            expires_in,
        })
    }

    /// The user's claims at UserInfo (OIDC Core §5.3), or at a provider's own user API
    /// (GitHub's `/user`), with the upstream access token.
    pub(crate) async fn userinfo(
        &self,
        endpoint: &str,
        access_token: &str,
    ) -> Result<Map<String, Value>, UpstreamError> {
        match self.api(endpoint, access_token).await? {
            Value::Object(map) => Ok(map),
            _ => Err(UpstreamError::Malformed(format!(
                "{endpoint} answered no JSON object"
            ))),
        }
    }

    /// A JSON document of a provider's API (GitHub's `/user/emails`), read with the upstream
    /// access token.
    pub(crate) async fn api(
        &self,
        endpoint: &str,
        access_token: &str,
    ) -> Result<Value, UpstreamError> {
        let request = self
            .client
            .get(endpoint)
            .bearer_auth(access_token)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        let answer = self
            .call("userinfo", request, endpoint, MAX_USERINFO)
            .await?;
        serde_json::from_slice(&answer)
            .map_err(|_| UpstreamError::Malformed(format!("{endpoint} answered no JSON")))
    }
}
