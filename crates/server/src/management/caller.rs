//! Who is calling the Management API: the bearer token, verified as a Management API token
//! (Sigil's keys, this issuer, audience `<issuer>api/v2/` or `https://<host>/api/v2/`), and
//! the scopes it carries. Every operation names the scopes it accepts (any one of them, as
//! Auth0's operation list gives them) and checks them first.
//!
//! A machine's token (`client_credentials`) carries what its client grant allows. A user's
//! token counts only for its `*:current_user*` scopes ([`CURRENT_USER_SCOPES`]), and those
//! act on that user alone: the `{id}` in the path must be the token's subject.

use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sigil_core::Store;
use sigil_core::ids::ClientId;
use sigil_core::model::NewLogEvent;
use sigil_core::oauth::CURRENT_USER_SCOPES;

use super::error::MgmtError;
use crate::App;

/// A verified Management API caller.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    client_id: Option<ClientId>,
    subject: String,
    /// The user the token is for; none for a machine's token.
    user: Option<String>,
    scope: String,
    method: String,
    path: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    gty: Option<String>,
}

impl Claims {
    /// A machine's token, as `client_credentials` issues it: `gty` says so and the subject is
    /// `<azp>@clients`.
    fn is_machine(&self) -> bool {
        self.gty.as_deref() == Some("client-credentials")
            && self
                .azp
                .as_deref()
                .is_some_and(|azp| self.sub == format!("{azp}@clients"))
    }
}

impl Caller {
    /// Whose bucket the request is counted in: the client's, else the subject's.
    fn rate_key(&self) -> &str {
        self.client_id
            .as_ref()
            .map_or(&self.subject, |c| c.as_str())
    }

    /// Whether the token carries `scope`.
    pub(crate) fn has(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }

    /// The application the token was issued to (`azp`).
    pub(crate) fn client_id(&self) -> Option<&ClientId> {
        self.client_id.as_ref()
    }

    /// The user the token is for; none for a machine's token.
    pub(crate) fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Passes when the token has at least one of `scopes` and they are not only
    /// `*:current_user*` ones (no user is named to be the caller's own).
    pub(crate) fn require(&self, scopes: &'static [&'static str]) -> Result<(), MgmtError> {
        self.require_on(scopes, None)
    }

    /// Passes when the token has at least one of `scopes`; when all it has of them are
    /// `*:current_user*` scopes, only for its own user (`id`, the path's user).
    pub(crate) fn require_on(
        &self,
        scopes: &'static [&'static str],
        id: Option<&str>,
    ) -> Result<(), MgmtError> {
        let mut held = scopes.iter().filter(|s| self.has(s)).peekable();
        if held.peek().is_none() {
            return Err(MgmtError::InsufficientScope(scopes));
        }
        let only_self = held.all(|s| CURRENT_USER_SCOPES.contains(s));
        if only_self && (id.is_none() || id != self.user()) {
            return Err(MgmtError::InsufficientScope(scopes));
        }
        Ok(())
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

/// The gate in front of every Management API route: verifies the token once, counts the
/// request against its client's rate limit (429 when spent), puts the [`Caller`] in the
/// request for the handler, and adds the rate-limit headers to whatever the handler answers.
pub(crate) async fn gate<S: Store>(
    State(app): State<App<S>>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match verify(&app, request.headers(), request.method(), request.uri()).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    let verdict = match super::rate_limit::check(&app, caller.rate_key()).await {
        Ok(verdict) => verdict,
        Err(e) => return e.into_response(),
    };
    let mut response = if verdict.allowed {
        request.extensions_mut().insert(caller);
        next.run(request).await
    } else {
        MgmtError::RateLimited.into_response()
    };
    crate::rate_limits::headers(response.headers_mut(), &verdict);
    response
}

async fn verify<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
) -> Result<Caller, MgmtError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
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
    let keys = app.keys().await?;
    let claims = keys
        .management_verifier()
        .verify::<Claims>(token, app.now())
        .map_err(|e| MgmtError::InvalidToken(e.to_string()))?
        .claims;
    let machine = claims.is_machine();
    let scope = if machine {
        claims.scope
    } else {
        // Whatever a user's token says, only what acts on that user counts here.
        claims
            .scope
            .split(' ')
            .filter(|s| CURRENT_USER_SCOPES.contains(s))
            .collect::<Vec<_>>()
            .join(" ")
    };
    Ok(Caller {
        client_id: claims.azp.map(ClientId),
        user: (!machine).then(|| claims.sub.clone()),
        subject: claims.sub,
        scope,
        method: method.to_string(),
        path: uri.path().to_owned(),
    })
}

/// The per-operation check, before the handler reads anything: the caller's token must have
/// one of `scopes` (Auth0 answers a missing scope before a bad body), for the user the path
/// names when it holds only `*:current_user*` ones.
pub(crate) async fn require_scopes(
    scopes: &'static [&'static str],
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let id = RawPathParams::from_request_parts(&mut parts, &())
        .await
        .ok()
        .and_then(|params| {
            params
                .iter()
                .find(|(name, _)| *name == "id")
                .map(|(_, value)| value.to_owned())
        });
    let verdict = match parts.extensions.get::<Caller>() {
        Some(caller) => caller.require_on(scopes, id.as_deref()),
        None => Err(MgmtError::MissingToken),
    };
    match verdict {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(e) => e.into_response(),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = MgmtError;

    /// The caller [`gate`] verified. A route outside the gate has none, and refuses.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, MgmtError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(MgmtError::MissingToken)
    }
}
