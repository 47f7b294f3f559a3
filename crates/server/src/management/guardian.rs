//! Multi-factor authentication in the Management API: the tenant's factors and policy
//! (`/guardian/factors`, `/guardian/policies`; each change logged `gd_tenant_update`), and a
//! user's authentication methods, enrolments, recovery code and remembered browsers. The
//! shapes and rules are `sigil_core::management::guardian`'s; a user's factors are core's
//! `mfa::authenticators`'.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_core::events::Events as _;
use sigil_core::management::guardian::{
    EnrollmentTicketBody, FactorBody, NewAuthenticationMethod, authentication_method_json,
    enrollment_json, factors_json, parse_policies, policies_json, set_factor,
};
use sigil_core::management::parse_body;
use sigil_core::mfa::{authenticators, enrolment};
use sigil_core::model::{
    Authenticator, AuthenticatorKind, AuthenticatorSecret, LogType, NewLogEvent, TenantSettings,
};

use super::body::Params;
use super::caller::Caller;
use super::error::MgmtError;
use super::paging::Paging;
use super::tenant::settings;
use super::users::user_or_404;
use crate::App;

pub(crate) async fn factors<S: Store>(State(app): State<App<S>>) -> Result<Json<Value>, MgmtError> {
    Ok(Json(factors_json(&settings(&app).await?.mfa)))
}

pub(crate) async fn update_factor<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let body = parse_body::<FactorBody>(&body)?;
    let mut current = settings(&app).await?;
    set_factor(&mut current.mfa, &name, &body)?;
    save(
        &app,
        &caller,
        &current,
        &format!("Update the {name} factor"),
    )
    .await?;
    Ok(Json(json!({"enabled": body.enabled})))
}

pub(crate) async fn policies<S: Store>(
    State(app): State<App<S>>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(policies_json(&settings(&app).await?.mfa)))
}

pub(crate) async fn update_policies<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let policies = parse_policies(&body)?;
    let mut current = settings(&app).await?;
    current.mfa.policies = policies;
    save(&app, &caller, &current, "Update the multi-factor policy").await?;
    Ok(Json(policies_json(&current.mfa)))
}

/// Stores the tenant's changed multi-factor settings, logged as Auth0 logs them.
async fn save<S: Store>(
    app: &App<S>,
    caller: &Caller,
    current: &TenantSettings,
    what: &str,
) -> Result<(), MgmtError> {
    app.store().put_tenant_settings(current, app.now()).await?;
    app.emit(NewLogEvent {
        client_id: caller.client_id().cloned(),
        description: Some(what.to_owned()),
        ..NewLogEvent::new(LogType::MFA_TENANT_UPDATED, app.now())
    });
    caller.audit(app, what).await;
    Ok(())
}

pub(crate) async fn authentication_methods<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Params(paging): Params<Paging>,
) -> Result<Json<Value>, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let all = app.store().authenticators(&user.user_id).await?;
    let listed = all.iter().map(authentication_method_json).collect();
    Ok(Json(paging.slice("authenticators", listed)?))
}

pub(crate) async fn authentication_method<S: Store>(
    State(app): State<App<S>>,
    Path((id, method)): Path<(String, String)>,
) -> Result<Json<Value>, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let all = app.store().authenticators(&user.user_id).await?;
    let found = all.iter().find(|a| a.id == method).ok_or_else(not_found)?;
    Ok(Json(authentication_method_json(found)))
}

fn not_found() -> MgmtError {
    MgmtError::not_found(
        "inexistent_authentication_method",
        "The authentication method does not exist.",
    )
}

pub(crate) async fn create_authentication_method<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let body = parse_body::<NewAuthenticationMethod>(&body)?;
    let secret = body.totp()?;
    let user = user_or_404(&app, &id).await?;
    let now = app.now();
    let method = Authenticator {
        id: authenticators::new_id(AuthenticatorKind::Totp, app.rng()),
        user_id: user.user_id.clone(),
        kind: AuthenticatorKind::Totp,
        name: body.name.clone(),
        secret: AuthenticatorSecret::Totp(secret),
        confirmed_at: Some(now),
        created_at: now,
        last_auth_at: None,
    };
    app.store().put_authenticator(&method).await?;
    caller.audit(&app, "Create an authentication method").await;
    Ok((
        StatusCode::CREATED,
        Json(authentication_method_json(&method)),
    ))
}

