//! `POST /passwordless/start` (Auth0's Authentication API), JSON or form bodies: a one-time
//! code or magic link sent by a passwordless connection. Refusals are Auth0's `bad.*` codes.
//!
//! `GET /passwordless/verify_redirect`: the magic link (auth0.js's form of it). Its code logs the
//! user in as `/authorize` with the link's other parameters would: the request is checked as
//! `/authorize` checks it (a page for what cannot be redirected), the code is redeemed once, an
//! SSO session starts, and the application is answered (consent and Actions first).
//!
//! The hosted pages of a passwordless login (`/authorize?connection=email|sms`, or "Email me a
//! code" on the login page): `/u/login/passwordless` asks for the address or number and sends a
//! code; the code page (`/u/login/passwordless/code`) takes it, offers to send another, and logs
//! the user in as the login form does. Both forms carry the login transaction and its CSRF
//! value, as the login form does.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sigil_core::Store;
use sigil_core::authorize::{AuthorizeParams, LoginTransaction};
use sigil_core::login::{self, Completed, Login, Proof};
use sigil_core::model::{Connection, Strategy};
use sigil_core::oauth::{ErrorCode, FlowError, OAuthError};
use sigil_core::passwordless::{
    self, CodeRefusal, CodeToSend, Entered, PasswordlessSettings, Recipient, Send, StartRequest,
};

use super::authorize::{
    EXPIRED, Via, checked_request, client_look, csrf_matches, error_response, flow_failed, log_in,
    login_context, page_error, respond, seal_for_form, set_csrf_cookie, set_session_cookie,
    tx_link,
};
use crate::App;
use crate::client_ip::ClientIp;
use crate::error::ApiError;
use crate::pages::{PageQuery, Script};
use crate::token::{read_body, request_client_auth};

/// The properties `/passwordless/start` takes.
const ALLOWED: [&str; 9] = [
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "connection",
    "email",
    "phone_number",
    "send",
    "authParams",
];

fn bad(code: ErrorCode, description: impl Into<String>) -> ApiError {
    OAuthError::new(code, description).into()
}

/// A property as text: absent or `null` is `None`; anything but a string is refused.
fn text(body: &mut Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match body.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(
            ErrorCode::BadRequest,
            format!("{name} must be a string"),
        )),
    }
}

/// Sends a code or link; answers Auth0's `{"_id", "email"}` or `{"_id", "phone_number"}`.
pub(crate) async fn start<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut body: Map<String, Value> = read_body(&headers, &body)?;
    let unknown: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|k| !ALLOWED.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(bad(
            ErrorCode::BadRequest,
            format!(
                "the following properties are not allowed: {}",
                unknown.join(", ")
            ),
        ));
    }
    let client_id = text(&mut body, "client_id")?.ok_or_else(|| {
        bad(
            ErrorCode::BadRequest,
            "Missing required property: client_id",
        )
    })?;
    crate::observe::record_client(&client_id);
    let auth = request_client_auth(
        &headers,
        Some(client_id),
        text(&mut body, "client_secret")?,
        text(&mut body, "client_assertion")?,
        text(&mut body, "client_assertion_type")?,
    )?;
    let connection = text(&mut body, "connection")?.ok_or_else(|| {
        bad(
            ErrorCode::BadConnection,
            "Missing required property: connection",
        )
    })?;
    let request = StartRequest {
        auth,
        connection,
        email: text(&mut body, "email")?,
        phone_number: text(&mut body, "phone_number")?,
        send: text(&mut body, "send")?,
        auth_params: body.remove("authParams"),
        origin: app.origin(ip, &headers),
    };
    let started = passwordless::start(
        app.store(),
        app.sms(),
        app.rng(),
        app.code_key(),
        &app.upstreams().policy(),
        app.issuer(),
        app.now(),
        request,
    )
    .await?;
    if let Some(event) = started.event {
        app.log_event(event);
    }
    Ok(Json(match &started.recipient {
        Recipient::Email(email) => json!({
            "_id": started.id,
            "email": email,
            "email_verified": false,
        }),
        Recipient::Phone(number) => json!({
            "_id": started.id,
            "phone_number": number,
            "phone_verified": false,
            "request_language": null,
        }),
    }))
}

/// The magic link's own parameters, beside `/authorize`'s.
#[derive(Deserialize)]
struct LinkParams {
    email: Option<String>,
    verification_code: Option<String>,
}

