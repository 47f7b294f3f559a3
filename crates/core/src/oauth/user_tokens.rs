//! Tokens for a user, whichever grant proved who they are: the scopes they get, the access
//! token (a JWT for the API named by `audience`, or one good only at `/userinfo`), the ID token
//! when `openid` was granted, and a refresh token when `offline_access` was.

use serde_json::{Map, Value};
use sigil_jose::{Algorithm, PrivateKey, Secret, SigningKey};

use crate::clock::auth0_time;
use crate::ids::{FamilyId, SessionId};
use crate::keyring::KeyRing;
use crate::model::{Client, GrantType, RefreshToken, ResourceServer, User};
use crate::secret::Token;
use crate::{Rng, Store, UnixTime};

use super::access_token::{AccessToken, Subject};
use super::{ErrorCode, FlowError, OAuthError, TokenResponse, UserinfoGrant};
use crate::actions::PostLogin;
use crate::claims;

/// Lifetime of a token good only at `/userinfo` (no API named), as Auth0's.
const USERINFO_TOKEN_LIFETIME: i64 = 86_400;

/// What a grant established about the user and asked for.
pub(crate) struct UserGrant<'a> {
    pub(crate) client: &'a Client,
    pub(crate) user: &'a User,
    /// The requested scopes, space-separated.
    pub(crate) scope: Option<&'a str>,
    /// The API asked for, found by [`api`].
    pub(crate) api: Option<ResourceServer>,
    /// `gty` for the access token (`password`; none for the code flow).
    pub(crate) gty: Option<&'static str>,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) auth_time: Option<UnixTime>,
    pub(crate) session: Option<&'a SessionId>,
    /// What to do about a refresh token.
    pub(crate) refresh: Refresh,
    /// What the post-login Actions decided (claims, scopes), when any ran.
    pub(crate) decided: Option<&'a PostLogin>,
}

/// The refresh token a grant answers with.
pub(crate) enum Refresh {
    /// A new family when `offline_access` is granted (logins).
    NewFamily,
    /// A new family with this id when `offline_access` is granted (the code flow: the id is
    /// derived from the code, so a replayed code can revoke what its first use issued).
    Family(FamilyId),
    /// This one (the successor a rotation stored).
    Given(String),
    /// None (a non-rotating refresh: the client keeps using its token).
    Omit,
}

/// The profile claims `scope` allows, as OIDC Core §5.4 and Auth0 name them.
pub fn profile_claims(user: &User, scope: &[&str]) -> Map<String, Value> {
    let mut claims = Map::new();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            claims.insert(name.to_owned(), value);
        }
    };
    if scope.contains(&"profile") {
        put("nickname", user.nickname.clone().map(Value::String));
        put("name", user.name.clone().map(Value::String));
        put("picture", user.picture.clone().map(Value::String));
        put("given_name", user.given_name.clone().map(Value::String));
        put("family_name", user.family_name.clone().map(Value::String));
        put(
            "updated_at",
            Some(Value::String(auth0_time(user.updated_at))),
        );
    }
    if scope.contains(&"email") {
        put("email", user.email.clone().map(Value::String));
        put("email_verified", Some(Value::Bool(user.email_verified)));
    }
    // OIDC Core §5.4: an SMS connection's users have a number.
    if scope.contains(&"phone") && user.phone_number.is_some() {
        put("phone_number", user.phone_number.clone().map(Value::String));
        put(
            "phone_number_verified",
            Some(Value::Bool(user.phone_verified)),
        );
    }
    claims
}

