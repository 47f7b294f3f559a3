//! `sigil-server`: Sigil over HTTP. The Authentication API and OpenID Connect endpoints (and,
//! later, the Management API and the hosted pages), on axum.
//!
//! Handlers are thin: they parse the request into core types ([`token`] does this for
//! `/oauth/token`), call a `sigil_core` flow, and turn its result into a response; every error
//! becomes a response in one place ([`error`]).
#![warn(missing_docs)]

mod actions;
mod cache;
mod client_ip;
mod connection_setup;
mod cors;
mod error;
mod events;
mod geoip;
mod hasher;
mod housekeeping;
mod listener;
mod mail;
mod management;
mod metrics;
mod observe;
mod pages;
mod rate_limits;
mod routes;
mod sms;
mod state;
mod token;
mod upstream;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{delete, get, post};
use sigil_core::Store;

pub use actions::build_on;
pub use cache::CACHE_TTL;
pub use client_ip::{ProxyListError, TrustedProxies};
pub use connection_setup::{SetupError, complete_connection};
pub use geoip::GeoIp;
pub use hasher::HasherOptions;
pub use housekeeping::Housekeeping;
pub use listener::ServeOptions;
pub use mail::{MailOptions, SmtpRelay, SmtpTls};
pub use metrics::MetricsOptions;
pub use sigil_actions::Limits as ActionLimits;
pub use sigil_core::egress::Egress;
pub use state::{App, KEYS_TTL, Secrets, StartError};

/// The largest request body any endpoint reads; bigger ones get 413.
pub const MAX_BODY: usize = 64 * 1024;

/// Every route, on `app`, behind the middleware every request passes: its id, address, span
/// and log line (`observe`), the body-read deadline, and the headers every answer carries.
pub fn router<S: Store + Clone>(app: App<S>, options: &ServeOptions) -> Router {
    let observer = observe::Observer {
        rng: app.shared_rng(),
        proxies: std::sync::Arc::new(options.trusted_proxies.clone()),
        metrics: app.shared_metrics(),
    };
    let metrics_here = options.metrics.enabled && options.metrics.listen.is_none();
    let https = app.secure_cookies();
    // CORS on the endpoints browser apps call directly, and nowhere else.
    let post_cors = from_fn_with_state((app.clone(), cors::POST), cors::cors::<S>);
    let userinfo_cors = from_fn_with_state((app.clone(), cors::GET_POST), cors::cors::<S>);
    let get_cors = from_fn_with_state((app.clone(), cors::GET), cors::cors::<S>);
    let delete_cors = from_fn_with_state((app.clone(), cors::DELETE), cors::cors::<S>);
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
        .route("/u/login/federated", get(routes::federated::button::<S>))
        .route(
            "/u/login/passwordless",
            get(routes::passwordless::code_start_page::<S>)
                .post(routes::passwordless::code_send::<S>),
        )
        .route(
            "/u/login/passwordless/code",
            post(routes::passwordless::code_submit::<S>),
        )
        .route(
            "/login/callback",
            get(routes::federated::callback::<S>).post(routes::federated::callback::<S>),
        )
        .route(
            "/u/signup",
            get(routes::signup::signup_page::<S>).post(routes::signup::signup_submit::<S>),
        )
        .route("/u/consent", get(routes::consent::consent_page::<S>))
        .route(
            "/u/mfa",
            get(routes::mfa::mfa_page::<S>).post(routes::mfa::mfa_submit::<S>),
        )
        .route(
            "/u/mfa-enrollment",
            get(routes::mfa_enrolment::enrolment_page::<S>)
                .post(routes::mfa_enrolment::enrolment_submit::<S>),
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
        .route("/u/unblock", get(routes::reset::unblock::<S>))
        // A login an Action sent to the tenant's page goes on.
        .route(
            "/continue",
            get(routes::resume::resume::<S>).post(routes::resume::resume::<S>),
        )
        .route("/v2/logout", get(routes::logout::v2_logout::<S>))
        .route("/oidc/logout", get(routes::logout::oidc_logout::<S>))
        .route_layer(from_fn_with_state(app.clone(), pages::fresh_brand::<S>));
    let mut router = Router::new();
    if metrics_here {
        router = router.route("/metrics", get(metrics::page::<S>));
    }
    router
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
            post(routes::token::revoke::<S>).layer(post_cors.clone()),
        )
        .route(
            "/passwordless/verify_redirect",
            get(routes::passwordless::verify_redirect::<S>),
        )
        .route(
            "/passwordless/start",
            post(routes::passwordless::start::<S>).layer(post_cors.clone()),
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
                .layer(userinfo_cors)
                .layer(from_fn(no_store)),
        )
        // Auth0's MFA API for embedded login (its grants are /oauth/token's).
        .route(
            "/mfa/authenticators",
            get(routes::mfa_api::list::<S>)
                .layer(get_cors)
                .layer(from_fn(no_store)),
        )
        .route(
            "/mfa/authenticators/{id}",
            delete(routes::mfa_api::remove::<S>)
                .layer(delete_cors)
                .layer(from_fn(no_store)),
        )
        .route(
            "/mfa/associate",
            post(routes::mfa_api::associate::<S>)
                .layer(post_cors.clone())
                .layer(from_fn(no_store)),
        )
        .route(
            "/mfa/challenge",
            post(routes::mfa_api::challenge::<S>)
                .layer(post_cors)
                .layer(from_fn(no_store)),
        )
        // Auth0's legacy endpoints, answering only when the tenant enables them.
        .route("/tokeninfo", post(routes::legacy::tokeninfo::<S>))
        .route("/delegation", post(routes::legacy::delegation::<S>))
        .nest(
            "/api/v2",
            management::routes::<S>(app.clone()).layer(from_fn(no_store)),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            options.body_timeout,
        ))
        .layer(from_fn(move |request, next| {
            secure_headers(https, request, next)
        }))
        .layer(from_fn_with_state(observer, observe::observe))
        .with_state(app)
}