/// Follows a magic link: logs the user in and answers the application as `/authorize` would.
pub(crate) async fn verify_redirect<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = uri.query().unwrap_or_default();
    let (Ok(params), Ok(link)) = (
        serde_urlencoded::from_str::<AuthorizeParams>(query),
        serde_urlencoded::from_str::<LinkParams>(query),
    ) else {
        return page_error(&app, StatusCode::BAD_REQUEST, MALFORMED);
    };
    let authz = match checked_request(&app, &params).await {
        Ok(authz) => authz,
        Err(refused) => return refused,
    };
    let (Some(email), Some(code)) = (link.email, link.verification_code) else {
        return error_response(
            &app,
            authz.error(
                "invalid_request",
                "the link lacks its email or verification_code",
            ),
        );
    };
    let store = app.store();
    let name = authz
        .connection
        .clone()
        .unwrap_or_else(|| "email".to_owned());
    let connection = match passwordless::connection_for(
        store,
        &authz.client_id,
        &name,
        ErrorCode::InvalidRequest,
    )
    .await
    {
        Ok(connection) => connection,
        Err(e) => return flow_failed(&app, &authz, e, "cannot read the connection"),
    };
    let settings = match passwordless::settings_of(&connection, &app.upstreams().policy()) {
        Ok(settings) => settings,
        Err(e) => return flow_failed(&app, &authz, e, "cannot read the connection"),
    };
    let recipient = match Recipient::parse(connection.strategy, &email) {
        Ok(Recipient::Email(address)) => Recipient::Email(address),
        _ => {
            return error_response(
                &app,
                authz.error("invalid_request", "the link's email is not an address"),
            );
        }
    };
    let now = app.now();
    let origin = app.origin(ip, &headers);
    let entered = Entered {
        connection: &connection,
        settings: &settings,
        client: &authz.client_id,
        recipient: &recipient,
        code: &code,
        ip: origin.ip.as_deref(),
    };
    let user = match passwordless::redeem(store, app.rng(), app.code_key(), entered, now).await {
        Ok(Ok(user)) => user,
        Ok(Err(refusal)) => {
            let description = match refusal.into_flow_error(&recipient) {
                FlowError::OAuth(e) => e.description,
                other => other.to_string(),
            };
            // A link is a login at a page: its failure is `f`.
            app.log_event(passwordless::refused_event(
                &connection,
                &authz.client_id,
                &recipient,
                &description,
                &origin,
                now,
            ));
            return error_response(&app, authz.error("access_denied", description));
        }
        Err(e) => return app.pages().failed(&e, "cannot redeem a link"),
    };
    let mut context = login_context(&authz);
    context.connection = Some(&connection.name);
    let login = Login {
        proof: Proof::OneTimeCode {
            user: &user,
            channel: recipient.channel(),
            browser: true,
        },
        context,
        origin: &origin,
    };
    let (session, cookie) = match login::complete(store, app.rng(), now, login).await {
        Ok(Completed {
            session: Some(session),
            cookie: Some(cookie),
            ..
        }) => (session, cookie),
        Ok(_) => {
            tracing::error!("a magic link's login completed without a session");
            return page_error(
                &app,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server failed; try again later.",
            );
        }
        Err(e) => return app.pages().failed(&e, "cannot start a session"),
    };
    let mut response = respond(&app, &authz, &session, &origin, Via::Navigation).await;
    set_session_cookie(&app, &mut response, &cookie, &session, now);
    response
}

const MALFORMED: &str = "The login link is malformed: open the newest link you were sent.";

/// `GET /u/login/passwordless?tx=…&connection=…`: the page asking for the address (or number)
/// to send a code to.
#[derive(Deserialize)]
pub(crate) struct CodeStartQuery {
    tx: Option<String>,
    connection: Option<String>,
}

/// The login transaction of a page's request, unless it expired or is not one.
fn open_tx<S: Store>(app: &App<S>, tx: Option<&str>) -> Option<LoginTransaction> {
    tx.and_then(|t| LoginTransaction::open(t, app.transaction_key(), app.now()))
}