/// The scopes granted and the RBAC permissions for the access token.
async fn granted(
    store: &impl Store,
    issuer: &str,
    grant: &UserGrant<'_>,
    api: Option<&ResourceServer>,
) -> Result<(Vec<String>, Option<Vec<String>>), FlowError> {
    let asked: Vec<&str> = grant
        .scope
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    let mut scopes: Vec<String> = asked
        .iter()
        .filter(|s| super::is_oidc_scope(s))
        .map(|s| (*s).to_owned())
        .collect();
    let mut permissions = None;
    if let Some(api) = api {
        let defined: Vec<&str> = api.scopes.iter().map(|s| s.value.as_str()).collect();
        let mut allowed: Vec<String> = asked
            .iter()
            .filter(|s| defined.contains(s) && !super::is_oidc_scope(s))
            .map(|s| (*s).to_owned())
            .collect();
        if api.is_management_api(issuer) {
            // The Management API: a user may ask only for what acts on themselves.
            allowed.retain(|s| super::CURRENT_USER_SCOPES.contains(&s.as_str()));
        }
        if api.enforce_policies {
            let held = store
                .effective_permissions(&grant.user.user_id, &api.identifier)
                .await?;
            allowed.retain(|s| held.contains(s));
            if api.token_dialect.includes_permissions() {
                permissions = Some(held);
            }
        }
        scopes.extend(allowed);
        if !api.allow_offline_access {
            scopes.retain(|s| s != "offline_access");
        }
    }
    if !grant
        .client
        .settings
        .grant_types
        .contains(&GrantType::RefreshToken)
    {
        scopes.retain(|s| s != "offline_access");
    }
    Ok((scopes, permissions))
}

/// Signs the ID token: RS256 with the tenant's key, or HS256 with the client's secret when the
/// client asks for it.
pub(crate) fn sign_id_token(
    keys: &KeyRing,
    client: &Client,
    claims: &Map<String, Value>,
) -> Result<String, FlowError> {
    let alg = client.settings.jwt_configuration.alg;
    let signed = if alg.is_symmetric() {
        let secret = client.signing_secret.as_ref().ok_or_else(|| {
            FlowError::Sign(format!(
                "client {} wants {alg} ID tokens but has no signing secret",
                client.client_id
            ))
        })?;
        let key = PrivateKey::from_secret(Secret::new(secret.expose().as_bytes().to_vec()));
        SigningKey::new(key, alg)
            .map_err(|e| FlowError::Sign(e.to_string()))?
            .sign(claims)
    } else {
        keys.signer(alg)
            .ok_or_else(|| FlowError::Sign(format!("no current signing key can sign {alg}")))?
            .sign(claims)
    };
    signed.map_err(|e| FlowError::Sign(e.to_string()))
}

/// The API named by `audience`, or by the tenant's default audience when the request names
/// none (as Auth0's "Default Audience"); none when neither does. An unknown one is refused.
pub(crate) async fn api(
    store: &impl Store,
    audience: Option<&str>,
) -> Result<Option<ResourceServer>, FlowError> {
    let default;
    let audience = match audience.filter(|a| !a.is_empty()) {
        Some(audience) => audience,
        None => {
            default = store
                .tenant_settings()
                .await?
                .and_then(|t| t.default_audience)
                .filter(|a| !a.is_empty());
            match default.as_deref() {
                Some(audience) => audience,
                None => return Ok(None),
            }
        }
    };
    match store.resource_server_by_identifier(audience).await? {
        Some(api) => Ok(Some(api)),
        None => Err(OAuthError::new(
            ErrorCode::AccessDenied,
            format!("Service not found: {audience}"),
        )
        .into()),
    }
}

