//! `GET|POST /continue?state=…`: a paused login goes on, as at Auth0. The `state` is the sealed
//! [`Continuation`]; it works only in the SSO session of the login it paused and within its
//! window, and core's `resume_authorization` takes it from where it waits:
//! - the consent page's form posts the user's `decision` here, with the CSRF value of the
//!   page's cookie (`routes::consent`);
//! - a post-login Action that sent the user away with `api.redirect.sendUserTo` resumes in its
//!   `onContinuePostLogin`, which sees what the browser sent here as `event.request.query` and
//!   `event.request.body`; the Actions bound after it run; then the client is answered as after
//!   any login.
//!
//! The SSO cookie is `SameSite=Lax`, so a tenant's page that POSTs here from its own site
//! arrives without it: such a POST is answered once with a page of Sigil's that posts the same
//! fields here again, from Sigil's own origin, with the cookie.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::Value;
use sigil_core::actions::ContinueRequest;
use sigil_core::continuation::{Continuation, Pending};
use sigil_core::events::Origin;
use sigil_core::model::{JsonObject, Session};
use sigil_core::oauth::{Resumed, resume_authorization};
use sigil_core::{Store, ids};

use super::authorize::{
    Via, authorized, cookie, current_session, flow_failed, page_error, set_cookie,
};
use super::consent;
use crate::App;
use crate::client_ip::ClientIp;
use crate::pages::Script;

/// The field of the page that posts a form here again.
const REPOSTED: &str = "sigil_reposted";

const EXPIRED: &str = "This login has expired or its link is not valid. Go back to the \
    application and log in again.";
const OTHER_SESSION: &str = "This login belongs to a session that has ended or to another \
    browser. Go back to the application and log in again.";

/// `text`'s `name=value` pairs as a JSON object of strings (the last value of a repeated name).
fn pairs(text: &[u8]) -> JsonObject {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(text)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect()
}

/// A POST's body: a form, or a JSON object.
fn body_params(headers: &HeaderMap, body: &[u8]) -> JsonObject {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        serde_json::from_slice::<JsonObject>(body).unwrap_or_default()
    } else {
        pairs(body)
    }
}

pub(crate) async fn resume<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = pairs(uri.query().unwrap_or_default().as_bytes());
    let mut form = if method == Method::POST {
        body_params(&headers, &body)
    } else {
        JsonObject::new()
    };
    let reposted = form.remove(REPOSTED).is_some();
    let state = [&query, &form]
        .into_iter()
        .find_map(|params| params.get("state").and_then(Value::as_str));
    let now = app.now();
    let Some(continuation) =
        state.and_then(|state| Continuation::open(state, app.transaction_key(), now))
    else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    let session = match current_session(&app, &headers).await {
        Ok(session) => session.filter(|s| s.id == continuation.session_id),
        Err(page) => return page,
    };
    if let Pending::Consent { .. } = continuation.pending {
        return consented(&app, ip, &method, &headers, &form, continuation, session).await;
    }
    let Some(session) = session else {
        if method == Method::POST && !reposted {
            return repost(&app, &uri, &form);
        }
        return page_error(&app, StatusCode::FORBIDDEN, OTHER_SESSION);
    };
    let request = ContinueRequest { query, body: form };
    let resumed = Resumed::Action(&request);
    let origin = app.origin(ip, &headers);
    go_on(
        &app,
        continuation,
        &session,
        &origin,
        resumed,
        Via::Navigation,
    )
    .await
}

/// The user's answer on the consent page: its form, posted from Sigil's own page (so with the
/// session and the page's CSRF cookie).
async fn consented<S: Store>(
    app: &App<S>,
    ip: IpAddr,
    method: &Method,
    headers: &HeaderMap,
    form: &JsonObject,
    continuation: Continuation,
    session: Option<Session>,
) -> Response {
    let Some(session) = session else {
        return page_error(app, StatusCode::FORBIDDEN, consent::OTHER_SESSION);
    };
    let accept = match form.get("decision").and_then(Value::as_str) {
        Some("accept") if *method == Method::POST => true,
        Some("decline") if *method == Method::POST => false,
        _ => return page_error(app, StatusCode::BAD_REQUEST, consent::EXPIRED),
    };
    let csrf_ok =
        cookie(headers, consent::CSRF_COOKIE).is_some_and(|c| continuation.csrf_matches(&c));
    if !csrf_ok {
        return page_error(app, StatusCode::FORBIDDEN, consent::FORGED);
    }
    let resumed = Resumed::Consent { accept };
    let origin = app.origin(ip, headers);
    let mut response = go_on(app, continuation, &session, &origin, resumed, Via::Form).await;
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    set_cookie(
        &mut response,
        format!(
            "{}=; Path=/continue; HttpOnly; Max-Age=0{secure}",
            consent::CSRF_COOKIE
        ),
    );
    response
}

/// The paused login `text` seals, when it is still good, waits for what `waits` accepts (the
/// consent page's answer, a second factor), and the request comes from its SSO session; else
/// the error page saying `expired` (400) or `other_session` (403). The pages of a paused login
/// open it here.
pub(crate) async fn paused_here<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
    text: Option<&str>,
    waits: fn(&Pending) -> bool,
    (expired, other_session): (&str, &str),
) -> Result<(Continuation, Session), Response> {
    let continuation = text
        .and_then(|t| Continuation::open(t, app.transaction_key(), app.now()))
        .filter(|c| waits(&c.pending));
    let Some(continuation) = continuation else {
        return Err(page_error(app, StatusCode::BAD_REQUEST, expired));
    };
    match current_session(app, headers).await? {
        Some(session) if session.id == continuation.session_id => Ok((continuation, session)),
        _ => Err(page_error(app, StatusCode::FORBIDDEN, other_session)),
    }
}

/// Resumes `continuation` for the user of `session`, who came back as `resumed` says, and
/// answers the client (or sends the browser on to the next page) as `via` allows.
pub(crate) async fn go_on<S: Store>(
    app: &App<S>,
    continuation: Continuation,
    session: &Session,
    origin: &Origin,
    resumed: Resumed<'_>,
    via: Via,
) -> Response {
    let keys = match app.keys().await {
        Ok(keys) => keys,
        Err(e) => {
            return flow_failed(
                app,
                &continuation.authorization,
                e,
                "cannot load the signing keys",
            );
        }
    };
    let authz = continuation.authorization.clone();
    let answered = resume_authorization(
        app.store(),
        app,
        app,
        &keys,
        app.rng(),
        app.issuer(),
        app.now(),
        continuation,
        session,
        origin,
        resumed,
    )
    .await;
    authorized(app, &authz, answered, via)
}

/// A page that posts `form` to this URL again, from Sigil's own origin (so with its cookies).
fn repost<S: Store>(app: &App<S>, uri: &Uri, form: &JsonObject) -> Response {
    let target = format!(
        "{}continue{}",
        app.issuer(),
        uri.query().map(|q| format!("?{q}")).unwrap_or_default()
    );
    let mut fields: Vec<(String, String)> = form
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (name.clone(), value)
        })
        .collect();
    fields.push((REPOSTED.to_owned(), "1".to_owned()));
    let nonce = ids::alphanumeric(app.rng(), 22);
    app.pages().render(
        StatusCode::OK,
        "form_post.html",
        minijinja::context! { redirect_uri => target, fields, nonce => nonce.clone() },
        Script::Nonce(&nonce),
    )
}