/// The passwordless connection `name` (else the transaction's) for the transaction's client,
/// or the page saying why not.
async fn page_connection<S: Store>(
    app: &App<S>,
    tx: &LoginTransaction,
    name: Option<&str>,
) -> Result<Connection, Response> {
    let Some(name) = name.or(tx.authorization.connection.as_deref()) else {
        return Err(page_error(app, StatusCode::BAD_REQUEST, EXPIRED));
    };
    match passwordless::connection_for(
        app.store(),
        &tx.authorization.client_id,
        name,
        ErrorCode::BadConnection,
    )
    .await
    {
        Ok(connection) => Ok(connection),
        Err(FlowError::OAuth(e)) => Err(page_error(
            app,
            StatusCode::BAD_REQUEST,
            &format!(
                "{}. Go back to the application and start again.",
                e.description
            ),
        )),
        Err(e) => Err(app.pages().failed(&e, "cannot read the connection")),
    }
}

pub(crate) async fn code_start_page<S: Store>(
    State(app): State<App<S>>,
    PageQuery(query): PageQuery<CodeStartQuery>,
) -> Response {
    let Some(tx) = open_tx(&app, query.tx.as_deref()) else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    crate::observe::record_client(&tx.authorization.client_id.0);
    let connection = match page_connection(&app, &tx, query.connection.as_deref()).await {
        Ok(connection) => connection,
        Err(page) => return page,
    };
    let hint = tx.authorization.login_hint.clone().unwrap_or_default();
    start_form(&app, tx, &connection, &hint, None, StatusCode::OK).await
}

/// The address (or number) form, with a fresh CSRF value.
async fn start_form<S: Store>(
    app: &App<S>,
    mut tx: LoginTransaction,
    connection: &Connection,
    identifier: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let sealed = seal_for_form(app, &mut tx);
    let (client_name, client_logo) = client_look(app, &tx.authorization.client_id).await;
    // A login that named this connection has no other way to offer.
    let login_url = tx
        .authorization
        .connection
        .is_none()
        .then(|| tx_link(app, "u/login", &tx));
    let mut response = app.pages().render_with_image(
        status,
        "passwordless_start.html",
        minijinja::context! {
            client_name,
            client_logo => client_logo.clone(),
            action => format!("{}u/login/passwordless", app.issuer()),
            tx => sealed,
            connection => connection.name.clone(),
            sms => connection.strategy == Strategy::Sms,
            identifier,
            error,
            login_url,
        },
        Script::None,
        client_logo.as_deref(),
    );
    set_csrf_cookie(app, &mut response, &tx.csrf);
    response
}

/// The code form for `identifier`, with a fresh CSRF value.
fn code_form<S: Store>(
    app: &App<S>,
    mut tx: LoginTransaction,
    connection: &Connection,
    identifier: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let sealed = seal_for_form(app, &mut tx);
    let start_url = format!(
        "{}&{}",
        tx_link(app, "u/login/passwordless", &tx),
        serde_urlencoded::to_string([("connection", &connection.name)]).unwrap_or_default()
    );
    let mut response = app.pages().render(
        status,
        "passwordless_code.html",
        minijinja::context! {
            action => format!("{}u/login/passwordless/code", app.issuer()),
            resend_action => format!("{}u/login/passwordless", app.issuer()),
            tx => sealed,
            connection => connection.name.clone(),
            sms => connection.strategy == Strategy::Sms,
            identifier,
            error,
            start_url,
        },
        // A right code redirects the browser to the client.
        Script::FormToClient(&tx.authorization.redirect_uri),
    );
    set_csrf_cookie(app, &mut response, &tx.csrf);
    response
}

/// The forms' fields.
#[derive(Deserialize)]
pub(crate) struct CodeForm {
    tx: String,
    connection: String,
    identifier: String,
    code: Option<String>,
}

/// A page's form, opened: its transaction (CSRF checked), connection and its settings.
struct OpenedForm {
    form: CodeForm,
    tx: LoginTransaction,
    connection: Connection,
    settings: PasswordlessSettings,
}

async fn open_form<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<OpenedForm, Response> {
    let form: CodeForm = serde_urlencoded::from_bytes(body)
        .map_err(|_| page_error(app, StatusCode::BAD_REQUEST, EXPIRED))?;
    let tx = open_tx(app, Some(&form.tx))
        .ok_or_else(|| page_error(app, StatusCode::BAD_REQUEST, EXPIRED))?;
    crate::observe::record_client(&tx.authorization.client_id.0);
    if !csrf_matches(headers, &tx) {
        return Err(page_error(
            app,
            StatusCode::FORBIDDEN,
            super::authorize::CSRF_REFUSED,
        ));
    }
    let connection = page_connection(app, &tx, Some(&form.connection)).await?;
    let settings = passwordless::settings_of(&connection, &app.upstreams().policy())
        .map_err(|e| app.pages().failed(&e, "cannot read the connection"))?;
    Ok(OpenedForm {
        form,
        tx,
        connection,
        settings,
    })
}

