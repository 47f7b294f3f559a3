//! The storage contract, run against every backend: SQLite always, PostgreSQL when
//! `SIGIL_TEST_DATABASE_URL` is set (`scripts/with-postgres cargo test` sets it).

// Helpers fail the test by panicking, as assertions do; clippy's allow-expect-in-tests covers
// only `#[test]` functions, not the helpers they share.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod backends;
mod fixtures;

mod actions;
mod atomic;
mod connections;
mod durability;
mod federation;
mod full_disk;
mod login_failures;
mod mail;
mod mfa;
mod model;
mod passwordless;
mod purge;
mod rate_limits;
mod retry;
mod scale;
mod schema;
