//! The hosted pages that follow mailed links: "forgot password" (`GET|POST
//! /u/reset-password/request`), the set-new-password page (`GET|POST
//! /u/reset-password?ticket=…`), the email-verification link (`GET
//! /u/email-verification?ticket=…`) and the unblock link (`GET /u/unblock?ticket=…`). What a ticket allows and what changes is decided in
//! `sigil_core::tickets`; these handlers parse forms and render pages.
//!
//! CSRF: both POST forms carry a signed double-submit pair (`super::form_csrf`): a hidden
//! field sealed under the transaction key for this form's purpose, and its value in an
//! HttpOnly, SameSite=Strict cookie scoped to `/u/reset-password`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use sigil_core::authorize::LoginTransaction;
use sigil_core::oauth::FlowError;
use sigil_core::tickets::{self, ResetRefusal, TicketRefusal};
use sigil_core::{Store, StoreError, accounts};
use zeroize::Zeroizing;

use super::form_csrf::{CSRF_REFUSED, FormCsrf};
use crate::App;
use crate::client_ip::ClientIp;
use crate::pages::{Outage, PageQuery, Script};

/// The reset forms' CSRF pairs.
const FORMS: FormCsrf = FormCsrf {
    cookie: "sigil_reset_csrf",
    path: "/u/reset-password",
};
/// The two forms' purposes (a field of one is no good in the other).
const REQUEST_FORM: &str = "reset-request";
const PASSWORD_FORM: &str = "reset-password";

fn server_failed<S: Store>(app: &App<S>, error: &impl Outage) -> Response {
    app.pages().failed(error, "a reset page failed")
}

fn page<S: Store>(
    app: &App<S>,
    status: StatusCode,
    template: &str,
    context: serde_json::Value,
) -> Response {
    app.pages().render(status, template, context, Script::None)
}

/// The login page of `tx`, if it is a login transaction this server sealed and still good.
fn login_url<S: Store>(app: &App<S>, tx: Option<&str>) -> Option<String> {
    let tx =
        tx.filter(|tx| LoginTransaction::open(tx, app.transaction_key(), app.now()).is_some())?;
    Some(format!(
        "{}u/login?{}",
        app.issuer(),
        serde_urlencoded::to_string([("tx", tx)]).ok()?
    ))
}

/// A page saying the link no longer works, and what to do.
fn link_refused<S: Store>(app: &App<S>, refusal: TicketRefusal, reset: bool) -> Response {
    let request_url = reset.then(|| format!("{}u/reset-password/request", app.issuer()));
    page(
        app,
        StatusCode::BAD_REQUEST,
        "ticket_invalid.html",
        serde_json::json!({ "message": refusal.message(), "request_url": request_url }),
    )
}

#[derive(Deserialize)]
pub(crate) struct RequestQuery {
    tx: Option<String>,
}

/// `GET /u/reset-password/request`: the form asking for the email.
pub(crate) async fn request_page<S: Store>(
    State(app): State<App<S>>,
    PageQuery(query): PageQuery<RequestQuery>,
) -> Response {
    // A login transaction that no longer opens is dropped: the reset still works, in the
    // tenant's default directory, without a way back to the application.
    let tx = query
        .tx
        .filter(|tx| LoginTransaction::open(tx, app.transaction_key(), app.now()).is_some());
    FORMS.render(
        &app,
        REQUEST_FORM,
        StatusCode::OK,
        "reset_request.html",
        serde_json::json!({
            "action": format!("{}u/reset-password/request", app.issuer()),
            "tx": tx,
            "login_url": login_url(&app, tx.as_deref()),
        }),
    )
}

#[derive(Deserialize)]
pub(crate) struct RequestForm {
    email: String,
    #[serde(default)]
    tx: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// `POST /u/reset-password/request`: mails a link if the user exists; the same page either way.
pub(crate) async fn request_submit<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<RequestForm>(&body) else {
        return app.pages().error(
            StatusCode::BAD_REQUEST,
            "The form is incomplete: enter your email address.",
        );
    };
    if !FORMS.ok(&app, &headers, REQUEST_FORM, &form.csrf) {
        return app.pages().error(StatusCode::FORBIDDEN, CSRF_REFUSED);
    }
    let tx_text = form.tx.filter(|t| !t.is_empty());
    let tx = tx_text
        .as_deref()
        .and_then(|t| LoginTransaction::open(t, app.transaction_key(), app.now()));
    let login = login_url(&app, tx_text.as_deref());
    let requested = accounts::request_password_reset_from_page(
        app.store(),
        tx.as_ref().map(|tx| &tx.authorization.client_id),
        tx.as_ref()
            .and_then(|tx| tx.authorization.connection.as_deref()),
        &form.email,
        login.clone(),
    )
    .await;
    match requested {
        Ok(request) => match super::dbconnections::reset_allowed(&app, ip, request).await {
            Ok((true, _)) => page(
                &app,
                StatusCode::OK,
                "reset_sent.html",
                serde_json::json!({ "message": accounts::RESET_REQUESTED, "login_url": login }),
            ),
            Ok((false, _)) => app.pages().error(
                StatusCode::TOO_MANY_REQUESTS,
                super::dbconnections::TOO_MANY_RESETS,
            ),
            Err(e) => app
                .pages()
                .failed(&e, "cannot count a password reset request"),
        },
        Err(FlowError::OAuth(e)) => app.pages().error(StatusCode::BAD_REQUEST, &e.description),
        Err(e) => server_failed(&app, &e),
    }
}

