//! `/jobs`: bulk user imports (multipart upload of Auth0's import file) and exports (made at
//! once, served at the job's `location`), and reading the jobs back with their refused
//! entries. Sigil runs a job inline, then records the finished job in the store, so that any
//! node answers `GET /jobs/{id}`. `POST /jobs/verification-email` mails the verification link
//! again. The file format is `sigil_core::management::import`'s, the
//! job `sigil_core::management::import_job`'s, shared with `sigil users import`.

use axum::Json;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_core::ids::{ClientId, ConnectionId, JobId, UserId};
use sigil_core::management::export::{ExportField, check_fields, export_entry};
use sigil_core::management::import::parse_import;
use sigil_core::management::import_job::{MAX_EXTERNAL_ID, import_job, run_import};
use sigil_core::management::job_json;
use sigil_core::model::{Connection, Job, JobKind, JsonObject, Strategy, UserQuery};
use sigil_core::{Page, Store, tickets};

use super::body::Body;
use super::caller::Caller;
use super::error::MgmtError;
use crate::App;

/// The largest import file accepted (the route's body limit).
pub(crate) const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

/// What the multipart form of `POST /jobs/users-imports` said.
struct ImportForm {
    users: Option<Vec<u8>>,
    connection_id: Option<String>,
    upsert: bool,
    external_id: Option<String>,
}

fn bad_form(message: impl Into<String>) -> MgmtError {
    MgmtError::bad_body(message)
}

fn flag(name: &str, text: &str) -> Result<bool, MgmtError> {
    match text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(bad_form(format!(
            "Payload validation error: '{name}' must be true or false, not {other:?}."
        ))),
    }
}

/// Reads the form's fields; an unknown or repeated field is refused by name.
async fn read_form(mut multipart: Multipart) -> Result<ImportForm, MgmtError> {
    let mut form = ImportForm {
        users: None,
        connection_id: None,
        upsert: false,
        external_id: None,
    };
    let mut seen: Vec<String> = Vec::new();
    let malformed = |e: axum::extract::multipart::MultipartError| {
        bad_form(format!(
            "The multipart body cannot be read: {}",
            e.body_text()
        ))
    };
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if seen.contains(&name) {
            return Err(bad_form(format!(
                "Payload validation error: '{name}' is given more than once."
            )));
        }
        seen.push(name.clone());
        match name.as_str() {
            "users" => form.users = Some(field.bytes().await.map_err(malformed)?.to_vec()),
            "connection_id" => form.connection_id = Some(field.text().await.map_err(malformed)?),
            "external_id" => form.external_id = Some(field.text().await.map_err(malformed)?),
            "upsert" => form.upsert = flag("upsert", &field.text().await.map_err(malformed)?)?,
            "send_completion_email" => {
                flag(
                    "send_completion_email",
                    &field.text().await.map_err(malformed)?,
                )?;
            }
            other => {
                return Err(bad_form(format!(
                    "Payload validation error: 'Additional properties not allowed: {other}'."
                )));
            }
        }
    }
    Ok(form)
}

/// The database connection with this id, or a 400 saying why it cannot be imported into.
async fn database_connection<S: Store>(app: &App<S>, id: &str) -> Result<Connection, MgmtError> {
    let connection = app
        .store()
        .connection(&ConnectionId::from(id))
        .await?
        .ok_or_else(|| MgmtError::BadRequest {
            error_code: "inexistent_connection",
            message: format!("The connection {id} does not exist."),
        })?;
    if connection.strategy != Strategy::Auth0 {
        return Err(MgmtError::BadRequest {
            error_code: "invalid_connection",
            message: format!(
                "The connection {id} is not a database connection: users cannot be imported into it."
            ),
        });
    }
    Ok(connection)
}

/// `POST /jobs/users-imports`.
pub(crate) async fn import_users<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let multipart = multipart.map_err(|e| {
        bad_form(format!(
            "The body must be multipart/form-data: {}",
            e.body_text()
        ))
    })?;
    let form = read_form(multipart).await?;
    let connection_id = form.connection_id.ok_or_else(|| {
        bad_form("Payload validation error: 'Missing required property: connection_id'.")
    })?;
    let bytes = form
        .users
        .ok_or_else(|| bad_form("Payload validation error: 'Missing required property: users'."))?;
    if form
        .external_id
        .as_ref()
        .is_some_and(|e| e.len() > MAX_EXTERNAL_ID)
    {
        return Err(bad_form(format!(
            "Payload validation error: 'external_id' must have at most {MAX_EXTERNAL_ID} characters."
        )));
    }
    let connection = database_connection(&app, &connection_id).await?;
    let now = app.now();
    let import = parse_import(&bytes, &connection, now, app.rng())
        .map_err(|e| bad_form(format!("The users file {e}.")))?;
    let outcome = run_import(app.store(), &connection, import, form.upsert, now, |_| {}).await?;
    let job = import_job(&outcome, &connection, form.external_id, now, app.rng());
    app.store().create_job(&job).await?;
    caller.audit(&app, "Create import users job").await;
    Ok((StatusCode::ACCEPTED, Json(job_json(&job, None))))
}

async fn job_or_404<S: Store>(app: &App<S>, id: &str) -> Result<Job, MgmtError> {
    app.store()
        .job(&JobId::from(id))
        .await?
        .ok_or_else(|| MgmtError::not_found("inexistent_job", "The job does not exist."))
}

