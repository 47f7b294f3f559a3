//! The one mapping from errors to responses. OAuth errors go back as
//! `{"error","error_description"}` with Auth0's status codes; Sigil's own failures are logged
//! here, once, and the caller sees only `server_error`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sigil_core::oauth::{ErrorCode, FlowError, OAuthError};

/// An error a handler returns.
#[derive(Debug)]
pub(crate) struct ApiError(pub(crate) FlowError);

impl From<FlowError> for ApiError {
    fn from(e: FlowError) -> Self {
        ApiError(e)
    }
}

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        ApiError(FlowError::OAuth(e))
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidRequest
        | ErrorCode::InvalidGrant
        | ErrorCode::UnsupportedGrantType
        | ErrorCode::InvalidScope => StatusCode::BAD_REQUEST,
        ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        ErrorCode::UnauthorizedClient | ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let oauth = match self.0 {
            FlowError::OAuth(e) => e,
            FlowError::Store(e) => {
                tracing::error!(error = %e, "store failure");
                OAuthError::new(ErrorCode::ServerError, "the server failed; try again later")
            }
            FlowError::Sign(e) => {
                tracing::error!(error = %e, "signing failure");
                OAuthError::new(ErrorCode::ServerError, "the server failed; try again later")
            }
        };
        let mut response = (
            status(oauth.code),
            axum::Json(Body {
                error: oauth.code.as_str(),
                error_description: &oauth.description,
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // RFC 6749 §5.2: a 401 names the authentication scheme the client may use.
        if oauth.code == ErrorCode::InvalidClient {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sigil\""),
            );
        }
        response
    }
}
