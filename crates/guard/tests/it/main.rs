//! sigil-guard, black-box: a fake issuer (discovery and JWKS on 127.0.0.1:0, counting every
//! JWKS fetch) and a small API behind the guard's layers, driven over HTTP; time from a manual
//! clock. The end-to-end tests against a real Sigil are in `examples/messages-api`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod build;
mod issuer;
mod keys;
mod scopes;
mod validation;
