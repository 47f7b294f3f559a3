//! Per-client rate limits on the Management API, as Auth0's: a token bucket per client (the
//! token's `azp`, or its `sub`), `x-ratelimit-limit`, `x-ratelimit-remaining` and
//! `x-ratelimit-reset` on every answer, 429 when the bucket is empty.
//!
//! Buckets live in the node's memory: with several nodes behind a balancer, each enforces the
//! limit on what it sees. Time comes from the app's clock, in whole seconds.

use std::collections::HashMap;
use std::sync::Mutex;

/// Requests a client may make at once (the bucket's size).
pub(crate) const BURST: u32 = 100;
/// Requests added back to a bucket each second.
pub(crate) const PER_SECOND: u32 = 50;
/// Buckets kept at most; full buckets are forgotten first when there are more.
const MAX_BUCKETS: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: u32,
    at: i64,
}

/// What the headers say after a request was counted (or refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) allowed: bool,
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// When the bucket will be full again, Unix seconds.
    pub(crate) reset: i64,
}

#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Counts one request of `client` at `now`.
    pub(crate) fn check(&self, client: &str, now: i64) -> Verdict {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(client) {
            buckets.retain(|_, b| refilled(*b, now).tokens < BURST);
        }
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket {
            tokens: BURST,
            at: now,
        });
        *bucket = refilled(*bucket, now);
        let allowed = bucket.tokens > 0;
        if allowed {
            bucket.tokens -= 1;
        }
        let missing = i64::from(BURST - bucket.tokens);
        Verdict {
            allowed,
            limit: BURST,
            remaining: bucket.tokens,
            reset: now + (missing + i64::from(PER_SECOND) - 1) / i64::from(PER_SECOND),
        }
    }
}

fn refilled(bucket: Bucket, now: i64) -> Bucket {
    let elapsed = u64::try_from(now.saturating_sub(bucket.at)).unwrap_or(0);
    let added = elapsed.saturating_mul(u64::from(PER_SECOND));
    let tokens = u64::from(bucket.tokens)
        .saturating_add(added)
        .min(u64::from(BURST));
    Bucket {
        tokens: u32::try_from(tokens).unwrap_or(BURST),
        at: now.max(bucket.at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_refills_with_time() {
        let limiter = RateLimiter::default();
        for i in 0..BURST {
            let v = limiter.check("a", 100);
            assert!(v.allowed);
            assert_eq!(v.remaining, BURST - 1 - i);
        }
        let refused = limiter.check("a", 100);
        assert!(!refused.allowed);
        assert_eq!((refused.remaining, refused.reset), (0, 102));
        assert!(
            limiter.check("b", 100).allowed,
            "each client has its own bucket"
        );
        assert!(
            limiter.check("a", 101).allowed,
            "a second later, PER_SECOND more"
        );
        assert_eq!(limiter.check("a", 103).remaining, BURST - 1, "full again");
    }
}
