//! `POST /dbconnections/signup` and `POST /dbconnections/change_password` (Auth0's
//! Authentication API), JSON or form bodies.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use sigil_core::Store;
use sigil_core::StoreError;
use sigil_core::accounts::{self, SignupRequest, SignupResponse};
use sigil_core::events::{self, LoginContext};
use sigil_core::ids::ClientId;
use sigil_core::model::JsonObject;
use sigil_core::oauth::{ErrorCode, FlowError, OAuthError};
use sigil_core::rate_limit::{PASSWORD_RESET, RateVerdict, password_reset_bucket};

use crate::App;
use crate::client_ip::ClientIp;
use crate::error::ApiError;
use crate::token::{read_body, required};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignupParams {
    client_id: Option<String>,
    connection: Option<String>,
    email: Option<String>,
    password: Option<String>,
    username: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    name: Option<String>,
    nickname: Option<String>,
    picture: Option<String>,
    user_metadata: Option<JsonObject>,
}

/// Signs a user up; a refusal is answered as Auth0's and logged as `fs`.
pub(crate) async fn signup<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SignupResponse>, ApiError> {
    let p: SignupParams = read_body(&headers, &body)?;
    let request = SignupRequest {
        client_id: ClientId(required(p.client_id, "client_id")?),
        connection: required(p.connection, "connection")?,
        email: required(p.email, "email")?,
        password: required(p.password, "password")?.into(),
        username: p.username,
        given_name: p.given_name,
        family_name: p.family_name,
        name: p.name,
        nickname: p.nickname,
        picture: p.picture,
        user_metadata: p.user_metadata,
        ip: Some(ip.to_string()),
        language: crate::pages::language(&headers),
        geoip: app.geoip(ip),
        hosted: false,
    };
    let created = accounts::signup(
        app.store(),
        app.hasher(),
        &app,
        app.rng(),
        app.issuer(),
        app.now(),
        &request,
    )
    .await;
    if let Err(FlowError::OAuth(e)) = &created {
        let context = LoginContext {
            client_id: &request.client_id,
            client_name: None,
            connection: Some(&request.connection),
        };
        app.log_event(events::signup_refused(
            &context,
            &request.email,
            e.logged_reason(),
            app.now(),
            &app.origin(ip, &headers),
        ));
    }
    Ok(Json(created?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePasswordParams {
    client_id: Option<String>,
    connection: Option<String>,
    email: Option<String>,
    #[allow(dead_code)] // Organizations are not supported; the parameter is accepted and ignored.
    organization: Option<String>,
}

/// Answers 200 with Auth0's sentence whether or not the user exists; 429 past Auth0's limit of
/// requests from one address for one email (with the `x-ratelimit-*` headers either way).
pub(crate) async fn change_password<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p: ChangePasswordParams = read_body(&headers, &body)?;
    let client_id = ClientId(required(p.client_id, "client_id")?);
    let connection = required(p.connection, "connection")?;
    let email = required(p.email, "email")?;
    let request =
        accounts::request_password_reset(app.store(), &client_id, &connection, &email).await?;
    let (allowed, verdict) = reset_allowed(&app, ip, request)
        .await
        .map_err(FlowError::from)?;
    let mut response = if allowed {
        accounts::RESET_REQUESTED.into_response()
    } else {
        ApiError::from(OAuthError::new(ErrorCode::TooManyRequests, TOO_MANY_RESETS)).into_response()
    };
    crate::rate_limits::headers(response.headers_mut(), &verdict);
    Ok(response)
}

/// The refusal past the reset limit.
pub(crate) const TOO_MANY_RESETS: &str =
    "Too many password reset requests for this address; try again in a minute";

/// Counts a reset request from `ip` (Auth0's limit per address and email) and, when it is
/// within the limit, looks the user up and mails the link after the answer has gone, so a
/// stranger's answer takes as long as a user's (the lookup, the ticket and the mail are the
/// difference). Whether it was within the limit, and the limit's state for the headers.
pub(crate) async fn reset_allowed<S: Store>(
    app: &App<S>,
    ip: std::net::IpAddr,
    request: accounts::ResetRequest,
) -> Result<(bool, RateVerdict), StoreError> {
    let bucket = password_reset_bucket(&ip.to_string(), &request.email);
    let verdict = crate::rate_limits::take(app, &bucket, PASSWORD_RESET).await?;
    if verdict.allowed {
        let detached = app.clone();
        app.detach("cannot start a password reset", async move {
            let app = detached;
            accounts::mail_reset_link(app.store(), app.rng(), app.issuer(), app.now(), request)
                .await
        });
    }
    Ok((verdict.allowed, verdict))
}
