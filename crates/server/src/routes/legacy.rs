//! Auth0's legacy `POST /tokeninfo` and `POST /delegation`, off unless the tenant enables them
//! (the rules are `sigil_core::legacy`'s). Bodies are forms or JSON, as at `/oauth/token`;
//! unknown or repeated parameters are refused. The tenant's switch is read from the store on
//! every request, so turning an endpoint on or off takes effect at once.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sigil_core::Store;
use sigil_core::ids::ClientId;
use sigil_core::legacy::{self, API_TYPE_APP, DelegationRequest, DelegationSubject};
use sigil_core::model::GrantType;
use sigil_core::oauth::{ErrorCode, OAuthError};
use sigil_core::secret::Token;

use crate::App;
use crate::error::ApiError;
use crate::token::{read_body, required};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenInfoParams {
    id_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DelegationParams {
    client_id: Option<String>,
    grant_type: Option<String>,
    id_token: Option<String>,
    refresh_token: Option<String>,
    target: Option<String>,
    scope: Option<String>,
    api_type: Option<String>,
}

/// JSON that must not be cached: a profile, a token.
fn no_store(body: impl Serialize) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn invalid(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, description)
}

/// The delegation request in `params`: the grant type must be RFC 7523's JWT bearer, exactly
/// one of `id_token` and `refresh_token` is given, and `api_type`, if any, is `app`.
fn delegation_request(params: DelegationParams) -> Result<DelegationRequest, OAuthError> {
    let present = |v: Option<String>| v.filter(|v| !v.is_empty());
    match present(params.grant_type) {
        None => return Err(invalid("Missing required parameter: grant_type")),
        Some(g) if g == GrantType::JwtBearer.as_str() => {}
        Some(other) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "Unsupported grant type: {other}; /delegation takes {}",
                    GrantType::JwtBearer.as_str()
                ),
            ));
        }
    }
    if let Some(api_type) = present(params.api_type).filter(|a| a != API_TYPE_APP) {
        return Err(invalid(format!(
            "api_type {api_type} is not supported: Sigil delegates only to its own applications (api_type {API_TYPE_APP})"
        )));
    }
    let subject = match (present(params.id_token), present(params.refresh_token)) {
        (Some(id_token), None) => DelegationSubject::IdToken(id_token),
        (None, Some(refresh)) => DelegationSubject::RefreshToken(Token::new(refresh)),
        (Some(_), Some(_)) => {
            return Err(invalid("send either id_token or refresh_token, not both"));
        }
        (None, None) => {
            return Err(invalid(
                "Missing required parameter: id_token (or refresh_token)",
            ));
        }
    };
    Ok(DelegationRequest {
        client_id: ClientId(required(params.client_id, "client_id")?),
        subject,
        target: present(params.target).map(ClientId),
        scope: params.scope,
    })
}

pub(crate) async fn tokeninfo<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let enabled = legacy::tokeninfo_enabled(app.store()).await?;
    let params: TokenInfoParams = read_body(&headers, &body)?;
    let id_token = required(params.id_token, "id_token")?;
    let keys = app.keys().await?;
    let (store, issuer, now) = (app.store(), app.issuer(), app.now());
    let profile = legacy::tokeninfo(enabled, store, &keys, issuer, now, &id_token).await?;
    Ok(no_store(profile))
}

pub(crate) async fn delegation<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let enabled = legacy::delegation_enabled(app.store()).await?;
    let request = delegation_request(read_body(&headers, &body)?)?;
    let keys = app.keys().await?;
    let (store, issuer, now) = (app.store(), app.issuer(), app.now());
    let answer = legacy::delegation(enabled, store, &keys, issuer, now, &request).await?;
    Ok(no_store(answer))
}
