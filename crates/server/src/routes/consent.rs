//! The consent page `GET|POST /u/consent`, and [`ask`], the step `/authorize` and the login
//! page take after authenticating the user and before answering the client.
//!
//! Whether consent is needed is `sigil_core::consent`'s rule; here it becomes HTTP: a redirect
//! to the consent page with the request sealed in a consent transaction, or `consent_required`
//! at the redirect URI for `prompt=none`. The form is protected as the login form is: the
//! sealed transaction in a hidden field, holding a CSRF value that must equal the
//! `sigil_consent_csrf` cookie (HttpOnly, SameSite=Strict, path `/u`) set with the form; the
//! transaction also names the SSO session that authenticated the user, and the page works only
//! in that session. Accept stores the grant and answers the client; Decline answers
//! `access_denied`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sigil_core::authorize::Authorization;
use sigil_core::consent::{ConsentTransaction, consent_check, grant_consent};
use sigil_core::model::Session;
use sigil_core::oauth::FlowError;
use sigil_core::{Store, UnixTime, ids};

use super::authorize::{
    Via, cookie, current_session, error_response, flow_failed, page_error, respond, set_cookie,
};
use crate::App;
use crate::client_ip::ClientIp;
use crate::pages::{PageQuery, Script};

/// The consent form's CSRF cookie.
const CSRF_COOKIE: &str = "sigil_consent_csrf";
/// Seconds a consent page stays usable.
const CONSENT_WINDOW: i64 = 3600;

const EXPIRED: &str =
    "This consent page has expired or is not valid. Go back to the application and start again.";
const OTHER_SESSION: &str = "This consent page belongs to a login session that has ended or \
     to another browser. Go back to the application and start again.";
const FORGED: &str = "This form was not sent from the consent page Sigil showed (cookies may be \
     off). Go back to the application and start again.";

/// A store or signing failure, answered to the client at its redirect URI.
fn failed<S: Store>(app: &App<S>, authz: &Authorization, error: FlowError) -> Response {
    flow_failed(app, authz, error, "cannot check the user's consent")
}

/// What to answer instead of the client's answer, when the user of `session` must first
/// consent to `authz`: the consent page, or `consent_required` to `prompt=none`. `None` when
/// no consent is needed.
pub(crate) async fn ask<S: Store>(
    app: &App<S>,
    authz: &Authorization,
    session: &Session,
) -> Option<Response> {
    match consent_check(app.store(), app.issuer(), authz, &session.user_id).await {
        Ok(None) => None,
        Err(e) => Some(failed(app, authz, e)),
        Ok(Some(_)) if authz.silent => Some(error_response(
            app,
            authz.error("consent_required", "Consent required"),
        )),
        Ok(Some(_)) => {
            let tx = ConsentTransaction {
                authorization: authz.clone(),
                session_id: session.id.clone(),
                csrf: String::new(),
                expires_at: UnixTime(app.now().0 + CONSENT_WINDOW),
            };
            let query = serde_urlencoded::to_string([("tx", tx.seal(app.transaction_key()))])
                .unwrap_or_default();
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("{}u/consent?{query}", app.issuer()))
            {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Some(response)
        }
    }
}

/// The transaction in `text`, if it is good and the request comes from its session: the
/// session, or the error page.
async fn opened<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
    text: Option<&str>,
) -> Result<(ConsentTransaction, Session), Response> {
    let Some(tx) = text.and_then(|t| ConsentTransaction::open(t, app.transaction_key(), app.now()))
    else {
        return Err(page_error(app, StatusCode::BAD_REQUEST, EXPIRED));
    };
    match current_session(app, headers).await? {
        Some(session) if session.id == tx.session_id => Ok((tx, session)),
        _ => Err(page_error(app, StatusCode::FORBIDDEN, OTHER_SESSION)),
    }
}

#[derive(Deserialize)]
pub(crate) struct ConsentQuery {
    tx: Option<String>,
}

pub(crate) async fn consent_page<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageQuery(query): PageQuery<ConsentQuery>,
) -> Response {
    let (mut tx, session) = match opened(&app, &headers, query.tx.as_deref()).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let authz = &tx.authorization;
    let prompt = match consent_check(app.store(), app.issuer(), authz, &session.user_id).await {
        Ok(Some(prompt)) => prompt,
        // Approved meanwhile (another tab): nothing left to ask.
        Ok(None) => return respond(&app, authz, &session, ip, Via::Navigation).await,
        Err(e) => return failed(&app, authz, e),
    };
    let client_name = match app.store().client(&authz.client_id).await {
        Ok(Some(client)) => client.name,
        _ => authz.client_id.to_string(),
    };
    tx.csrf = ids::alphanumeric(app.rng(), 32);
    let mut response = app.pages().render(
        StatusCode::OK,
        "consent.html",
        minijinja::context! {
            client_name,
            api_name => prompt.api_name,
            audience => prompt.audience,
            scopes => minijinja::Value::from(minijinja::value::Serde(&prompt.shown)),
            action => format!("{}u/consent", app.issuer()),
            tx => tx.seal(app.transaction_key()),
        },
        // Either answer redirects the browser to the client.
        Script::FormToClient(&authz.redirect_uri),
    );
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    set_cookie(
        &mut response,
        format!(
            "{CSRF_COOKIE}={}; Path=/u; HttpOnly; SameSite=Strict{secure}",
            tx.csrf
        ),
    );
    response
}

/// The user's answer.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Decision {
    Accept,
    Decline,
}

#[derive(Deserialize)]
struct ConsentForm {
    tx: String,
    decision: Decision,
}

pub(crate) async fn consent_submit<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<ConsentForm>(&body) else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    let (tx, session) = match opened(&app, &headers, Some(&form.tx)).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let csrf_ok =
        cookie(&headers, CSRF_COOKIE).is_some_and(|c| !c.is_empty() && tx.csrf_matches(&c));
    if !csrf_ok {
        return page_error(&app, StatusCode::FORBIDDEN, FORGED);
    }
    let authz = &tx.authorization;
    let mut response = match form.decision {
        Decision::Decline => error_response(
            &app,
            authz.error("access_denied", "User did not authorize the request"),
        ),
        Decision::Accept => {
            let (store, now) = (app.store(), app.now());
            match grant_consent(store, app.rng(), app.issuer(), now, authz, &session.user_id).await
            {
                Ok(_) => respond(&app, authz, &session, ip, Via::Form).await,
                Err(e) => failed(&app, authz, e),
            }
        }
    };
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    set_cookie(
        &mut response,
        format!("{CSRF_COOKIE}=; Path=/u; HttpOnly; Max-Age=0{secure}"),
    );
    response
}
