//! `/healthz` (the process answers) and `/readyz` (the database answers too, and the node is
//! not shutting down).

use axum::extract::State;
use axum::http::StatusCode;
use sigil_core::Store;

use crate::App;

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn readyz<S: Store>(State(app): State<App<S>>) -> (StatusCode, &'static str) {
    if app.draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    // A readiness check must answer quickly: a database that takes longer is not ready.
    let settings = tokio::time::timeout(READY_TIMEOUT, app.store().tenant_settings()).await;
    match settings {
        Ok(Ok(Some(_))) => (StatusCode::OK, "ready"),
        Ok(Ok(None)) => (StatusCode::SERVICE_UNAVAILABLE, "not initialised"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer within a second");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
