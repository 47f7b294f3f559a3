//! Access tokens that name no API: opaque to the client and good only at `/userinfo`, as
//! Auth0's. Like Auth0's they are JWE compact serializations (RFC 7516 §7.1) with `alg: dir`
//! and `enc: A256GCM` (RFC 7518 §4.5, §5.3) under a key derived from the master key, so any node
//! can open any other node's without a database lookup, and nobody else can read or forge one.
//!
//! Written here rather than taken from a JOSE crate: only this one fixed shape is ever made or
//! accepted (no algorithm negotiation, no key management modes), which is a few lines on
//! aws-lc-rs's AES-GCM, while the JWE crates bring other crypto libraries and every mode.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::{Rng, UnixTime};

const B64: base64_simd::Base64 = base64_simd::URL_SAFE_NO_PAD;

/// What an opaque access token says: whose it is, for which client, which scopes, until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserinfoGrant {
    /// The user.
    pub sub: String,
    /// The client it was issued to.
    pub azp: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
    /// The custom claims post-login set on the ID token, which `/userinfo` answers too (as
    /// Auth0's), already filtered by Auth0's custom-claim rules.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
}

/// Why an opaque token is refused (said to the caller in `error_description`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserinfoTokenError {
    /// Not one of ours: wrong shape, header, key or tampered.
    #[error("the access token is not valid")]
    Invalid,
    /// Ours, but expired.
    #[error("the access token has expired")]
    Expired,
}

/// The key opaque access tokens are sealed with.
pub struct UserinfoKey {
    key: LessSafeKey,
    /// The protected header, base64url, which is also the AEAD's additional data.
    header: String,
}

impl std::fmt::Debug for UserinfoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserinfoKey([redacted])")
    }
}

impl UserinfoKey {
    /// The key for tokens of `issuer` from 32 secret bytes.
    pub fn new(bytes: &Zeroizing<[u8; 32]>, issuer: &str) -> Self {
        let header = serde_json::json!({ "alg": "dir", "enc": "A256GCM", "iss": issuer });
        // An AES-256 key is any 32 bytes; `new` fails only for a wrong length.
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(&AES_256_GCM, bytes.as_ref()).expect("32-byte AES key");
        UserinfoKey {
            key: LessSafeKey::new(unbound),
            header: B64.encode_to_string(header.to_string()),
        }
    }

    /// The compact JWE carrying `grant`.
    pub fn seal(&self, rng: &dyn Rng, grant: &UserinfoGrant) -> Result<String, String> {
        let mut iv = [0u8; NONCE_LEN];
        rng.fill(&mut iv);
        let mut data = serde_json::to_vec(grant).map_err(|e| e.to_string())?;
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(self.header.as_bytes()),
                &mut data,
            )
            .map_err(|_| "AES-GCM sealing failed".to_owned())?;
        Ok(format!(
            "{}..{}.{}.{}",
            self.header,
            B64.encode_to_string(iv),
            B64.encode_to_string(&data),
            B64.encode_to_string(tag.as_ref())
        ))
    }

    /// What `token` says, if this key sealed it and it has not expired at `now`.
    pub fn open(&self, token: &str, now: UnixTime) -> Result<UserinfoGrant, UserinfoTokenError> {
        let invalid = |_| UserinfoTokenError::Invalid;
        let mut parts = token.split('.');
        let (Some(header), Some(""), Some(iv), Some(data), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(UserinfoTokenError::Invalid);
        };
        // Only the header this key writes is accepted, byte for byte.
        if header != self.header {
            return Err(UserinfoTokenError::Invalid);
        }
        let iv: [u8; NONCE_LEN] = B64
            .decode_to_vec(iv)
            .map_err(invalid)?
            .try_into()
            .map_err(|_| UserinfoTokenError::Invalid)?;
        let mut sealed = B64.decode_to_vec(data).map_err(invalid)?;
        sealed.extend(B64.decode_to_vec(tag).map_err(invalid)?);
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(iv),
                Aad::from(self.header.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| UserinfoTokenError::Invalid)?;
        let grant: UserinfoGrant =
            serde_json::from_slice(plain).map_err(|_| UserinfoTokenError::Invalid)?;
        if grant.exp <= now.0 {
            return Err(UserinfoTokenError::Expired);
        }
        Ok(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemRng;

    fn grant() -> UserinfoGrant {
        UserinfoGrant {
            sub: "auth0|1".into(),
            azp: "client".into(),
            scope: "openid email".into(),
            iat: 100,
            exp: 200,
            claims: Map::new(),
        }
    }

    #[test]
    fn sealed_tokens_open_only_with_their_key_intact_and_in_time() {
        let key = UserinfoKey::new(&Zeroizing::new([7; 32]), "https://id.example/");
        let token = key.seal(&SystemRng, &grant()).unwrap();
        assert_eq!(token.split('.').count(), 5);
        assert_eq!(key.open(&token, UnixTime(150)), Ok(grant()));
        assert_eq!(
            key.open(&token, UnixTime(200)),
            Err(UserinfoTokenError::Expired)
        );

        let other_key = UserinfoKey::new(&Zeroizing::new([8; 32]), "https://id.example/");
        let other_issuer = UserinfoKey::new(&Zeroizing::new([7; 32]), "https://other.example/");
        for opener in [&other_key, &other_issuer] {
            assert_eq!(
                opener.open(&token, UnixTime(150)),
                Err(UserinfoTokenError::Invalid)
            );
        }
        // Any one character changed anywhere is refused.
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            if changed != token {
                assert!(key.open(&changed, UnixTime(150)).is_err(), "byte {i}");
            }
        }
        for junk in [
            "",
            "a.b.c",
            "....",
            &format!("{token}."),
            &token.replacen("..", ".x.", 1),
        ] {
            assert_eq!(
                key.open(junk, UnixTime(150)),
                Err(UserinfoTokenError::Invalid),
                "{junk}"
            );
        }
    }
}
