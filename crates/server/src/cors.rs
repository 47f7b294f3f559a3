//! CORS (the Fetch standard's CORS protocol) for the endpoints browser apps call directly:
//! `/oauth/token`, `/oauth/revoke`, `/userinfo`, `/passwordless/start` and the MFA API
//! (`/mfa/*`). Only origins some client lists in its
//! `web_origins` ("Allowed Web Origins") or `allowed_origins` ("Allowed Origins (CORS)") are
//! allowed, compared exactly (ignoring case); nothing wider, and no other path answers CORS.
//!
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an allowed
//!   origin gets 204 with `Access-Control-Allow-Origin: <that origin>`, the path's methods, the
//!   headers SDKs send (`authorization`, `auth0-client`, `content-type`, `dpop`) and a max-age.
//!   From any other origin it gets 403 without CORS headers, so the refusal is plain in the
//!   browser's network panel.
//! - An actual request from an allowed origin gets `Access-Control-Allow-Origin`; from another
//!   origin it is answered as usual, without CORS headers, so the browser withholds the answer.
//!   Credentials (cookies) are never allowed: these endpoints authenticate by what the request
//!   carries.
//! - Every answer on these paths carries `Vary: Origin`, as the allowed origin is echoed.
//!
//! The allowed origins come from the store through the hot cache, at most [`crate::CACHE_TTL`]
//! seconds old.
//!
//! Why not tower-http's `CorsLayer` with `AllowOrigin::async_predicate`: it answers every
//! `OPTIONS` as a preflight, with 200 whatever the origin, while Sigil answers 204 to allowed
//! origins, 403 to the others, and leaves a non-CORS `OPTIONS` to the router (405). This layer
//! is that policy and nothing else, and needs no new dependency.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sigil_core::Store;

use crate::App;

/// What one path allows browsers to do.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    /// `Access-Control-Allow-Methods`.
    methods: &'static str,
}

/// `/oauth/token` and `/oauth/revoke`.
pub(crate) const POST: Policy = Policy { methods: "POST" };
/// `/userinfo`.
pub(crate) const GET_POST: Policy = Policy {
    methods: "GET, POST",
};
/// `GET /mfa/authenticators`.
pub(crate) const GET: Policy = Policy { methods: "GET" };
/// `DELETE /mfa/authenticators/{id}`.
pub(crate) const DELETE: Policy = Policy { methods: "DELETE" };

/// The request headers SDKs send: bearer tokens, Auth0's telemetry header, JSON bodies, DPoP
/// proofs.
const ALLOW_HEADERS: &str = "authorization, auth0-client, content-type, dpop";

/// Seconds a browser may keep a preflight's answer (Chromium's cap). A removed origin still
/// stops working at once: actual answers carry `Access-Control-Allow-Origin` only while the
/// origin is allowed.
const MAX_AGE: &str = "7200";

/// The layer's function: `axum::middleware::from_fn_with_state((app, policy), cors::<S>)`.
pub(crate) async fn cors<S: Store>(
    State((app, policy)): State<(App<S>, Policy)>,
    request: Request,
    next: Next,
) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
        return with_vary(next.run(request).await);
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let allowed = allowed(&app, &origin).await;
    if preflight {
        let mut response = match allowed {
            Ok(true) => {
                let mut response = StatusCode::NO_CONTENT.into_response();
                let headers = response.headers_mut();
                allow(headers, origin);
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static(policy.methods),
                );
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static(ALLOW_HEADERS),
                );
                headers.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static(MAX_AGE),
                );
                response
            }
            Ok(false) => StatusCode::FORBIDDEN.into_response(),
            Err(()) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
        return response;
    }
    let mut response = with_vary(next.run(request).await);
    if allowed == Ok(true) {
        allow(response.headers_mut(), origin);
    }
    response
}

/// Whether `origin` is one some client allows. A store failure is logged here, once, and the
/// origin is then not allowed.
async fn allowed<S: Store>(app: &App<S>, origin: &HeaderValue) -> Result<bool, ()> {
    let Ok(origin) = origin.to_str() else {
        return Ok(false);
    };
    match app.origins().await {
        Ok(origins) => Ok(origins.contains(&origin.to_ascii_lowercase())),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the allowed origins");
            Err(())
        }
    }
}

fn allow(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
}

/// Adds `Origin` to the answer's `Vary`, keeping what the handler put there.
fn with_vary(mut response: Response) -> Response {
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
    response
}
