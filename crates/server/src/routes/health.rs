//! `/healthz` (the process answers) and `/readyz` (the database answers too, and the node is
//! not shutting down).

use axum::extract::State;
use axum::http::StatusCode;
use sigil_core::Store;

use crate::App;

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn readyz<S: Store>(State(app): State<App<S>>) -> (StatusCode, &'static str) {
    if app.draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    match app.store().tenant_settings().await {
        Ok(Some(_)) => (StatusCode::OK, "ready"),
        Ok(None) => (StatusCode::SERVICE_UNAVAILABLE, "not initialised"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
