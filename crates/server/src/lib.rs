//! `sigil-server`: Sigil over HTTP. The Authentication API and OpenID Connect endpoints (and,
//! later, the Management API and the hosted pages), on axum.
//!
//! Handlers are thin: they parse the request into core types ([`token`] does this for
//! `/oauth/token`), call a `sigil_core` flow, and turn its result into a response; every error
//! becomes a response in one place ([`error`]).
#![warn(missing_docs)]

mod cache;
mod cors;
mod error;
mod hasher;
mod management;
mod pages;
mod routes;
mod state;
mod token;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use sigil_core::Store;

pub use cache::CACHE_TTL;
pub use hasher::HasherOptions;
pub use state::{App, KEYS_TTL, Secrets, StartError};

/// The largest request body any endpoint reads; bigger ones get 413.
pub const MAX_BODY: usize = 64 * 1024;

/// Every route, on `app`.
pub fn router<S: Store + Clone>(app: App<S>) -> Router {
    // CORS on the three endpoints browser apps call directly, and nowhere else.
    let post_cors = from_fn_with_state((app.clone(), cors::POST), cors::cors::<S>);
    let userinfo_cors = from_fn_with_state((app.clone(), cors::GET_POST), cors::cors::<S>);
    // The hosted pages, each rendered with the tenant's current brand.
    let pages = Router::new()
        .route(
            "/authorize",
            get(routes::authorize::authorize::<S>).post(routes::authorize::authorize::<S>),
        )
        .route(
            "/u/login",
            get(routes::authorize::login_page::<S>).post(routes::authorize::login_submit::<S>),
        )
        .route(
            "/u/signup",
            get(routes::signup::signup_page::<S>).post(routes::signup::signup_submit::<S>),
        )
        .route(
            "/u/consent",
            get(routes::consent::consent_page::<S>).post(routes::consent::consent_submit::<S>),
        )
        // Password reset and email verification pages.
        .route(
            "/u/reset-password/request",
            get(routes::reset::request_page::<S>).post(routes::reset::request_submit::<S>),
        )
        .route(
            "/u/reset-password",
            get(routes::reset::password_page::<S>).post(routes::reset::password_submit::<S>),
        )
        .route(
            "/u/email-verification",
            get(routes::reset::verify_email::<S>),
        )
        .route("/v2/logout", get(routes::logout::v2_logout::<S>))
        .route("/oidc/logout", get(routes::logout::oidc_logout::<S>))
        .route_layer(from_fn_with_state(app.clone(), pages::fresh_brand::<S>));
    Router::new()
        .merge(pages)
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz::<S>))
        .route(
            "/.well-known/openid-configuration",
            get(routes::discovery::openid_configuration::<S>),
        )
        .route("/.well-known/jwks.json", get(routes::discovery::jwks::<S>))
        .route(
            "/oauth/token",
            post(routes::token::token::<S>).layer(post_cors.clone()),
        )
        .route(
            "/oauth/revoke",
            post(routes::token::revoke::<S>).layer(post_cors),
        )
        .route(
            "/dbconnections/signup",
            post(routes::dbconnections::signup::<S>),
        )
        .route(
            "/dbconnections/change_password",
            post(routes::dbconnections::change_password::<S>),
        )
        .route(
            "/userinfo",
            get(routes::userinfo::userinfo::<S>)
                .post(routes::userinfo::userinfo::<S>)
                .layer(userinfo_cors),
        )
        // Auth0's legacy endpoints, answering only when the tenant enables them.
        .route("/tokeninfo", post(routes::legacy::tokeninfo::<S>))
        .route("/delegation", post(routes::legacy::delegation::<S>))
        .nest("/api/v2", management::routes::<S>(app.clone()))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn serve<S: Store + Clone>(
    listener: tokio::net::TcpListener,
    app: App<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