/// Issues the tokens for `grant` at the token endpoint.
pub(crate) async fn issue(
    store: &impl Store,
    keys: &KeyRing,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    grant: &UserGrant<'_>,
) -> Result<TokenResponse, FlowError> {
    let api = grant.api.as_ref();
    let (scopes, permissions) = granted(store, issuer, grant, api).await?;
    let has = |s: &str| scopes.iter().any(|x| x == s);
    // The access token's scopes, as the post-login Actions changed them.
    let access_scopes = grant
        .decided
        .map_or_else(|| scopes.clone(), |d| d.access_scopes(&scopes));
    let scope = access_scopes.join(" ");
    let (access_token, lifetime) =
        access_token(keys, rng, issuer, now, grant, &access_scopes, permissions)?;
    let id_token = if has("openid") {
        Some(id_token(keys, issuer, now, grant, &scopes, &[])?)
    } else {
        None
    };
    let refresh_token = match &grant.refresh {
        Refresh::NewFamily if has("offline_access") => {
            let family = FamilyId::generate(rng);
            Some(new_family(store, rng, now, grant, api, &scopes, family).await?)
        }
        Refresh::Family(family) if has("offline_access") => {
            Some(new_family(store, rng, now, grant, api, &scopes, family.clone()).await?)
        }
        Refresh::NewFamily | Refresh::Family(_) | Refresh::Omit => None,
        Refresh::Given(token) => Some(token.clone()),
    };
    let user = grant.user;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        scope: (!scope.is_empty()).then_some(scope),
        id_token,
        refresh_token,
        recovery_code: None,
        issued: super::Issued {
            client_name: Some(grant.client.name.clone()),
            user_id: Some(user.user_id.clone()),
            user_name: user
                .email
                .clone()
                .or_else(|| user.username.clone())
                .or_else(|| user.name.clone()),
            connection: user.identities.first().map(|i| i.connection.clone()),
            connection_id: Some(user.connection_id.to_string()),
            strategy: user
                .identities
                .first()
                .and_then(|i| crate::model::Strategy::parse(&i.provider)),
            audience: api.map(|a| a.identifier.clone()),
            alg: Some(api.map_or("dir", |a| a.signing_alg.as_str())),
            executions: grant
                .decided
                .map(|d| d.executions.clone())
                .unwrap_or_default(),
        },
    })
}

/// The scopes `grant` gets and, when the API asks for them, its RBAC permissions.
pub(crate) async fn scopes_for(
    store: &impl Store,
    issuer: &str,
    grant: &UserGrant<'_>,
) -> Result<(Vec<String>, Option<Vec<String>>), FlowError> {
    granted(store, issuer, grant, grant.api.as_ref()).await
}

/// The access token for `grant` with `scopes`, and its lifetime in seconds: a JWT for the API
/// asked for, or an opaque token good only at `/userinfo` when none was.
pub(crate) fn access_token(
    keys: &KeyRing,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    grant: &UserGrant<'_>,
    scopes: &[String],
    permissions: Option<Vec<String>>,
) -> Result<(String, i64), FlowError> {
    let has_openid = scopes.iter().any(|s| s == "openid");
    let scope = scopes.join(" ");
    let Some(api) = grant.api.as_ref() else {
        let opaque = UserinfoGrant {
            sub: grant.user.user_id.as_str().to_owned(),
            azp: grant.client.client_id.as_str().to_owned(),
            scope,
            iat: now.0,
            exp: now.0 + USERINFO_TOKEN_LIFETIME,
            // The ID token's custom claims (too large ones fail the ID token itself).
            claims: grant
                .decided
                .filter(|d| has_openid && !d.id_token.is_empty())
                .and_then(|d| {
                    claims::apply_custom(
                        &claims::Token::Id,
                        host(issuer).as_deref(),
                        d.id_token.clone(),
                    )
                    .ok()
                })
                .unwrap_or_default(),
        };
        let token = keys.opaque().seal(rng, &opaque).map_err(FlowError::Sign)?;
        return Ok((token, USERINFO_TOKEN_LIFETIME));
    };
    let custom = match grant.decided {
        Some(decided) if !decided.access_token.is_empty() => {
            let token = claims::Token::Access {
                scopes,
                management: api.is_management_api(issuer),
            };
            Some(
                claims::apply_custom(
                    &token,
                    host(issuer).as_deref(),
                    decided.access_token.clone(),
                )
                .map_err(|e| OAuthError::new(ErrorCode::AccessDenied, e.to_string()))?,
            )
        }
        _ => None,
    };
    AccessToken {
        api,
        subject: Subject::User(grant.user.user_id.as_str()),
        client_id: &grant.client.client_id,
        scope: (!scope.is_empty()).then_some(scope.as_str()),
        userinfo: has_openid,
        gty: grant.gty,
        permissions: permissions.as_deref(),
        custom: custom.as_ref(),
    }
    .sign(keys, rng, issuer, now)
}

