//! Auth0's per-endpoint limits on the Authentication API (sigil-core's `rate_limit::USERINFO`,
//! `PASSWORD_RESET`, passwordless's `START_LIMIT`): each answer of a limited endpoint carries
//! `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset`, and a spent bucket is
//! answered 429 `too_many_requests`. The buckets are the store's (`Store::take_rate_limit`), so
//! the nodes of a cluster share them.

use axum::http::{HeaderMap, HeaderValue};
use sigil_core::rate_limit::{RateLimit, RateVerdict};
use sigil_core::{Store, StoreError};

use crate::App;

/// Takes one request from the bucket `key` of shape `limit`.
pub(crate) async fn take<S: Store>(
    app: &App<S>,
    key: &str,
    limit: RateLimit,
) -> Result<RateVerdict, StoreError> {
    let now_ms = app.now_ms();
    let taken = app.store().take_rate_limit(key, limit, now_ms).await?;
    Ok(limit.verdict(taken, now_ms))
}

/// Writes `verdict` as Auth0's three headers.
pub(crate) fn headers(headers: &mut HeaderMap, verdict: &RateVerdict) {
    for (name, value) in [
        ("x-ratelimit-limit", i64::from(verdict.limit)),
        ("x-ratelimit-remaining", i64::from(verdict.remaining)),
        ("x-ratelimit-reset", verdict.reset),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}
