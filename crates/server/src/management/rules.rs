//! `/rules` and `/rules-configs`: legacy Rules in Auth0's shapes. The rules live in
//! `sigil_core::management::rules`; a script is built here, on the Actions engine, so that one
//! that is not a function is a 400 at once. A change is seen by this node's next login at once
//! (and by other nodes within the bindings' cache time).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_core::ids::RuleId;
use sigil_core::management::parse_body;
use sigil_core::management::rules::{ConfigBody, RuleBody, check_key, rule_json};
use sigil_core::management::user_json::project;

use super::body::Params;
use super::caller::Caller;
use super::error::MgmtError;
use super::paging::Paging;
use crate::App;

fn missing_rule() -> MgmtError {
    MgmtError::not_found("inexistent_rule", "The rule does not exist.")
}

/// Refuses a script that is not one function that compiles.
async fn check_script<S: Store>(app: &App<S>, script: Option<&str>) -> Result<(), MgmtError> {
    let Some(script) = script else { return Ok(()) };
    let problems = app
        .actions()
        .build_rule(script.to_owned())
        .await
        .map_err(|e| MgmtError::Refused {
            status: 503,
            error_code: "temporarily_unavailable",
            message: format!("The rule cannot be built now ({e}); try again shortly."),
        })?;
    match problems.first() {
        None => Ok(()),
        Some(problem) => Err(MgmtError::bad_body(format!(
            "Payload validation error: 'The script does not build ({}): {}' on property script.",
            problem.id, problem.message
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    enabled: Option<bool>,
    fields: Option<String>,
    include_fields: Option<bool>,
    page: Option<u32>,
    per_page: Option<u32>,
    #[serde(default)]
    include_totals: bool,
}

/// Every Rule in `order`, paged as Auth0 lists them (an array, or with `include_totals`
/// `{rules, start, limit, length, total}`).
pub(crate) async fn list<S: Store>(
    State(app): State<App<S>>,
    Params(query): Params<ListQuery>,
) -> Result<Json<Value>, MgmtError> {
    let paging = Paging {
        page: query.page,
        per_page: query.per_page,
        include_totals: query.include_totals,
    };
    let matching: Vec<Value> = app
        .store()
        .list_rules()
        .await?
        .iter()
        .filter(|rule| query.enabled.is_none_or(|e| e == rule.enabled))
        .map(|rule| {
            project(
                rule_json(rule),
                query.fields.as_deref(),
                query.include_fields,
            )
        })
        .collect();
    Ok(Json(paging.slice("rules", matching)?))
}

pub(crate) async fn create<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let body = parse_body::<RuleBody>(&body)?;
    check_script(&app, body.script()).await?;
    let next = app
        .store()
        .list_rules()
        .await?
        .iter()
        .map(|r| r.order + 1)
        .max()
        .unwrap_or(1);
    let rule = body.create(app.rng(), app.now(), next)?;
    app.store().create_rule(&rule).await?;
    app.bound_cache().forget();
    caller.audit(&app, "Create a rule").await;
    Ok((StatusCode::CREATED, Json(rule_json(&rule))))
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let rule = app
        .store()
        .rule(&RuleId::from(id.as_str()))
        .await?
        .ok_or_else(missing_rule)?;
    Ok(Json(rule_json(&rule)))
}

pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let body = parse_body::<RuleBody>(&body)?;
    let mut rule = app
        .store()
        .rule(&RuleId::from(id.as_str()))
        .await?
        .ok_or_else(missing_rule)?;
    check_script(&app, body.script()).await?;
    body.apply(&mut rule, app.now())?;
    match app.store().update_rule(&rule).await {
        Err(sigil_core::StoreError::NotFound(_)) => return Err(missing_rule()),
        other => other?,
    }
    app.bound_cache().forget();
    caller.audit(&app, "Update a rule").await;
    Ok(Json(rule_json(&rule)))
}

pub(crate) async fn delete<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    if !app.store().delete_rule(&RuleId::from(id.as_str())).await? {
        return Err(missing_rule());
    }
    app.bound_cache().forget();
    caller.audit(&app, "Delete a rule").await;
    Ok(StatusCode::NO_CONTENT)
}

/// The keys only: the values are write-only.
pub(crate) async fn configs<S: Store>(State(app): State<App<S>>) -> Result<Json<Value>, MgmtError> {
    let keys: Vec<Value> = app
        .store()
        .rules_configs()
        .await?
        .iter()
        .map(|c| json!({"key": c.key}))
        .collect();
    Ok(Json(Value::Array(keys)))
}

pub(crate) async fn put_config<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let config = parse_body::<ConfigBody>(&body)?.config(&key)?;
    app.store().put_rules_config(&config).await?;
    app.bound_cache().forget();
    caller.audit(&app, "Set a rules config").await;
    // Auth0 answers with what was set.
    Ok(Json(
        json!({"key": config.key, "value": config.value.as_str()}),
    ))
}

pub(crate) async fn delete_config<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<StatusCode, MgmtError> {
    check_key(&key)?;
    if !app.store().delete_rules_config(&key).await? {
        return Err(MgmtError::not_found(
            "inexistent_rules_config",
            "The rules config does not exist.",
        ));
    }
    app.bound_cache().forget();
    caller.audit(&app, "Delete a rules config").await;
    Ok(StatusCode::NO_CONTENT)
}
