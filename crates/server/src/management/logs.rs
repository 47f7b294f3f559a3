//! `/logs`, `/logs/{id}` and `/users/{id}/logs`: the tenant's log events, newest first by page,
//! or oldest first after a checkpoint (`from` + `take`), as Auth0's.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value;
use sigil_core::ids::{LogId, UserId};
use sigil_core::management::{
    ManagementError, checkpoint_take, log_json, parse_log_search, project,
};
use sigil_core::model::LogQuery;
use sigil_core::{Page, Store};

use super::body::Params;
use super::error::MgmtError;
use super::paging::{Paging, listed};
use crate::App;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogListQuery {
    page: Option<u32>,
    per_page: Option<u32>,
    #[serde(default)]
    include_totals: bool,
    q: Option<String>,
    /// What Auth0's newer SDKs (auth0-python 5 and later) send instead of `q`.
    search: Option<String>,
    from: Option<String>,
    take: Option<u32>,
    sort: Option<String>,
    fields: Option<String>,
    include_fields: Option<bool>,
}

/// Newest first is the only order kept (`date:-1`, Auth0's default).
fn check_sort(sort: Option<&str>) -> Result<(), MgmtError> {
    match sort {
        None | Some("date:-1") => Ok(()),
        Some(other) => Err(MgmtError::bad_query(format!(
            "Query validation error: sort {other} is not supported; logs are listed newest first (date:-1)."
        ))),
    }
}

pub(crate) async fn list<S: Store>(
    State(app): State<App<S>>,
    Params(query): Params<LogListQuery>,
) -> Result<Json<Value>, MgmtError> {
    if query.q.is_some() && query.search.is_some() {
        return Err(MgmtError::bad_query(
            "Query validation error: give the search as q or as search, not both.",
        ));
    }
    let search = query.q.as_deref().or(query.search.as_deref());
    let filter = parse_log_search(search.unwrap_or(""))?;
    let shape = |logs: Vec<sigil_core::model::LogEvent>| -> Vec<Value> {
        logs.iter()
            .map(|l| project(log_json(l), query.fields.as_deref(), query.include_fields))
            .collect()
    };
    if query.from.is_some() || query.take.is_some() {
        // Checkpoint paging: events after `from` (or from the oldest), oldest first.
        if query.page.is_some() || query.per_page.is_some() || query.include_totals {
            return Err(MgmtError::bad_query(
                "Query validation error: from/take cannot be combined with page, per_page or include_totals.",
            ));
        }
        let take = u32::try_from(checkpoint_take(query.take)?).unwrap_or(100);
        let from = query.from.map(LogId);
        let logs = app.store().logs_from(&filter, from.as_ref(), take).await?;
        return Ok(Json(Value::Array(shape(logs))));
    }
    check_sort(query.sort.as_deref())?;
    let paging = Paging {
        page: query.page,
        per_page: query.per_page,
        include_totals: query.include_totals,
    };
    let logs = app.store().list_logs(&filter, paging.page()?).await?;
    let total = if paging.include_totals {
        Some(app.store().count_logs(&filter).await?)
    } else {
        None
    };
    Ok(Json(listed(&paging, "logs", shape(logs), total)))
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let log =
        app.store().log(&LogId(id)).await?.ok_or_else(|| {
            MgmtError::not_found("inexistent_log", "The log event does not exist.")
        })?;
    Ok(Json(log_json(&log)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserLogQuery {
    page: Option<u32>,
    per_page: Option<u32>,
    #[serde(default)]
    include_totals: bool,
    sort: Option<String>,
}

pub(crate) async fn of_user<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Params(query): Params<UserLogQuery>,
) -> Result<Json<Value>, MgmtError> {
    check_sort(query.sort.as_deref())?;
    let user = UserId::from(id.as_str());
    if app.store().user(&user).await?.is_none() {
        return Err(ManagementError::UserNotFound.into());
    }
    let paging = Paging {
        page: query.page,
        per_page: query.per_page,
        include_totals: query.include_totals,
    };
    let filter = LogQuery {
        user_id: Some(user),
        ..LogQuery::default()
    };
    let page: Page = paging.page()?;
    let logs = app.store().list_logs(&filter, page).await?;
    let total = if paging.include_totals {
        Some(app.store().count_logs(&filter).await?)
    } else {
        None
    };
    Ok(Json(listed(
        &paging,
        "logs",
        logs.iter().map(log_json).collect(),
        total,
    )))
}