/// What the page says of an address or number that is not one.
fn bad_identifier(connection: &Connection) -> &'static str {
    match connection.strategy {
        Strategy::Sms => "Enter the phone number with its country code, such as +14155550123.",
        _ => "Enter a valid email address.",
    }
}

/// `POST /u/login/passwordless`: sends a code (again) and shows the code page.
pub(crate) async fn code_send<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let OpenedForm {
        form,
        tx,
        connection,
        settings,
    } = match open_form(&app, &headers, &body).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let Ok(recipient) = Recipient::parse(connection.strategy, &form.identifier) else {
        let message = bad_identifier(&connection);
        return start_form(
            &app,
            tx,
            &connection,
            &form.identifier,
            Some(message),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let client = match app.store().client(&tx.authorization.client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED),
        Err(e) => return app.pages().failed(&e, "cannot read the client"),
    };
    let origin = app.origin(ip, &headers);
    let request = CodeToSend {
        client: &client,
        connection: &connection,
        settings: &settings,
        recipient: recipient.clone(),
        send: Send::Code,
        link_params: Vec::new(),
        origin: &origin,
    };
    let sent = passwordless::send_code(
        app.store(),
        app.sms(),
        app.rng(),
        app.code_key(),
        app.issuer(),
        app.now(),
        request,
    )
    .await;
    match sent {
        Ok(started) => {
            if let Some(event) = started.event {
                app.log_event(event);
            }
            code_form(&app, tx, &connection, recipient.key(), None, StatusCode::OK)
        }
        Err(FlowError::OAuth(e)) => {
            let status = if e.code == ErrorCode::TooManyRequests {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::BAD_REQUEST
            };
            start_form(
                &app,
                tx,
                &connection,
                &form.identifier,
                Some(&e.description),
                status,
            )
            .await
        }
        Err(e) => app.pages().failed(&e, "cannot send a code"),
    }
}

/// `POST /u/login/passwordless/code`: a right code logs the user in as the login form does;
/// a wrong one shows the code page again.
pub(crate) async fn code_submit<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let OpenedForm {
        form,
        tx,
        connection,
        settings,
    } = match open_form(&app, &headers, &body).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let Ok(recipient) = Recipient::parse(connection.strategy, &form.identifier) else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    let code = form.code.unwrap_or_default();
    let origin = app.origin(ip, &headers);
    let entered = Entered {
        connection: &connection,
        settings: &settings,
        client: &tx.authorization.client_id,
        recipient: &recipient,
        code: &code,
        ip: origin.ip.as_deref(),
    };
    let now = app.now();
    match passwordless::redeem(app.store(), app.rng(), app.code_key(), entered, now).await {
        Ok(Ok(user)) => {
            let proof = Proof::OneTimeCode {
                user: &user,
                channel: recipient.channel(),
                browser: true,
            };
            log_in(&app, &tx, proof, Some(&connection.name), ip, &headers).await
        }
        Ok(Err(refusal)) => {
            let (message, status) = match refusal {
                CodeRefusal::Blocked(_) => ("This account is blocked.", StatusCode::BAD_REQUEST),
                CodeRefusal::Wrong | CodeRefusal::NoSignup => (
                    "The code is wrong or has expired. Enter the newest code you received, or \
                     ask for a new one.",
                    StatusCode::BAD_REQUEST,
                ),
                CodeRefusal::TooManyAttempts => (
                    sigil_core::attack_protection::brute_force::BLOCKED,
                    StatusCode::TOO_MANY_REQUESTS,
                ),
            };
            app.log_event(passwordless::refused_event(
                &connection,
                &tx.authorization.client_id,
                &recipient,
                message,
                &origin,
                now,
            ));
            code_form(
                &app,
                tx,
                &connection,
                recipient.key(),
                Some(message),
                status,
            )
        }
        Err(e) => app.pages().failed(&e, "cannot check a code"),
    }
}
