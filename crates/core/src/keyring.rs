//! The keys tokens are made with: the tenant's signing keys, parsed once (the signer for each
//! algorithm the current key can sign with, and the published JWK Set of next, current and
//! previous keys; never revoked ones, never private material), and the key that seals opaque
//! access tokens.

use sigil_jose::{
    Algorithm, JwkSet, KeyError, KeyKind, KeySet, PrivateKey, SigningKey, Validation, Verifier,
};

use std::sync::Arc;

use crate::model::{KeyState, SigningKeyRecord};
use crate::oauth::UserinfoKey;

/// How long after its expiry an ID token is still accepted as a logout hint (30 days).
pub const ID_TOKEN_HINT_GRACE: u64 = 30 * 86_400;

/// Parsed signing keys, the JWKS to publish, and verifiers for the tokens Sigil takes back: the
/// access tokens `/userinfo` accepts, logout hints, and ID tokens.
#[derive(Debug)]
pub struct KeyRing {
    signers: Vec<SigningKey>,
    jwks: String,
    userinfo: Verifier,
    hints: Verifier,
    opaque: Arc<UserinfoKey>,
    id_tokens: Verifier,
}

impl KeyRing {
    /// Parses `records` (as the store returns them) for the tenant at `issuer`; `opaque` seals
    /// the access tokens that name no API.
    pub fn from_records(
        records: &[SigningKeyRecord],
        issuer: &str,
        opaque: Arc<UserinfoKey>,
    ) -> Result<Self, KeyError> {
        let mut signers = Vec::new();
        let mut published = Vec::new();
        for record in records {
            if record.state == KeyState::Revoked {
                continue;
            }
            let key = PrivateKey::from_pkcs8_der(&record.private_pkcs8)?;
            if let Some(public) = key.public_key() {
                published.push(public.to_jwk().with_kid(&record.kid).with_alg(record.alg)?);
            }
            if record.state == KeyState::Current {
                // An RSA key signs RS* and PS*: APIs choose between RS256 and PS256.
                let algs: Vec<Algorithm> = match key.kind() {
                    KeyKind::Rsa => vec![record.alg, Algorithm::PS256],
                    _ => vec![record.alg],
                };
                for alg in algs {
                    if signers.iter().any(|s: &SigningKey| s.alg() == alg) {
                        continue;
                    }
                    // Parsed again per algorithm (a signer owns its key); this happens once per
                    // key ring, never per signature.
                    let own = PrivateKey::from_pkcs8_der(&record.private_pkcs8)?;
                    signers.push(SigningKey::new(own, alg)?.with_kid(Some(record.kid.clone())));
                }
            }
        }
        let jwks = serde_json::to_string(&published.into_iter().collect::<JwkSet>())
            .map_err(|e| KeyError::Jwk(e.to_string()))?;
        let (keys, _) = KeySet::from_jwks(jwks.as_bytes())?;
        let (hint_keys, _) = KeySet::from_jwks(jwks.as_bytes())?;
        let (id_token_keys, _) = KeySet::from_jwks(jwks.as_bytes())?;
        let hints = Verifier::new(
            hint_keys,
            Validation::new([Algorithm::RS256, Algorithm::PS256])
                .issuer(issuer)
                .leeway(ID_TOKEN_HINT_GRACE),
        );
        let id_tokens = Verifier::new(
            id_token_keys,
            Validation::new([Algorithm::RS256, Algorithm::PS256]).issuer(issuer),
        );
        let userinfo = Verifier::new(
            keys,
            Validation::new([Algorithm::RS256, Algorithm::PS256])
                .issuer(issuer)
                .audience(format!("{issuer}userinfo")),
        );
        Ok(KeyRing {
            signers,
            jwks,
            userinfo,
            hints,
            opaque,
            id_tokens,
        })
    }

    /// The key of opaque access tokens (good only at `/userinfo`).
    pub fn opaque(&self) -> &UserinfoKey {
        &self.opaque
    }

    /// Verifies `id_token_hint`s at logout: signed by a published key, issued here, expired
    /// for at most [`ID_TOKEN_HINT_GRACE`] seconds (logging out with an old ID token is normal).
    /// The audience is for the caller to check.
    pub fn id_token_hint_verifier(&self) -> &Verifier {
        &self.hints
    }

    /// Verifies ID tokens signed with the tenant's keys: signed by a published key, issued here,
    /// not expired (no leeway). The audience (which client) is for the caller to check.
    pub fn id_token_verifier(&self) -> &Verifier {
        &self.id_tokens
    }

    /// Verifies access tokens for `/userinfo`: signed by one of the tenant's published keys,
    /// issued here, with `<issuer>userinfo` among their audiences.
    pub fn userinfo_verifier(&self) -> &Verifier {
        &self.userinfo
    }

    /// The current key's signer for `alg`, if the current key can sign with it.
    pub fn signer(&self, alg: Algorithm) -> Option<&SigningKey> {
        self.signers.iter().find(|s| s.alg() == alg)
    }

    /// The JWK Set to publish, as JSON.
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }
}
