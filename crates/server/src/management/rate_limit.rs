//! Per-client rate limits on the Management API, as Auth0's: a token bucket per client (the
//! token's `azp`, or its `sub`) of [`LIMIT`], `x-ratelimit-limit`, `x-ratelimit-remaining` and
//! `x-ratelimit-reset` on every answer, 429 when the bucket is empty.
//!
//! The buckets live in the store (`Store::take_rate_limit`, one conditional upsert per request;
//! see sigil-core's `rate_limit`), so with several nodes behind a balancer the limit holds for
//! the tenant as a whole, not once per node. Time comes from the app's clock, in
//! milliseconds.

use sigil_core::Store;
use sigil_core::rate_limit::{RateLimit, RateVerdict};

use super::error::MgmtError;
use crate::App;

/// Requests a client may make at once (100), and how many come back each second (50).
pub(crate) const LIMIT: RateLimit = RateLimit::per_second(100, 50);

/// Counts one request of the caller whose bucket is `key`, in the store every node shares.
pub(crate) async fn check<S: Store>(app: &App<S>, key: &str) -> Result<RateVerdict, MgmtError> {
    let now_ms = app.now_ms();
    let taken = app
        .store()
        .take_rate_limit(&format!("mgmt:{key}"), LIMIT, now_ms)
        .await
        .map_err(MgmtError::from)?;
    Ok(LIMIT.verdict(taken, now_ms))
}
