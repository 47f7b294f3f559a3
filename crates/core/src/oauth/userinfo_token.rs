//! Access tokens that name no API: opaque to the client and good only at `/userinfo`, as
//! Auth0's. Like Auth0's they are JWE compact serializations (`super::jwe`, `dir` and
//! `A256GCM`) under a key derived from the master key for them alone.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::jwe::Jwe;
use crate::{Rng, UnixTime};

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
pub struct UserinfoKey(Jwe);

impl std::fmt::Debug for UserinfoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserinfoKey([redacted])")
    }
}

impl UserinfoKey {
    /// The key for tokens of `issuer` from 32 secret bytes.
    pub fn new(bytes: &Zeroizing<[u8; 32]>, issuer: &str) -> Self {
        UserinfoKey(Jwe::new(bytes, &[("iss", issuer)]))
    }

    /// The compact JWE carrying `grant`.
    pub fn seal(&self, rng: &dyn Rng, grant: &UserinfoGrant) -> Result<String, String> {
        self.0.seal(rng, grant)
    }

    /// What `token` says, if this key sealed it and it has not expired at `now`.
    pub fn open(&self, token: &str, now: UnixTime) -> Result<UserinfoGrant, UserinfoTokenError> {
        let grant: UserinfoGrant = self.0.open(token).ok_or(UserinfoTokenError::Invalid)?;
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
