//! An upstream ID token, checked as OIDC Core §3.1.3.7 asks, with `sigil-jose` against the
//! upstream's JWKS: the signature with an algorithm from the connection's allow-list and the key
//! its `kid` names (never another), the issuer (exact, or Azure AD's template filled with the
//! token's own, verified, `tid`), the audience (the connection's client id; `azp` when there are
//! several), `exp`, `nbf` and `iat` within a leeway, the `nonce` Sigil sent, and `at_hash` when
//! the token carries one.

use serde_json::{Map, Value};
use sigil_jose::{Algorithm, KeySet, Validation, Verifier, VerifyError};

use crate::oauth::user_tokens::half_hash;

/// The clock skew tolerated on an upstream's `exp`, `nbf` and `iat`.
pub const LEEWAY: u64 = 60;

/// The algorithms an upstream may sign with unless a connection says otherwise: the asymmetric
/// ones (a shared secret would let anyone holding the client secret forge tokens).
pub const DEFAULT_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// Which issuer an upstream's tokens must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IssuerRule {
    /// This one, exactly.
    Exact(String),
    /// One of these (Google's tokens carry `accounts.google.com` with or without `https://`).
    OneOf(Vec<String>),
    /// A template with `{tenantid}` (Azure AD's common endpoint), filled with the token's
    /// verified `tid` claim.
    Tenant(String),
}

/// How a connection's upstream ID tokens are checked.
#[derive(Clone, Debug)]
pub struct IdTokenPolicy {
    /// The issuer.
    pub issuer: IssuerRule,
    /// The connection's client id at the upstream: the audience.
    pub client_id: String,
    /// The algorithms accepted.
    pub algorithms: Vec<Algorithm>,
}

/// A checked upstream ID token: its subject and every claim it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct UpstreamClaims {
    /// `sub`, the user's id at the upstream.
    pub sub: String,
    /// Every claim, `sub` included.
    pub claims: Map<String, Value>,
}

