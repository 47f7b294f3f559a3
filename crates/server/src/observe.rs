//! What every request carries and leaves behind: its id, its client's address, a span that
//! every log line written while serving it belongs to, and one line when it is answered.
//!
//! The request id is a trusted proxy's `x-request-id` when it is a plain token of at most 64
//! characters, else 16 random bytes in hex; it goes back in `x-request-id`. The line names the
//! matched route's template (`/api/v2/users/{id}`), never the raw path or query: those carry
//! codes, tickets and email addresses.

use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use sigil_core::Rng;
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::client_ip::{ClientIp, TrustedProxies};
use crate::metrics::Metrics;

/// The header carrying the request id, in and out.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the middleware needs: randomness for new ids and the proxies whose headers count.
#[derive(Clone)]
pub(crate) struct Observer {
    pub(crate) rng: Arc<dyn Rng>,
    pub(crate) proxies: Arc<TrustedProxies>,
    pub(crate) metrics: Arc<Metrics>,
}

/// The middleware: id, address, span, and the request's line.
pub(crate) async fn observe(
    State(observer): State<Observer>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = tokio::time::Instant::now();
    let peer = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let (ip, from_proxy) = match peer {
        Some(peer) => (
            observer.proxies.client_ip(peer, request.headers()),
            observer.proxies.trusts(peer),
        ),
        None => (std::net::IpAddr::from([0, 0, 0, 0]), false),
    };
    let id = from_proxy
        .then(|| request.headers().get(&REQUEST_ID))
        .flatten()
        .and_then(|value| value.to_str().ok())
        .filter(|value| is_token(value))
        .map_or_else(|| new_id(observer.rng.as_ref()), str::to_owned);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", MatchedPath::as_str)
        .to_owned();
    let method = request.method().clone();
    request.extensions_mut().insert(ClientIp(ip));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        ip = %ip,
        method = %method,
        route = %route,
        client_id = Empty,
    );
    async move {
        let mut response = next.run(request).await;
        let status = response.status().as_u16();
        let seconds = started.elapsed().as_secs_f64();
        observer.metrics.request(&route, &method, status, seconds);
        let ms = seconds * 1000.0;
        if status >= 500 {
            tracing::warn!(status, ms, "answered");
        } else {
            tracing::info!(status, ms, "answered");
        }
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        response
    }
    .instrument(span)
    .await
}

/// Names the client a request acts for in the request's log lines, once a handler knows it.
pub(crate) fn record_client(client_id: &str) {
    tracing::Span::current().record("client_id", client_id);
}

/// A request id from elsewhere is used only when it is a short plain token, so that it cannot
/// forge log lines or carry anything large.
fn is_token(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn new_id(rng: &dyn Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    sigil_core::ids::to_hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_taken_from_a_proxy() {
        for (value, ok) in [
            ("abc-123", true),
            ("0f8fad5b-d9cb-469f-a165-70867728950e", true),
            ("", false),
            ("has space", false),
            ("line\nbreak", false),
            ("quote\"", false),
            (&"x".repeat(65), false),
        ] {
            assert_eq!(is_token(value), ok, "{value:?}");
        }
    }
}
