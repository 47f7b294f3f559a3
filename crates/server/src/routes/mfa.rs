//! The MFA pages, `GET|POST /u/mfa?state=…`: a login paused for a second factor (core's
//! [`Pending::Mfa`], after the post-login Actions) asks the user to enrol an authenticator app
//! (a QR code as inline SVG, and its secret as text), or for a code from it, or for their
//! recovery code; a new recovery code is shown once, and the user confirms they recorded it.
//! Then the login goes on as every paused login does (`routes::resume::go_on`), and the ID
//! token says `amr: ["mfa"]`.
//!
//! What is asked for, and every check of a code, is `sigil_core::mfa::authenticators`'s; here
//! it becomes pages with Auth0's texts. The forms are protected as the consent form is: each
//! page seals the continuation again with a CSRF value that must equal the `sigil_mfa_csrf`
//! cookie (HttpOnly, SameSite=Strict, path `/u/mfa`), and works only in the SSO session the
//! continuation names. "Remember this device for 30 days" sets the `sigil_mfa_rb` cookie
//! (`mfa::remember`), unless the request or an Action asked for a second factor every time.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use sigil_core::continuation::{Continuation, Mailed, Pending, ShownOnce};
use sigil_core::events::Origin;
use sigil_core::mfa::authenticators::{self, Attempt, Checked, Offer};
use sigil_core::mfa::email;
use sigil_core::mfa::remember::{self, RememberedBrowser};
use sigil_core::model::{Authenticator, Session, TenantSettings, User};
use sigil_core::oauth::Resumed;
use sigil_core::{Store, ids};

use super::authorize::{Via, cookie, page_error, set_cookie};
use super::resume::{go_on, paused_here};
use crate::App;
use crate::client_ip::ClientIp;
use crate::pages::{PageQuery, Script};

/// The MFA forms' CSRF cookie.
const CSRF_COOKIE: &str = "sigil_mfa_csrf";

const EXPIRED: &str = "This page has expired or is not valid. Go back to the application and \
    log in again.";
const OTHER_SESSION: &str = "This page belongs to a login session that has ended or to \
    another browser. Go back to the application and log in again.";
const FORGED: &str = "This form was not sent from the page Sigil showed (cookies may be off). \
    Go back to the application and log in again.";

/// Auth0's texts for the codes' refusals.
pub(crate) const INVALID_CODE: &str = "The code you entered is invalid";
const INVALID_RECOVERY_CODE: &str = "The recovery code you entered is invalid";
pub(crate) const CODE_SHAPE: &str = "OTP Code must have 6 numeric characters";
const RECOVERY_CODE_SHAPE: &str = "Recovery code must have 24 alphanumeric characters";
pub(crate) const TOO_MANY: &str = "Too many failed codes. Wait for some minutes before retrying.";
const NOT_RECORDED: &str = "Please confirm you have recorded the code";

const EXPIRED_CODE: &str = "The code has expired. Send a new one with the link below.";
const TOO_MANY_MAILS: &str = "Too many emails were sent. Wait for some minutes before retrying.";

/// What the page asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// A code from the authenticator app (or its enrolment).
    Otp,
    /// A code mailed to the user's email factor (mailed now, unless one was this login).
    Email,
    /// A code mailed to the user's email factor, mailed again.
    EmailAgain,
    /// The recovery code.
    RecoveryCode,
    /// The list of factors the user may use.
    Options,
}

