//! Auth0's MFA API for embedded login, over HTTP: `GET /mfa/authenticators`,
//! `DELETE /mfa/authenticators/{id}`, `POST /mfa/associate` and `POST /mfa/challenge` (the
//! grants are `/oauth/token`'s). Thin: the bearer token (an `mfa_token`, or an access token for
//! `<issuer>mfa/`) becomes core's `mfa::api::Caller`, and core answers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::{Map, Value};
use sigil_core::Store;
use sigil_core::events::Events as _;
use sigil_core::ids::{ClientId, UserId};
use sigil_core::mfa::api::{self, AssociateBody, Caller, ChallengeBody};
use sigil_core::model::{LogType, NewLogEvent, TenantSettings};
use sigil_core::oauth::{ErrorCode, FlowError, OAuthError, authenticate, open_mfa_token};

use crate::App;
use crate::client_ip::ClientIp;
use crate::error::{ApiError, BearerError};
use crate::token::{read_body, request_client_auth};

/// The bearer token of `Authorization`, as the MFA API takes it (never in the body).
fn bearer(headers: &HeaderMap) -> Result<String, BearerError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .filter(|token| !token.is_empty())
        .ok_or(BearerError::Missing)
}

/// Who calls: the user of an `mfa_token` (a JWE, five segments), or of an access token for
/// the MFA API (a JWS, three), with its scopes.
async fn caller<S: Store>(app: &App<S>, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = bearer(headers)?;
    let keys = app.keys().await?;
    if token.split('.').count() == 5 {
        let grant = open_mfa_token(&keys, &token, None, app.now())
            .map_err(|e| BearerError::InvalidToken(e.description))?;
        return Ok(Caller::MfaToken {
            user: UserId(grant.sub),
            client: ClientId(grant.azp),
        });
    }
    let mut claims = keys
        .mfa_api_verifier()
        .verify::<Map<String, Value>>(&token, app.now())
        .map_err(|e| BearerError::InvalidToken(e.to_string()))?
        .claims;
    let mut text = |name: &str| match claims.remove(name) {
        Some(Value::String(text)) => Some(text),
        _ => None,
    };
    let user = text("sub")
        .ok_or_else(|| BearerError::InvalidToken("the access token has no sub".to_owned()))?;
    let client = text("azp")
        .or_else(|| text("client_id"))
        .ok_or_else(|| BearerError::InvalidToken("the access token names no client".to_owned()))?;
    let scopes = text("scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Caller::AccessToken {
        user: UserId(user),
        client: ClientId(client),
        scopes,
    })
}

pub(crate) async fn list<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let caller = caller(&app, &headers).await?;
    let settings = tenant(&app).await?;
    Ok(Json(api::list(app.store(), &settings.mfa, &caller).await?))
}

pub(crate) async fn remove<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let caller = caller(&app, &headers).await?;
    if !api::remove(app.store(), &caller, &id).await? {
        return Err(OAuthError::new(ErrorCode::NotFound, "Authenticator not found").into());
    }
    app.emit(app.origin(ip, &headers).stamp(NewLogEvent {
        user_id: Some(caller.user().clone()),
        description: Some("Authenticator removed through the MFA API".to_owned()),
        ..NewLogEvent::new(LogType::MFA_UNENROLLED, app.now())
    }));
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's settings.
async fn tenant<S: Store>(app: &App<S>) -> Result<TenantSettings, ApiError> {
    Ok(app
        .store()
        .tenant_settings()
        .await
        .map_err(FlowError::from)?
        .unwrap_or_default())
}

pub(crate) async fn associate<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let caller = caller(&app, &headers).await?;
    let body: AssociateBody = read_body(&headers, &body)?;
    let settings = tenant(&app).await?;
    let keys = app.keys().await?;
    let origin = app.origin(ip, &headers);
    let effects = app.mfa_effects(&keys, &origin);
    let answer = api::associate(
        app.store(),
        &settings.mfa,
        &settings.friendly_name,
        effects,
        &caller,
        &body,
    )
    .await?;
    Ok(Json(answer))
}

/// `POST /mfa/challenge`'s body: the client's credentials and the challenge's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChallengeParams {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion: Option<String>,
    client_assertion_type: Option<String>,
    mfa_token: Option<String>,
    challenge_type: Option<String>,
    authenticator_id: Option<String>,
}

pub(crate) async fn challenge<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params: ChallengeParams = read_body(&headers, &body)?;
    let auth = request_client_auth(
        &headers,
        params.client_id,
        params.client_secret,
        params.client_assertion,
        params.client_assertion_type,
    )?;
    let client = authenticate(app.store(), &auth, app.issuer(), app.now()).await?;
    let token = params.mfa_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidRequest,
            "Missing required parameter: mfa_token",
        )
    })?;
    let keys = app.keys().await?;
    let grant = open_mfa_token(&keys, &token, Some(&client), app.now())?;
    let body = ChallengeBody {
        challenge_type: params.challenge_type,
        authenticator_id: params.authenticator_id,
    };
    let caller = Caller::MfaToken {
        user: UserId(grant.sub),
        client: client.client_id,
    };
    let settings = tenant(&app).await?;
    let origin = app.origin(ip, &headers);
    let effects = app.mfa_effects(&keys, &origin);
    Ok(Json(
        api::challenge(app.store(), &settings.mfa, effects, &caller, &body).await?,
    ))
}
