//! The integration tests of `sigil-jose`, in one binary (STYLE.md, habit 9).
//!
//! Every test here guards one protection of the crate and fails if that protection is removed:
//! the Wycheproof JWS and JWK vectors, the published RFC examples, the Wycheproof primitive
//! vectors run through Sigil's own key path, a table of known JWT attacks, and property tests
//! over every algorithm. Time is always a parameter ([`sigil_jose::UnixTime`]); nothing sleeps.

// clippy.toml allows `expect` inside `#[test]` functions; the helpers that build test data here
// are test code too, and a panic with its message is how they report bad data.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod attacks;
mod primitives;
mod properties;
mod rfc_vectors;
mod support;
mod wycheproof_jwk;
mod wycheproof_jws;
