//! Time and randomness, as parameters: the server uses [`SystemClock`] and [`SystemRng`]; tests
//! use [`ManualClock`] and move it instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use sigil_jose::UnixTime;

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    /// The current time, in Unix seconds.
    fn now(&self) -> UnixTime;

    /// The current time, in Unix milliseconds, for what counts within a second (rate limits).
    /// By default [`Clock::now`]'s second, so a manual clock moves it too.
    fn now_ms(&self) -> i64 {
        self.now().0.saturating_mul(1000)
    }
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place the server reads the wall clock.
    fn now(&self) -> UnixTime {
        UnixTime::from(std::time::SystemTime::now())
    }

    #[allow(clippy::disallowed_methods)] // The same wall clock, to the millisecond.
    fn now_ms(&self) -> i64 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
        }
    }
}

/// A clock that stands still until moved: for tests.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: UnixTime) -> Self {
        ManualClock(AtomicI64::new(now.0))
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Sets the clock to `now`.
    pub fn set(&self, now: UnixTime) {
        self.0.store(now.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

/// Where random bytes come from.
pub trait Rng: Send + Sync {
    /// Fills `dest` with cryptographically secure random bytes.
    fn fill(&self, dest: &mut [u8]);
}

/// The operating system's randomness, through AWS-LC.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemRng;

impl Rng for SystemRng {
    fn fill(&self, dest: &mut [u8]) {
        // AWS-LC's RAND_bytes aborts the process rather than report a failure, so the error arm
        // cannot be reached; handing out predictable bytes instead would be the real danger.
        #[allow(clippy::expect_used)]
        aws_lc_rs::rand::fill(dest).expect("AWS-LC's random generator does not fail");
    }
}

/// `t` as an RFC 3339 UTC time, `2026-11-22T10:00:00Z`.
pub fn utc(t: UnixTime) -> String {
    let days = t.0.div_euclid(86_400);
    let rem = t.0.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `t` as Auth0 writes times, with milliseconds: `2026-11-22T10:00:00.000Z`.
pub fn auth0_time(t: UnixTime) -> String {
    let mut text = utc(t);
    text.insert_str(text.len() - 1, ".000");
    text
}

/// `ms` (milliseconds since the epoch) as Auth0 writes times: `2026-11-22T10:00:00.123Z`.
pub fn auth0_time_ms(ms: i64) -> String {
    let seconds = auth0_time(UnixTime(ms.div_euclid(1000)));
    // auth0_time ends in `.000Z`; put the milliseconds in.
    let whole = seconds.trim_end_matches(".000Z");
    format!("{whole}.{:03}Z", ms.rem_euclid(1000))
}

/// Year, month (1–12) and day (1–31) of the day `days` after 1970-01-01 (proleptic Gregorian;
/// Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_rfc3339_and_as_auth0_does() {
        for (t, utc_text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_800_000_000, "2027-01-15T08:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
        ] {
            assert_eq!(utc(UnixTime(t)), utc_text);
        }
        assert_eq!(auth0_time(UnixTime(0)), "1970-01-01T00:00:00.000Z");
    }
}
