//! The keys tokens are made with: the tenant's signing keys, parsed once (the signer for each
//! family's algorithm, from its current key: RS256, PS256 and ES256; and the published JWK Set
//! of next, current and previous keys of every family, never revoked ones, never private
//! material), and the key that seals opaque access tokens.

use sigil_jose::{
    Algorithm, JwkSet, KeyError, KeySet, PrivateKey, SigningKey, Validation, Verifier, VerifyingKey,
};

use std::sync::Arc;

use crate::model::{KeyState, SigningKeyRecord};
use crate::oauth::{MfaTokenKey, UserinfoKey};

/// How long after its expiry an ID token is still accepted as a logout hint (30 days).
pub const ID_TOKEN_HINT_GRACE: u64 = 30 * 86_400;

/// What the tenant's keys sign, and so what its verifiers accept: RS256 and PS256 (RSA keys),
/// ES256 (P-256 keys). A token is checked against the published key its `kid` names, and a key
/// verifies only the algorithms of its kind, so listing ES256 here lets no RSA key verify it.
const TENANT_ALGS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256];

/// Parsed signing keys, the JWKS to publish, and verifiers for the tokens Sigil takes back: the
/// access tokens `/userinfo` accepts, logout hints, and ID tokens.
#[derive(Debug)]
pub struct KeyRing {
    signers: Vec<SigningKey>,
    jwks: String,
    userinfo: Verifier,
    hints: Verifier,
    opaque: Arc<UserinfoKey>,
    mfa: Arc<MfaTokenKey>,
    mfa_api: Verifier,
    id_tokens: Verifier,
    management: Verifier,
}

impl KeyRing {
    /// Parses `records` (as the store returns them) for the tenant at `issuer`; `opaque` seals
    /// the access tokens that name no API, `mfa` the `mfa_token`s. Each family has at most one
    /// current key (the store sees to it), so each algorithm has one signer.
    pub fn from_records(
        records: &[SigningKeyRecord],
        issuer: &str,
        opaque: Arc<UserinfoKey>,
        mfa: Arc<MfaTokenKey>,
    ) -> Result<Self, KeyError> {
        let mut signers = Vec::new();
        let mut published = Vec::new();
        let mut publics = Vec::new();
        for record in records {
            if record.state == KeyState::Revoked {
                continue;
            }
            let key = PrivateKey::from_pkcs8_der(&record.private_pkcs8)?;
            if let Some(public) = key.public_key() {
                published.push(public.to_jwk().with_kid(&record.kid).with_alg(record.alg)?);
                publics.push((public.clone(), record.kid.clone()));
            }
            if record.state == KeyState::Current
                && !signers.iter().any(|s: &SigningKey| s.alg() == record.alg)
            {
                signers.push(SigningKey::new(key, record.alg)?.with_kid(Some(record.kid.clone())));
            }
        }
        let jwks = serde_json::to_string(&published.into_iter().collect::<JwkSet>())
            .map_err(|e| KeyError::Jwk(e.to_string()))?;
        // Sigil's own verifiers take each key for every algorithm of its kind (an RSA key
        // published as RS256 signed PS256 tokens before the PS256 family existed); the
        // allow-lists below say which algorithms each accepts.
        let key_set = || -> Result<KeySet, KeyError> {
            let keys = publics
                .iter()
                .map(|(public, kid)| {
                    VerifyingKey::from_public_key(public).map(|k| k.with_kid(Some(kid.clone())))
                })
                .collect::<Result<Vec<_>, _>>()?;
            KeySet::new(keys)
        };
        let (keys, hint_keys, id_token_keys) = (key_set()?, key_set()?, key_set()?);
        let mut management = Validation::new(TENANT_ALGS)
            .issuer(issuer)
            .audience(format!("{issuer}api/v2/"));
        // SDKs hard-code `https://<domain>/api/v2/` (DESIGN.md), whatever scheme Sigil serves.
        if let Some(https) = https_form(issuer) {
            management = management.audience(format!("{https}api/v2/"));
        }
        let management = Verifier::new(key_set()?, management);
        let hints = Verifier::new(
            hint_keys,
            Validation::new(TENANT_ALGS)
                .issuer(issuer)
                .leeway(ID_TOKEN_HINT_GRACE),
        );
        let id_tokens = Verifier::new(
            id_token_keys,
            Validation::new([Algorithm::RS256, Algorithm::PS256]).issuer(issuer),
        );
        let userinfo = Verifier::new(
            keys,
            Validation::new(TENANT_ALGS)
                .issuer(issuer)
                .audience(format!("{issuer}userinfo")),
        );
        let mut mfa_api = Validation::new(TENANT_ALGS)
            .issuer(issuer)
            .audience(crate::oauth::mfa_audience(issuer));
        if let Some(https) = https_form(issuer) {
            mfa_api = mfa_api.audience(format!("{https}mfa/"));
        }
        let mfa_api = Verifier::new(key_set()?, mfa_api);
        Ok(KeyRing {
            signers,
            jwks,
            userinfo,
            hints,
            opaque,
            mfa,
            mfa_api,
            id_tokens,
            management,
        })
    }

    /// The key of opaque access tokens (good only at `/userinfo`).
    pub fn opaque(&self) -> &UserinfoKey {
        &self.opaque
    }

    /// The key of `mfa_token`s.
    pub fn mfa_tokens(&self) -> &MfaTokenKey {
        &self.mfa
    }