/// The ID token for `grant` with `scopes`' profile claims, plus `extra` claims (`at_hash`,
/// `c_hash` when it travels with an access token or a code through the browser).
pub(crate) fn id_token(
    keys: &KeyRing,
    issuer: &str,
    now: UnixTime,
    grant: &UserGrant<'_>,
    scopes: &[String],
    extra: &[(&str, String)],
) -> Result<String, FlowError> {
    let mut claims = Map::new();
    claims.insert("iss".into(), issuer.into());
    claims.insert("sub".into(), grant.user.user_id.as_str().into());
    claims.insert("aud".into(), grant.client.client_id.as_str().into());
    claims.insert("iat".into(), now.0.into());
    let lifetime = i64::from(grant.client.settings.jwt_configuration.lifetime_in_seconds);
    claims.insert("exp".into(), (now.0 + lifetime).into());
    if let Some(auth_time) = grant.auth_time {
        claims.insert("auth_time".into(), auth_time.0.into());
    }
    if let Some(nonce) = grant.nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    if let Some(sid) = grant.session {
        claims.insert("sid".into(), sid.as_str().into());
    }
    if let Some(decided) = grant.decided.filter(|d| !d.id_token.is_empty()) {
        let custom = claims::apply_custom(
            &claims::Token::Id,
            host(issuer).as_deref(),
            decided.id_token.clone(),
        )
        .map_err(|e| OAuthError::new(ErrorCode::AccessDenied, e.to_string()))?;
        claims.extend(custom);
    }
    // How the user authenticated, when a second factor was part of it (set by the MFA step,
    // never by an Action).
    if let Some(decided) = grant.decided {
        if !decided.amr.is_empty() {
            claims.insert("amr".into(), decided.amr.clone().into());
        }
        if let Some(acr) = &decided.acr {
            claims.insert("acr".into(), acr.as_str().into());
        }
    }
    for (name, value) in extra {
        claims.insert((*name).into(), value.as_str().into());
    }
    let granted: Vec<&str> = scopes.iter().map(String::as_str).collect();
    claims.extend(profile_claims(grant.user, &granted));
    sign_id_token(keys, grant.client, &claims)
}

/// `at_hash`/`c_hash` of `value` for an ID token signed with `alg` (OIDC Core §3.3.2.11): the
/// left half of the hash the algorithm uses, base64url. EdDSA over Ed25519 hashes with SHA-512.
pub(crate) fn half_hash(alg: Algorithm, value: &str) -> String {
    use aws_lc_rs::digest;
    let hash = match alg {
        Algorithm::HS384 | Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => {
            &digest::SHA384
        }
        Algorithm::HS512
        | Algorithm::RS512
        | Algorithm::PS512
        | Algorithm::ES512
        | Algorithm::EdDSA => &digest::SHA512,
        Algorithm::HS256 | Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => {
            &digest::SHA256
        }
    };
    let full = digest::digest(hash, value.as_bytes());
    let bytes = full.as_ref();
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(&bytes[..bytes.len() / 2])
}

/// Starts a refresh-token family for `grant` and returns its first token.
async fn new_family(
    store: &impl Store,
    rng: &dyn Rng,
    now: UnixTime,
    grant: &UserGrant<'_>,
    api: Option<&ResourceServer>,
    scopes: &[String],
    family_id: FamilyId,
) -> Result<String, FlowError> {
    let token = Token::generate(rng);
    let policy = &grant.client.settings.refresh_token;
    let expiring = policy.expiration_type == crate::model::RefreshTokenExpiration::Expiring;
    store
        .create_refresh_token(&RefreshToken {
            digest: token.digest(),
            family_id,
            parent: None,
            generation: 0,
            client_id: grant.client.client_id.clone(),
            user_id: grant.user.user_id.clone(),
            session_id: grant.session.cloned(),
            audience: api.map(|a| a.identifier.clone()),
            scope: scopes.to_vec(),
            created_at: now,
            expires_at: (expiring && !policy.infinite_token_lifetime)
                .then(|| UnixTime(now.0 + i64::from(policy.token_lifetime))),
            idle_expires_at: (expiring && !policy.infinite_idle_token_lifetime)
                .then(|| UnixTime(now.0 + i64::from(policy.idle_token_lifetime))),
            used_at: None,
            revoked_at: None,
            auth_time: grant.auth_time,
        })
        .await?;
    Ok(token.expose().to_owned())
}

/// The issuer's host: custom claims in its namespace are dropped.
fn host(issuer: &str) -> Option<String> {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
}