/// Why an upstream ID token is refused.
#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    /// The signature, algorithm, key or a registered claim (`exp`, `nbf`, `iss`, `aud`).
    #[error("{0}")]
    Jose(#[from] VerifyError),
    /// A claim OIDC requires is missing or ill-typed.
    #[error("the {0} claim is missing or not as OIDC requires")]
    Claim(&'static str),
    /// Issued in the future, beyond the leeway.
    #[error("issued in the future (iat {iat}, now {now})")]
    IssuedInTheFuture {
        /// The token's `iat`.
        iat: i64,
        /// Now.
        now: i64,
    },
    /// Not the issuer the connection expects.
    #[error("issued by {found:?}, not by the connection's issuer")]
    Issuer {
        /// The token's `iss`.
        found: String,
    },
    /// Several audiences, and `azp` is not the connection's client.
    #[error("authorized for another party ({0:?})")]
    AuthorizedParty(Option<String>),
    /// Not the nonce Sigil sent.
    #[error("the nonce is not the one this login sent")]
    Nonce,
    /// `at_hash` does not match the access token that came with it.
    #[error("at_hash does not match the access token")]
    AtHash,
}

/// Checks `token` against `keys` and `policy` as of `now` (Unix seconds): `nonce` is the value
/// this login sent (none for an upstream that was sent none), `access_token` the one that came
/// with the ID token, if any.
pub fn check_id_token(
    token: &str,
    keys: KeySet,
    policy: &IdTokenPolicy,
    nonce: Option<&str>,
    access_token: Option<&str>,
    now: i64,
) -> Result<UpstreamClaims, IdTokenError> {
    let mut validation = Validation::new(policy.algorithms.iter().copied())
        .audience(policy.client_id.clone())
        .leeway(LEEWAY);
    validation.required_claims = ["exp", "iat", "iss", "sub", "aud"]
        .map(str::to_owned)
        .to_vec();
    if let IssuerRule::Exact(issuer) = &policy.issuer {
        validation = validation.issuer(issuer.clone());
    }
    let verified = Verifier::new(keys, validation)
        .verify::<Map<String, Value>>(token, sigil_jose::UnixTime(now))?;
    let claims = verified.claims;
    let text = |name: &'static str| claims.get(name).and_then(Value::as_str);

    let iss = text("iss").ok_or(IdTokenError::Claim("iss"))?;
    let issuer_ok = match &policy.issuer {
        IssuerRule::Exact(_) => true,
        IssuerRule::OneOf(issuers) => issuers.iter().any(|i| i == iss),
        IssuerRule::Tenant(template) => text("tid")
            .filter(|tid| {
                !tid.is_empty() && tid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .is_some_and(|tid| template.replace("{tenantid}", tid) == iss),
    };
    if !issuer_ok {
        return Err(IdTokenError::Issuer {
            found: iss.to_owned(),
        });
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(IdTokenError::Claim("iat"))?;
    let leeway = i64::try_from(LEEWAY).unwrap_or(i64::MAX);
    if iat > now.saturating_add(leeway) {
        return Err(IdTokenError::IssuedInTheFuture { iat, now });
    }
    if let Some(Value::Array(audiences)) = claims.get("aud")
        && audiences.len() > 1
        && text("azp") != Some(policy.client_id.as_str())
    {
        return Err(IdTokenError::AuthorizedParty(
            text("azp").map(str::to_owned),
        ));
    }
    if let Some(sent) = nonce {
        let got = text("nonce").ok_or(IdTokenError::Nonce)?;
        if aws_lc_rs::constant_time::verify_slices_are_equal(sent.as_bytes(), got.as_bytes())
            .is_err()
        {
            return Err(IdTokenError::Nonce);
        }
    }
    if let (Some(at_hash), Some(access_token)) = (text("at_hash"), access_token)
        && at_hash != half_hash(verified.header.alg, access_token)
    {
        return Err(IdTokenError::AtHash);
    }
    let sub = text("sub")
        .filter(|s| !s.is_empty())
        .ok_or(IdTokenError::Claim("sub"))?
        .to_owned();
    Ok(UpstreamClaims { sub, claims })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sigil_jose::{KeySpec, PrivateKey, SigningKey};

    const NOW: i64 = 1_800_000_000;
    const ISS: &str = "https://idp.example.com/";

    /// The upstream's key (`k1`), a key it never published (`k2`), and an impostor's key that
    /// claims to be `k1`.
    struct Upstream {
        key: SigningKey,
        unknown: SigningKey,
        impostor: SigningKey,
    }

    fn signer(kid: &str) -> SigningKey {
        SigningKey::new(
            PrivateKey::generate(KeySpec::P256).unwrap(),
            Algorithm::ES256,
        )
        .unwrap()
        .with_kid(Some(kid.to_owned()))
    }

    impl Upstream {
        fn new() -> Self {
            Upstream {
                key: signer("k1"),
                unknown: signer("k2"),
                impostor: signer("k1"),
            }
        }

        fn keys(&self) -> KeySet {
            KeySet::new(vec![self.key.verifying_key().unwrap()]).unwrap()
        }

        fn sign_with(&self, key: &SigningKey, claims: &Value) -> String {
            key.sign(claims).unwrap()
        }
    }

    fn claims() -> Value {
        json!({"iss": ISS, "sub": "alice", "aud": "sigil", "exp": NOW + 300, "iat": NOW,
               "nonce": "n-1", "email": "alice@example.com"})
    }

    fn with(changes: Value) -> Value {
        let mut c = claims();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    fn policy(issuer: IssuerRule) -> IdTokenPolicy {
        IdTokenPolicy {
            issuer,
            client_id: "sigil".to_owned(),
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
        }
    }

    #[test]
    fn forged_and_stale_tokens_are_refused() {
        let up = Upstream::new();
        let exact = policy(IssuerRule::Exact(ISS.to_owned()));
        for (case, token, policy, outcome) in [
            (
                "a good token",
                up.sign_with(&up.key, &claims()),
                &exact,
                Ok("alice"),
            ),
            (
                "30 s of skew",
                up.sign_with(&up.key, &with(json!({"iat": NOW + 30}))),
                &exact,
                Ok("alice"),
            ),
            (
                "another issuer",
                up.sign_with(&up.key, &with(json!({"iss": "https://evil.example.com/"}))),
                &exact,
                Err("issuer"),
            ),
            (
                "another audience",
                up.sign_with(&up.key, &with(json!({"aud": "someone-else"}))),
                &exact,
                Err("audience"),
            ),
            (
                "several audiences without azp",
                up.sign_with(&up.key, &with(json!({"aud": ["sigil", "other"]}))),
                &exact,
                Err("another party"),
            ),
            (
                "expired",
                up.sign_with(&up.key, &with(json!({"exp": NOW - 61}))),
                &exact,
                Err("expired"),
            ),
            (
                "issued 10 minutes ahead",
                up.sign_with(&up.key, &with(json!({"iat": NOW + 600}))),
                &exact,
                Err("future"),
            ),
            (
                "another nonce",
                up.sign_with(&up.key, &with(json!({"nonce": "n-2"}))),
                &exact,
                Err("nonce"),
            ),
            (
                "no nonce",
                up.sign_with(&up.key, &with(json!({"nonce": null}))),
                &exact,
                Err("nonce"),
            ),
            (
                "no iat",
                up.sign_with(&up.key, &with(json!({"iat": null}))),
                &exact,
                Err("iat"),
            ),
            (
                "an unknown kid, signed by another key",
                up.sign_with(&up.unknown, &claims()),
                &exact,
                Err("kid"),
            ),
            (
                "the right kid, signed by another key",
                up.sign_with(&up.impostor, &claims()),
                &exact,
                Err("signature"),
            ),
        ] {
            let got = check_id_token(&token, up.keys(), policy, Some("n-1"), None, NOW);
            match (got, outcome) {
                (Ok(c), Ok(sub)) => {
                    assert_eq!(c.sub, sub, "{case}");
                    assert_eq!(c.claims["email"], "alice@example.com", "{case}");
                }
                (Err(e), Err(want)) => {
                    assert!(e.to_string().to_lowercase().contains(want), "{case}: {e}")
                }
                (got, want) => panic!("{case}: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn unsigned_and_symmetric_tokens_are_refused() {
        let up = Upstream::new();
        let exact = policy(IssuerRule::Exact(ISS.to_owned()));
        let b64 = |v: &Value| base64_simd::URL_SAFE_NO_PAD.encode_to_string(v.to_string());
        let none = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims()));
        let hs = format!(
            "{}.{}.c2ln",
            b64(&json!({"alg": "HS256", "kid": "k1"})),
            b64(&claims())
        );
        for token in [none, hs] {
            assert!(
                check_id_token(&token, up.keys(), &exact, Some("n-1"), None, NOW).is_err(),
                "{token}"
            );
        }
    }

    #[test]
    fn azure_ads_template_is_filled_with_the_verified_tenant() {
        let up = Upstream::new();
        let template = policy(IssuerRule::Tenant(
            "https://login.microsoftonline.com/{tenantid}/v2.0".to_owned(),
        ));
        let tenant = "9188040d-6c67-4c5b-b112-36a304b66dad";
        let iss = format!("https://login.microsoftonline.com/{tenant}/v2.0");
        let good = up.sign_with(&up.key, &with(json!({"iss": iss, "tid": tenant})));
        assert!(check_id_token(&good, up.keys(), &template, Some("n-1"), None, NOW).is_ok());
        let mismatch = up.sign_with(&up.key, &with(json!({"iss": iss, "tid": "other"})));
        let missing = up.sign_with(&up.key, &with(json!({"iss": iss})));
        for token in [mismatch, missing] {
            assert!(matches!(
                check_id_token(&token, up.keys(), &template, Some("n-1"), None, NOW),
                Err(IdTokenError::Issuer { .. })
            ));
        }
        let google = policy(IssuerRule::OneOf(vec![
            "accounts.google.com".to_owned(),
            "https://accounts.google.com".to_owned(),
        ]));
        let bare = up.sign_with(&up.key, &with(json!({"iss": "accounts.google.com"})));
        assert!(check_id_token(&bare, up.keys(), &google, Some("n-1"), None, NOW).is_ok());
    }

    #[test]
    fn at_hash_binds_the_access_token() {
        let up = Upstream::new();
        let exact = policy(IssuerRule::Exact(ISS.to_owned()));
        let at_hash = half_hash(Algorithm::ES256, "the-access-token");
        let token = up.sign_with(&up.key, &with(json!({"at_hash": at_hash})));
        let check = |access| check_id_token(&token, up.keys(), &exact, Some("n-1"), access, NOW);
        assert!(check(Some("the-access-token")).is_ok());
        assert!(matches!(
            check(Some("another-token")),
            Err(IdTokenError::AtHash)
        ));
    }
}
