//! `/connections`: database connections, listed, read, made and given new options.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use sigil_core::Store;
use sigil_core::ids::ConnectionId;
use sigil_core::management::{ConnectionCreate, ConnectionPatch, connection_json, parse_body};
use sigil_core::model::Connection;

use super::body::Params;
use super::caller::Caller;
use super::error::MgmtError;
use super::paging::Paging;
use crate::App;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectionQuery {
    page: Option<u32>,
    per_page: Option<u32>,
    #[serde(default)]
    include_totals: bool,
    strategy: Option<String>,
    name: Option<String>,
}

fn missing() -> MgmtError {
    MgmtError::not_found("inexistent_connection", "The connection does not exist.")
}

async fn connection_or_404<S: Store>(app: &App<S>, id: &str) -> Result<Connection, MgmtError> {
    app.store()
        .connection(&ConnectionId::from(id))
        .await?
        .ok_or_else(missing)
}

pub(crate) async fn list<S: Store>(
    State(app): State<App<S>>,
    Params(query): Params<ConnectionQuery>,
) -> Result<Json<Value>, MgmtError> {
    let paging = Paging {
        page: query.page,
        per_page: query.per_page,
        include_totals: query.include_totals,
    };
    let connections: Vec<Value> = app
        .store()
        .list_connections()
        .await?
        .iter()
        .filter(|c| {
            query
                .strategy
                .as_deref()
                .is_none_or(|s| c.strategy.as_str() == s)
                && query.name.as_deref().is_none_or(|n| c.name == n)
        })
        .map(connection_json)
        .collect();
    Ok(Json(paging.slice("connections", connections)?))
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(connection_json(&connection_or_404(&app, &id).await?)))
}

pub(crate) async fn create<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let connection = parse_body::<ConnectionCreate>(&body)?
        .into_connection(ConnectionId::generate(app.rng()), app.now())?;
    app.store().create_connection(&connection).await?;
    caller.audit(&app, "Create a connection").await;
    Ok((StatusCode::CREATED, Json(connection_json(&connection))))
}

pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let patch = parse_body::<ConnectionPatch>(&body)?;
    let mut connection = connection_or_404(&app, &id).await?;
    patch.apply(&mut connection, app.now())?;
    app.store().update_connection(&connection).await?;
    caller.audit(&app, "Update a connection").await;
    Ok(Json(connection_json(&connection)))
}
