//! The one place the `sigil` binary reads the wall clock.
//!
//! Everything else takes the time as a parameter ([`UnixTime`]), so that `--at` and the tests
//! can say what "now" is (see STYLE.md, habit 6).

use std::time::SystemTime;

use sigil_jose::UnixTime;

/// The current time. Commands call this once, in `main`, when no `--at` was given.
// The clippy ban on `SystemTime::now` keeps time a parameter; this is the boundary where a
// command-line tool has to ask the operating system what time it is.
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> UnixTime {
    UnixTime::from(SystemTime::now())
}