#[derive(Deserialize)]
pub(crate) struct TicketQuery {
    ticket: Option<String>,
}

/// The set-new-password form for `ticket`, with `error` above it.
async fn password_form<S: Store>(
    app: &App<S>,
    ticket: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    match tickets::reset_form(app.store(), ticket, app.now()).await {
        Ok(Ok(form)) => FORMS.render(
            app,
            PASSWORD_FORM,
            status,
            "reset_password.html",
            serde_json::json!({
                "action": format!("{}u/reset-password", app.issuer()),
                "ticket": ticket,
                "email": form.email,
                "policy": form.policy,
                "error": error,
            }),
        ),
        Ok(Err(refusal)) => link_refused(app, refusal, true),
        Err(e) => server_failed(app, &e),
    }
}

/// `GET /u/reset-password?ticket=…`: the set-new-password page (the ticket is not used yet).
pub(crate) async fn password_page<S: Store>(
    State(app): State<App<S>>,
    PageQuery(query): PageQuery<TicketQuery>,
) -> Response {
    let ticket = query.ticket.unwrap_or_default();
    password_form(&app, &ticket, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    ticket: String,
    password: String,
    confirm: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /u/reset-password`: sets the new password, using the ticket up.
pub(crate) async fn password_submit<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<PasswordForm>(&body) else {
        return app.pages().error(
            StatusCode::BAD_REQUEST,
            "The form is incomplete: open the link from the email again and enter the new \
             password twice.",
        );
    };
    if !FORMS.ok(&app, &headers, PASSWORD_FORM, &form.csrf) {
        return app.pages().error(StatusCode::FORBIDDEN, CSRF_REFUSED);
    }
    // Wiped from memory when dropped.
    let password = Zeroizing::new(form.password);
    let confirm = Zeroizing::new(form.confirm);
    let changed = tickets::reset_password(
        app.store(),
        app.hasher(),
        app.now(),
        &form.ticket,
        &password,
        &confirm,
    )
    .await;
    if let Ok(Ok(changed)) = &changed {
        let ip = ip.to_string();
        sigil_core::actions::password_changed(
            &app,
            app.store(),
            app.rng(),
            app.now(),
            &changed.user_id,
            Some(&ip),
        )
        .await;
    }
    match changed {
        Ok(Ok(changed)) => page(
            &app,
            StatusCode::OK,
            "reset_done.html",
            serde_json::json!({ "login_url": changed.result_url }),
        ),
        Ok(Err(ResetRefusal::Ticket(refusal))) => link_refused(&app, refusal, true),
        Ok(Err(ResetRefusal::Busy(busy))) => app.pages().busy(busy),
        Ok(Err(ResetRefusal::Mismatch)) => {
            password_form(
                &app,
                &form.ticket,
                Some("The two passwords do not match."),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Ok(Err(ResetRefusal::Weak(why))) => {
            password_form(
                &app,
                &form.ticket,
                Some(&why.to_string()),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => server_failed(&app, &e),
    }
}

/// `GET /u/unblock?ticket=…` (the `blocked_account` mail's link): lifts the user's
/// brute-force blocks, once.
pub(crate) async fn unblock<S: Store>(
    State(app): State<App<S>>,
    PageQuery(query): PageQuery<TicketQuery>,
) -> Response {
    let ticket = query.ticket.unwrap_or_default();
    match tickets::unblock(app.store(), app.now(), &ticket).await {
        Ok(Ok(_)) => page(
            &app,
            StatusCode::OK,
            "unblocked.html",
            serde_json::json!({}),
        ),
        Ok(Err(refusal)) => link_refused(&app, refusal, false),
        Err(e) => server_failed(&app, &e),
    }
}

/// `GET /u/email-verification?ticket=…`: proves the address, once.
pub(crate) async fn verify_email<S: Store>(
    State(app): State<App<S>>,
    PageQuery(query): PageQuery<TicketQuery>,
) -> Response {
    let ticket = query.ticket.unwrap_or_default();
    let verified: Result<_, StoreError> =
        tickets::verify_email(app.store(), app.now(), &ticket).await;
    match verified {
        Ok(Ok(verified)) => page(
            &app,
            StatusCode::OK,
            "email_verified.html",
            serde_json::json!({ "email": verified.email, "result_url": verified.result_url }),
        ),
        Ok(Err(refusal)) => link_refused(&app, refusal, false),
        Err(e) => server_failed(&app, &e),
    }
}
