//! `private_key_jwt` (RFC 7523 §2.2 and §3, OIDC Core §9): the client proves itself with a
//! JWT it signed with a key it registered ([`ClientCredential`]).
//!
//! The assertion is verified with the client's registered public keys only, each bound to the
//! algorithm it was registered with (never an HMAC, never `none`, never a key named by the
//! token's own header). Its claims, as Auth0 checks them:
//! - `iss` = `sub` = the client's id;
//! - `aud` names this server: the issuer, the token endpoint, or `https://<host>/` (the form
//!   Auth0's SDKs hard-code);
//! - `exp` is required and at most [`MAX_ASSERTION_LIFETIME`] seconds ahead (Auth0's five
//!   minutes), so the record of used `jti`s stays small;
//! - `iat` and `nbf` are optional, as at Auth0 and in RFC 7523, but may not be in the future;
//! - `jti` is required, at most [`MAX_JTI_LEN`] characters (Auth0's limit), and single use:
//!   the store refuses it again until the assertion has expired.
//!
//! [`CLOCK_SKEW`] seconds are tolerated on every time, as Auth0 tolerates them.
//!
//! Keys are parsed once: the verifier built from a client's credentials is kept, keyed by the
//! credentials' exact content, so a changed key is never served stale and an unchanged one is
//! never parsed again.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde::Deserialize;
use sigil_jose::{Algorithm, KeySet, PublicKey, TypPolicy, Validation, Verifier, VerifyingKey};

use crate::UnixTime;
use crate::ids::ClientId;
use crate::model::{Client, ClientCredential};
use crate::secret::Token;
use crate::store::StoreError;

use super::{Directory, ErrorCode, FlowError, OAuthError};

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The algorithms a client's key may be registered with: every asymmetric one `sigil-jose`
/// verifies. Shared secrets (`HS*`) are not keys a client registers, and `none` is not an
/// algorithm at all.
pub const ASSERTION_ALGORITHMS: [Algorithm; 10] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::EdDSA,
];

/// How far ahead of now an assertion's `exp` may be, in seconds (Auth0's five minutes).
pub const MAX_ASSERTION_LIFETIME: i64 = 300;

/// Seconds of clock difference tolerated on `exp`, `nbf` and `iat` (Auth0's ten).
pub const CLOCK_SKEW: i64 = 10;

/// The longest `jti` accepted (Auth0's limit), which bounds what the store keeps per use.
pub const MAX_JTI_LEN: usize = 64;

/// The longest assertion read, in bytes: a signed JWT with a handful of claims is well under.
const MAX_ASSERTION_LEN: usize = 8 * 1024;

/// Parsed verifiers kept at most; when full the map is emptied, which costs only re-parsing.
const MAX_VERIFIERS: usize = 1024;

/// The `aud` values that name this server: the issuer, its token endpoint, and
/// `https://<host>/` of the issuer.
pub fn assertion_audiences(issuer: &str) -> Vec<String> {
    let host = issuer
        .split_once("://")
        .map_or(issuer, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let mut audiences = vec![issuer.to_owned(), format!("{issuer}oauth/token")];
    let https_host = format!("https://{host}/");
    if !audiences.contains(&https_host) {
        audiences.push(https_host);
    }
    audiences
}

/// The client an assertion says it comes from (its `sub`), read **without** verifying it, to
/// find the keys to verify it with when the request has no `client_id`. Nothing else is
/// trusted from it: verification then requires `iss` and `sub` to be that client.
pub(crate) fn claimed_client(assertion: &Token) -> Option<ClientId> {
    let decoded = sigil_jose::insecure_decode(assertion.expose()).ok()?;
    let sub = decoded.claims.get("sub")?.as_str()?;
    (!sub.is_empty()).then(|| ClientId::from(sub))
}

/// The claims Sigil reads beyond those `sigil-jose` checks (`iss`, `aud`, `exp`, `nbf`).
#[derive(Deserialize)]
struct AssertionClaims {
    sub: String,
    jti: String,
    exp: f64,
    /// Optional (RFC 7523 §3).
    #[serde(default)]
    iat: Option<f64>,
}

/// A NumericDate as whole seconds. `sigil-jose` has already refused negative, non-finite and
/// out-of-range values (beyond the year 9999), so the cast cannot overflow.
#[allow(clippy::cast_possible_truncation)]
fn seconds(date: f64) -> i64 {
    date.trunc() as i64
}

fn refused(description: impl Into<String>) -> FlowError {
    OAuthError::new(ErrorCode::InvalidClient, description).into()
}

/// Verifies `assertion` as `client`'s proof of identity at this server as of `now`, and
/// records its `jti` so it cannot be used again.
pub(crate) async fn verify_assertion(
    store: &impl Directory,
    client: &Client,
    assertion: &Token,
    issuer: &str,
    now: UnixTime,
) -> Result<(), FlowError> {
    let verifier = verifier(issuer, client)?;
    let verified = verifier
        .verify::<AssertionClaims>(assertion.expose(), now)
        .map_err(|e| refused(format!("client assertion refused: {e}")))?;
    if let Some(typ) = verified.header.typ.as_deref()
        && !["JWT", "client-authentication+jwt"]
            .iter()
            .any(|want| media_subtype(typ).eq_ignore_ascii_case(want))
    {
        return Err(refused(format!(
            "client assertion refused: typ {typ} is not a client assertion's"
        )));
    }
    let claims = verified.claims;
    if claims.sub != client.client_id.as_str() {
        return Err(refused(
            "client assertion refused: sub must be the client_id, as iss is",
        ));
    }
    if claims.jti.is_empty() || claims.jti.chars().count() > MAX_JTI_LEN {
        return Err(refused(format!(
            "client assertion refused: jti must be 1 to {MAX_JTI_LEN} characters"
        )));
    }
    let exp = seconds(claims.exp);
    if exp > now.0 + MAX_ASSERTION_LIFETIME + CLOCK_SKEW {
        return Err(refused(format!(
            "client assertion refused: exp is more than {MAX_ASSERTION_LIFETIME} seconds ahead; \
             assertions are single use and short-lived"
        )));
    }
    if let Some(iat) = claims.iat.map(seconds)
        && iat > now.0 + CLOCK_SKEW
    {
        return Err(refused("client assertion refused: iat is in the future"));
    }
    // Accepted until `exp + CLOCK_SKEW`, so remembered until then.
    let until = UnixTime(exp + CLOCK_SKEW);
    match store
        .record_client_assertion(&client.client_id, &claims.jti, until, now)
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::AlreadyUsed) => Err(refused(
            "client assertion refused: its jti was used already; sign a new assertion for \
             each request",
        )),
        // The client was deleted between the lookup and now.
        Err(StoreError::NotFound(_)) => Err(refused("client authentication failed")),
        Err(e) => Err(e.into()),
    }
}

