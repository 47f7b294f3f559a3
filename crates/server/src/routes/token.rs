//! `POST /oauth/token`.

use axum::Json;
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sigil_core::Store;
use sigil_core::oauth;

use crate::App;
use crate::error::ApiError;
use crate::token::{TokenRequest, parse};

pub(crate) async fn token<S: Store>(
    State(app): State<App<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let answer = match parse(&headers, &body, Some(peer.ip().to_string()))? {
        TokenRequest::ClientCredentials(request) => {
            let keys = app.keys().await?;
            oauth::client_credentials(
                app.store(),
                &keys,
                app.rng(),
                app.issuer(),
                app.now(),
                &request,
            )
            .await?
            .0
        }
        TokenRequest::Password(request) => {
            let keys = app.keys().await?;
            oauth::password(
                app.store(),
                &keys,
                app.rng(),
                app.hasher(),
                app.issuer(),
                app.now(),
                &request,
            )
            .await?
        }
    };
    let mut response = Json(answer).into_response();
    // RFC 6749 §5.1: token responses are never cached.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
