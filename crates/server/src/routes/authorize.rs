//! `GET|POST /authorize` and the hosted login page `GET|POST /u/login`.
//!
//! `/authorize` validates the request (errors before the redirect URI is trusted are a page,
//! never a redirect), answers at once from a live SSO session, or sends the browser to the
//! login page with the request sealed in a login transaction. The login form carries the
//! transaction in a hidden field; a CSRF cookie set with the form must match it on POST.
//! Success starts an SSO session (HttpOnly, SameSite=Lax, Secure when the issuer is https)
//! and answers the client with what its response type asked for (a code, tokens, or both),
//! in the query, the fragment, an auto-posted form, or a message to the parent window.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sigil_core::Store;
use sigil_core::accounts::{self, LoginRefusal, PasswordAttempt, authenticate_user};
use sigil_core::actions::FAILED;
use sigil_core::attack_protection::brute_force::Mailer;
use sigil_core::authorize::{
    Authorization, AuthorizeError, AuthorizeParams, LoginTransaction, ResponseMode, origin_of,
    redirect_target, validate,
};
use sigil_core::connections;
use sigil_core::continuation::Pending;
use sigil_core::events::{self, LoginContext, Origin};
use sigil_core::login::{self, Completed, Login, Proof};
use sigil_core::model::Session;
use sigil_core::oauth::{Authorized, FlowError, authorization_response};
use sigil_core::secret::Token;
use sigil_core::{UnixTime, ids};

use crate::App;
use crate::client_ip::ClientIp;
use crate::observe::record_client;
use crate::pages::{PageQuery, Script};

/// The SSO session cookie.
pub(crate) const SESSION_COOKIE: &str = "sigil_session";
/// The CSRF cookie of the forms that carry a login transaction (login and signup).
const CSRF_COOKIE: &str = "sigil_csrf";
/// Seconds a login form stays usable.
const LOGIN_WINDOW: i64 = 3600;

/// A cookie's value from the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