/// `typ` without a leading `application/`, in any case (RFC 7515 §4.1.9).
fn media_subtype(typ: &str) -> &str {
    const PREFIX: &str = "application/";
    match typ.split_at_checked(PREFIX.len()) {
        Some((head, rest)) if head.eq_ignore_ascii_case(PREFIX) => rest,
        _ => typ,
    }
}

/// What a verifier is built from; equal inputs give equal verifiers.
#[derive(Clone, PartialEq, Eq, Hash)]
struct VerifierInputs {
    issuer: String,
    client_id: ClientId,
    keys: Vec<(Option<String>, Algorithm, String)>,
}

/// Verifiers already built, by what they were built from.
static VERIFIERS: LazyLock<Mutex<HashMap<VerifierInputs, Arc<Verifier>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The verifier for `client`'s assertions at `issuer`: built once per distinct set of
/// registered keys.
fn verifier(issuer: &str, client: &Client) -> Result<Arc<Verifier>, FlowError> {
    let inputs = VerifierInputs {
        issuer: issuer.to_owned(),
        client_id: client.client_id.clone(),
        keys: client
            .settings
            .credentials
            .iter()
            .map(|c| (c.kid.clone(), c.alg, c.pem.clone()))
            .collect(),
    };
    if let Some(found) = VERIFIERS
        .lock()
        .ok()
        .and_then(|map| map.get(&inputs).cloned())
    {
        return Ok(found);
    }
    let built = Arc::new(build_verifier(
        issuer,
        &client.client_id,
        &client.settings.credentials,
    )?);
    if let Ok(mut map) = VERIFIERS.lock() {
        if map.len() >= MAX_VERIFIERS {
            map.clear();
        }
        map.insert(inputs, Arc::clone(&built));
    }
    Ok(built)
}

/// The verifier for one client's keys. A key that cannot be used (not an asymmetric key of
/// its registered algorithm) is left out; a client with none left cannot use assertions.
fn build_verifier(
    issuer: &str,
    client_id: &ClientId,
    credentials: &[ClientCredential],
) -> Result<Verifier, FlowError> {
    let keys: Vec<VerifyingKey> = credentials
        .iter()
        .filter_map(|c| credential_key(c).ok())
        .collect();
    if keys.is_empty() {
        return Err(refused(
            "client assertion refused: the client has no registered key to verify it with",
        ));
    }
    let mut algorithms: Vec<Algorithm> = keys.iter().flat_map(|k| k.algorithms()).collect();
    algorithms.sort();
    algorithms.dedup();
    let keys = KeySet::new(keys).map_err(|e| {
        refused(format!(
            "client assertion refused: the client's registered keys are ambiguous ({e})"
        ))
    })?;
    let mut validation = Validation::new(algorithms)
        .issuer(client_id.as_str())
        .leeway(CLOCK_SKEW.unsigned_abs());
    validation.audiences = assertion_audiences(issuer);
    validation.typ = TypPolicy::Any;
    validation.required_claims = ["iss", "sub", "aud", "exp", "jti"]
        .map(str::to_owned)
        .to_vec();
    validation.max_token_len = MAX_ASSERTION_LEN;
    Ok(Verifier::new(keys, validation))
}

/// One registered key, parsed for its registered algorithm only.
pub fn credential_key(credential: &ClientCredential) -> Result<VerifyingKey, sigil_jose::KeyError> {
    if !ASSERTION_ALGORITHMS.contains(&credential.alg) {
        return Err(sigil_jose::KeyError::Unsupported(format!(
            "{} is not an algorithm for client keys",
            credential.alg
        )));
    }
    let public = PublicKey::from_pem(&credential.pem)?;
    Ok(VerifyingKey::from_public_key(&public)?
        .restricted_to(credential.alg)?
        .with_kid(credential.kid.clone()))
}

#[cfg(test)]
mod tests {
    use super::assertion_audiences;

    #[test]
    fn the_audiences_name_this_server_three_ways() {
        assert_eq!(
            assertion_audiences("http://127.0.0.1:8787/"),
            [
                "http://127.0.0.1:8787/",
                "http://127.0.0.1:8787/oauth/token",
                "https://127.0.0.1:8787/"
            ]
        );
        assert_eq!(
            assertion_audiences("https://id.example.com/"),
            [
                "https://id.example.com/",
                "https://id.example.com/oauth/token"
            ]
        );
        assert_eq!(
            assertion_audiences("https://example.com/sigil/"),
            [
                "https://example.com/sigil/",
                "https://example.com/sigil/oauth/token",
                "https://example.com/"
            ]
        );
    }
}
