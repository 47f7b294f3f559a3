//! The hosted signup page `GET|POST /u/signup?tx=…`, reached from the login page's "Sign up"
//! link when the login's database connection (or the tenant's default directory) takes
//! signups. What a signup needs and refuses is core's `accounts::signup_user`; a new user is
//! then logged in exactly as after the login form (`authorize::log_in`), so the flow goes on
//! to the application, through consent where it is needed.
//!
//! CSRF: as the login form, the sealed login transaction in a hidden field carries a fresh
//! value that must match the `sigil_csrf` cookie (HttpOnly, SameSite=Strict, path `/u`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use sigil_core::Store;
use sigil_core::accounts::{self, SignupForm, SignupRequest};
use sigil_core::authorize::LoginTransaction;
use sigil_core::events;
use sigil_core::login::Proof;
use sigil_core::oauth::{ErrorCode, FlowError};
use zeroize::Zeroizing;

use super::authorize::{
    CSRF_REFUSED, EXPIRED, LoginQuery, client_look, csrf_matches, log_in, login_context,
    login_database, page_error, seal_for_form, set_csrf_cookie, tx_link,
};
use crate::App;
use crate::client_ip::ClientIp;
use crate::pages::{PageQuery, Script};

/// What the page says when signups are off.
const CLOSED: &str = "This application does not take new accounts here. Log in with an \
    existing account, or ask the application's administrator for one.";
const NO_DATABASE: &str = "This application's users do not sign up here: its connection keeps \
    no passwords. Go back to the application and log in there.";

/// What the user typed, shown again with a refusal (never the password).
#[derive(Default)]
struct Typed<'a> {
    email: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

/// The connection's signup options for `tx`, or the page saying there is no signup.
async fn form_of<S: Store>(app: &App<S>, tx: &LoginTransaction) -> Result<SignupForm, Response> {
    let database = login_database(app, tx).await?;
    match accounts::signup_form(app.store(), Some(&database)).await {
        Ok(Some(form)) => Ok(form),
        Ok(None) => Err(page_error(app, StatusCode::BAD_REQUEST, NO_DATABASE)),
        Err(e) => Err(app.pages().failed(&e, "cannot read the signup connection")),
    }
}

/// The signup page for `tx`: the form with a fresh CSRF value, or, when signups are off,
/// a page saying so (403).
async fn signup_form<S: Store>(
    app: &App<S>,
    mut tx: LoginTransaction,
    form: &SignupForm,
    typed: Typed<'_>,
    status: StatusCode,
) -> Response {
    let login_url = tx_link(app, "u/login", &tx);
    let sealed = seal_for_form(app, &mut tx);
    let (client_name, client_logo) = client_look(app, &tx.authorization.client_id).await;
    let (status, closed) = if form.open {
        (status, None)
    } else {
        (StatusCode::FORBIDDEN, Some(CLOSED))
    };
    let mut response = app.pages().render_with_image(
        status,
        "signup.html",
        minijinja::context! {
            client_name,
            client_logo => client_logo.clone(),
            action => format!("{}u/signup", app.issuer()),
            tx => sealed,
            policy => &form.policy,
            requires_username => form.requires_username,
            email => typed.email,
            username => typed.username,
            error => typed.error,
            closed,
            login_url,
        },
        // Signing up redirects the browser to the client.
        Script::FormToClient(&tx.authorization.redirect_uri),
        client_logo.as_deref(),
    );
    if form.open {
        set_csrf_cookie(app, &mut response, &tx.csrf);
    }
    response
}

/// `GET /u/signup?tx=…`.
pub(crate) async fn signup_page<S: Store>(
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
    let form = match form_of(&app, &tx).await {
        Ok(form) => form,
        Err(page) => return page,
    };
    let hint = tx.authorization.login_hint.clone().unwrap_or_default();
    let typed = Typed {
        email: &hint,
        ..Typed::default()
    };
    signup_form(&app, tx, &form, typed, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct SignupFields {
    tx: String,
    email: String,
    #[serde(default)]
    username: String,
    password: String,
    confirm: String,
}

/// `POST /u/signup`: signs the user up (core's `accounts::signup_user`, which queues the
/// verification mail) and logs them in; a refusal shows the form again with the reason.
pub(crate) async fn signup_submit<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(fields) = serde_urlencoded::from_bytes::<SignupFields>(&body) else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    // Wiped from memory when dropped.
    let password = Zeroizing::new(fields.password);
    let confirm = Zeroizing::new(fields.confirm);
    let Some(tx) = LoginTransaction::open(&fields.tx, app.transaction_key(), app.now()) else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    if !csrf_matches(&headers, &tx) {
        return page_error(&app, StatusCode::FORBIDDEN, CSRF_REFUSED);
    }
    let form = match form_of(&app, &tx).await {
        Ok(form) => form,
        Err(page) => return page,
    };
    let refused = |error| Typed {
        email: &fields.email,
        username: &fields.username,
        error: Some(error),
    };
    if !form.open {
        return signup_form(&app, tx, &form, Typed::default(), StatusCode::FORBIDDEN).await;
    }
    if password.as_bytes() != confirm.as_bytes() {
        let typed = refused("The two passwords do not match.");
        return signup_form(&app, tx, &form, typed, StatusCode::BAD_REQUEST).await;
    }
    let username = fields.username.trim();
    let request = SignupRequest {
        client_id: tx.authorization.client_id.clone(),
        connection: form.connection.clone(),
        email: fields.email.clone(),
        password: password.clone(),
        username: (form.requires_username && !username.is_empty()).then(|| username.to_owned()),
        given_name: None,
        family_name: None,
        name: None,
        nickname: None,
        picture: None,
        user_metadata: None,
        ip: Some(ip.to_string()),
        language: crate::pages::language(&headers),
        geoip: app.geoip(ip),
        hosted: true,
    };
    let signed_up = accounts::signup_user(
        app.store(),
        app.hasher(),
        &app,
        app.rng(),
        app.issuer(),
        app.now(),
        &request,
    )
    .await;
    match signed_up {
        Ok(user) => log_in(&app, &tx, Proof::Page(&user), None, ip, &headers).await,
        Err(FlowError::Busy(busy)) => app.pages().busy(busy),
        Err(FlowError::OAuth(e)) => {
            app.log_event(events::signup_refused(
                &login_context(&tx.authorization),
                &fields.email,
                e.logged_reason(),
                app.now(),
                &app.origin(ip, &headers),
            ));
            let typed = refused(&e.description);
            let status = if e.code == ErrorCode::TooManyAttempts {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::BAD_REQUEST
            };
            signup_form(&app, tx, &form, typed, status).await
        }
        Err(e) => app.pages().failed(&e, "signup failed"),
    }
}
