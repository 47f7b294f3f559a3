//! Request bodies and query strings, read strictly: unknown fields are refused (400) rather
//! than dropped, and the message names the field, as Auth0's validation does. A key Auth0 lets
//! repeat (`?identifiers=a&identifiers=b`) is read by [`repeated_and_rest`], since
//! serde_urlencoded reads no repeated key into a struct.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::Uri;
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
            Err(rejection) => Err(query_refused(&rejection)),
        }
    }
}

fn query_refused(rejection: &QueryRejection) -> MgmtError {
    match rejection {
        QueryRejection::FailedToDeserializeQueryString(e) => {
            MgmtError::bad_query(format!("Query validation error: {}", e.body_text()))
        }
        other => MgmtError::bad_query(other.body_text()),
    }
}

/// Every value of the repeatable `key` in the raw `query`, in order, and the other parameters
/// read as [`Params`] reads them (unknown, ill-typed or repeated ones refused, naming them).
pub(crate) fn repeated_and_rest<T: DeserializeOwned>(
    query: Option<&str>,
    key: &str,
) -> Result<(Vec<String>, T), MgmtError> {
    let refused =
        |e: &dyn std::fmt::Display| MgmtError::bad_query(format!("Query validation error: {e}"));
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).map_err(|e| refused(&e))?;
    let (repeated, rest): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(k, _)| k == key);
    // The rest, encoded again, goes through axum's `Query` as `Params` does, so it is read and
    // refused in the same words.
    let rest = serde_urlencoded::to_string(&rest).map_err(|e| refused(&e))?;
    let uri: Uri = format!("/?{rest}").parse().map_err(|e| refused(&e))?;
    let axum::extract::Query(rest) =
        axum::extract::Query::<T>::try_from_uri(&uri).map_err(|e| query_refused(&e))?;
    Ok((repeated.into_iter().map(|(_, v)| v).collect(), rest))
}