/// Personal data and tokens are never kept by caches (RFC 9111 §5.2.2.5).
async fn no_store(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// What every answer carries: JSON is never sniffed as something else, and under an https
/// issuer browsers are told to use https alone (RFC 6797).
async fn secure_headers(
    https: bool,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Serves `app` on `listener`, purging in the background (`options.housekeeping`), until
/// `shutdown` completes, then drains: `/readyz` turns not ready, and after `options.drain`
/// the listener closes, the requests in flight finish (within `options.grace`) and the
/// tenant log events they left are written.
pub async fn serve<S: Store + Clone>(
    listener: tokio::net::TcpListener,
    app: App<S>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if !options.metrics.enabled {
        app.disable_metrics();
    }
    let metrics_listener = match options.metrics.listen {
        Some(address) if options.metrics.enabled => Some(tokio::spawn(serve_metrics(
            tokio::net::TcpListener::bind(address).await?,
            app.clone(),
        ))),
        _ => None,
    };
    let router = router(app.clone(), &options);
    let purging = tokio::spawn(housekeeping::run(app.clone(), options.housekeeping));
    let queue = tokio::spawn(actions::run_queue(app.clone()));
    let mail = tokio::spawn(mail::run(app.clone(), options.mail.clone()));
    let served = listener::run(listener, router, &options, shutdown, || {
        app.start_draining();
    })
    .await;
    purging.abort();
    queue.abort();
    mail.abort();
    if let Some(metrics) = metrics_listener {
        metrics.abort();
    }
    app.flush_events().await;
    served
}

/// `/metrics` alone, on a listener of its own (`--metrics-listen`).
async fn serve_metrics<S: Store + Clone>(listener: tokio::net::TcpListener, app: App<S>) {
    let router = Router::new()
        .route("/metrics", get(metrics::page::<S>))
        .with_state(app);
    if let Err(e) = axum::serve(listener, router).await {
        tracing::error!(error = %e, "the metrics listener stopped");
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn an_https_issuer_sends_hsts_and_json_is_never_sniffed() {
        for https in [true, false] {
            let router = Router::new()
                .route("/json", get(|| async { axum::Json(1) }))
                .route("/text", get(|| async { "text" }))
                .layer(from_fn(move |request, next| {
                    secure_headers(https, request, next)
                }));
            for (path, json) in [("/json", true), ("/text", false)] {
                let request = Request::get(path).body(Body::empty()).unwrap();
                let response = router.clone().oneshot(request).await.unwrap();
                let headers = response.headers();
                assert_eq!(
                    headers.contains_key(header::STRICT_TRANSPORT_SECURITY),
                    https
                );
                assert_eq!(
                    headers.contains_key(header::X_CONTENT_TYPE_OPTIONS),
                    json,
                    "{path}"
                );
            }
        }
    }
}
