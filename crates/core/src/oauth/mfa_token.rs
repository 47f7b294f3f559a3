//! Auth0's `mfa_token`: what the password grants answer, beside `mfa_required`, when the user
//! must pass a second factor before the tokens are issued; the MFA API and the MFA grants take
//! it. Auth0's is an opaque sealed string; Sigil's is a JWE (`super::jwe`) under a key derived
//! from the master key for it alone (so no other sealed token is ever taken for one), bound to
//! the client it was issued to, good for ten minutes, and carrying what the login decided (the
//! API and scopes asked for, what the post-login Actions set), so that the grant that completes
//! the login issues the tokens the password grant would have.

use aws_lc_rs::hmac;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::jwe::Jwe;
use crate::actions::PostLogin;
use crate::{Rng, UnixTime};

/// Seconds an `mfa_token` is good for (Auth0's MFA API tokens last ten minutes).
pub const MFA_TOKEN_LIFETIME: i64 = 600;

/// What an `mfa_token` says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaGrant {
    /// The user.
    pub sub: String,
    /// The client it was issued to: only that client may use it.
    pub azp: String,
    /// The connection the password grant named (`realm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// The API asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The scopes asked for, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When the user gave their password (the tokens' `auth_time`).
    pub auth_time: i64,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
    /// What post-login decided for the tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided: Option<PostLogin>,
}

/// Why an `mfa_token` is refused, in Auth0's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MfaTokenError {
    /// Not one of Sigil's, or tampered with.
    #[error("Malformed mfa_token")]
    Malformed,
    /// Sigil's, but past its ten minutes.
    #[error("mfa_token is expired")]
    Expired,
}

/// The key `mfa_token`s are sealed with, and the MAC key of the binding codes mailed to an
/// email factor (derived from the same secret for that purpose alone).
pub struct MfaTokenKey {
    jwe: Jwe,
    binding: hmac::Key,
}

impl std::fmt::Debug for MfaTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaTokenKey([redacted])")
    }
}

impl MfaTokenKey {
    /// The key for `issuer`'s `mfa_token`s from 32 secret bytes.
    pub fn new(bytes: &Zeroizing<[u8; 32]>, issuer: &str) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, bytes.as_ref());
        let binding = hmac::sign(&root, b"sigil mfa binding codes");
        MfaTokenKey {
            jwe: Jwe::new(bytes, &[("iss", issuer), ("typ", "mfa")]),
            binding: hmac::Key::new(hmac::HMAC_SHA256, binding.as_ref()),
        }
    }

    /// The MAC a binding code `code` is kept as, bound to the `oob_code` whose digest is
    /// `oob`: only the node that knows the master key can test a guess against it.
    pub fn binding_mac(&self, oob: &[u8; 32], code: &str) -> [u8; 32] {
        let mut context = hmac::Context::with_key(&self.binding);
        context.update(oob);
        context.update(code.as_bytes());
        let mut mac = [0u8; 32];
        mac.copy_from_slice(context.sign().as_ref());
        mac
    }

    /// The `mfa_token` carrying `grant`.
    pub fn seal(&self, rng: &dyn Rng, grant: &MfaGrant) -> Result<String, String> {
        self.jwe.seal(rng, grant)
    }

    /// What `token` says, if this key sealed it and it has not expired at `now`.
    pub fn open(&self, token: &str, now: UnixTime) -> Result<MfaGrant, MfaTokenError> {
        let grant: MfaGrant = self.jwe.open(token).ok_or(MfaTokenError::Malformed)?;
        if grant.exp <= now.0 {
            return Err(MfaTokenError::Expired);
        }
        Ok(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemRng;
    use crate::oauth::{UserinfoGrant, UserinfoKey};

    #[test]
    fn an_mfa_token_opens_only_with_its_key_in_time_and_is_no_other_sealed_token() {
        let bytes = Zeroizing::new([5; 32]);
        let key = MfaTokenKey::new(&bytes, "https://id.example/");
        let grant = MfaGrant {
            sub: "auth0|1".into(),
            azp: "app".into(),
            realm: None,
            aud: Some("https://api.example/".into()),
            scope: Some("openid".into()),
            auth_time: 100,
            iat: 100,
            exp: 100 + MFA_TOKEN_LIFETIME,
            decided: None,
        };
        let token = key.seal(&SystemRng, &grant).unwrap();
        assert_eq!(key.open(&token, UnixTime(699)), Ok(grant.clone()));
        assert_eq!(key.open(&token, UnixTime(700)), Err(MfaTokenError::Expired));
        let other = MfaTokenKey::new(&Zeroizing::new([6; 32]), "https://id.example/");
        assert_eq!(
            other.open(&token, UnixTime(150)),
            Err(MfaTokenError::Malformed)
        );
        // An opaque access token sealed with the same bytes is no mfa_token, nor the reverse.
        let opaque = UserinfoKey::new(&bytes, "https://id.example/");
        let access = opaque
            .seal(
                &SystemRng,
                &UserinfoGrant {
                    sub: "auth0|1".into(),
                    azp: "app".into(),
                    scope: "openid".into(),
                    iat: 100,
                    exp: 700,
                    claims: serde_json::Map::new(),
                },
            )
            .unwrap();
        assert_eq!(
            key.open(&access, UnixTime(150)),
            Err(MfaTokenError::Malformed)
        );
        assert!(opaque.open(&token, UnixTime(150)).is_err());
        let mut tampered = token.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            key.open(&tampered, UnixTime(150)),
            Err(MfaTokenError::Malformed)
        );
    }
}
