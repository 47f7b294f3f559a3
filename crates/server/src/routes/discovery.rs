//! `/.well-known/openid-configuration` and `/.well-known/jwks.json`. Discovery lists only what
//! Sigil serves today; it grows with each endpoint.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sigil_core::Store;
use sigil_core::oauth::ASSERTION_ALGORITHMS;

use crate::App;
use crate::error::ApiError;

/// JWKS responses may be cached this long (seconds). A rotated key is published as `next`
/// long before it signs, so caches never miss it.
const JWKS_MAX_AGE: &str = "public, max-age=300";

pub(crate) async fn openid_configuration<S: Store>(State(app): State<App<S>>) -> Response {
    let issuer = app.issuer();
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}.well-known/jwks.json"),
        "authorization_endpoint": format!("{issuer}authorize"),
        "token_endpoint": format!("{issuer}oauth/token"),
        "userinfo_endpoint": format!("{issuer}userinfo"),
        "revocation_endpoint": format!("{issuer}oauth/revoke"),
        "end_session_endpoint": format!("{issuer}oidc/logout"),
        "response_types_supported": [
            "code", "token", "id_token", "id_token token",
            "code id_token", "code token", "code id_token token",
        ],
        "response_modes_supported": ["query", "fragment", "form_post", "web_message"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "grant_types_supported": [
            "authorization_code",
            "implicit",
            "client_credentials",
            "refresh_token",
            "password",
            "http://auth0.com/oauth/grant-type/password-realm",
            "http://auth0.com/oauth/grant-type/passwordless/otp",
        ],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic", "client_secret_post", "private_key_jwt", "none",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "scopes_supported": sigil_core::oauth::OIDC_SCOPES.map(|(scope, _)| scope),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "PS256", "HS256"],
        "claims_supported": [
            "aud", "at_hash", "auth_time", "c_hash", "email", "nonce", "sid", "email_verified", "exp", "family_name", "given_name",
            "iat", "iss", "name", "nickname", "phone_number", "phone_number_verified", "picture",
            "sub", "updated_at",
        ],
    }))
    .into_response()
}

pub(crate) async fn jwks<S: Store>(State(app): State<App<S>>) -> Result<Response, ApiError> {
    let keys = app.keys().await?;
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        keys.jwks_json().to_owned(),
    )
        .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(JWKS_MAX_AGE),
    );
    Ok(response)
}
