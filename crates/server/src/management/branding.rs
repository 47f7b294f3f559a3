//! `/branding`: the hosted pages' colours, logo, icon and font (Auth0's shape), kept with the
//! tenant's settings. The pages read them on every render.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::Value;
use sigil_core::Store;
use sigil_core::management::{BrandingPatch, parse_body};
use sigil_core::model::Branding;

use super::caller::Caller;
use super::error::MgmtError;
use super::tenant::settings;
use crate::App;

fn branding_json(branding: &Branding) -> Result<Value, MgmtError> {
    serde_json::to_value(branding).map_err(|e| MgmtError::Internal(e.to_string()))
}

pub(crate) async fn get<S: Store>(State(app): State<App<S>>) -> Result<Json<Value>, MgmtError> {
    Ok(Json(branding_json(&settings(&app).await?.branding)?))
}

pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let patch = parse_body::<BrandingPatch>(&body)?;
    let mut current = settings(&app).await?;
    patch.apply(&mut current.branding)?;
    app.store().put_tenant_settings(&current, app.now()).await?;
    app.pages()
        .set_brand(crate::pages::Brand::of(&current), app.now());
    caller.audit(&app, "Update branding settings").await;
    Ok(Json(branding_json(&current.branding)?))
}
