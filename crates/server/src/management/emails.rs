//! `/emails/provider`: the tenant's mail provider (Auth0's `smtp` shape; rules in
//! `sigil_core::management::email_provider`). Every node's mail worker reads it before each
//! pass, so a change takes effect within a second, everywhere. And `/email-templates/…`: the
//! tenant's templates (rules in `sigil_core::management::email_templates`), read whenever a
//! mail is written.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use sigil_core::Store;
use sigil_core::management::{
    EmailProviderBody, EmailTemplateBody, email_provider_json, email_template_json, parse_body,
    project_provider, template_name,
};
use sigil_core::model::{EmailProvider, EmailTemplate, TemplateName};

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

/// The template `{templateName}` names (400 unless one of Auth0's names), as stored (404
/// until set).
async fn stored_template<S: Store>(
    app: &App<S>,
    name: TemplateName,
) -> Result<EmailTemplate, MgmtError> {
    app.store().email_template(name).await?.ok_or_else(|| {
        MgmtError::not_found(
            "inexistent_email_template",
            format!("The template {name} does not exist."),
        )
    })
}

pub(crate) async fn create_template<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let template = parse_body::<EmailTemplateBody>(&body)?.create()?;
    if !app
        .store()
        .put_email_template(&template, true, app.now())
        .await?
    {
        return Err(MgmtError::Conflict {
            error_code: "email_template_conflict",
            message: format!(
                "The template {} already exists; change it with PATCH or PUT",
                template.name
            ),
        });
    }
    caller.audit(&app, "Create an email template").await;
    Ok((StatusCode::CREATED, Json(email_template_json(&template))))
}

pub(crate) async fn get_template<S: Store>(
    State(app): State<App<S>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let template = stored_template(&app, template_name(&name)?).await?;
    Ok(Json(email_template_json(&template)))
}

pub(crate) async fn update_template<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let name = template_name(&name)?;
    let patch = parse_body::<EmailTemplateBody>(&body)?;
    let mut template = stored_template(&app, name).await?;
    patch.apply(&mut template)?;
    app.store()
        .put_email_template(&template, false, app.now())
        .await?;
    caller.audit(&app, "Update an email template").await;
    Ok(Json(email_template_json(&template)))
}

pub(crate) async fn replace_template<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let name = template_name(&name)?;
    let template = parse_body::<EmailTemplateBody>(&body)?.replace(name)?;
    app.store()
        .put_email_template(&template, false, app.now())
        .await?;
    caller.audit(&app, "Set an email template").await;
    Ok(Json(email_template_json(&template)))
}
