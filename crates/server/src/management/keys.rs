//! `/keys/signing`: the tenant's signing keys (RSA family; PS256 and ES256 keys are listed too),
//! rotation and revocation, as `sigil keys list|rotate|revoke` do. This node signs with the new
//! key at once; the others within `KEYS_TTL`. And [`ensure_family`], for an API or an
//! application choosing an algorithm whose family the tenant lacks.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_core::key_family::KeyFamily;
use sigil_core::model::{KeyState, SigningKeyRecord};

use super::caller::Caller;
use super::error::MgmtError;
use crate::App;

/// Makes `family` (its current and next keys) if the tenant lacks it, and reloads this node's
/// keys when it did, so the API or application that chose it is signed for from its first
/// token on.
pub(crate) async fn ensure_family<S: Store>(
    app: &App<S>,
    family: KeyFamily,
) -> Result<(), MgmtError> {
    let made = family
        .ensure(app.store(), app.now())
        .await
        .map_err(|e| MgmtError::Internal(e.to_string()))?;
    if !made.is_empty() {
        app.reload_keys().await?;
    }
    Ok(())
}

pub(crate) async fn list<S: Store>(State(app): State<App<S>>) -> Result<Json<Value>, MgmtError> {
    let keys = app.store().signing_keys().await?;
    Ok(Json(Value::Array(
        keys.iter().map(SigningKeyRecord::management_json).collect(),
    )))
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    Path(kid): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let keys = app.store().signing_keys().await?;
    keys.iter()
        .find(|k| k.kid == kid)
        .map(|k| Json(k.management_json()))
        .ok_or_else(|| MgmtError::not_found("inexistent_key", "The signing key does not exist."))
}

/// `POST /keys/signing/rotate`: the next RSA key becomes current, a new next key is made, and
/// the old current key stays published as previous. Answers the new current key's kid.
pub(crate) async fn rotate<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
) -> Result<Json<Value>, MgmtError> {
    let now = app.now();
    // RSA key generation takes a noticeable fraction of a second: off the async threads.
    let next =
        tokio::task::spawn_blocking(move || SigningKeyRecord::generate_rs256(KeyState::Next, now))
            .await
            .map_err(|e| MgmtError::Internal(e.to_string()))?
            .map_err(|e| MgmtError::Internal(e.to_string()))?;
    app.store().rotate_signing_keys(&next, now).await?;
    app.reload_keys().await?;
    let keys = app.store().signing_keys().await?;
    let current = keys
        .iter()
        .find(|k| k.state == KeyState::Current && k.family() == next.family())
        .ok_or_else(|| MgmtError::Internal("no current key after a rotation".to_owned()))?;
    caller
        .audit(&app, "Rotate the Application Signing Key")
        .await;
    Ok(Json(json!({"kid": current.kid})))
}

/// `PUT /keys/signing/{kid}/revoke`: a previous (or next) key leaves the JWKS; tokens it signed
/// stop verifying. The current key cannot be revoked.
pub(crate) async fn revoke<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(kid): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    match app.store().revoke_signing_key(&kid, app.now()).await {
        Ok(()) => {}
        Err(sigil_core::StoreError::NotFound(_)) => {
            return Err(MgmtError::not_found(
                "inexistent_key",
                "No previous or next signing key has this kid (the current key cannot be revoked; rotate first).",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    app.reload_keys().await?;
    caller
        .audit(&app, "Revoke an Application Signing Key")
        .await;
    Ok(Json(json!({"kid": kid})))
}
