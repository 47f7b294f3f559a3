//! The enrolment link's page, `GET|POST /u/mfa-enrollment?ticket=…` (Auth0's Guardian
//! enrolment ticket): the user enrols an authenticator app without logging in, as on the MFA
//! pages (the QR code and the secret, then the first code), and sees their recovery code once
//! when the tenant enables them. What the ticket allows, and every check of the code, is
//! `sigil_core::mfa::enrolment`'s; the form carries the reset pages' CSRF pair.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use sigil_core::Store;
use sigil_core::mfa::authenticators::Checked;
use sigil_core::mfa::enrolment::{self, Refusal};
use sigil_core::model::TenantSettings;

use super::form_csrf::{CSRF_REFUSED, FormCsrf};
use super::mfa::{CODE_SHAPE, INVALID_CODE, TOO_MANY, enrolment as qr_and_secret};
use crate::App;
use crate::client_ip::ClientIp;
use crate::pages::{PageQuery, Script};

/// The page's CSRF pair.
const FORMS: FormCsrf = FormCsrf {
    cookie: "sigil_mfa_enrol_csrf",
    path: "/u/mfa-enrollment",
};
const PURPOSE: &str = "mfa-enrollment";

#[derive(Deserialize)]
pub(crate) struct EnrolmentQuery {
    ticket: Option<String>,
}

#[derive(Deserialize)]
struct EnrolmentForm {
    #[serde(default)]
    state: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

async fn settings<S: Store>(app: &App<S>) -> Result<TenantSettings, Response> {
    match app.store().tenant_settings().await {
        Ok(settings) => Ok(settings.unwrap_or_default()),
        Err(e) => Err(app.pages().failed(&e, "cannot read the tenant's settings")),
    }
}

fn refused<S: Store>(app: &App<S>, refusal: Refusal) -> Response {
    app.pages().render(
        StatusCode::BAD_REQUEST,
        "ticket_invalid.html",
        serde_json::json!({ "message": refusal.message() }),
        Script::None,
    )
}

/// The enrolment of `ticket`'s user, with `error` and its status.
async fn form<S: Store>(
    app: &App<S>,
    settings: &TenantSettings,
    ticket: &str,
    error: Option<(StatusCode, &str)>,
) -> Response {
    let opened = enrolment::open(app.store(), app.rng(), &settings.mfa, ticket, app.now()).await;
    let (user, pending) = match opened {
        Ok(Ok(found)) => found,
        Ok(Err(refusal)) => return refused(app, refusal),
        Err(e) => return app.pages().failed(&e, "cannot open the enrolment"),
    };
    let account = sigil_core::mfa::api::account_name(&user);
    let (qr, secret) = qr_and_secret(&pending, &settings.friendly_name, &account);
    let (status, error) = error.map_or((StatusCode::OK, None), |(s, e)| (s, Some(e)));
    FORMS.render(
        app,
        PURPOSE,
        status,
        "mfa_enrol.html",
        serde_json::json!({
            "action": format!("{}u/mfa-enrollment", app.issuer()),
            "state": ticket,
            "qr": qr,
            "secret": secret,
            "error": error,
        }),
    )
}

/// `GET /u/mfa-enrollment?ticket=…`.
pub(crate) async fn enrolment_page<S: Store>(
    State(app): State<App<S>>,
    PageQuery(query): PageQuery<EnrolmentQuery>,
) -> Response {
    let settings = match settings(&app).await {
        Ok(settings) => settings,
        Err(page) => return page,
    };
    let ticket = query.ticket.unwrap_or_default();
    form(&app, &settings, &ticket, None).await
}

/// `POST /u/mfa-enrollment`: the first code.
pub(crate) async fn enrolment_submit<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form_sent) = serde_urlencoded::from_bytes::<EnrolmentForm>(&body) else {
        return app.pages().error(StatusCode::BAD_REQUEST, CSRF_REFUSED);
    };
    if !FORMS.ok(&app, &headers, PURPOSE, &form_sent.csrf) {
        return app.pages().error(StatusCode::FORBIDDEN, CSRF_REFUSED);
    }
    let settings = match settings(&app).await {
        Ok(settings) => settings,
        Err(page) => return page,
    };
    let origin = app.origin(ip, &headers);
    let ticket = form_sent.state.as_str();
    let checked = enrolment::enrol(
        app.store(),
        &app,
        app.rng(),
        &settings.mfa,
        ticket,
        &form_sent.code,
        &origin,
        app.now(),
    )
    .await;
    let error = match checked {
        Err(e) => return app.pages().failed(&e, "cannot check the code"),
        Ok(Err(refusal)) => return refused(&app, refusal),
        Ok(Ok(Checked::Passed { recovery_code, .. })) => {
            let code = recovery_code.map(|code| code.to_string());
            return app.pages().render(
                StatusCode::OK,
                "mfa_enrolled.html",
                serde_json::json!({ "code": code }),
                Script::None,
            );
        }
        Ok(Ok(Checked::Wrong)) => Some((StatusCode::BAD_REQUEST, INVALID_CODE)),
        Ok(Ok(Checked::Malformed)) => Some((StatusCode::BAD_REQUEST, CODE_SHAPE)),
        Ok(Ok(Checked::TooManyAttempts)) => Some((StatusCode::TOO_MANY_REQUESTS, TOO_MANY)),
        // The pending enrolment is gone: a new one is offered.
        Ok(Ok(Checked::NotEnrolled | Checked::Expired | Checked::NotThisLogin)) => None,
    };
    form(&app, &settings, ticket, error).await
}
