//! Who is calling the Management API: the bearer token, verified as a Management API token
//! (Sigil's keys, this issuer, audience `<issuer>api/v2/` or `https://<host>/api/v2/`), and
//! the scopes it carries. Every operation names the scopes it accepts (any one of them, as
//! Auth0's operation list gives them) and checks them first.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;
use sigil_core::Store;
use sigil_core::ids::ClientId;
use sigil_core::model::NewLogEvent;

use super::error::MgmtError;
use crate::App;

/// A verified Management API caller.
#[derive(Debug)]
pub(crate) struct Caller {
    client_id: Option<ClientId>,
    scope: String,
    method: String,
    path: String,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    azp: Option<String>,
}

impl Caller {
    /// Passes when the token has at least one of `scopes`.
    pub(crate) fn require(&self, scopes: &'static [&'static str]) -> Result<(), MgmtError> {
        let granted = |wanted: &&str| self.scope.split(' ').any(|s| s == *wanted);
        if scopes.iter().any(granted) {
            Ok(())
        } else {
            Err(MgmtError::InsufficientScope(scopes))
        }
    }

    /// Logs a successful write as Auth0 does (`sapi`, "Success API Operation"). A failure to log
    /// is itself logged: the write has happened, and the caller must hear so.
    pub(crate) async fn audit<S: Store>(&self, app: &App<S>, description: &str) {
        let mut event = NewLogEvent::new("sapi", app.now());
        event.description = Some(description.to_owned());
        event.client_id = self.client_id.clone();
        event.details.insert(
            "request".to_owned(),
            serde_json::json!({"method": self.method, "path": self.path}),
        );
        if let Err(e) = app.store().append_log(&event).await {
            tracing::error!(error = %e, "cannot log a Management API write");
        }
    }
}

impl<S: Store> FromRequestParts<App<S>> for Caller {
    type Rejection = MgmtError;

    async fn from_request_parts(parts: &mut Parts, app: &App<S>) -> Result<Self, MgmtError> {
        let mut values = parts.headers.get_all(AUTHORIZATION).iter();
        let header = match (values.next(), values.next()) {
            (None, _) => return Err(MgmtError::MissingToken),
            (Some(_), Some(_)) => {
                return Err(MgmtError::InvalidToken(
                    "more than one Authorization header".to_owned(),
                ));
            }
            (Some(value), None) => value,
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(MgmtError::MissingToken)?;
        let keys = app
            .keys()
            .await
            .map_err(|e| MgmtError::Internal(e.to_string()))?;
        let claims = keys
            .management_verifier()
            .verify::<Claims>(token, app.now())
            .map_err(|e| MgmtError::InvalidToken(e.to_string()))?
            .claims;
        Ok(Caller {
            client_id: claims.azp.map(ClientId),
            scope: claims.scope,
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
        })
    }
}
