//! The one mapping from errors to responses. OAuth errors go back as
//! `{"error","error_description"}` with Auth0's status codes; Sigil's own failures are logged
//! here, once, and the caller sees only `server_error`. Busy password workers are 503
//! `temporarily_unavailable` with `Retry-After`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sigil_core::oauth::{ErrorCode, FlowError, OAuthError};

/// An error a handler returns.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// From an OAuth flow (token endpoint): `{"error","error_description"}`.
    Flow(FlowError),
    /// A bearer token was missing or bad (RFC 6750 §3).
    Bearer(BearerError),
}

/// Why a request to a bearer-protected endpoint (`/userinfo`) was refused.
#[derive(Debug)]
pub(crate) enum BearerError {
    /// No token: 401 with a bare challenge.
    Missing,
    /// A malformed request: 400 `invalid_request`.
    InvalidRequest(&'static str),
    /// A token that does not verify: 401 `invalid_token`.
    InvalidToken(String),
}

impl From<FlowError> for ApiError {
    fn from(e: FlowError) -> Self {
        ApiError::Flow(e)
    }
}

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        ApiError::Flow(FlowError::OAuth(e))
    }
}

impl From<BearerError> for ApiError {
    fn from(e: BearerError) -> Self {
        ApiError::Bearer(e)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
    /// Auth0's finer `name` (`PasswordDictionaryError`, …), where the error has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// What else the error says (`mfa_token`, `mfa_requirements`).
    #[serde(flatten)]
    extra: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidRequest
        | ErrorCode::UnsupportedGrantType
        | ErrorCode::AssociationRequired
        | ErrorCode::UnsupportedChallengeType
        | ErrorCode::InvalidScope
        | ErrorCode::InvalidSignup
        | ErrorCode::InvalidPassword
        | ErrorCode::InteractionRequired
        | ErrorCode::LoginRequired
        | ErrorCode::ConsentRequired
        | ErrorCode::BadConnection
        | ErrorCode::BadEmail
        | ErrorCode::BadPhoneNumber
        | ErrorCode::BadAuthParams
        | ErrorCode::BadRequest
        | ErrorCode::SmsProviderError => StatusCode::BAD_REQUEST,
        ErrorCode::TooManyRequests | ErrorCode::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::InvalidClient
        | ErrorCode::InvalidToken
        | ErrorCode::Unauthorized
        | ErrorCode::PasswordLeaked => StatusCode::UNAUTHORIZED,
        // Auth0 answers invalid_grant with 403 (RFC 6749 says 400); clients expect Auth0's.
        ErrorCode::InvalidGrant
        | ErrorCode::UnauthorizedClient
        | ErrorCode::AccessDenied
        | ErrorCode::MfaRequired
        | ErrorCode::ExpiredToken => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Flow(e) => flow_response(e),
            ApiError::Bearer(e) => bearer_response(e),
        }
    }
}

/// RFC 6750 §3: the challenge names the error; the body repeats it as JSON.
fn bearer_response(e: BearerError) -> Response {
    let (status, error, description) = match e {
        BearerError::Missing => (
            StatusCode::UNAUTHORIZED,
            None,
            "an access token is required".to_owned(),
        ),
        BearerError::InvalidRequest(why) => (
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
            why.to_owned(),
        ),
        BearerError::InvalidToken(why) => (StatusCode::UNAUTHORIZED, Some("invalid_token"), why),
    };
    let challenge = match error {
        None => "Bearer realm=\"sigil\"".to_owned(),
        Some(code) => format!(
            "Bearer realm=\"sigil\", error=\"{code}\", error_description=\"{}\"",
            description.replace(['"', '\\'], "'")
        ),
    };
    let mut response = (
        status,
        axum::Json(Body {
            error: error.unwrap_or("invalid_request"),
            error_description: &description,
            name: None,
            extra: None,
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn flow_response(e: FlowError) -> Response {
    let mut retry_after = None;
    let oauth = match e {
        FlowError::OAuth(e) => e,
        // The database cannot serve now: the caller may try again shortly.
        FlowError::Store(e @ sigil_core::StoreError::Unavailable(_)) => {
            tracing::error!(error = %e, "the database is unavailable");
            retry_after = Some(DATABASE_RETRY_AFTER);
            OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "the server cannot reach its database; try again shortly",
            )
        }
        FlowError::Store(e) => {
            tracing::error!(error = %e, "store failure");
            OAuthError::new(ErrorCode::ServerError, "the server failed; try again later")
        }
        FlowError::Sign(e) => {
            tracing::error!(error = %e, "signing failure");
            OAuthError::new(ErrorCode::ServerError, "the server failed; try again later")
        }
        // Not a failure: the password workers are all taken (see `hasher.rs`).
        FlowError::Busy(busy) => {
            retry_after = Some(busy.retry_after_secs);
            OAuthError::new(ErrorCode::TemporarilyUnavailable, busy.to_string())
        }
    };
    let mut response = (
        status(oauth.code),
        axum::Json(Body {
            error: oauth.code.as_str(),
            error_description: &oauth.description,
            name: oauth.name,
            extra: oauth.extra.as_deref(),
        }),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // RFC 6749 §5.2 and RFC 9110 §15.5.2: a 401 names the authentication scheme to use. Auth0's
    // 401 `unauthorized` for a blocked user is about the user, not the request's credentials:
    // no scheme would help, so it names none, as Auth0's.
    let challenge = match oauth.code {
        ErrorCode::InvalidClient => Some("Basic realm=\"sigil\""),
        ErrorCode::InvalidToken => Some("Bearer realm=\"sigil\", error=\"invalid_token\""),
        ErrorCode::InvalidRequest
        | ErrorCode::InvalidGrant
        | ErrorCode::UnauthorizedClient
        | ErrorCode::UnsupportedGrantType
        | ErrorCode::InvalidScope
        | ErrorCode::AccessDenied
        | ErrorCode::InvalidSignup
        | ErrorCode::InvalidPassword
        | ErrorCode::InteractionRequired
        | ErrorCode::LoginRequired
        | ErrorCode::ConsentRequired
        | ErrorCode::NotFound
        | ErrorCode::ServerError
        | ErrorCode::TemporarilyUnavailable
        | ErrorCode::TooManyRequests
        | ErrorCode::BadConnection
        | ErrorCode::BadEmail
        | ErrorCode::BadPhoneNumber
        | ErrorCode::BadAuthParams
        | ErrorCode::BadRequest
        | ErrorCode::SmsProviderError
        | ErrorCode::MfaRequired
        | ErrorCode::ExpiredToken
        | ErrorCode::AssociationRequired
        | ErrorCode::UnsupportedChallengeType
        | ErrorCode::TooManyAttempts
        | ErrorCode::Unauthorized
        | ErrorCode::PasswordLeaked => None,
    };
    if let Some(challenge) = challenge {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    if let Some(seconds) = retry_after {
        insert_retry_after(headers, seconds);
    }
    response
}

/// Seconds a caller is told to wait when the database is unavailable.
pub(crate) const DATABASE_RETRY_AFTER: u64 = 5;

/// RFC 9110 §10.2.3: when to try again after a 503, in seconds.
pub(crate) fn insert_retry_after(headers: &mut axum::http::HeaderMap, seconds: u64) {
    headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
}
