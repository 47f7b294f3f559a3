//! Small helpers shared by the test modules: base64url, hand-made tokens, raw HMAC.
//!
//! Attack tokens are built here byte by byte, without `sigil-jose`, so that a bug in the
//! crate's own encoder cannot hide a bug in its decoder.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// Unpadded base64url, as JWS uses it.
pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Unpadded base64 in the standard alphabet (`+` and `/`), which JWS forbids.
pub(crate) fn b64_standard(bytes: impl AsRef<[u8]>) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url; panics on bad input (test data is fixed).
pub(crate) fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// HMAC-SHA-256 of `input` under `key`, computed with aws-lc-rs directly.
pub(crate) fn hmac_sha256(key: &[u8], input: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), input)
        .as_ref()
        .to_vec()
}

/// `b64(header) "." b64(payload)`: the JWS signing input of two JSON texts.
pub(crate) fn signing_input(header: &str, payload: &str) -> String {
    format!("{}.{}", b64(header), b64(payload))
}

/// A compact token whose HS256 signature under `key` is correct.
pub(crate) fn hs256_token(key: &[u8], header: &str, payload: &str) -> String {
    signed_hs256(key, signing_input(header, payload))
}

/// Appends a correct HS256 signature under `key` to an arbitrary signing input.
pub(crate) fn signed_hs256(key: &[u8], signing_input: String) -> String {
    let tag = hmac_sha256(key, signing_input.as_bytes());
    format!("{signing_input}.{}", b64(tag))
}
