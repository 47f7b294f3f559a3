//! Request bodies and query strings, read strictly: unknown fields are refused (400) rather
//! than dropped, and the message names the field, as Auth0's validation does.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::MgmtError;

/// A JSON body of type `T` (whose serde derive denies unknown fields).
pub(crate) struct Body<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = MgmtError;

    async fn from_request(request: Request, state: &S) -> Result<Self, MgmtError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(MgmtError::bad_body(body_message(&rejection))),
        }
    }
}

fn body_message(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Payload validation error: the body must be JSON (Content-Type: application/json)."
                .to_owned()
        }
        JsonRejection::JsonDataError(e) => format!("Payload validation error: {}", e.body_text()),
        JsonRejection::JsonSyntaxError(e) => {
            format!("Payload validation error: invalid JSON: {}", e.body_text())
        }
        other => format!("Payload validation error: {}", other.body_text()),
    }
}

/// A query string of type `T`.
pub(crate) struct Params<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = MgmtError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, MgmtError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Params(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(MgmtError::bad_query(
                format!("Query validation error: {}", e.body_text()),
            )),
            Err(other) => Err(MgmtError::bad_query(other.body_text())),
        }
    }
}
