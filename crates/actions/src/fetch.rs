//! Actions' `fetch`: outbound HTTP under the egress policy (`notes/actions.md` §5.4). A host
//! must be in both the operator's list and the tenant's; the name is resolved here and only
//! its allowed addresses are handed to the connection, so what was checked is what is
//! dialled (no DNS rebinding); every redirect hop is checked again; each request has time and
//! size caps, no cookies, no proxy from the environment.
//!
//! Each worker thread has a [`Net`]: a current-thread tokio runtime that the execution drives
//! while its JavaScript waits (see `outside.rs`), and an HTTP client made for that runtime.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use sigil_core::egress::{Egress, HostPattern, allowed_by};
use tokio::time::Instant;
use url::Url;

/// Longest one request may take (less when the execution has less left).
pub(crate) const REQUEST_TIME: Duration = Duration::from_secs(5);
const CONNECT_TIME: Duration = Duration::from_secs(2);
/// Largest response body read.
pub(crate) const RESPONSE_BYTES: usize = 1 << 20;
/// Largest request body sent.
pub(crate) const REQUEST_BYTES: usize = 256 << 10;
/// Redirects followed, at most.
const HOPS: usize = 5;
const USER_AGENT: &str = "Sigil-Actions";

/// A worker thread's network: where its requests run, and its client.
pub(crate) struct Net {
    pub(crate) runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    operator: Arc<Egress>,
}

impl Net {
    /// A network under the operator's `egress` policy.
    pub(crate) fn new(egress: Arc<Egress>) -> std::io::Result<Net> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIME)
            .user_agent(USER_AGENT)
            .dns_resolver(Arc::new(Resolver {
                operator: Arc::clone(&egress),
            }))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Net {
            runtime,
            client,
            operator: egress,
        })
    }

    /// `request`, for the tenant whose list is `tenant`, within `deadline`: run as a task of
    /// this network's runtime.
    pub(crate) fn request(
        &self,
        request: Request,
        tenant: Arc<Vec<HostPattern>>,
        deadline: Instant,
    ) -> impl Future<Output = Result<Reply, String>> + Send + 'static {
        let (client, operator) = (self.client.clone(), Arc::clone(&self.operator));
        async move {
            let wait = REQUEST_TIME.min(deadline.saturating_duration_since(Instant::now()));
            match tokio::time::timeout(wait, send(&client, &operator, &tenant, request)).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer within {} ms", wait.as_millis())),
            }
        }
    }
}

/// What an Action asked for.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
    /// `follow`, `manual` (the redirect is the answer) or `error`.
    pub(crate) redirect: String,
}

/// What came back.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) status_text: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) redirected: bool,
}

/// The host of `url` if the policy lets a request to it through, else why not.
pub(crate) fn check(url: &Url, operator: &Egress, tenant: &[HostPattern]) -> Result<(), String> {
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(format!("{scheme}: URLs cannot be fetched"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a URL with credentials cannot be fetched".to_owned());
    }
    let Some(host) = url.host_str() else {
        return Err("the URL has no host".to_owned());
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if !operator.allows_host(scheme, host) {
        return Err(format!(
            "{scheme}://{host} is not in the server's egress allow-list (sigil serve --actions-egress)"
        ));
    }
    if !allowed_by(tenant, scheme, host) {
        return Err(format!(
            "{scheme}://{host} is not in the tenant's egress allow-list (tenant setting actions_egress)"
        ));
    }
    if let Ok(address) = host.parse::<IpAddr>()
        && !operator.allows_address(address)
    {
        return Err(format!("address not allowed: {address} is not public"));
    }
    Ok(())
}

async fn send(
    client: &reqwest::Client,
    operator: &Egress,
    tenant: &[HostPattern],
    request: Request,
) -> Result<Reply, String> {
    let mut url = Url::parse(&request.url).map_err(|e| format!("invalid URL: {e}"))?;
    let mut method = Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("{} is not an HTTP method", request.method))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{name:?} is not a header name"))?;
        let value =
            HeaderValue::from_str(value).map_err(|_| format!("the header {name} is not valid"))?;
        // The client keeps no cookies; none are sent on the Action's behalf either.
        if name != COOKIE {
            headers.append(name, value);
        }
    }
    let mut body = request.body;
    if body.as_ref().is_some_and(|b| b.len() > REQUEST_BYTES) {
        return Err(format!(
            "the request body is larger than {} KiB",
            REQUEST_BYTES >> 10
        ));
    }
    for hop in 0..=HOPS {
        check(&url, operator, tenant)?;
        let mut builder = client
            .request(method.clone(), url.clone())
            .headers(headers.clone());
        if let Some(body) = &body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await.map_err(|e| failure(&e))?;
        let status = response.status();
        if status.is_redirection()
            && request.redirect != "manual"
            && let Some(location) = response.headers().get(LOCATION)
        {
            if request.redirect == "error" {
                return Err("the response is a redirect and redirect is 'error'".to_owned());
            }
            if hop == HOPS {
                return Err(format!("more than {HOPS} redirects"));
            }
            let next = location
                .to_str()
                .ok()
                .and_then(|l| url.join(l).ok())
                .ok_or("the redirect's Location is not a URL")?;
            // As browsers do: 303, and 301/302 after a POST, turn into a GET without a body.
            if status == StatusCode::SEE_OTHER
                || ((status == StatusCode::MOVED_PERMANENTLY || status == StatusCode::FOUND)
                    && method == Method::POST)
            {
                if method != Method::HEAD {
                    method = Method::GET;
                }
                body = None;
            }
            // Credentials stay with the origin they were meant for (the fetch standard).
            if next.origin() != url.origin() {
                headers.remove(AUTHORIZATION);
            }
            url = next;
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| failure(&e))? {
            if bytes.len() + chunk.len() > RESPONSE_BYTES {
                return Err(format!(
                    "the response body is larger than {} MiB",
                    RESPONSE_BYTES >> 20
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(Reply {
            status: status.as_u16(),
            status_text: status.canonical_reason().unwrap_or_default().to_owned(),
            url: url.to_string(),
            headers: response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: bytes,
            redirected: hop > 0,
        });
    }
    Err(format!("more than {HOPS} redirects"))
}

/// A request's failure, in words, with the cause (a refused address says so).
fn failure(e: &reqwest::Error) -> String {
    let mut text = if e.is_connect() {
        "cannot connect".to_owned()
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let said = cause.to_string();
        if said.starts_with("address not allowed") {
            return said;
        }
        text = format!("{text}: {said}");
        source = cause.source();
    }
    text
}

/// Resolves names for the client, keeping only the addresses the operator allows: the
/// connection dials only those, so the address checked is the address used.
struct Resolver {
    operator: Arc<Egress>,
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let operator = Arc::clone(&self.operator);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| operator.allows_address(a.ip()))
                .collect();
            if allowed.is_empty() {
                let refused = all.first().map(|a| a.ip().to_string()).unwrap_or_default();
                return Err(format!(
                    "address not allowed: {host} resolves to {refused}, which is not public"
                )
                .into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}
