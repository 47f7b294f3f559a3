//! The Management API's one error shape, Auth0's: `{"statusCode","error","message","errorCode"}`.
//! Sigil's own failures are logged here, once; the caller sees a bare 500.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sigil_core::store::{Conflict, StoreError};

/// Why a Management API request failed.
#[derive(Debug)]
pub(crate) enum MgmtError {
    /// No token: 401.
    MissingToken,
    /// A token that does not verify (or is not for this API): 401.
    InvalidToken(String),
    /// A valid token without any of the scopes the operation needs: 403.
    InsufficientScope(&'static [&'static str]),
    /// A malformed request; the message names the field or parameter: 400.
    BadRequest {
        error_code: &'static str,
        message: String,
    },
    /// The thing addressed does not exist: 404.
    NotFound {
        error_code: &'static str,
        message: String,
    },
    /// A unique value is taken: 409.
    Conflict {
        error_code: &'static str,
        message: String,
    },
    /// The client's rate limit is spent: 429.
    RateLimited,
    /// A refusal decided in `sigil_core::management`, with its status and errorCode.
    Refused {
        status: u16,
        error_code: &'static str,
        message: String,
    },
    /// The password workers are all taken: 503 with `Retry-After`.
    Busy(sigil_core::password::Busy),
    /// The database cannot serve now: 503, try again shortly.
    Unavailable(String),
    /// Sigil failed: 500, logged.
    Internal(String),
}

impl From<sigil_core::password::Busy> for MgmtError {
    fn from(busy: sigil_core::password::Busy) -> Self {
        MgmtError::Busy(busy)
    }
}

impl From<sigil_core::oauth::FlowError> for MgmtError {
    fn from(e: sigil_core::oauth::FlowError) -> Self {
        use sigil_core::oauth::FlowError;
        match e {
            FlowError::Store(e) => e.into(),
            FlowError::Busy(busy) => MgmtError::Busy(busy),
            e @ (FlowError::OAuth(_) | FlowError::Sign(_)) => MgmtError::Internal(e.to_string()),
        }
    }
}

impl From<sigil_core::management::ManagementError> for MgmtError {
    fn from(e: sigil_core::management::ManagementError) -> Self {
        let (status, error_code, message) = e.parts();
        MgmtError::Refused {
            status,
            error_code,
            message,
        }
    }
}

impl MgmtError {
    pub(crate) fn bad_body(message: impl Into<String>) -> Self {
        MgmtError::BadRequest {
            error_code: "invalid_body",
            message: message.into(),
        }
    }

    pub(crate) fn bad_query(message: impl Into<String>) -> Self {
        MgmtError::BadRequest {
            error_code: "invalid_query_string",
            message: message.into(),
        }
    }

    pub(crate) fn not_found(error_code: &'static str, message: impl Into<String>) -> Self {
        MgmtError::NotFound {
            error_code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for MgmtError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => {
                MgmtError::not_found("inexistent_resource", format!("The {what} does not exist."))
            }
            StoreError::Conflict(conflict) => {
                let (error_code, message) = match conflict {
                    Conflict::UserId => ("user_exists", "The user already exists."),
                    Conflict::Email => ("user_exists", "The user already exists."),
                    Conflict::Username => ("username_exists", "The username already exists."),
                    Conflict::Connection => (
                        "conflict",
                        "A connection with the same name already exists.",
                    ),
                    Conflict::Client => ("conflict", "A client with the same id already exists."),
                    Conflict::ResourceServer => (
                        "conflict",
                        "A resource server with the same identifier already exists.",
                    ),
                    Conflict::ClientGrant => (
                        "conflict",
                        "A client grant for this client and audience already exists.",
                    ),
                    Conflict::Role => ("conflict", "A role with the same name already exists."),
                    Conflict::Action => {
                        ("conflict", "An action with the same name already exists.")
                    }
                    Conflict::Rule => ("conflict", "A rule with the same name already exists."),
                    Conflict::ActionBound => (
                        "conflict",
                        "The action is bound to a trigger; remove the binding, or delete with force=true.",
                    ),
                    Conflict::Authenticator => (
                        "conflict",
                        "The user already has a confirmed authentication method of this type; delete it first.",
                    ),
                    Conflict::SigningKey => (
                        "conflict",
                        "Another signing key operation changed the keys first; try again.",
                    ),
                    other => return MgmtError::Internal(format!("unexpected conflict: {other:?}")),
                };
                MgmtError::Conflict {
                    error_code,
                    message: message.to_owned(),
                }
            }
            e @ StoreError::Unavailable(_) => MgmtError::Unavailable(e.to_string()),
            other => MgmtError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for MgmtError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            MgmtError::Busy(busy) => Some(busy.retry_after_secs),
            MgmtError::Unavailable(_) => Some(crate::error::DATABASE_RETRY_AFTER),
            _ => None,
        };
        let (status, error_code, message) = match self {
            MgmtError::MissingToken => (
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "Missing authentication: send a Management API access token as Authorization: Bearer <token>".to_owned(),
            ),
            MgmtError::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                format!("Invalid token: {why}"),
            ),
            MgmtError::InsufficientScope(scopes) => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("Insufficient scope, expected any of: {}", scopes.join(",")),
            ),
            MgmtError::BadRequest {
                error_code,
                message,
            } => (StatusCode::BAD_REQUEST, error_code, message),
            MgmtError::NotFound {
                error_code,
                message,
            } => (StatusCode::NOT_FOUND, error_code, message),
            MgmtError::Conflict {
                error_code,
                message,
            } => (StatusCode::CONFLICT, error_code, message),
            MgmtError::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Global limit has been reached".to_owned(),
            ),
            MgmtError::Refused {
                status,
                error_code,
                message,
            } => (
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                error_code,
                message,
            ),
            MgmtError::Busy(busy) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                format!(
                    "The server is busy checking passwords; try again in {} s.",
                    busy.retry_after_secs
                ),
            ),
            MgmtError::Unavailable(why) => {
                tracing::error!(error = %why, "the database is unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "The server cannot reach its database; try again shortly.".to_owned(),
                )
            }
            MgmtError::Internal(why) => {
                tracing::error!(error = %why, "management API failure");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "The server failed; try again later.".to_owned(),
                )
            }
        };
        let body = json!({
            "statusCode": status.as_u16(),
            "error": status.canonical_reason().unwrap_or_default(),
            "message": message,
            "errorCode": error_code,
        });
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            crate::error::insert_retry_after(response.headers_mut(), seconds);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"sigil\""),
            );
        }
        response
    }
}
