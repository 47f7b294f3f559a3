//! Auth0's two legacy endpoints, each off unless the tenant's flag enables it (as at Auth0):
//!
//! - `/tokeninfo` ([`tokeninfo`], `allow_legacy_tokeninfo_endpoint`): an ID token issued here
//!   becomes the user's profile, in Auth0's legacy profile shape.
//! - `/delegation` ([`delegation`], `allow_legacy_delegation_grant_types`): an application
//!   exchanges a user's ID token (or refresh token) for a new ID token addressed to another
//!   application of the tenant (the `target`), with the RFC 7523 JWT bearer grant type, which
//!   the calling application must be allowed.
//!
//! Neither is OpenID Connect, so discovery never lists them. An ID token is verified strictly:
//! signed by one of the tenant's published keys (RS256/PS256) or, for an application whose ID
//! tokens are HS256, with that application's secret; issued here; not expired; addressed to an
//! existing application.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sigil_jose::{Algorithm, KeySet, Validation, Verifier, VerifyingKey, insecure_decode};

use crate::clock::auth0_time;
use crate::ids::{ClientId, UserId};
use crate::keyring::KeyRing;
use crate::model::{Client, GrantType, LogType, NewLogEvent, User};
use crate::oauth::{ErrorCode, FlowError, OAuthError, profile_claims};
use crate::secret::Token;
use crate::{Store, UnixTime};

/// The only `api_type` Sigil serves: a token for one of its own applications (Auth0's
/// add-ons, such as Firebase or AWS, have no counterpart here).
pub const API_TYPE_APP: &str = "app";

/// The scope a delegation asks for when it names none (Auth0's default).
const DEFAULT_SCOPE: &str = "openid";

/// What a `/delegation` request presents as the user's proof.
#[derive(Clone, Debug)]
pub enum DelegationSubject {
    /// An ID token issued to the calling application.
    IdToken(String),
    /// A refresh token issued to the calling application.
    RefreshToken(Token),
}

/// A parsed `/delegation` request (the grant type and `api_type` were checked by the caller).
#[derive(Clone, Debug)]
pub struct DelegationRequest {
    /// The calling application.
    pub client_id: ClientId,
    /// The user's token.
    pub subject: DelegationSubject,
    /// The application the new ID token is for; the caller itself when absent.
    pub target: Option<ClientId>,
    /// Space-separated; `openid` when absent. `profile` and `email` add their claims.
    pub scope: Option<String>,
}

/// `/delegation`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DelegationResponse {
    /// The new ID token, for the target application.
    pub id_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// The claims Sigil reads back from an ID token it issued.
#[derive(Deserialize)]
struct IdTokenClaims {
    sub: String,
    aud: Value,
    exp: i64,
    auth_time: Option<i64>,
}

/// An ID token that verified: whose it is, for which application.
struct VerifiedIdToken {
    user_id: UserId,
    client: Client,
    exp: i64,
    auth_time: Option<i64>,
}

fn refused(code: ErrorCode, description: impl Into<String>) -> FlowError {
    OAuthError::new(code, description).into()
}

/// Proof, for one request, that the tenant has enabled `/tokeninfo`: [`tokeninfo`] takes it,
/// so the switch is checked before anything else about the request.
#[derive(Debug)]
pub struct TokenInfoEnabled(());

/// Proof, for one request, that the tenant has enabled `/delegation` (see [`TokenInfoEnabled`]).
#[derive(Debug)]
pub struct DelegationEnabled(());

/// The tenant's flags; a tenant not yet set up has every legacy endpoint off.
async fn flags(store: &impl Store) -> Result<crate::model::TenantFlags, FlowError> {
    Ok(store
        .tenant_settings()
        .await?
        .map(|tenant| tenant.flags)
        .unwrap_or_default())
}

/// Whether `/tokeninfo` is on (`allow_legacy_tokeninfo_endpoint`); off, the answer is
/// `not_found`, as Auth0 answers 404.
pub async fn tokeninfo_enabled(store: &impl Store) -> Result<TokenInfoEnabled, FlowError> {
    if flags(store).await?.allow_legacy_tokeninfo_endpoint {
        return Ok(TokenInfoEnabled(()));
    }
    Err(refused(
        ErrorCode::NotFound,
        "the legacy /tokeninfo endpoint is not enabled for this tenant; use /userinfo",
    ))
}

/// Whether `/delegation` is on (`allow_legacy_delegation_grant_types`); off, the answer is
/// `unauthorized_client` (403), as Auth0's for a tenant without legacy delegation.
pub async fn delegation_enabled(store: &impl Store) -> Result<DelegationEnabled, FlowError> {
    if flags(store).await?.allow_legacy_delegation_grant_types {
        return Ok(DelegationEnabled(()));
    }
    Err(refused(
        ErrorCode::UnauthorizedClient,
        "legacy delegation is not enabled for this tenant",
    ))
}

