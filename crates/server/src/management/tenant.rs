//! `/tenants/settings`: read and patch the tenant's settings (Auth0's property names; `issuer`
//! is shown but fixed).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::Value;
use sigil_core::Store;
use sigil_core::management::{TenantPatch, parse_body};
use sigil_core::model::TenantSettings;

use super::caller::Caller;
use super::error::MgmtError;
use crate::App;

/// The tenant's settings (the branding included).
pub(crate) async fn settings<S: Store>(app: &App<S>) -> Result<TenantSettings, MgmtError> {
    app.store().tenant_settings().await?.ok_or_else(|| {
        MgmtError::Internal("the tenant has no settings (run sigil init)".to_owned())
    })
}

/// The settings as Auth0 shows them: the branding is `/branding`'s and the multi-factor
/// settings `/guardian`'s, not theirs.
fn settings_json(settings: &TenantSettings) -> Result<Value, MgmtError> {
    let mut json =
        serde_json::to_value(settings).map_err(|e| MgmtError::Internal(e.to_string()))?;
    if let Value::Object(fields) = &mut json {
        fields.remove("branding");
        fields.remove("mfa");
    }
    Ok(json)
}

pub(crate) async fn get<S: Store>(State(app): State<App<S>>) -> Result<Json<Value>, MgmtError> {
    Ok(Json(settings_json(&settings(&app).await?)?))
}

pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let patch = parse_body::<TenantPatch>(&body)?;
    if let Some(audience) = patch.default_audience()
        && app
            .store()
            .resource_server_by_identifier(audience)
            .await?
            .is_none()
    {
        return Err(MgmtError::bad_body(format!(
            "Payload validation error: no API has the identifier {audience} (default_audience)."
        )));
    }
    let mut current = settings(&app).await?;
    patch.apply(&mut current)?;
    app.store().put_tenant_settings(&current, app.now()).await?;
    app.pages()
        .set_brand(crate::pages::Brand::of(&current), app.now());
    // The Actions' egress list travels with their bindings.
    app.bound_cache().forget();
    caller.audit(&app, "Update tenant settings").await;
    Ok(Json(settings_json(&current)?))
}
