//! `POST /oauth/token` and `POST /oauth/revoke`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sigil_core::Store;
use sigil_core::events;
use sigil_core::oauth;

use crate::App;
use crate::client_ip::ClientIp;
use crate::error::ApiError;
use crate::observe::record_client;
use crate::token::{TokenRequest, parse, parse_revoke};

pub(crate) async fn token<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut request = parse(&headers, &body, app.origin(ip, &headers))?;
    let ip = match forwarded_for(&app, &request, &headers).await {
        Some(end_user) => {
            match &mut request {
                TokenRequest::Password(password) => {
                    password.origin.ip = Some(end_user.to_string());
                }
                TokenRequest::Passwordless(passwordless) => {
                    passwordless.origin.ip = Some(end_user.to_string());
                }
                _ => {}
            }
            end_user
        }
        None => ip,
    };
    let client = request.auth().client_id().cloned();
    if let Some(client) = &client {
        record_client(&client.0);
    }
    let kind = request.exchange();
    let answer = exchange(&app, request).await;
    if let Some(event) = events::exchange(
        kind,
        answer.as_ref(),
        client.as_ref(),
        app.now(),
        &app.origin(ip, &headers),
    ) {
        app.log_event(event);
    }
    let answer = answer?;
    if let Some(alg) = answer.issued.alg {
        app.metrics().token(kind.grant_type(), alg);
    }
    let mut response = Json(answer).into_response();
    // RFC 6749 §5.1: token responses are never cached.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Auth0's `auth0-forwarded-for`: the end user's address, sent by a confidential client's
/// backend on the password grants, believed only when the client trusts the header
/// (`is_token_endpoint_ip_header_trusted`). The client still has to authenticate for the
/// request to succeed.
async fn forwarded_for<S: Store>(
    app: &App<S>,
    request: &TokenRequest,
    headers: &HeaderMap,
) -> Option<std::net::IpAddr> {
    let auth = match request {
        TokenRequest::Password(password) => &password.auth,
        TokenRequest::Passwordless(passwordless) => &passwordless.auth,
        _ => return None,
    };
    let claimed = headers
        .get("auth0-forwarded-for")?
        .to_str()
        .ok()?
        .trim()
        .parse::<std::net::IpAddr>()
        .ok()?;
    let id = auth.client_id()?;
    let client = match sigil_core::oauth::Directory::client(&app.directory(app.now()), id).await {
        Ok(client) => client?,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the client for auth0-forwarded-for");
            return None;
        }
    };
    (client.settings.is_token_endpoint_ip_header_trusted && !client.app_type.is_public())
        .then_some(claimed.to_canonical())
}

/// Runs the grant `request` asks for.
async fn exchange<S: Store>(
    app: &App<S>,
    request: TokenRequest,
) -> Result<oauth::TokenResponse, oauth::FlowError> {
    let keys = app.keys().await?;
    let (store, rng, issuer, now) = (app.store(), app.rng(), app.issuer(), app.now());
    Ok(match request {
        TokenRequest::ClientCredentials(request) => {
            let directory = app.directory(now);
            match oauth::client_credentials(&directory, app, &keys, rng, issuer, now, &request)
                .await
            {
                // No signer for the API's algorithm in the loaded ring: its key family may be
                // newer than the ring, so read the keys again and try once more (this grant
                // changes nothing, so trying twice is safe).
                Err(oauth::FlowError::Sign(_)) => {
                    let keys = app.reload_keys().await?;
                    oauth::client_credentials(&directory, app, &keys, rng, issuer, now, &request)
                        .await?
                        .0
                }
                answer => answer?.0,
            }
        }
        TokenRequest::Password(request) => {
            oauth::password(store, &keys, rng, app.hasher(), app, issuer, now, &request).await?
        }
        TokenRequest::Code(request) => {
            oauth::authorization_code(store, &keys, rng, issuer, now, &request).await?
        }
        TokenRequest::Passwordless(request) => {
            oauth::passwordless_otp(
                store,
                &keys,
                rng,
                app.code_key(),
                &app.upstreams().policy(),
                app,
                issuer,
                now,
                &request,
            )
            .await?
        }
        TokenRequest::Mfa(request) => {
            oauth::mfa_grant(store, &keys, rng, app, issuer, now, &request).await?
        }
        TokenRequest::Refresh(request) => {
            oauth::refresh(
                store,
                app,
                &keys,
                rng,
                app.refresh_key(),
                issuer,
                now,
                &request,
            )
            .await?
        }
    })
}

/// RFC 7009: 200 whether or not the token was known.
pub(crate) async fn revoke<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let request = parse_revoke(&headers, &body)?;
    if let Some(client) = request.auth.client_id() {
        record_client(&client.0);
    }
    oauth::revoke(
        app.store(),
        &request.auth,
        &request.token,
        app.issuer(),
        app.now(),
    )
    .await?;
    Ok(StatusCode::OK)
}