impl Ask {
    fn parse(method: Option<&str>) -> Self {
        match method {
            Some("recovery-code") => Ask::RecoveryCode,
            Some("email") => Ask::Email,
            Some("email-again") => Ask::EmailAgain,
            Some("options") => Ask::Options,
            _ => Ask::Otp,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct MfaQuery {
    state: Option<String>,
    method: Option<String>,
}

#[derive(Deserialize)]
struct MfaForm {
    state: String,
    #[serde(default)]
    factor: String,
    #[serde(default)]
    code: String,
    remember: Option<String>,
    recorded: Option<String>,
}

/// The paused login in `text`, if it waits for a second factor and the request comes from its
/// session: the continuation and the session, or the error page.
async fn opened<S: Store>(
    app: &App<S>,
    headers: &HeaderMap,
    text: Option<&str>,
) -> Result<(Continuation, Session), Response> {
    let waits = |pending: &Pending| matches!(pending, Pending::Mfa { .. });
    paused_here(app, headers, text, waits, (EXPIRED, OTHER_SESSION)).await
}

async fn settings<S: Store>(app: &App<S>) -> Result<TenantSettings, Response> {
    match app.store().tenant_settings().await {
        Ok(settings) => Ok(settings.unwrap_or_default()),
        Err(e) => Err(app.pages().failed(&e, "cannot read the tenant's settings")),
    }
}

pub(crate) async fn mfa_page<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageQuery(query): PageQuery<MfaQuery>,
) -> Response {
    let (continuation, _) = match opened(&app, &headers, query.state.as_deref()).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let settings = match settings(&app).await {
        Ok(settings) => settings,
        Err(page) => return page,
    };
    let ask = Ask::parse(query.method.as_deref());
    let origin = app.origin(ip, &headers);
    show(&app, &origin, continuation, &settings, ask, None).await
}

pub(crate) async fn mfa_submit<S: Store>(
    State(app): State<App<S>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<MfaForm>(&body) else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    let (mut continuation, session) = match opened(&app, &headers, Some(&form.state)).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    if !cookie(&headers, CSRF_COOKIE).is_some_and(|c| continuation.csrf_matches(&c)) {
        return page_error(&app, StatusCode::FORBIDDEN, FORGED);
    }
    let settings = match settings(&app).await {
        Ok(settings) => settings,
        Err(page) => return page,
    };
    let Pending::Mfa {
        allow_remember,
        passed,
        ref mailed,
        ..
    } = continuation.pending
    else {
        return page_error(&app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    let mailed = mailed.clone();
    let origin = app.origin(ip, &headers);
    if passed {
        // The new recovery code's page: the user must say they recorded it.
        if form.recorded.is_none() {
            let error = Some((StatusCode::BAD_REQUEST, NOT_RECORDED));
            return show(&app, &origin, continuation, &settings, Ask::Otp, error).await;
        }
        return finish(&app, continuation, &session, &origin).await;
    }
    let ask = match form.factor.as_str() {
        "recovery-code" => Ask::RecoveryCode,
        "email" => Ask::Email,
        _ => Ask::Otp,
    };
    let attempt = Attempt {
        client_id: Some(&continuation.authorization.client_id),
        user: &session.user_id,
        origin: &origin,
        now: app.now(),
    };
    let (store, rng, mfa) = (app.store(), app.rng(), &settings.mfa);
    let checked = match (ask, &mailed) {
        (Ask::RecoveryCode, _) => {
            authenticators::use_recovery_code(store, &app, rng, mfa, attempt, &form.code).await
        }
        (Ask::Email, Some(mailed)) => {
            let keys = match app.keys().await {
                Ok(keys) => keys,
                Err(e) => return app.pages().failed(&e, "cannot read the keys"),
            };
            let effects = app.mfa_effects(&keys, &origin);
            let (client, user) = (&continuation.authorization.client_id, attempt.user);
            let (oob_code, code) = (&mailed.oob_code.0, &form.code);
            email::check_code(store, effects, mfa, client, user, oob_code, code).await
        }
        // No code was mailed in this login: mail one.
        (Ask::Email, None) => return show(&app, &origin, continuation, &settings, ask, None).await,
        _ => authenticators::check_otp(store, &app, rng, mfa, attempt, &form.code).await,
    };
    let refused = |status, message| Some((status, message));
    let error = match checked {
        Err(e) => return app.pages().failed(&e, "cannot check the code"),
        Ok(Checked::Passed { recovery_code, .. }) => {
            let remembered =
                (allow_remember && form.remember.is_some()).then(|| RememberedBrowser {
                    user_id: session.user_id.clone(),
                    since: app.now(),
                });
            continuation.pending = Pending::Mfa {
                csrf: String::new(),
                allow_remember,
                passed: true,
                recovery_code: recovery_code.map(|code| ShownOnce(code.to_string())),
                mailed: None,
            };
            let shows_code = matches!(
                continuation.pending,
                Pending::Mfa {
                    recovery_code: Some(_),
                    ..
                }
            );
            let mut response = if shows_code {
                show(&app, &origin, continuation, &settings, Ask::Otp, None).await
            } else {
                finish(&app, continuation, &session, &origin).await
            };
            if let Some(browser) = remembered {
                remember_browser(&app, &mut response, &browser);
            }
            return response;
        }
        Ok(Checked::Wrong) if ask == Ask::RecoveryCode => {
            refused(StatusCode::BAD_REQUEST, INVALID_RECOVERY_CODE)
        }
        Ok(Checked::Wrong) => refused(StatusCode::BAD_REQUEST, INVALID_CODE),
        Ok(Checked::Malformed) if ask == Ask::RecoveryCode => {
            refused(StatusCode::BAD_REQUEST, RECOVERY_CODE_SHAPE)
        }
        Ok(Checked::Malformed) => refused(StatusCode::BAD_REQUEST, CODE_SHAPE),
        Ok(Checked::TooManyAttempts) => refused(StatusCode::TOO_MANY_REQUESTS, TOO_MANY),
        Ok(Checked::Expired | Checked::NotThisLogin) => {
            refused(StatusCode::BAD_REQUEST, EXPIRED_CODE)
        }
        // The factor is gone (an administrator reset it meanwhile): ask again from the start.
        Ok(Checked::NotEnrolled) => None,
    };
    show(&app, &origin, continuation, &settings, ask, error).await
}

/// The login goes on, the second factor passed.
async fn finish<S: Store>(
    app: &App<S>,
    continuation: Continuation,
    session: &Session,
    origin: &Origin,
) -> Response {
    let mut response = go_on(
        app,
        continuation,
        session,
        origin,
        Resumed::SecondFactor,
        Via::Form,
    )
    .await;
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    set_cookie(
        &mut response,
        format!("{CSRF_COOKIE}=; Path=/u/mfa; HttpOnly; Max-Age=0{secure}"),
    );
    response
}

fn remember_browser<S: Store>(app: &App<S>, response: &mut Response, browser: &RememberedBrowser) {
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    set_cookie(
        response,
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            remember::COOKIE,
            browser.seal(app.transaction_key()),
            remember::LIFETIME
        ),
    );
}

/// The page for what the paused login asks now (`ask`, where the user has a choice), with
/// `error` and its status; sealed again with a fresh CSRF value, set in its cookie. A page
/// asking for a mailed code mails one first, unless one was mailed in this login already
/// (or the user asks for another).
async fn show<S: Store>(
    app: &App<S>,
    origin: &Origin,
    mut continuation: Continuation,
    settings: &TenantSettings,
    ask: Ask,
    error: Option<(StatusCode, &str)>,
) -> Response {
    let csrf = ids::alphanumeric(app.rng(), 32);
    let (status, mut error) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let user = match app.store().user(&continuation.user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return page_error(app, StatusCode::BAD_REQUEST, EXPIRED),
        Err(e) => return app.pages().failed(&e, "cannot read the user"),
    };
    let Pending::Mfa { passed, .. } = continuation.pending else {
        return page_error(app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    let offer = if passed {
        None
    } else {
        match authenticators::offer(app.store(), app.rng(), &settings.mfa, &user, app.now()).await {
            Ok(offer) => Some(offer),
            Err(e) => {
                return app
                    .pages()
                    .failed(&e, "cannot read the user's authenticators");
            }
        }
    };
    // What the challenge page asks for, and the code to mail for it.
    let mut status = status;
    let mut factor = "otp";
    let mut choices = 0;
    if let Some(Offer::Challenge {
        otp,
        email,
        recovery_code,
    }) = &offer
    {
        choices = [otp.is_some(), email.is_some(), *recovery_code]
            .into_iter()
            .filter(|c| *c)
            .count();
        factor = match ask {
            Ask::RecoveryCode if *recovery_code => "recovery-code",
            Ask::Options if choices > 1 => "options",
            Ask::Email | Ask::EmailAgain if email.is_some() => "email",
            _ if otp.is_some() => "otp",
            _ => "email",
        };
        if let (Some(to), "email") = (email, factor) {
            let mailed = matches!(
                &continuation.pending,
                Pending::Mfa {
                    mailed: Some(_),
                    ..
                }
            );
            if !mailed || ask == Ask::EmailAgain {
                match mail_code(
                    app,
                    origin,
                    &continuation.authorization.client_id,
                    &user,
                    to,
                )
                .await
                {
                    Ok(Some(oob_code)) => {
                        if let Pending::Mfa { mailed, .. } = &mut continuation.pending {
                            *mailed = Some(Mailed {
                                oob_code: ShownOnce(oob_code.to_string()),
                                address: to.name.clone().unwrap_or_default(),
                            });
                        }
                    }
                    Ok(None) => {
                        status = StatusCode::TOO_MANY_REQUESTS;
                        error = Some(TOO_MANY_MAILS);
                    }
                    Err(page) => return page,
                }
            }
        }
    }
    let Pending::Mfa {
        csrf: slot,
        allow_remember,
        recovery_code,
        mailed,
        ..
    } = &mut continuation.pending
    else {
        return page_error(app, StatusCode::BAD_REQUEST, EXPIRED);
    };
    slot.clone_from(&csrf);
    let allow_remember = *allow_remember;
    let shown_code = recovery_code.as_ref().map(|code| code.0.clone());
    let address = mailed.as_ref().map(|m| m.address.clone());
    let state = continuation.seal(app.transaction_key(), app.rng());
    let action = format!("{}u/mfa", app.issuer());
    let link = |method: &str| {
        let query = serde_urlencoded::to_string([("state", state.as_str()), ("method", method)]);
        format!("{action}?{}", query.unwrap_or_default())
    };
    let redirect_uri = continuation.authorization.redirect_uri.clone();
    let script = Script::FormToClient(&redirect_uri);
    let mut response = match offer {
        None => app.pages().render(
            status,
            "mfa_recovery_code.html",
            minijinja::context! { state, action, error, code => shown_code },
            script,
        ),
        Some(Offer::Enrol(pending)) => {
            let account = sigil_core::mfa::api::account_name(&user);
            let (qr, secret) = enrolment(&pending, &settings.friendly_name, &account);
            app.pages().render(
                status,
                "mfa_enrol.html",
                minijinja::context! { state, action, error, qr, secret },
                script,
            )
        }
        Some(Offer::Challenge {
            otp,
            email,
            recovery_code,
        }) => {
            let options = (choices > 1).then(|| link("options"));
            let otp_url = otp.is_some().then(|| link("otp"));
            let email_url = email.is_some().then(|| link("email"));
            let recovery_url = recovery_code.then(|| link("recovery-code"));
            let again_url = link("email-again");
            app.pages().render(
                status,
                "mfa_challenge.html",
                minijinja::context! {
                    state, action, error, factor, allow_remember, options, otp_url,
                    email_url, recovery_url, again_url, address,
                },
                script,
            )
        }
    };
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    set_cookie(
        &mut response,
        format!("{CSRF_COOKIE}={csrf}; Path=/u/mfa; HttpOnly; SameSite=Strict{secure}"),
    );
    response
}

/// Mails a code to the user's email factor `to` for the login's application: the
/// `oob_code`, `None` when the user was sent too many, or the error page.
async fn mail_code<S: Store>(
    app: &App<S>,
    origin: &Origin,
    client_id: &ids::ClientId,
    user: &User,
    to: &Authenticator,
) -> Result<Option<zeroize::Zeroizing<String>>, Response> {
    let keys = app
        .keys()
        .await
        .map_err(|e| app.pages().failed(&e, "cannot read the keys"))?;
    let client = app
        .store()
        .client(client_id)
        .await
        .map_err(|e| app.pages().failed(&e, "cannot read the application"))?;
    let effects = app.mfa_effects(&keys, origin);
    email::send_code(app.store(), effects, client_id, user, to, client.as_ref())
        .await
        .map_err(|e| app.pages().failed(&e, "cannot mail the code"))
}

/// The enrolment's QR code (inline SVG markup: only the code's modules, no text of the user's)
/// and its secret as text (base32), for `tenant`'s `account`.
pub(crate) fn enrolment(pending: &Authenticator, tenant: &str, account: &str) -> (String, String) {
    let Some(secret) = pending.totp() else {
        return (String::new(), String::new());
    };
    let uri = secret.key_uri(tenant, account);
    let qr = match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(e) => {
            tracing::error!(error = %e, "cannot draw the enrolment's QR code");
            String::new()
        }
    };
    // The markup without its XML declaration, named for assistive technology.
    let svg = qr.find("<svg").map_or("", |at| &qr[at..]).replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code to scan with your authenticator app\" ",
        1,
    );
    (svg, secret.base32().to_string())
}