/// `GET /jobs/{id}`.
pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let job = job_or_404(&app, &id).await?;
    Ok(Json(job_json(&job, location(&app, &job))))
}

/// `GET /jobs/{id}/errors`: the refused entries, `[{"user", "errors"}]`.
pub(crate) async fn errors<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let job = job_or_404(&app, &id).await?;
    Ok(Json(Value::Array(job.errors)))
}

/// `POST /jobs/users-exports`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportBody {
    connection_id: Option<String>,
    format: Option<String>,
    fields: Option<Vec<ExportField>>,
    limit: Option<u64>,
}

/// `POST /jobs/verification-email`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerificationEmailBody {
    user_id: String,
    client_id: Option<String>,
    identity: Option<Value>,
    organization_id: Option<String>,
}

/// `POST /jobs/verification-email`: the user's verification mail sent again (a new link; the
/// earlier ones keep working until used or expired), written from the `verify_email` template
/// with the application `client_id` names. Done at once: the job is `completed`.
pub(crate) async fn verification_email<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Body(body): Body<VerificationEmailBody>,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    if body.identity.is_some() || body.organization_id.is_some() {
        return Err(bad_form(
            "Payload validation error: Sigil sends the verification mail of the user's own \
             address: 'identity' and 'organization_id' are not supported.",
        ));
    }
    let user = app
        .store()
        .account(&UserId::from(body.user_id.as_str()))
        .await?
        .ok_or_else(|| MgmtError::not_found("inexistent_user", "The user does not exist."))?;
    let client = match body.client_id.as_deref() {
        Some(id) => Some(
            app.store()
                .client(&ClientId::from(id))
                .await?
                .ok_or_else(|| bad_form(format!("Payload validation error: no client {id}.")))?
                .client_id,
        ),
        None => None,
    };
    if user.email.is_none() {
        return Err(bad_form("The user has no email address to verify."));
    }
    tickets::send_verification_email(
        app.store(),
        app.rng(),
        app.issuer(),
        app.now(),
        &user,
        client.as_ref(),
    )
    .await?;
    let job = Job {
        id: JobId::generate(app.rng()),
        kind: JobKind::VerificationEmail,
        status: "completed".to_owned(),
        connection_id: None,
        external_id: None,
        created_at: app.now(),
        details: JsonObject::new(),
        errors: Vec::new(),
        output: None,
    };
    app.store().create_job(&job).await?;
    caller.audit(&app, "Send a verification email").await;
    Ok((StatusCode::CREATED, Json(job_json(&job, None))))
}

/// Where an export's file is served.
fn location<S: Store>(app: &App<S>, job: &Job) -> Option<String> {
    (job.kind == JobKind::UsersExport)
        .then(|| format!("{}api/v2/jobs/{}/export", app.issuer(), job.id))
}

/// `POST /jobs/users-exports`: Sigil hosts no files, so the export is made at once, kept with
/// the job, and served at the job's `location`.
pub(crate) async fn export_users<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Body(body): Body<ExportBody>,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let format = body.format.unwrap_or_else(|| "json".to_owned());
    if format != "json" {
        return Err(bad_form(format!(
            "Payload validation error: 'format' must be \"json\" (Sigil exports JSON only), not {format:?}."
        )));
    }
    if let Some(fields) = &body.fields {
        check_fields(fields)?;
    }
    let connection = match &body.connection_id {
        Some(id) => Some(database_connection(&app, id).await?),
        None => None,
    };
    let query = UserQuery {
        connection_id: connection.as_ref().map(|c| c.id.clone()),
        ..UserQuery::default()
    };
    let limit = body
        .limit
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let mut entries = Vec::new();
    for page in 0.. {
        let batch = app
            .store()
            .list_users(&query, Page::new(page, Page::MAX_PER_PAGE))
            .await?;
        let done = batch.len() < Page::MAX_PER_PAGE as usize;
        entries.extend(
            batch
                .iter()
                .map(|user| export_entry(user, body.fields.as_deref())),
        );
        if done || entries.len() >= limit {
            break;
        }
    }
    entries.truncate(limit);
    let output = serde_json::to_string(&entries)
        .map_err(|e| MgmtError::Internal(format!("cannot write the export: {e}")))?;

    let mut details = JsonObject::new();
    details.insert("format".to_owned(), json!(format));
    if let Some(connection) = &connection {
        details.insert("connection".to_owned(), json!(connection.name));
    }
    if let Some(fields) = &body.fields {
        details.insert("fields".to_owned(), json!(fields));
    }
    if let Some(limit) = body.limit {
        details.insert("limit".to_owned(), json!(limit));
    }
    let job = Job {
        id: JobId::generate(app.rng()),
        kind: JobKind::UsersExport,
        status: "completed".to_owned(),
        connection_id: connection.map(|c| c.id),
        external_id: None,
        created_at: app.now(),
        details,
        errors: Vec::new(),
        output: Some(output),
    };
    app.store().create_job(&job).await?;
    caller.audit(&app, "Create export users job").await;
    Ok((
        StatusCode::CREATED,
        Json(job_json(&job, location(&app, &job))),
    ))
}

/// `GET /jobs/{id}/export`: an export job's file.
pub(crate) async fn export_file<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, MgmtError> {
    let job = job_or_404(&app, &id).await?;
    let Some(output) = job.output.filter(|_| job.kind == JobKind::UsersExport) else {
        return Err(MgmtError::not_found(
            "inexistent_export",
            "The job is not an export.",
        ));
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], output))
}
