//! Time and randomness, as parameters: the server uses [`SystemClock`] and [`SystemRng`]; tests
//! use [`ManualClock`] and move it instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use sigil_jose::UnixTime;

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    /// The current time, in Unix seconds.
    fn now(&self) -> UnixTime;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place the server reads the wall clock.
    fn now(&self) -> UnixTime {
        UnixTime::from(std::time::SystemTime::now())
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
