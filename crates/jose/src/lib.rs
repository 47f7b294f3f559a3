//! `sigil-jose`: keys, JSON Web Signatures and JSON Web Tokens for Sigil, on aws-lc-rs.
//!
//! Pure and synchronous: no I/O, no clock, no async. Keys are parsed once ([`SigningKey`],
//! [`VerifyingKey`]) and reused for every signature.
//!
//! ```
//! use sigil_jose::{Algorithm, KeySet, KeySpec, PrivateKey, SigningKey, UnixTime, Validation, Verifier};
//!
//! let key = SigningKey::new(PrivateKey::generate(KeySpec::P256)?, Algorithm::ES256)?;
//! let token = key.sign(&serde_json::json!({"iss": "https://sigil/", "sub": "auth0|1", "exp": 2_000_000_000}))?;
//!
//! let verifier = Verifier::new(
//!     KeySet::single(key.verifying_key()?),
//!     Validation::new([Algorithm::ES256]).issuer("https://sigil/"),
//! );
//! let verified = verifier.verify::<serde_json::Value>(&token, UnixTime(1_900_000_000))?;
//! assert_eq!(verified.claims["sub"], "auth0|1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod alg;
mod b64;
mod claims;
mod error;
mod header;
mod json;
mod jwk;
mod jws;
mod key;
mod payload;

pub use alg::{Algorithm, AlgorithmError, KeyKind};
pub use claims::{
    MAX_NUMERIC_DATE, RegisteredClaims, TypPolicy, UnixTime, Unverified, Validation, Verified,
    Verifier, insecure_decode,
};
pub use error::{KeyError, SignError, VerifyError};
pub use header::Header;
pub use jwk::{Jwk, JwkSet, PublicJwk};
pub use jws::{DEFAULT_MAX_TOKEN_LEN, KeySet, SigningKey, SkippedKey, VerifyingKey, verify_jws};
pub use key::{KeySpec, PrivateKey, PublicKey, Secret};
