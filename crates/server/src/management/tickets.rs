//! `POST /tickets/email-verification` and `POST /tickets/password-change`: the same single-use
//! links the hosted pages follow (`sigil_core::tickets`), answered as `{"ticket": <url>}`
//! instead of mailed.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use sigil_core::ids::ConnectionId;
use sigil_core::management::{
    ManagementError, PasswordTicketBody, TicketUser, ValidTicket, VerificationTicketBody,
    parse_body,
};
use sigil_core::model::{Strategy, TicketKind, User};
use sigil_core::{Store, tickets};

use super::caller::Caller;
use super::error::MgmtError;
use super::users::user_or_404;
use crate::App;

async fn ticket_user<S: Store>(app: &App<S>, user: &TicketUser) -> Result<User, MgmtError> {
    match user {
        TicketUser::Id(id) => user_or_404(app, id).await,
        TicketUser::Email {
            email,
            connection_id,
        } => {
            let connection = app
                .store()
                .connection(&ConnectionId::from(connection_id.as_str()))
                .await?
                .ok_or(ManagementError::UnknownConnection)?;
            app.store()
                .user_by_email(&connection.id, email)
                .await?
                // A linked account's credentials belong to its primary: no ticket of its own.
                .filter(|u| u.linked_to.is_none())
                .ok_or_else(|| ManagementError::UserNotFound.into())
        }
    }
}

async fn issue<S: Store>(
    app: &App<S>,
    caller: &Caller,
    kind: TicketKind,
    valid: ValidTicket,
    user: &User,
    what: &str,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let url = tickets::issue(
        app.store(),
        app.rng(),
        app.issuer(),
        app.now(),
        kind,
        &user.user_id,
        valid.result_url,
        valid.lifetime,
    )
    .await?;
    caller.audit(app, what).await;
    Ok((StatusCode::CREATED, Json(json!({ "ticket": url }))))
}

pub(crate) async fn email_verification<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let valid = parse_body::<VerificationTicketBody>(&body)?.validate()?;
    let user = ticket_user(&app, &valid.user).await?;
    if user.email.is_none() {
        return Err(MgmtError::bad_body(
            "The user has no email address to verify.",
        ));
    }
    let kind = TicketKind::EmailVerification;
    issue(
        &app,
        &caller,
        kind,
        valid,
        &user,
        "Create an email verification ticket",
    )
    .await
}

pub(crate) async fn password_change<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let valid = parse_body::<PasswordTicketBody>(&body)?.validate()?;
    let user = ticket_user(&app, &valid.user).await?;
    let connection = app.store().connection(&user.connection_id).await?;
    if !connection.is_some_and(|c| c.strategy == Strategy::Auth0) {
        return Err(MgmtError::bad_body(
            "The user is not in a database connection: there is no password to change.",
        ));
    }
    let kind = TicketKind::PasswordReset;
    issue(
        &app,
        &caller,
        kind,
        valid,
        &user,
        "Create a password change ticket",
    )
    .await
}
