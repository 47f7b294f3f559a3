//! `sigil-guard`: bearer-token validation for Rust APIs, against Sigil or any OpenID Connect
//! issuer (Auth0 included), as `express-oauth2-jwt-bearer` does for Express.
//!
//! A [`Guard`] is configured with the issuer and the API's audience. It discovers the issuer's
//! `jwks_uri`, fetches the keys once, keeps them parsed, refreshes them in the background,
//! refetches on an unknown `kid` at most once per cool-down, and keeps serving with the last
//! good keys while the issuer is down. Every token is checked by `sigil-jose`: the algorithm
//! allow-list (asymmetric only), the signature, `iss` exactly, `aud` holding the API,
//! `exp`/`nbf` with leeway, `typ` `JWT` or `at+jwt` (strict mode: RFC 9068).
//!
//! With the `axum` feature (on by default), [`Guard::layer`] protects routes and answers as
//! RFC 6750 §3 says: no token → 401 with a bare `Bearer realm="…"` challenge, a bad token →
//! 401 `invalid_token`, a valid token without the needed scope → 403 `insufficient_scope` with
//! `scope="…"`, each with the same error in a JSON body. Never a 500 for a bad token.
//!
//! The optional token cache ([`GuardBuilder::token_cache`]) remembers verified tokens by their
//! SHA-256, for at most their own lifetime; `benches/validate.rs` and `scripts/bench-guard`
//! measure what it saves.
#![warn(missing_docs)]

mod bearer;
mod cache;
mod claims;
mod clock;
mod error;
mod guard;
mod jwks;
#[cfg(feature = "axum")]
mod layer;

pub use bearer::bearer_token;
pub use claims::{Claims, Requirement, Scope};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{GuardError, Rejection};
pub use guard::{DEFAULT_ALGORITHMS, Guard, GuardBuilder};
#[cfg(feature = "axum")]
pub use layer::{
    Auth, GuardLayer, GuardService, Refusal, RequireLayer, RequirePermission, RequireScope,
    RequireService,
};
pub use sigil_jose::{Algorithm, UnixTime};
