//! `/attack-protection/*` and `/user-blocks`, Auth0's: thin handlers over core's
//! `management::attack_protection` rules.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use sigil_core::Store;
use sigil_core::attack_protection::brute_force::identifier_key;
use sigil_core::management::attack_protection::{
    BreachedPatch, BruteForcePatch, SuspiciousIpPatch, bot_detection_json, breached_json,
    brute_force_json, captcha_json, check_bot_detection_patch, check_captcha_patch, identifiers_of,
    suspicious_ip_json, unblock, user_blocks,
};
use sigil_core::management::{ManagementError, parse_body};

use super::body::Params;
use super::caller::Caller;
use super::error::MgmtError;
use super::tenant::settings;
use super::users::user_or_404;
use crate::App;

pub(crate) async fn brute_force<S: Store>(
    State(app): State<App<S>>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(brute_force_json(&settings(&app).await?.brute_force)))
}

pub(crate) async fn update_brute_force<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let patch = parse_body::<BruteForcePatch>(&body)?;
    let mut current = settings(&app).await?;
    current.brute_force = patch.apply(&current.brute_force)?;
    app.store().put_tenant_settings(&current, app.now()).await?;
    caller
        .audit(&app, "Update the brute-force protection settings")
        .await;
    Ok(Json(brute_force_json(&current.brute_force)))
}

pub(crate) async fn suspicious_ip<S: Store>(
    State(app): State<App<S>>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(suspicious_ip_json(
        &settings(&app).await?.suspicious_ip,
    )))
}

pub(crate) async fn update_suspicious_ip<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let patch = parse_body::<SuspiciousIpPatch>(&body)?;
    let mut current = settings(&app).await?;
    current.suspicious_ip = patch.apply(&current.suspicious_ip)?;
    app.store().put_tenant_settings(&current, app.now()).await?;
    caller
        .audit(&app, "Update the suspicious IP throttling settings")
        .await;
    Ok(Json(suspicious_ip_json(&current.suspicious_ip)))
}

pub(crate) async fn breached_passwords<S: Store>(
    State(app): State<App<S>>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(breached_json(
        &settings(&app).await?.breached_passwords,
    )))
}

pub(crate) async fn update_breached_passwords<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let patch = parse_body::<BreachedPatch>(&body)?;
    let mut current = settings(&app).await?;
    current.breached_passwords = patch.apply(&current.breached_passwords)?;
    app.store().put_tenant_settings(&current, app.now()).await?;
    caller
        .audit(&app, "Update the breached password detection settings")
        .await;
    Ok(Json(breached_json(&current.breached_passwords)))
}

/// The handlers below read nothing of the state: `State` only ties them to the router's type.
pub(crate) async fn bot_detection<S: Store>(State(_): State<App<S>>) -> Json<Value> {
    Json(bot_detection_json())
}

pub(crate) async fn update_bot_detection<S: Store>(
    State(_): State<App<S>>,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    check_bot_detection_patch(&json_body(&body)?)?;
    Ok(Json(bot_detection_json()))
}

pub(crate) async fn captcha<S: Store>(State(_): State<App<S>>) -> Json<Value> {
    Json(captcha_json())
}

pub(crate) async fn update_captcha<S: Store>(
    State(_): State<App<S>>,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    check_captcha_patch(&json_body(&body)?)?;
    Ok(Json(captcha_json()))
}

/// A body that must be JSON (the checks above say what is wrong with its members).
fn json_body(body: &[u8]) -> Result<Value, MgmtError> {
    serde_json::from_slice(body).map_err(|e| {
        ManagementError::InvalidBody(format!("Payload validation error: 'Invalid JSON: {e}'."))
            .into()
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BlocksQuery {
    identifier: Option<String>,
    #[serde(default)]
    consider_brute_force_enablement: bool,
}

/// The `identifier` a by-identifier call must name.
fn identifier(query: &BlocksQuery) -> Result<Vec<String>, MgmtError> {
    match query.identifier.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => Ok(vec![identifier_key(id)]),
        _ => Err(ManagementError::InvalidQuery(
            "Query validation error: 'Missing required property: identifier' on property identifier.".to_owned(),
        )
        .into()),
    }
}

pub(crate) async fn blocks_by_identifier<S: Store>(
    State(app): State<App<S>>,
    Params(query): Params<BlocksQuery>,
) -> Result<Json<Value>, MgmtError> {
    let identifiers = identifier(&query)?;
    let settings = settings(&app).await?.brute_force;
    let consider = query.consider_brute_force_enablement;
    let blocks = user_blocks(app.store(), &settings, &identifiers, consider, app.now()).await?;
    Ok(Json(blocks))
}

pub(crate) async fn unblock_identifier<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Params(query): Params<BlocksQuery>,
) -> Result<StatusCode, MgmtError> {
    let identifiers = identifier(&query)?;
    unblock(app.store(), &identifiers, None, app.now()).await?;
    caller.audit(&app, "Unblock an identifier").await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserBlocksQuery {
    #[serde(default)]
    consider_brute_force_enablement: bool,
}

pub(crate) async fn blocks_of_user<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Params(query): Params<UserBlocksQuery>,
) -> Result<Json<Value>, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let settings = settings(&app).await?.brute_force;
    let consider = query.consider_brute_force_enablement;
    let identifiers = identifiers_of(&user);
    let blocks = user_blocks(app.store(), &settings, &identifiers, consider, app.now()).await?;
    Ok(Json(blocks))
}

pub(crate) async fn unblock_user<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    unblock(app.store(), &identifiers_of(&user), Some(&user), app.now()).await?;
    caller.audit(&app, "Unblock a user").await;
    Ok(StatusCode::NO_CONTENT)
}
