//! The consent page `GET /u/consent?state=…`: a login paused for the user's approval (core's
//! [`Pending::Consent`]) shows what the application asks, and its form answers at
//! `/continue`, which resumes the login as it resumes every paused one (`routes::resume`).
//!
//! Whether consent is needed, and what happens after the answer, is `sigil_core`'s: here it
//! becomes a page. The form is protected as the login form is: the page seals the continuation
//! again with a CSRF value that must equal the `sigil_consent_csrf` cookie (HttpOnly,
//! SameSite=Strict, path `/continue`) set with the page; the continuation also names the SSO
//! session that authenticated the user, and the page works only in that session.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use sigil_core::consent::consent_check;
use sigil_core::continuation::{Continuation, Pending};
use sigil_core::model::Session;
use sigil_core::oauth::Resumed;
use sigil_core::{Store, ids};

use super::authorize::{Via, flow_failed, set_cookie};
use super::resume::{go_on, paused_here};
use crate::App;
use crate::client_ip::ClientIp;
use crate::pages::{PageQuery, Script};

/// The consent form's CSRF cookie, sent back with the form to `/continue`.
pub(crate) const CSRF_COOKIE: &str = "sigil_consent_csrf";

pub(crate) const EXPIRED: &str =
    "This consent page has expired or is not valid. Go back to the application and start again.";
pub(crate) const OTHER_SESSION: &str = "This consent page belongs to a login session that has \
     ended or to another browser. Go back to the application and start again.";
pub(crate) const FORGED: &str = "This form was not sent from the consent page Sigil showed \
     (cookies may be off). Go back to the application and start again.";

/// The paused login in `text`, if it waits for consent and the request comes from its
/// session: the continuation and the session, or the error page.
async fn opened<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
    text: Option<&str>,
) -> Result<(Continuation, Session), Response> {
    let waits = |pending: &Pending| matches!(pending, Pending::Consent { .. });
    paused_here(app, headers, text, waits, (EXPIRED, OTHER_SESSION)).await
}

#[derive(Deserialize)]
pub(crate) struct ConsentQuery {
    state: Option<String>,
}

pub(crate) async fn consent_page<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageQuery(query): PageQuery<ConsentQuery>,
) -> Response {
    let (mut continuation, session) = match opened(&app, &headers, query.state.as_deref()).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let authz = &continuation.authorization;
    let prompt = match consent_check(app.store(), app.issuer(), authz, &session.user_id).await {
        Ok(Some(prompt)) => prompt,
        // Approved meanwhile (another tab): nothing left to ask.
        Ok(None) => {
            let accepted = Resumed::Consent { accept: true };
            let origin = app.origin(ip, &headers);
            return go_on(
                &app,
                continuation,
                &session,
                &origin,
                accepted,
                Via::Navigation,
            )
            .await;
        }
        Err(e) => return flow_failed(&app, authz, e, "cannot check the user's consent"),
    };
    let client_name = match app.store().client(&authz.client_id).await {
        Ok(Some(client)) => client.name,
        _ => authz.client_id.to_string(),
    };
    let csrf = ids::alphanumeric(app.rng(), 32);
    continuation.pending = Pending::Consent { csrf: csrf.clone() };
    let state = continuation.seal(app.transaction_key(), app.rng());
    let authz = &continuation.authorization;
    let mut response = app.pages().render(
        StatusCode::OK,
        "consent.html",
        minijinja::context! {
            client_name,
            api_name => prompt.api_name,
            audience => prompt.audience,
            scopes => minijinja::Value::from(minijinja::value::Serde(&prompt.shown)),
            action => format!("{}continue", app.issuer()),
            state,
        },
        // Either answer redirects the browser to the client.
        Script::FormToClient(&authz.redirect_uri),
    );
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    set_cookie(
        &mut response,
        format!("{CSRF_COOKIE}={csrf}; Path=/continue; HttpOnly; SameSite=Strict{secure}"),
    );
    response
}
