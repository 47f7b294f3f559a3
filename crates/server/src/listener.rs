//! How the server meets the network ([`ServeOptions`]), and accepting connections: at most `max_connections` at once, each on HTTP/1.1 with a deadline
//! for its request headers (a slowloris that sends half a header is cut off) and for each read
//! of a body (one that stops sending is answered 408 and closed), and a drain on shutdown:
//! `/readyz` turns not ready first, new connections are still served for `drain` so that a
//! load balancer notices, then the listener closes and requests in flight get `grace` to
//! finish.
//!
//! axum's own `serve` has no header timeout and no connection cap, so this is hyper's
//! connection builder with hyper-util's graceful shutdown, in about as many lines as `serve`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::client_ip::TrustedProxies;
use crate::housekeeping::Housekeeping;
use crate::metrics::MetricsOptions;

/// How the server meets the network. [`Default`] suits tests and a first start.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Whose `Forwarded`/`X-Forwarded-For`/`X-Request-Id` headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// How long a client may take to send a request's headers (also an idle keep-alive
    /// connection's life).
    pub header_timeout: Duration,
    /// How long a client may pause between two parts of a request body.
    pub body_timeout: Duration,
    /// Connections served at once; further ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long `/readyz` answers not ready before the listener closes, on shutdown.
    pub drain: Duration,
    /// How long requests in flight may take to finish once the listener has closed.
    pub grace: Duration,
    /// The background purge of expired rows.
    pub housekeeping: Housekeeping,
    /// Whether and where `/metrics` is served.
    pub metrics: MetricsOptions,
    /// Where and how mail is delivered.
    pub mail: crate::mail::MailOptions,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            trusted_proxies: TrustedProxies::default(),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain: Duration::ZERO,
            grace: Duration::from_secs(5),
            housekeeping: Housekeeping::default(),
            mail: crate::mail::MailOptions::default(),
            metrics: MetricsOptions::default(),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains (see the module
/// docs); `draining` is called once, when the drain begins.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
    draining: impl FnOnce(),
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    {
        let accepting = accept(&listener, &router, &permits, &graceful, &http);
        tokio::pin!(accepting);
        tokio::select! {
            result = &mut accepting => result?,
            () = shutdown => {}
        }
        draining();
        // Still serving while load balancers see `/readyz` fail.
        if !options.drain.is_zero() {
            let _ = tokio::time::timeout(options.drain, &mut accepting).await;
        }
    }
    drop(listener);
    if tokio::time::timeout(options.grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_seconds = options.grace.as_secs(),
            "requests still in flight after the grace period were cut off"
        );
    }
    Ok(())
}

/// Accepts connections for ever (or until accepting fails for good).
async fn accept(
    listener: &TcpListener,
    router: &Router,
    permits: &Arc<Semaphore>,
    graceful: &GracefulShutdown,
    http: &hyper::server::conn::http1::Builder,
) -> std::io::Result<()> {
    loop {
        let Ok(permit) = Arc::clone(permits).acquire_owned().await else {
            // The semaphore is never closed.
            return Ok(());
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) if transient(&e) => {
                // Out of file descriptors or a connection reset before it was accepted: wait a
                // little rather than spin, and go on.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // A client that went away or timed out; nothing the server can act on.
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
}

fn transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
            | ErrorKind::Interrupted
            | ErrorKind::WouldBlock
    ) || e
        .raw_os_error()
        .is_some_and(|code| code == 23 || code == 24) // ENFILE, EMFILE
}