    /// Verifies access tokens for the MFA API (`<issuer>mfa/`): signed by a published key,
    /// issued here, for that audience.
    pub fn mfa_api_verifier(&self) -> &Verifier {
        &self.mfa_api
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

    /// Verifies Management API tokens: signed by a published key, issued here, for the audience
    /// `<issuer>api/v2/` or `https://<host>/api/v2/`. Scopes are for the caller to check.
    pub fn management_verifier(&self) -> &Verifier {
        &self.management
    }

    /// The signer for `alg`: the current key of the family that signs it, if that family has
    /// one (PS256 and ES256 only once an API or application chose them and made the family).
    pub fn signer(&self, alg: Algorithm) -> Option<&SigningKey> {
        self.signers.iter().find(|s| s.alg() == alg)
    }

    /// The JWK Set to publish, as JSON.
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }
}

/// `issuer` with `https://` for its scheme, when it is `http://` (`https://` issuers are already
/// in that form).
fn https_form(issuer: &str) -> Option<String> {
    issuer
        .strip_prefix("http://")
        .map(|rest| format!("https://{rest}"))
}

#[cfg(test)]
mod tests {
    /// An opaque-token key for the rings under test.
    fn opaque() -> std::sync::Arc<crate::oauth::UserinfoKey> {
        std::sync::Arc::new(crate::oauth::UserinfoKey::new(
            &zeroize::Zeroizing::new([1; 32]),
            ISSUER,
        ))
    }

    /// An `mfa_token` key for the rings under test.
    fn mfa() -> std::sync::Arc<crate::oauth::MfaTokenKey> {
        std::sync::Arc::new(crate::oauth::MfaTokenKey::new(
            &zeroize::Zeroizing::new([2; 32]),
            ISSUER,
        ))
    }

    use serde_json::{Value, json};
    use sigil_jose::Algorithm;

    use super::KeyRing;
    use crate::UnixTime;
    use crate::model::{KeyState, SigningKeyRecord};

    const ISSUER: &str = "https://sigil.example/";

    #[test]
    fn each_family_signs_with_its_current_key_and_every_published_key_is_listed() {
        let now = UnixTime(1_800_000_000);
        let key = |alg, state| {
            let made = match alg {
                Algorithm::RS256 => SigningKeyRecord::generate_rs256(state, now),
                Algorithm::PS256 => SigningKeyRecord::generate_ps256(state, now),
                _ => SigningKeyRecord::generate_es256(state, now),
            };
            made.unwrap()
        };
        let rsa = [
            key(Algorithm::RS256, KeyState::Current),
            key(Algorithm::RS256, KeyState::Next),
        ];
        let pss = [key(Algorithm::PS256, KeyState::Current)];
        let ec = [
            key(Algorithm::ES256, KeyState::Previous),
            key(Algorithm::ES256, KeyState::Current),
            key(Algorithm::ES256, KeyState::Next),
            key(Algorithm::ES256, KeyState::Revoked),
        ];
        let records: Vec<_> = rsa.iter().chain(&pss).chain(&ec).cloned().collect();
        let ring = KeyRing::from_records(&records, ISSUER, opaque(), mfa()).unwrap();

        for (alg, kid) in [
            (Algorithm::RS256, &rsa[0].kid),
            (Algorithm::PS256, &pss[0].kid),
            (Algorithm::ES256, &ec[1].kid),
        ] {
            let signer = ring
                .signer(alg)
                .unwrap_or_else(|| panic!("no {alg} signer"));
            assert_eq!(signer.kid(), Some(kid.as_str()), "{alg}");
            let token = signer
                .sign(
                    &json!({"iss": ISSUER, "aud": format!("{ISSUER}userinfo"), "exp": now.0 + 60}),
                )
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            ring.userinfo_verifier()
                .verify::<Value>(&token, now)
                .unwrap_or_else(|e| panic!("{alg} at /userinfo: {e}"));
            ring.id_token_hint_verifier()
                .verify::<Value>(&token, now)
                .unwrap_or_else(|e| panic!("{alg} as an id_token_hint: {e}"));
        }
        for alg in [Algorithm::ES384, Algorithm::EdDSA, Algorithm::HS256] {
            assert!(ring.signer(alg).is_none(), "{alg}");
        }

        let jwks: Value = serde_json::from_str(ring.jwks_json()).unwrap();
        let published: Vec<(&str, &str, &str, &str)> = jwks["keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .map(|k| {
                        let text = |name: &str| k[name].as_str().unwrap_or("");
                        (text("kid"), text("kty"), text("alg"), text("use"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let expected: Vec<(&str, &str, &str, &str)> = rsa
            .iter()
            .map(|k| (k.kid.as_str(), "RSA", "RS256", "sig"))
            .chain(pss.iter().map(|k| (k.kid.as_str(), "RSA", "PS256", "sig")))
            .chain(
                ec[..3]
                    .iter()
                    .map(|k| (k.kid.as_str(), "EC", "ES256", "sig")),
            )
            .collect();
        assert_eq!(
            published, expected,
            "next, current and previous, never revoked"
        );
        assert!(
            !ring.jwks_json().contains("\"d\""),
            "private material published"
        );
    }

    #[test]
    fn the_default_configuration_signs_only_rs256() {
        let now = UnixTime(1_800_000_000);
        let records = [SigningKeyRecord::generate_rs256(KeyState::Current, now).unwrap()];
        let ring = KeyRing::from_records(&records, ISSUER, opaque(), mfa()).unwrap();
        assert!(ring.signer(Algorithm::RS256).is_some());
        for alg in [Algorithm::PS256, Algorithm::ES256] {
            assert!(
                ring.signer(alg).is_none(),
                "{alg}: its family is made when first chosen"
            );
        }
        assert!(!ring.jwks_json().contains("\"EC\""));
        assert!(!ring.jwks_json().contains("PS256"));
    }
}