pub(crate) fn set_cookie(response: &mut Response, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

pub(crate) fn page_error<S: Store>(app: &App<S>, status: StatusCode, message: &str) -> Response {
    app.pages().error(status, message)
}

/// Answers the client at its redirect URI with `fields`, as the request's response mode says.
/// Every answer, success or error, names its issuer (`iss`, RFC 9207), so a client that talks
/// to several servers can tell which one answered (the mix-up defence).
fn answer<S: Store>(
    app: &App<S>,
    redirect_uri: &str,
    mode: ResponseMode,
    mut fields: Vec<(&'static str, String)>,
) -> Response {
    fields.push(("iss", app.issuer().to_owned()));
    match mode {
        ResponseMode::FormPost => {
            let nonce = ids::alphanumeric(app.rng(), 22);
            app.pages().render(
                StatusCode::OK,
                "form_post.html",
                minijinja::context! { redirect_uri, fields, nonce => nonce.clone() },
                Script::Nonce(&nonce),
            )
        }
        ResponseMode::WebMessage => {
            // `validate` accepted web_message only for a redirect URI whose origin is one of
            // the client's web origins; without an origin there is nobody to post to.
            let Some(origin) = origin_of(redirect_uri) else {
                return page_error(app, StatusCode::BAD_REQUEST, "No origin to answer to.");
            };
            let nonce = ids::alphanumeric(app.rng(), 22);
            let response: serde_json::Map<String, serde_json::Value> = fields
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.into()))
                .collect();
            app.pages().render(
                StatusCode::OK,
                "web_message.html",
                serde_json::json!({ "origin": origin, "response": response, "nonce": nonce }),
                Script::Framed {
                    nonce: &nonce,
                    ancestor: origin,
                },
            )
        }
        ResponseMode::Query | ResponseMode::Fragment => {
            let encoded = serde_urlencoded::to_string(&fields).unwrap_or_default();
            let separator = match mode {
                ResponseMode::Fragment => '#',
                _ if redirect_uri.contains('?') => '&',
                _ => '?',
            };
            let location = format!("{redirect_uri}{separator}{encoded}");
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}

pub(crate) fn error_response<S: Store>(app: &App<S>, error: AuthorizeError) -> Response {
    match error {
        AuthorizeError::Page(message) => page_error(app, StatusCode::BAD_REQUEST, &message),
        AuthorizeError::Redirect {
            redirect_uri,
            response_mode,
            error,
            description,
            state,
        } => {
            let mut fields = vec![
                ("error", error.to_owned()),
                ("error_description", description),
            ];
            if let Some(state) = state {
                fields.push(("state", state));
            }
            answer(app, &redirect_uri, response_mode, fields)
        }
    }
}

/// How the request that ends a login reached Sigil, which decides how the browser is sent on
/// to an Action's page: a page's form (the login, signup or consent form) cannot be answered
/// with a redirect to another site, which its CSP `form-action` forbids, so it is answered
/// with a page that moves on by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// A navigation: `/authorize`, the consent page, `/continue` back from an Action's page.
    Navigation,
    /// A form of a hosted page (login, signup, consent).
    Form,
}

/// Answers the client for the user of `session`: a code, tokens, or both; or, when the login
/// must wait on a page first (consent, an Action's page), that page.
pub(crate) async fn respond<S: Store>(
    app: &App<S>,
    authz: &Authorization,
    session: &Session,
    origin: &Origin,
    via: Via,
) -> Response {
    let keys = match app.keys().await {
        Ok(keys) => keys,
        Err(e) => return flow_failed(app, authz, e, "cannot load the signing keys"),
    };
    let answered = authorization_response(
        app.store(),
        app,
        app,
        &keys,
        app.rng(),
        app.issuer(),
        app.now(),
        authz,
        session,
        origin,
    )
    .await;
    authorized(app, authz, answered, via)
}

/// What the client, or the browser, is answered once the login's Actions have run.
pub(crate) fn authorized<S: Store>(
    app: &App<S>,
    authz: &Authorization,
    answered: Result<Authorized, FlowError>,
    via: Via,
) -> Response {
    match answered {
        Ok(Authorized::Answer(mut fields)) => {
            if let Some(state) = &authz.state {
                fields.push(("state", state.clone()));
            }
            answer(app, &authz.redirect_uri, authz.response_mode, fields)
        }
        Ok(Authorized::Paused(continuation)) => {
            let state = continuation.seal(app.transaction_key(), app.rng());
            if state.is_empty() {
                tracing::error!("cannot seal a paused login");
                return error_response(app, authz.error("server_error", "the server failed"));
            }
            let location = match &continuation.pending {
                // Sigil's own page: a redirect even after a form.
                Pending::Consent { .. } | Pending::Mfa { .. } => {
                    let path = match continuation.pending {
                        Pending::Consent { .. } => "u/consent",
                        _ => "u/mfa",
                    };
                    let query = serde_urlencoded::to_string([("state", &state)]);
                    let page = format!("{}{path}?{}", app.issuer(), query.unwrap_or_default());
                    return to_page(app, &page, Via::Navigation);
                }
                Pending::Action { .. } => continuation
                    .decided
                    .redirect
                    .as_ref()
                    .and_then(|redirect| redirect.location(&state)),
            };
            match location {
                Some(location) => to_page(app, &location, via),
                None => {
                    tracing::warn!(
                        action = ?continuation.pending,
                        "an Action sent the user to a URL that is not an absolute http(s) URL"
                    );
                    error_response(app, authz.error("access_denied", FAILED))
                }
            }
        }
        Err(e) => flow_failed(app, authz, e, "cannot answer an authorization request"),
    }
}

/// Sends the browser to `location`, another site: a redirect, or after a form a page that
/// moves on by itself (see [`Via`]).
pub(crate) fn to_page<S: Store>(app: &App<S>, location: &str, via: Via) -> Response {
    let mut response = match via {
        Via::Navigation => {
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(value) = HeaderValue::from_str(location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Via::Form => {
            let host = url::Url::parse(location)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_default();
            app.pages().render(
                StatusCode::OK,
                "leaving.html",
                minijinja::context! { location, host },
                Script::None,
            )
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `error` answered to the client at its redirect URI: the refusal as it is, or, for a store
/// or signing failure (logged with `what`), `temporarily_unavailable` when the database cannot
/// serve now and `server_error` otherwise.
pub(crate) fn flow_failed<S: Store>(
    app: &App<S>,
    authz: &Authorization,
    error: FlowError,
    what: &str,
) -> Response {
    match error {
        // The client is gone: the user is told, never sent to its redirect URI.
        FlowError::OAuth(e) if e.code == sigil_core::oauth::ErrorCode::InvalidClient => {
            page_error(app, StatusCode::BAD_REQUEST, &e.description)
        }
        FlowError::OAuth(e) => error_response(app, authz.error(e.code.as_str(), e.description)),
        // RFC 6749 §4.1.2.1: the application may send the user back shortly.
        e if e.is_unavailable() => {
            tracing::error!(error = %e, "{what}: the database is unavailable");
            error_response(
                app,
                authz.error(
                    "temporarily_unavailable",
                    "the server cannot reach its database; try again shortly",
                ),
            )
        }
        e => {
            tracing::error!(error = %e, "{what}");
            error_response(
                app,
                authz.error("server_error", "the server failed; try again"),
            )
        }
    }
}

/// The live session named by the request's cookie. A store failure is an error (logged here),
/// never "no session": that would answer `login_required` to a user who is logged in.
pub(crate) async fn current_session<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
) -> Result<Option<Session>, Response> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let session = match app
        .store()
        .session_by_cookie(&Token::new(value).digest())
        .await
    {
        Ok(session) => session,
        Err(e) => return Err(app.pages().failed(&e, "cannot read the session")),
    };
    let now = app.now();
    Ok(session.filter(|s| s.expires_at > now && s.idle_expires_at > now))
}

/// An authorization request checked as `/authorize` checks it (its client read, then core's
/// `redirect_target` and `validate`), or the answer refusing it: a page while the redirect URI
/// is not trusted yet, a redirect to the client after.
pub(crate) async fn checked_request<S: Store>(
    app: &App<S>,
    params: &AuthorizeParams,
) -> Result<Authorization, Response> {
    if let Some(id) = &params.client_id {
        record_client(id);
    }
    let client = match &params.client_id {
        Some(id) => app
            .store()
            .client(&ids::ClientId(id.clone()))
            .await
            .map_err(|e| app.pages().failed(&e, "cannot read the client"))?,
        None => None,
    };
    redirect_target(client.as_ref(), params)
        .and_then(|(client, redirect_uri)| validate(client, redirect_uri, params))
        .map_err(|e| error_response(app, e))
}

pub(crate) async fn authorize<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = if method == Method::POST {
        serde_urlencoded::from_bytes::<AuthorizeParams>(&body)
    } else {
        serde_urlencoded::from_str::<AuthorizeParams>(uri.query().unwrap_or_default())
    };
    let params = match parsed {
        Ok(params) => params,
        Err(e) => {
            return page_error(
                &app,
                StatusCode::BAD_REQUEST,
                &format!("The authorization request is malformed: {e}."),
            );
        }
    };
    let authz = match checked_request(&app, &params).await {
        Ok(authz) => authz,
        Err(refused) => return refused,
    };
    // A connection asked for must exist and be enabled for the client, whatever follows.
    let mut upstream = None;
    let mut passwordless = false;
    if let Some(name) = &authz.connection {
        match connections::usable_by(app.store(), &authz.client_id, name).await {
            Ok(Ok(connection)) => {
                passwordless = connection.strategy.is_passwordless();
                if connection.strategy.is_federated() {
                    upstream = Some(connection);
                }
            }
            Ok(Err(refusal)) => {
                return error_response(&app, authz.error("invalid_request", refusal.message()));
            }
            Err(e) => return app.pages().failed(&e, "cannot read the connection"),
        }
    }
    let now = app.now();
    let session = match current_session(&app, &headers).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    if let Some(session) = session
        && authz.session_suffices(&session, now)
    {
        let origin = app.origin(ip, &headers);
        let login = Login {
            proof: Proof::Session { session: &session },
            context: login_context(&authz),
            origin: &origin,
        };
        let session = match login::complete(app.store(), app.rng(), now, login).await {
            Ok(Completed {
                session: Some(session),
                ..
            }) => session,
            Ok(_) => session,
            Err(e) => return app.pages().failed(&e, "cannot use the session"),
        };
        return respond(&app, &authz, &session, &origin, Via::Navigation).await;
    }
    if authz.silent {
        app.log_event(events::silent_refused(
            &login_context(&authz),
            "Login required",
            now,
            &app.origin(ip, &headers),
        ));
        return error_response(&app, authz.error("login_required", "Login required"));
    }
    // Another identity provider's connection: straight there, without Sigil's login page
    // (never for prompt=none, answered above).
    if let Some(connection) = upstream {
        return super::federated::go_upstream(&app, authz, &connection).await;
    }
    let tx = LoginTransaction::new(authz, app.rng(), UnixTime(now.0 + LOGIN_WINDOW));
    // A passwordless connection's login asks for the address to send a code to.
    let page = if passwordless {
        "u/login/passwordless"
    } else {
        "u/login"
    };
    let location = format!(
        "{}{page}?{}",
        app.issuer(),
        serde_urlencoded::to_string([("tx", tx.seal(app.transaction_key()))]).unwrap_or_default()
    );
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    pub(crate) tx: Option<String>,
}

/// `<issuer><path>?tx=…`: a link to another page of the same login (reset, signup, back to
/// login), carrying the transaction without any form's CSRF value.
pub(crate) fn tx_link<S: Store>(app: &App<S>, path: &str, tx: &LoginTransaction) -> String {
    let bare = LoginTransaction {
        csrf: String::new(),
        ..tx.clone()
    };
    format!(
        "{}{path}?{}",
        app.issuer(),
        serde_urlencoded::to_string([("tx", bare.seal(app.transaction_key()))]).unwrap_or_default()
    )
}

/// Gives `tx` a fresh CSRF value and answers it sealed, for a form's hidden field; the value
/// goes into the cookie with [`set_csrf_cookie`].
pub(crate) fn seal_for_form<S: Store>(app: &App<S>, tx: &mut LoginTransaction) -> String {
    tx.csrf = ids::alphanumeric(app.rng(), 32);
    tx.seal(app.transaction_key())
}

/// Sets the CSRF cookie of a form sealed by [`seal_for_form`].
pub(crate) fn set_csrf_cookie<S: Store>(app: &App<S>, response: &mut Response, csrf: &str) {
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    set_cookie(
        response,
        format!("{CSRF_COOKIE}={csrf}; Path=/u; HttpOnly; SameSite=Strict{secure}"),
    );
}

/// Whether the request's CSRF cookie matches the transaction the form sent.
pub(crate) fn csrf_matches(headers: &HeaderMap, tx: &LoginTransaction) -> bool {
    cookie(headers, CSRF_COOKIE).is_some_and(|c| !c.is_empty() && tx.csrf_matches(&c))
}

/// The page shown for a form that came without the matching CSRF cookie.
pub(crate) const CSRF_REFUSED: &str = "This form was not sent from the page Sigil showed \
    (cookies may be off). Go back to the application and start again.";

/// The application's name and logo, for the pages of its login.
pub(crate) async fn client_look<S: Store>(
    app: &App<S>,
    client_id: &ids::ClientId,
) -> (String, Option<String>) {
    match app.store().client(client_id).await {
        Ok(Some(client)) => (client.name, client.settings.logo_uri),
        _ => (client_id.to_string(), None),
    }
}

/// One "Continue with …" button of the login page.
struct LoginButton {
    label: String,
    url: String,
    /// Which built-in icon (a strategy's name).
    icon: &'static str,
    /// The button's whole text, when it is not "Continue with <label>".
    text: Option<&'static str>,
}

/// The login page's buttons for `tx`: the other identity providers enabled for its client
/// (core's `connections::buttons`), each a link that starts the login there.
async fn login_buttons<S: Store>(
    app: &App<S>,
    tx: &LoginTransaction,
) -> Result<Vec<LoginButton>, Response> {
    let connections = connections::buttons(app.store(), &tx.authorization.client_id)
        .await
        .map_err(|e| {
            app.pages()
                .failed(&e, "cannot read the application's connections")
        })?;
    let passwordless = connections::passwordless(app.store(), &tx.authorization.client_id)
        .await
        .map_err(|e| {
            app.pages()
                .failed(&e, "cannot read the application's connections")
        })?;
    let to = |path: &str, c: &sigil_core::model::Connection| {
        format!(
            "{}&{}",
            tx_link(app, path, tx),
            serde_urlencoded::to_string([("connection", &c.name)]).unwrap_or_default()
        )
    };
    let mut buttons: Vec<LoginButton> = connections
        .iter()
        .map(|c| LoginButton {
            label: connections::button_label(c),
            url: to("u/login/federated", c),
            icon: c.strategy.as_str(),
            text: None,
        })
        .collect();
    buttons.extend(passwordless.iter().map(|c| LoginButton {
        label: connections::button_label(c),
        url: to("u/login/passwordless", c),
        icon: c.strategy.as_str(),
        text: Some(if c.strategy == sigil_core::model::Strategy::Sms {
            "Text me a code"
        } else {
            "Email me a code"
        }),
    }));
    Ok(buttons)
}

/// Renders the form for `tx` with a fresh CSRF value (cookie and sealed copy), and a button
/// per other identity provider enabled for its client.
async fn login_form<S: Store>(
    app: &App<S>,
    mut tx: LoginTransaction,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    // A login that named a connection shows that one alone.
    let buttons = if tx.authorization.connection.is_some() {
        Vec::new()
    } else {
        match login_buttons(app, &tx).await {
            Ok(buttons) => buttons,
            Err(page) => return page,
        }
    };
    // The password form when a database is enabled for the client; the buttons alone when
    // only other providers are.
    let database = match some_login_database(app, &tx).await {
        Ok(None) if buttons.is_empty() => {
            return page_error(app, StatusCode::BAD_REQUEST, NO_DATABASE_ENABLED);
        }
        Ok(database) => database,
        Err(page) => return page,
    };
    // "Forgot password?" and "Sign up" carry the transaction, so they can lead back here.
    let reset_url = tx_link(app, "u/reset-password/request", &tx);
    let signup_allowed = match &database {
        Some(database) => accounts::signup_allowed(app.store(), Some(database)).await,
        None => Ok(false),
    };
    let signup_url = match signup_allowed {
        Ok(true) => Some(tx_link(app, "u/signup", &tx)),
        Ok(false) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell whether signup is open");
            None
        }
    };
    let sealed = seal_for_form(app, &mut tx);
    let (client_name, client_logo) = client_look(app, &tx.authorization.client_id).await;
    let mut response = app.pages().render_with_image(
        status,
        "login.html",
        minijinja::context! {
            client_name,
            client_logo => client_logo.clone(),
            action => format!("{}u/login", app.issuer()),
            tx => sealed,
            username,
            error,
            reset_url,
            signup_url,
            password_form => database.is_some(),
            buttons => buttons
                .into_iter()
                .map(|b| minijinja::context! { label => b.label, url => b.url, icon => b.icon, text => b.text })
                .collect::<Vec<_>>(),
        },
        // Logging in redirects the browser to the client.
        Script::FormToClient(&tx.authorization.redirect_uri),
        client_logo.as_deref(),
    );
    set_csrf_cookie(app, &mut response, &tx.csrf);
    response
}

/// The page for a login whose application has no database connection enabled.
const NO_DATABASE_ENABLED: &str = "No way to log in is enabled for this application here. \
    Go back to the application, or ask its administrator to enable a connection for it.";

/// The database connection whose password form the pages of `tx` use (core's
/// `connections::page_database`), or the page saying there is none.
pub(crate) async fn login_database<S: Store>(
    app: &App<S>,
    tx: &LoginTransaction,
) -> Result<String, Response> {
    some_login_database(app, tx)
        .await?
        .ok_or_else(|| page_error(app, StatusCode::BAD_REQUEST, NO_DATABASE_ENABLED))
}

/// As [`login_database`], `None` when the client has no database connection enabled.
async fn some_login_database<S: Store>(
    app: &App<S>,
    tx: &LoginTransaction,
) -> Result<Option<String>, Response> {
    match connections::page_database(
        app.store(),
        &tx.authorization.client_id,
        tx.authorization.connection.as_deref(),
    )
    .await
    {
        Ok(connection) => Ok(connection.map(|c| c.name)),
        Err(e) => Err(app
            .pages()
            .failed(&e, "cannot read the application's connections")),
    }
}

/// The page for a login form posted after its login was done.
const SPENT: &str = "This login has already been used. Go back to the application and sign in \
                     again.";

pub(crate) const EXPIRED: &str =
    "This login page has expired or is not valid. Go back to the application and start again.";

pub(crate) async fn login_page<S: Store>(
    State(app): State<App<S>>,
    PageQuery(query): PageQuery<LoginQuery>,
) -> Response {
    let Some(tx) = query
        .tx
        .as_deref()
        .and_then(|t| LoginTransaction::open(t, app.transaction_key(), app.now()))
    else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    let hint = tx.authorization.login_hint.clone().unwrap_or_default();
    login_form(&app, tx, &hint, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    tx: String,
    username: String,
    password: String,
}

pub(crate) async fn login_submit<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    let now = app.now();
    let Some(tx) = LoginTransaction::open(&form.tx, app.transaction_key(), now) else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    record_client(&tx.authorization.client_id.0);
    if !csrf_matches(&headers, &tx) {
        return page_error(&app, StatusCode::FORBIDDEN, CSRF_REFUSED);
    }
    let database = match login_database(&app, &tx).await {
        Ok(database) => database,
        Err(page) => return page,
    };
    let store = app.store();
    let origin = app.origin(ip, &headers);
    let attempt = PasswordAttempt {
        realm: Some(&database),
        username: form.username.trim(),
        password: &form.password,
        ip: origin.ip.as_deref(),
        now,
    };
    let mailer = Mailer {
        issuer: app.issuer(),
        rng: app.rng(),
    };
    let client = &tx.authorization.client_id;
    let outcome = authenticate_user(store, app.hasher(), mailer, client, attempt).await;
    let user = match outcome {
        Ok(Ok(user)) => user,
        Ok(Err(refusal)) => {
            app.log_event(events::login_refused(
                &login_context(&tx.authorization),
                &refusal,
                form.username.trim(),
                now,
                &origin,
            ));
            let (message, status) = match refusal {
                LoginRefusal::UnknownUser | LoginRefusal::WrongPassword(_) => {
                    ("Wrong email or password.", StatusCode::BAD_REQUEST)
                }
                LoginRefusal::Blocked(_) => ("This account is blocked.", StatusCode::BAD_REQUEST),
                LoginRefusal::TooManyAttempts | LoginRefusal::Throttled => {
                    (refusal.message(), StatusCode::TOO_MANY_REQUESTS)
                }
                LoginRefusal::PasswordLeaked(_) => (refusal.message(), StatusCode::UNAUTHORIZED),
            };
            return login_form(&app, tx, &form.username, Some(message), status).await;
        }
        Err(FlowError::Busy(busy)) => return app.pages().busy(busy),
        // An unknown connection is answered as such; a store failure is logged and answered
        // `server_error`.
        Err(e) => return flow_failed(&app, &tx.authorization, e, "cannot check credentials"),
    };
    log_in(&app, &tx, Proof::Page(&user), None, ip, &headers).await
}

/// Sets the SSO cookie of a session that just started.
pub(crate) fn set_session_cookie<S: Store>(
    app: &App<S>,
    response: &mut Response,
    value: &Token,
    session: &Session,
    now: UnixTime,
) {
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    set_cookie(
        response,
        format!(
            "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            value.expose(),
            session.expires_at.0 - now.0
        ),
    );
}

/// What a hosted-page login's events say about the application and connection.
pub(crate) fn login_context(authz: &Authorization) -> LoginContext<'_> {
    LoginContext {
        client_id: &authz.client_id,
        client_name: None,
        connection: authz.connection.as_deref(),
    }
}

/// The user of `tx` is who they said (they logged in, or just signed up, or entered a code):
/// starts an SSO session (logged as `s`) and answers the client, through consent where it is
/// needed. `proof` is how (a page's password, or a passwordless code), `connection` the
/// connection they proved it with when it is not the transaction's.
pub(crate) async fn log_in<S: Store>(
    app: &App<S>,
    tx: &LoginTransaction,
    proof: Proof<'_>,
    connection: Option<&str>,
    ip: IpAddr,
    headers: &HeaderMap,
) -> Response {
    let now = app.now();
    // A transaction yields one login: a form posted again (a replay, or a second tab) gets
    // the error page, never a second code.
    match tx.spend(app.store(), now).await {
        Ok(true) => {}
        Ok(false) => return page_error(app, StatusCode::BAD_REQUEST, SPENT),
        Err(e) => return app.pages().failed(&e, "cannot use the login transaction"),
    }
    let origin = app.origin(ip, headers);
    let mut context = login_context(&tx.authorization);
    if connection.is_some() {
        context.connection = connection;
    }
    let login = Login {
        proof,
        context,
        origin: &origin,
    };
    let (session, cookie_value) = match login::complete(app.store(), app.rng(), now, login).await {
        Ok(Completed {
            session: Some(session),
            cookie: Some(cookie),
            ..
        }) => (session, cookie),
        Ok(_) => {
            tracing::error!("a login on the page completed without a session");
            return app.pages().error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server failed; try again later.",
            );
        }
        Err(e) => return app.pages().failed(&e, "cannot start a session"),
    };
    let mut response = respond(app, &tx.authorization, &session, &origin, Via::Form).await;
    set_session_cookie(app, &mut response, &cookie_value, &session, now);
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    set_cookie(
        &mut response,
        format!("{CSRF_COOKIE}=; Path=/u; HttpOnly; Max-Age=0{secure}"),
    );
    response
}
