//! `/emails/provider`: the tenant's mail provider (Auth0's `smtp` shape; rules in
//! `sigil_core::management::email_provider`). Every node's mail worker reads it before each
//! pass, so a change takes effect within a second, everywhere.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use sigil_core::Store;
use sigil_core::management::{
    EmailProviderBody, email_provider_json, parse_body, project_provider,
};
use sigil_core::model::EmailProvider;

use super::body::Params;
use super::caller::Caller;
use super::error::MgmtError;
use crate::App;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Projection {
    fields: Option<String>,
    include_fields: Option<bool>,
}

fn not_configured() -> MgmtError {
    MgmtError::not_found(
        "inexistent_email_provider",
        "Email provider has not been configured",
    )
}

async fn stored<S: Store>(app: &App<S>) -> Result<EmailProvider, MgmtError> {
    app.store()
        .email_provider()
        .await?
        .ok_or_else(not_configured)
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    Params(projection): Params<Projection>,
) -> Result<Json<Value>, MgmtError> {
    let provider = stored(&app).await?;
    Ok(Json(project_provider(
        email_provider_json(&provider),
        projection.fields.as_deref(),
        projection.include_fields,
    )))
}

pub(crate) async fn create<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let provider = parse_body::<EmailProviderBody>(&body)?.create()?;
    if app.store().email_provider().await?.is_some() {
        return Err(MgmtError::Conflict {
            error_code: "email_provider_conflict",
            message: "An email provider is already configured; change it with PATCH or \
                      DELETE it first"
                .to_owned(),
        });
    }
    app.store().put_email_provider(&provider, app.now()).await?;
    caller.audit(&app, "Configure the email provider").await;
    Ok((StatusCode::CREATED, Json(email_provider_json(&provider))))
}

pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let patch = parse_body::<EmailProviderBody>(&body)?;
    let mut provider = stored(&app).await?;
    patch.apply(&mut provider)?;
    app.store().put_email_provider(&provider, app.now()).await?;
    caller.audit(&app, "Update the email provider").await;
    Ok(Json(email_provider_json(&provider)))
}

pub(crate) async fn delete<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
) -> Result<StatusCode, MgmtError> {
    if !app.store().delete_email_provider().await? {
        return Err(MgmtError::not_found(
            "inexistent_email_provider",
            "Email provider does not exist.",
        ));
    }
    caller.audit(&app, "Delete the email provider").await;
    Ok(StatusCode::NO_CONTENT)
}
