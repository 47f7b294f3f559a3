//! `/actions/*`: Actions, their versions, the triggers and their bindings, in Auth0's shapes.
//! The rules live in `sigil_core::management::actions`; the code is built here, on the
//! Actions engine's own threads, so that `status` is `built` (or `failed`) as soon as the
//! answer comes back.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_actions::{RunError, Trigger};
use sigil_core::ids::{ActionId, ActionVersionId, BindingId};
use sigil_core::management::actions::{
    self as rules, ActionPatch, BindingsPatch, NewAction, action_json, binding_json, version_json,
};
use sigil_core::model::{Action, ActionCode, ActionVersion, Binding};
use sigil_core::{Store, StoreError};

use super::body::{Body, Params};
use super::caller::Caller;
use super::error::MgmtError;
use crate::App;

fn missing_action() -> MgmtError {
    MgmtError::not_found("inexistent_action", "The action does not exist.")
}

fn missing_version() -> MgmtError {
    MgmtError::not_found("inexistent_action_version", "The version does not exist.")
}

fn missing_trigger() -> MgmtError {
    MgmtError::not_found("inexistent_trigger", "The trigger does not exist.")
}

async fn action_or_404<S: Store>(app: &App<S>, id: &str) -> Result<Action, MgmtError> {
    app.store()
        .action(&ActionId::from(id))
        .await?
        .ok_or_else(missing_action)
}

/// The Action's deployed version, if it has one.
async fn deployed<S: Store>(
    app: &App<S>,
    action: &Action,
) -> Result<Option<ActionVersion>, MgmtError> {
    if action.deployed_at.is_none() {
        return Ok(None);
    }
    Ok(app
        .store()
        .action_versions(&action.id)
        .await?
        .into_iter()
        .find(|v| v.deployed))
}