pub(crate) async fn delete_authentication_method<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path((id, method)): Path<(String, String)>,
) -> Result<StatusCode, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    if !app
        .store()
        .delete_authenticator(&user.user_id, &method)
        .await?
    {
        return Err(not_found());
    }
    unenrolled(
        &app,
        &caller,
        &user.user_id,
        "Delete an authentication method",
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/{id}/authentication-methods` and `DELETE /users/{id}/authenticators`:
/// Auth0's "reset MFA", every factor gone and the remembered browsers forgotten.
pub(crate) async fn delete_authentication_methods<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    app.store()
        .delete_authenticators(&user.user_id, app.now())
        .await?;
    unenrolled(
        &app,
        &caller,
        &user.user_id,
        "Delete a user's authenticators",
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn unenrolled<S: Store>(
    app: &App<S>,
    caller: &Caller,
    user: &sigil_core::ids::UserId,
    what: &str,
) {
    app.emit(NewLogEvent {
        client_id: caller.client_id().cloned(),
        user_id: Some(user.clone()),
        description: Some(what.to_owned()),
        ..NewLogEvent::new(LogType::MFA_UNENROLLED, app.now())
    });
    caller.audit(app, what).await;
}

pub(crate) async fn enrollments<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let all = app.store().authenticators(&user.user_id).await?;
    Ok(Json(Value::Array(
        all.iter().filter_map(enrollment_json).collect(),
    )))
}

pub(crate) async fn regenerate_recovery_code<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let code =
        authenticators::new_recovery_code(app.store(), app.rng(), &user.user_id, app.now()).await?;
    caller
        .audit(&app, "Regenerate a user's recovery code")
        .await;
    Ok(Json(json!({"recovery_code": code.as_str()})))
}

pub(crate) async fn invalidate_remember_browser<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    app.store()
        .forget_browsers(&user.user_id, app.now())
        .await?;
    caller
        .audit(&app, "Invalidate a user's remembered browsers")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /guardian/enrollments/ticket`: a link for the user to enrol an authenticator app
/// without logging in, mailed unless `send_mail` is false.
pub(crate) async fn enrollment_ticket<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let body = parse_body::<EnrollmentTicketBody>(&body)?;
    let user = user_or_404(&app, body.user_id()?).await?;
    let mail_to = body.mail_to(&user)?;
    let (id, url) = enrolment::issue(
        app.store(),
        app.rng(),
        app.issuer(),
        app.now(),
        &user,
        mail_to.as_deref(),
    )
    .await?;
    caller.audit(&app, "Create an enrollment ticket").await;
    Ok(Json(json!({"ticket_id": id, "ticket_url": url})))
}

fn no_enrollment() -> MgmtError {
    MgmtError::not_found("inexistent_enrollment", "The enrollment does not exist.")
}

/// `GET /guardian/enrollments/{id}`: one of a user's enrolments (an authenticator app or an
/// email factor), as `/users/{id}/enrollments` lists it.
pub(crate) async fn enrollment<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    app.store()
        .authenticator(&id)
        .await?
        .as_ref()
        .and_then(enrollment_json)
        .map(Json)
        .ok_or_else(no_enrollment)
}

/// `DELETE /guardian/enrollments/{id}`: removes one enrolment.
pub(crate) async fn delete_enrollment<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let found = app
        .store()
        .authenticator(&id)
        .await?
        .filter(|a| a.kind != AuthenticatorKind::RecoveryCode)
        .ok_or_else(no_enrollment)?;
    if !app
        .store()
        .delete_authenticator(&found.user_id, &id)
        .await?
    {
        return Err(no_enrollment());
    }
    unenrolled(&app, &caller, &found.user_id, "Delete an enrollment").await;
    Ok(StatusCode::NO_CONTENT)
}
