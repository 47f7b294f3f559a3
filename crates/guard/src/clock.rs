//! What "now" is for the guard: token expiry, the JWKS refresh schedule and the unknown-`kid`
//! cool-down all read the clock given here, so tests move time instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use sigil_jose::UnixTime;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now, in Unix seconds.
    fn now(&self) -> UnixTime;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place the guard reads the wall clock.
    fn now(&self) -> UnixTime {
        UnixTime::from(std::time::SystemTime::now())
    }
}

/// A clock that only moves when told to, for tests.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: UnixTime) -> Self {
        ManualClock(AtomicI64::new(at.0))
    }

    /// Moves the clock `seconds` forward (or back, if negative).
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: UnixTime) {
        self.0.store(at.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}
