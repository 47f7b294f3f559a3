//! messages-api against a real Sigil: the authorization server runs in-process on 127.0.0.1:0
//! over a fresh SQLite database and issues tokens at its token endpoint; the API runs on
//! 127.0.0.1:0 behind sigil-guard, which discovers Sigil's JWKS over HTTP. Two manual clocks,
//! one for Sigil and one for the API, so expiry and refresh are tested by moving time.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod api;
mod binary;
mod keys;
mod routes;
mod sigil;
mod tokens;