/// `code` built by the engine: its status and errors set.
async fn built<S: Store>(app: &App<S>, code: ActionCode) -> Result<ActionCode, MgmtError> {
    rules::built(app, code)
        .await
        .map_err(|why| MgmtError::Refused {
            status: 503,
            error_code: "temporarily_unavailable",
            message: format!("The action cannot be built now ({why}); try again shortly."),
        })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    #[serde(rename = "triggerId")]
    trigger_id: Option<String>,
    #[serde(rename = "actionName")]
    action_name: Option<String>,
    deployed: Option<bool>,
    installed: Option<bool>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `{name: [...], total, page, per_page}`, the paging of the Actions API (it has no
/// `include_totals`).
fn paged(
    name: &str,
    all: Vec<Value>,
    page: Option<u32>,
    per_page: Option<u32>,
) -> Result<Value, MgmtError> {
    let (page, per_page) = (page.unwrap_or(0), per_page.unwrap_or(50));
    if !(1..=100).contains(&per_page) {
        return Err(MgmtError::bad_query(
            "Query validation error: 'per_page' must be between 1 and 100.",
        ));
    }
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip((page as usize).saturating_mul(per_page as usize))
        .take(per_page as usize)
        .collect();
    Ok(json!({ name: items, "total": total, "page": page, "per_page": per_page }))
}

pub(crate) async fn list<S: Store>(
    State(app): State<App<S>>,
    Params(query): Params<ListQuery>,
) -> Result<Json<Value>, MgmtError> {
    let mut listed = Vec::new();
    for action in app.store().list_actions().await? {
        if let Some(trigger) = &query.trigger_id
            && !action
                .draft
                .supported_triggers
                .iter()
                .any(|t| &t.id == trigger)
        {
            continue;
        }
        if query
            .action_name
            .as_ref()
            .is_some_and(|n| n != &action.name)
        {
            continue;
        }
        let version = deployed(&app, &action).await?;
        if query.deployed.is_some_and(|d| d != version.is_some()) {
            continue;
        }
        // Marketplace integrations are never installed here.
        if query.installed == Some(true) {
            continue;
        }
        listed.push(action_json(&action, version.as_ref()));
    }
    Ok(Json(paged("actions", listed, query.page, query.per_page)?))
}

pub(crate) async fn create<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Body(new): Body<NewAction>,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let deploy = new.deploy;
    let mut action = rules::created(new, ActionId::generate(app.rng()), app.now())?;
    action.draft = built(&app, action.draft).await?;
    if deploy {
        rules::deployable(&action.draft)?;
    }
    app.store().create_action(&action).await?;
    caller.audit(&app, "Create an action").await;
    let version = if deploy {
        let version = deploy_code(&app, &action, action.draft.clone()).await?;
        caller.audit(&app, "Deploy an action").await;
        action.deployed_at = Some(version.created_at);
        Some(version)
    } else {
        None
    };
    Ok((
        StatusCode::CREATED,
        Json(action_json(&action, version.as_ref())),
    ))
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let action = action_or_404(&app, &id).await?;
    let version = deployed(&app, &action).await?;
    Ok(Json(action_json(&action, version.as_ref())))
}

pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(patch): Body<ActionPatch>,
) -> Result<Json<Value>, MgmtError> {
    let action = action_or_404(&app, &id).await?;
    let mut action = rules::patched(action, patch, app.now())?;
    action.draft = built(&app, action.draft).await?;
    match app.store().update_action(&action).await {
        Err(StoreError::NotFound(_)) => return Err(missing_action()),
        other => other?,
    }
    caller.audit(&app, "Update an action").await;
    let version = deployed(&app, &action).await?;
    Ok(Json(action_json(&action, version.as_ref())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteQuery {
    #[serde(default)]
    force: bool,
}

pub(crate) async fn delete<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Params(query): Params<DeleteQuery>,
) -> Result<StatusCode, MgmtError> {
    match app
        .store()
        .delete_action(&ActionId::from(id.as_str()), query.force)
        .await
    {
        Err(StoreError::NotFound(_)) => return Err(missing_action()),
        other => other?,
    }
    app.bound_cache().forget();
    caller.audit(&app, "Delete an action").await;
    Ok(StatusCode::NO_CONTENT)
}

async fn deploy_code<S: Store>(
    app: &App<S>,
    action: &Action,
    code: ActionCode,
) -> Result<ActionVersion, MgmtError> {
    let id = ActionVersionId::generate(app.rng());
    match app
        .store()
        .deploy_action(&action.id, &id, &code, app.now())
        .await
    {
        Err(StoreError::NotFound(_)) => Err(missing_action()),
        other => Ok(other?),
    }
}

pub(crate) async fn deploy<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let mut action = action_or_404(&app, &id).await?;
    rules::deployable(&action.draft)?;
    let version = deploy_code(&app, &action, action.draft.clone()).await?;
    caller.audit(&app, "Deploy an action").await;
    action.deployed_at = Some(version.created_at);
    Ok((
        StatusCode::ACCEPTED,
        Json(version_json(&version, Some(&action))),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    page: Option<u32>,
    per_page: Option<u32>,
}

pub(crate) async fn versions<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Params(query): Params<PageQuery>,
) -> Result<Json<Value>, MgmtError> {
    let action = action_or_404(&app, &id).await?;
    let versions: Vec<Value> = app
        .store()
        .action_versions(&action.id)
        .await?
        .iter()
        .map(|v| version_json(v, Some(&action)))
        .collect();
    Ok(Json(paged(
        "versions",
        versions,
        query.page,
        query.per_page,
    )?))
}

async fn version_or_404<S: Store>(
    app: &App<S>,
    action: &Action,
    id: &str,
) -> Result<ActionVersion, MgmtError> {
    app.store()
        .action_versions(&action.id)
        .await?
        .into_iter()
        .find(|v| v.id.as_str() == id)
        .ok_or_else(missing_version)
}

pub(crate) async fn version<S: Store>(
    State(app): State<App<S>>,
    Path((action_id, id)): Path<(String, String)>,
) -> Result<Json<Value>, MgmtError> {
    let action = action_or_404(&app, &action_id).await?;
    let version = version_or_404(&app, &action, &id).await?;
    Ok(Json(version_json(&version, Some(&action))))
}

/// Deploys an earlier version again, as the Action's next one (a rollback).
pub(crate) async fn deploy_version<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path((action_id, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let mut action = action_or_404(&app, &action_id).await?;
    let old = version_or_404(&app, &action, &id).await?;
    let version = deploy_code(&app, &action, old.code).await?;
    caller.audit(&app, "Deploy an action version").await;
    action.deployed_at = Some(version.created_at);
    Ok((
        StatusCode::ACCEPTED,
        Json(version_json(&version, Some(&action))),
    ))
}

pub(crate) async fn triggers<S: Store>(State(_app): State<App<S>>) -> Json<Value> {
    Json(rules::triggers_json())
}

/// The trigger's bindings as the API answers them.
async fn bindings_json<S: Store>(
    app: &App<S>,
    bindings: &[Binding],
) -> Result<Vec<Value>, MgmtError> {
    let mut answered = Vec::with_capacity(bindings.len());
    for binding in bindings {
        let Some(action) = app.store().action(&binding.action_id).await? else {
            continue;
        };
        let version = deployed(app, &action).await?;
        answered.push(binding_json(binding, &action, version.as_ref()));
    }
    Ok(answered)
}

pub(crate) async fn bindings<S: Store>(
    State(app): State<App<S>>,
    Path(trigger): Path<String>,
    Params(query): Params<PageQuery>,
) -> Result<Json<Value>, MgmtError> {
    if !rules::known_trigger(&trigger) {
        return Err(missing_trigger());
    }
    let bindings = app.store().bindings(&trigger).await?;
    let answered = bindings_json(&app, &bindings).await?;
    Ok(Json(paged(
        "bindings",
        answered,
        query.page,
        query.per_page,
    )?))
}

pub(crate) async fn update_bindings<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(trigger): Path<String>,
    Body(patch): Body<BindingsPatch>,
) -> Result<Json<Value>, MgmtError> {
    if !rules::known_trigger(&trigger) {
        return Err(missing_trigger());
    }
    let actions = app.store().list_actions().await?;
    let now = app.now();
    let mut bindings = Vec::with_capacity(patch.bindings.len());
    for input in patch.bindings {
        if input.secrets.as_ref().is_some_and(|s| !s.is_empty()) {
            return Err(MgmtError::bad_body(
                "Payload validation error: a binding's secrets are not supported; give the action its secrets.",
            ));
        }
        let action = rules::resolve(&input.action, &actions)?;
        if !action
            .draft
            .supported_triggers
            .iter()
            .any(|t| t.id == trigger)
        {
            return Err(MgmtError::bad_body(format!(
                "The action {} does not support the trigger {trigger}.",
                action.name
            )));
        }
        if action.deployed_at.is_none() {
            return Err(MgmtError::bad_body(format!(
                "The action {} must be deployed before it is bound.",
                action.name
            )));
        }
        bindings.push(Binding {
            id: BindingId::generate(app.rng()),
            trigger_id: trigger.clone(),
            action_id: action.id.clone(),
            display_name: input.display_name.unwrap_or_else(|| action.name.clone()),
            created_at: now,
        });
    }
    match app.store().replace_bindings(&trigger, &bindings).await {
        Err(StoreError::NotFound(_)) => {
            return Err(MgmtError::bad_body(
                "An action was deleted or undeployed meanwhile; send the bindings again.",
            ));
        }
        other => other?,
    }
    app.bound_cache().forget();
    caller.audit(&app, "Update trigger bindings").await;
    Ok(Json(
        json!({ "bindings": bindings_json(&app, &bindings).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestBody {
    /// `{"event": {...}}` (Auth0's), or the event itself.
    payload: Value,
}

/// Runs the draft of an Action on a given event, on its first trigger, and answers what it did:
/// its commands (nothing is applied), its console output, its error. Nothing changes.
pub(crate) async fn test<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Body(body): Body<TestBody>,
) -> Result<Json<Value>, MgmtError> {
    let action = action_or_404(&app, &id).await?;
    let Some(trigger) = action
        .draft
        .supported_triggers
        .iter()
        .find_map(|t| Trigger::from_id(&t.id))
    else {
        return Err(MgmtError::bad_body(
            "The action supports no trigger Sigil runs.",
        ));
    };
    let event = match body.payload.get("event") {
        Some(event) => event.clone(),
        None => body.payload,
    };
    if !event.is_object() {
        return Err(MgmtError::bad_body(
            "Payload validation error: 'payload.event' must be an object.",
        ));
    }
    let execution = sigil_actions::Execution {
        trigger,
        actions: vec![sigil_actions::Action {
            name: action.name.clone(),
            code: action.draft.code.clone(),
            secrets: action
                .draft
                .secrets
                .iter()
                .map(|s| (s.name.clone(), Value::String(s.value.to_string())))
                .collect(),
            kind: sigil_actions::Kind::Action,
        }],
        event,
        now_ms: app.now().0.saturating_mul(1000),
        resume: false,
        // Under the same egress policy as a flow.
        egress: app.tenant_egress().await?,
    };
    let started = tokio::time::Instant::now();
    let outcome = match app.actions().run(execution).await {
        Ok(outcome) => outcome,
        Err(RunError::Busy) => {
            return Err(MgmtError::Refused {
                status: 503,
                error_code: "temporarily_unavailable",
                message: "The Actions engine is busy; try again shortly.".to_owned(),
            });
        }
        Err(e) => return Err(MgmtError::Internal(format!("testing an action: {e}"))),
    };
    let took = started.elapsed().as_secs_f64() * 1000.0;
    let run = outcome.runs.first();
    let commands: Vec<Value> = outcome
        .commands()
        .map(|c| json!({"op": c.op, "args": c.args}))
        .collect();
    let mut payload = json!({
        "commands": commands,
        "logs": run.map_or("", |r| r.logs.as_str()),
        "stats": {"total_request_duration_ms": took, "action_duration_ms": took},
    });
    if let Some(error) = run.and_then(|r| r.error.as_ref()) {
        let text = error.to_string();
        let (name, message) = text
            .split_once(": ")
            .filter(|(name, _)| name.ends_with("Error"))
            .map_or(("Error", text.as_str()), |(n, m)| (n, m));
        payload["error"] = json!({"name": name, "message": message});
    }
    Ok(Json(json!({ "payload": payload })))
}

/// What one execution of a trigger's Actions did, as Auth0 shows it.
pub(crate) async fn execution<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let execution = app.store().action_execution(&id).await?.ok_or_else(|| {
        MgmtError::not_found("inexistent_execution", "That execution does not exist.")
    })?;
    let time = sigil_core::clock::auth0_time_ms;
    let results: Vec<Value> = execution
        .results
        .iter()
        .map(|r| {
            json!({
                "action_name": r.action_name,
                "error": r.error,
                "started_at": time(r.started_ms),
                "ended_at": time(r.ended_ms),
            })
        })
        .collect();
    Ok(Json(json!({
        "id": execution.id,
        "trigger_id": execution.trigger_id,
        "status": execution.status,
        "results": results,
        "created_at": time(execution.created_ms),
        "updated_at": time(execution.updated_ms),
    })))
}
