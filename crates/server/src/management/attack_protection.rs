//! `/attack-protection/brute-force-protection` and `/user-blocks`, Auth0's: thin handlers over
//! core's `management::attack_protection` rules.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use sigil_core::Store;
use sigil_core::attack_protection::brute_force::identifier_key;
use sigil_core::management::attack_protection::{
    BruteForcePatch, brute_force_json, identifiers_of, unblock, user_blocks,
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
