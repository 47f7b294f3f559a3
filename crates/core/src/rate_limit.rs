//! Rate limits that hold across every node sharing a store: a token bucket kept as one number
//! per bucket, the generic cell rate algorithm's "theoretical arrival time" (GCRA, as in ATM's
//! I.371 and Redis' `redis-cell`).
//!
//! A bucket of `burst` requests refilled at `per_second` is the same thing as a time `tat`: the
//! moment the bucket would be full again. A request at `now` is let through when
//! `max(tat, now) + interval - now <= burst × interval`, and then moves `tat` to
//! `max(tat, now) + interval`. Both the test and the move are one conditional upsert
//! ([`Store::take_rate_limit`](crate::Store::take_rate_limit)), so racing nodes never let more
//! through than one node would: there is no per-node copy of the bucket to drift.
//!
//! Times are Unix milliseconds.

/// A bucket's shape: how many requests at once, and how often one more is added back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests let through at once by a full bucket.
    pub burst: u32,
    /// Milliseconds between two requests added back (the emission interval).
    pub refill_ms: i64,
}

/// What the store answers for one request: whether it went through, and the bucket's
/// theoretical arrival time afterwards (Unix milliseconds; unchanged when refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateTaken {
    /// Whether the request was let through (and counted).
    pub allowed: bool,
    /// When the bucket will be full again, Unix milliseconds.
    pub full_at_ms: i64,
}

/// What the answer's headers say after a request was counted (or refused): Auth0's
/// `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateVerdict {
    /// Whether the request was let through.
    pub allowed: bool,
    /// The bucket's size.
    pub limit: u32,
    /// Requests left at once.
    pub remaining: u32,
    /// When the bucket will be full again, Unix seconds (rounded up).
    pub reset: i64,
}

/// Auth0's limit on `/userinfo`, per user: 10 at once, then 5 a minute.
pub const USERINFO: RateLimit = RateLimit {
    burst: 10,
    refill_ms: 12_000,
};

/// Auth0's limit on password-reset requests (`/dbconnections/change_password`, the hosted
/// "forgot password" page), from one address for one email: 10 at once, then 1 a minute.
pub const PASSWORD_RESET: RateLimit = RateLimit {
    burst: 10,
    refill_ms: 60_000,
};

/// The [`USERINFO`] bucket of the user `sub`.
pub fn userinfo_bucket(sub: &str) -> String {
    format!("userinfo:{sub}")
}

/// The [`PASSWORD_RESET`] bucket of requests from `ip` for `email` (in its normalised form, so
/// every spelling of one address shares it).
pub fn password_reset_bucket(ip: &str, email: &str) -> String {
    format!("reset:{ip}:{}", crate::model::user::normalized(email))
}

impl RateLimit {
    /// A bucket of `burst` refilled with `per_second` requests a second.
    pub const fn per_second(burst: u32, per_second: u32) -> Self {
        RateLimit {
            burst,
            refill_ms: 1000
                / if per_second == 0 {
                    1
                } else {
                    per_second as i64
                },
        }
    }

    /// A bucket of `burst` refilled with `per_hour` requests an hour.
    pub const fn per_hour(burst: u32, per_hour: u32) -> Self {
        RateLimit {
            burst,
            refill_ms: 3_600_000 / if per_hour == 0 { 1 } else { per_hour as i64 },
        }
    }

    /// Milliseconds one request costs (the emission interval).
    pub fn interval_ms(self) -> i64 {
        self.refill_ms.max(1)
    }

    /// How far ahead of `now` the bucket's full time may be after a request: the whole bucket.
    pub fn tolerance_ms(self) -> i64 {
        self.interval_ms() * i64::from(self.burst)
    }

    /// The headers' view of what the store answered at `now_ms`.
    pub fn verdict(self, taken: RateTaken, now_ms: i64) -> RateVerdict {
        let ahead = taken.full_at_ms.saturating_sub(now_ms).max(0);
        let left = (self.tolerance_ms() - ahead).max(0) / self.interval_ms();
        RateVerdict {
            allowed: taken.allowed,
            limit: self.burst,
            remaining: u32::try_from(left).unwrap_or(0).min(self.burst),
            reset: taken
                .full_at_ms
                .max(now_ms)
                .saturating_add(999)
                .div_euclid(1000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit::per_second(100, 50);

    #[test]
    fn verdicts_count_down_from_the_burst_and_reset_when_full() {
        for (case, taken, now, want) in [
            ("first request", (true, 100_020), 100_000, (99, 101)),
            ("bucket spent", (true, 102_000), 100_000, (0, 102)),
            ("refused", (false, 102_000), 100_000, (0, 102)),
            ("a second later", (true, 102_020), 101_000, (49, 103)),
            ("full long ago", (false, 5_000), 100_000, (100, 100)),
        ] {
            let v = LIMIT.verdict(
                RateTaken {
                    allowed: taken.0,
                    full_at_ms: taken.1,
                },
                now,
            );
            assert_eq!((v.remaining, v.reset), want, "{case}");
            assert_eq!((v.allowed, v.limit), (taken.0, 100), "{case}");
        }
    }
}