/// Verifies `token` as an ID token issued here to an existing application. Every refusal is
/// an [`OAuthError`] with `code`.
async fn verify_id_token(
    store: &impl Store,
    keys: &KeyRing,
    issuer: &str,
    now: UnixTime,
    token: &str,
    code: ErrorCode,
) -> Result<VerifiedIdToken, FlowError> {
    let bad = |why: String| refused(code, format!("invalid id_token: {why}"));
    // Which key verifies depends on the application: the header's algorithm says whether it
    // is the tenant's key pair or an application's HS256 secret, and for the latter the
    // unverified `aud` says whose. Neither is trusted: the token must then verify with that key,
    // and the validation requires that same `aud`.
    let unverified = insecure_decode(token).map_err(|e| bad(e.to_string()))?;
    let alg = unverified
        .header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(|a| a.parse::<Algorithm>().ok());
    let (claims, client) = match alg {
        Some(alg) if alg.is_symmetric() => {
            let Some(Value::String(aud)) = unverified.claims.get("aud") else {
                return Err(bad("not an ID token of one application".to_owned()));
            };
            let client = store
                .client(&ClientId(aud.clone()))
                .await?
                .ok_or_else(|| bad("issued to an unknown application".to_owned()))?;
            let secret = client
                .signing_secret
                .as_ref()
                .filter(|_| client.settings.jwt_configuration.alg == alg)
                .ok_or_else(|| {
                    bad(format!(
                        "the application does not sign its ID tokens with {alg}"
                    ))
                })?;
            let key = VerifyingKey::from_secret(secret.expose().as_bytes())
                .and_then(|k| k.restricted_to(alg))
                .map_err(|e| bad(e.to_string()))?;
            let verifier = Verifier::new(
                KeySet::single(key),
                Validation::new([alg])
                    .issuer(issuer)
                    .audience(client.client_id.as_str()),
            );
            let claims = verifier
                .verify::<IdTokenClaims>(token, now)
                .map_err(|e| bad(e.to_string()))?
                .claims;
            (claims, client)
        }
        _ => {
            let claims = keys
                .id_token_verifier()
                .verify::<IdTokenClaims>(token, now)
                .map_err(|e| bad(e.to_string()))?
                .claims;
            // Access tokens are signed with the same keys; an ID token's audience is exactly
            // one application.
            let Value::String(aud) = &claims.aud else {
                return Err(bad("not an ID token of one application".to_owned()));
            };
            let client = store.client(&ClientId(aud.clone())).await?.ok_or_else(|| {
                bad("not an ID token of one of this tenant's applications".to_owned())
            })?;
            (claims, client)
        }
    };
    Ok(VerifiedIdToken {
        user_id: UserId(claims.sub),
        client,
        exp: claims.exp,
        auth_time: claims.auth_time,
    })
}

/// The user's profile as Auth0's legacy endpoints return it: the normalised user (what the
/// Management API shows, without secrets or login addresses) and `clientID`, the application
/// the token was issued to.
fn legacy_profile(user: &User, client: &ClientId) -> Map<String, Value> {
    let mut profile = Map::new();
    let mut put = |name: &str, value: Value| {
        if !value.is_null() {
            profile.insert(name.to_owned(), value);
        }
    };
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    put("user_id", Value::String(user.user_id.0.clone()));
    put("email", text(&user.email));
    put("email_verified", Value::Bool(user.email_verified));
    put("username", text(&user.username));
    put("name", text(&user.name));
    put("given_name", text(&user.given_name));
    put("family_name", text(&user.family_name));
    put("nickname", text(&user.nickname));
    put("picture", text(&user.picture));
    put(
        "identities",
        serde_json::to_value(&user.identities).unwrap_or(Value::Null),
    );
    if !user.user_metadata.is_empty() {
        put("user_metadata", Value::Object(user.user_metadata.clone()));
    }
    if !user.app_metadata.is_empty() {
        put("app_metadata", Value::Object(user.app_metadata.clone()));
    }
    if user.blocked {
        put("blocked", Value::Bool(true));
    }
    put("created_at", Value::String(auth0_time(user.created_at)));
    put("updated_at", Value::String(auth0_time(user.updated_at)));
    put(
        "last_login",
        user.last_login
            .map_or(Value::Null, |t| Value::String(auth0_time(t))),
    );
    put("logins_count", Value::from(user.logins_count));
    put("clientID", Value::String(client.0.clone()));
    profile
}

/// `POST /tokeninfo`: the profile of the user an ID token issued here names.
///
/// Refusal: `invalid_token` for a token that does not verify or whose user no longer exists.
pub async fn tokeninfo(
    _enabled: TokenInfoEnabled,
    store: &impl Store,
    keys: &KeyRing,
    issuer: &str,
    now: UnixTime,
    id_token: &str,
) -> Result<Map<String, Value>, FlowError> {
    let verified =
        verify_id_token(store, keys, issuer, now, id_token, ErrorCode::InvalidToken).await?;
    let user = store
        .user(&verified.user_id)
        .await?
        .ok_or_else(|| refused(ErrorCode::InvalidToken, "the user no longer exists"))?;
    Ok(legacy_profile(&user, &verified.client.client_id))
}

