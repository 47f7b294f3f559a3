//! `GET|POST /userinfo` (OIDC Core §5.3): the profile the access token's scopes allow. The
//! token comes as `Authorization: Bearer` or, on POST, as the `access_token` form field
//! (RFC 6750 §2.2); it is either an opaque token (a JWE only Sigil can open, issued when no API
//! was named) or an API's JWT whose audience includes `<issuer>userinfo`.
//!
//! Custom claims come back too, as Auth0's: the ID token's that post-login set, which an
//! opaque token carries sealed; for an API's JWT, which cannot carry them unseen, the custom
//! claims the access token itself carries (those an Action may set).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use sigil_core::Store;
use sigil_core::ids::UserId;
use sigil_core::oauth::{ErrorCode, OAuthError, profile_claims};
use sigil_core::rate_limit::{USERINFO, userinfo_bucket};

use crate::App;
use crate::error::{ApiError, BearerError};

#[derive(Deserialize)]
struct Form {
    access_token: Option<String>,
}

/// The bearer token of the request, from the header or the form body; never both.
fn bearer(headers: &HeaderMap, body: &[u8]) -> Result<String, BearerError> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let from_body = if body.is_empty() {
        None
    } else {
        serde_urlencoded::from_bytes::<Form>(body)
            .ok()
            .and_then(|f| f.access_token)
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(BearerError::InvalidRequest(
            "the access token was sent twice (header and body)",
        )),
        (Some(token), None) | (None, Some(token)) => Ok(token),
        (None, None) => Err(BearerError::Missing),
    }
}

struct Claims {
    sub: String,
    scope: String,
    custom: Map<String, Value>,
}

pub(crate) async fn userinfo<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let token = bearer(&headers, &body)?;
    let keys = app.keys().await?;
    // Five segments: a JWE, which only the opaque-token key may open; three: a JWS.
    let claims = if token.split('.').count() == 5 {
        let grant = keys
            .opaque()
            .open(&token, app.now())
            .map_err(|e| BearerError::InvalidToken(e.to_string()))?;
        Claims {
            sub: grant.sub,
            scope: grant.scope,
            custom: grant.claims,
        }
    } else {
        let mut all = keys
            .userinfo_verifier()
            .verify::<Map<String, Value>>(&token, app.now())
            .map_err(|e| BearerError::InvalidToken(e.to_string()))?
            .claims;
        let mut text = |name: &str| match all.remove(name) {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        let sub = text("sub")
            .ok_or_else(|| BearerError::InvalidToken("the access token has no sub".to_owned()))?;
        let scope = text("scope").unwrap_or_default();
        all.retain(|name, _| sigil_core::claims::settable(name));
        Claims {
            sub,
            scope,
            custom: all,
        }
    };
    // Auth0's limit per user (10 at once, 5 a minute), shared by the nodes.
    let verdict = crate::rate_limits::take(&app, &userinfo_bucket(&claims.sub), USERINFO)
        .await
        .map_err(sigil_core::oauth::FlowError::from)?;
    if !verdict.allowed {
        let mut response = ApiError::from(OAuthError::new(
            ErrorCode::TooManyRequests,
            "Too many requests for this user's profile: at most 10 at once, then 5 a minute",
        ))
        .into_response();
        crate::rate_limits::headers(response.headers_mut(), &verdict);
        return Ok(response);
    }
    let user = app
        .store()
        .user(&UserId(claims.sub.clone()))
        .await
        .map_err(sigil_core::oauth::FlowError::from)?
        .ok_or_else(|| BearerError::InvalidToken("the user no longer exists".to_owned()))?;
    if user.blocked {
        return Err(BearerError::InvalidToken("the user is blocked".to_owned()).into());
    }
    let scope: Vec<&str> = claims.scope.split(' ').collect();
    let mut profile = Map::new();
    profile.insert("sub".to_owned(), Value::String(claims.sub));
    profile.extend(profile_claims(&user, &scope));
    for (name, value) in claims.custom {
        profile.entry(name).or_insert(value);
    }
    let mut response = Json(profile).into_response();
    crate::rate_limits::headers(response.headers_mut(), &verdict);
    Ok(response)
}