/// `POST /delegation`: a new ID token for the target application, for the user the presented
/// token names.
///
/// The caller names itself by `client_id` alone, as Auth0's legacy SDKs do; what it presents
/// must have been issued to it. The new token is signed as the target's ID tokens are (RS256
/// with the tenant's key, or HS256 with the target's secret) and lasts the target's ID token
/// lifetime, but never beyond the presented ID token's own expiry: a chain of delegations
/// cannot outlive the login it started from (a refresh token is the way to stay signed in).
///
/// Refusals: `unauthorized_client` when the caller is not allowed the JWT bearer grant; `invalid_client` for an unknown caller;
/// `invalid_grant` for a token that does not verify, was issued to another application, or
/// whose user is gone or blocked; `invalid_request` for an unknown target; `invalid_scope` for
/// a scope without `openid`.
pub async fn delegation(
    _enabled: DelegationEnabled,
    store: &impl Store,
    keys: &KeyRing,
    issuer: &str,
    now: UnixTime,
    request: &DelegationRequest,
) -> Result<DelegationResponse, FlowError> {
    let client = store.client(&request.client_id).await?.ok_or_else(|| {
        refused(
            ErrorCode::InvalidClient,
            format!("unknown client: {}", request.client_id),
        )
    })?;
    crate::oauth::require_grant(&client, &[GrantType::JwtBearer])?;
    let scope: Vec<&str> = request
        .scope
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(DEFAULT_SCOPE)
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if !scope.contains(&"openid") {
        return Err(refused(
            ErrorCode::InvalidScope,
            "the scope must include openid: delegation issues ID tokens",
        ));
    }

    let (user_id, not_after, auth_time) = match &request.subject {
        DelegationSubject::IdToken(token) => {
            let verified =
                verify_id_token(store, keys, issuer, now, token, ErrorCode::InvalidGrant).await?;
            if verified.client.client_id != client.client_id {
                return Err(refused(
                    ErrorCode::InvalidGrant,
                    "the id_token was issued to another application than client_id",
                ));
            }
            (verified.user_id, Some(verified.exp), verified.auth_time)
        }
        DelegationSubject::RefreshToken(token) => {
            let invalid = || refused(ErrorCode::InvalidGrant, "Unknown or invalid refresh token.");
            let Some(stored) = store.refresh_token(&token.digest()).await? else {
                return Err(invalid());
            };
            if stored.client_id != client.client_id
                || stored.used_at.is_some()
                || !crate::oauth::refresh_token_live(&stored, now)
            {
                return Err(invalid());
            }
            (stored.user_id, None, stored.auth_time.map(|t| t.0))
        }
    };
    let user = store
        .user(&user_id)
        .await?
        .ok_or_else(|| refused(ErrorCode::InvalidGrant, "the user no longer exists"))?;
    if user.blocked {
        return Err(refused(ErrorCode::InvalidGrant, "user is blocked"));
    }

    let target = match &request.target {
        None => client.clone(),
        Some(id) if *id == client.client_id => client.clone(),
        Some(id) => store.client(id).await?.ok_or_else(|| {
            refused(
                ErrorCode::InvalidRequest,
                format!("target: there is no application with client_id {id}"),
            )
        })?,
    };
    let lifetime = i64::from(target.settings.jwt_configuration.lifetime_in_seconds);
    let exp = not_after.map_or(now.0 + lifetime, |end| end.min(now.0 + lifetime));

    let mut claims = Map::new();
    claims.insert("iss".into(), issuer.into());
    claims.insert("sub".into(), user.user_id.as_str().into());
    claims.insert("aud".into(), target.client_id.as_str().into());
    claims.insert("iat".into(), now.0.into());
    claims.insert("exp".into(), exp.into());
    if target.client_id != client.client_id {
        // OIDC Core §2: the party the token was asked for by, when it is not the audience.
        claims.insert("azp".into(), client.client_id.as_str().into());
    }
    if let Some(auth_time) = auth_time {
        claims.insert("auth_time".into(), auth_time.into());
    }
    claims.extend(profile_claims(&user, &scope));
    let id_token = crate::oauth::sign_id_token(keys, &target, &claims)?;

    store
        .append_log(&NewLogEvent {
            description: Some(format!(
                "delegation from {} to {}",
                client.client_id, target.client_id
            )),
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            user_id: Some(user.user_id.clone()),
            scope: Some(scope.join(" ")),
            ..NewLogEvent::new(LogType::SUCCESS_DELEGATION, now)
        })
        .await?;
    Ok(DelegationResponse {
        id_token,
        token_type: "Bearer",
        expires_in: exp - now.0,
    })
}
