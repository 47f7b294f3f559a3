//! `/connections`: database connections listed, read, made, changed and deleted, and the
//! clients each is enabled for (`/connections/{id}/clients`, `/clients/{id}/connections`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_core::federation::Discovery;
use sigil_core::ids::{ClientId, ConnectionId};
use sigil_core::management::{
    ConnectionCreate, ConnectionPatch, ManagementError, check_one_per_tenant, checkpoint_page,
    client_page, client_status_changes, connection_json, parse_body,
};
use sigil_core::model::Connection;
use sigil_core::{Store, StoreError};

use super::body::{Params, repeated_and_rest};
use super::caller::Caller;
use super::error::MgmtError;
use super::paging::Paging;
use crate::App;
use crate::connection_setup::SetupError;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointQuery {
    take: Option<u32>,
    from: Option<String>,
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

/// A connection as Auth0 shows it, with the clients it is enabled for.
async fn shown<S: Store>(app: &App<S>, connection: &Connection) -> Result<Value, MgmtError> {
    let clients = app.store().connection_clients(&connection.id).await?;
    Ok(connection_json(connection, &clients))
}

/// Completes a federated connection before it is written (`connection_setup::complete`):
/// its discovery document read, its profile script built.
async fn complete<S: Store>(
    app: &App<S>,
    connection: &mut Connection,
    discovery: Option<&Discovery>,
) -> Result<(), MgmtError> {
    let policy = app.upstreams().policy();
    crate::connection_setup::complete(
        connection,
        discovery,
        app.upstreams(),
        app.actions(),
        &policy,
    )
    .await
    .map_err(|e| match e {
        SetupError::Refused(refusal) => refusal.into(),
        SetupError::Busy(_) => MgmtError::Refused {
            status: 503,
            error_code: "temporarily_unavailable",
            message: e.to_string(),
        },
    })
}

/// A client named in a change that does not exist is the caller's mistake.
fn unknown_client(e: StoreError) -> MgmtError {
    match e {
        StoreError::NotFound("client") => {
            ManagementError::body("enabled_clients", "must name existing clients").into()
        }
        StoreError::NotFound(_) => missing(),
        e => e.into(),
    }
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
    let mut connections = Vec::new();
    for connection in app.store().list_connections().await?.iter().filter(|c| {
        query
            .strategy
            .as_deref()
            .is_none_or(|s| c.strategy.as_str() == s)
            && query.name.as_deref().is_none_or(|n| c.name == n)
    }) {
        connections.push(shown(&app, connection).await?);
    }
    Ok(Json(paging.slice("connections", connections)?))
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let connection = connection_or_404(&app, &id).await?;
    Ok(Json(shown(&app, &connection).await?))
}

pub(crate) async fn create<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let policy = app.upstreams().policy();
    let mut new = parse_body::<ConnectionCreate>(&body)?.into_connection(
        ConnectionId::generate(app.rng()),
        app.now(),
        &policy,
    )?;
    check_one_per_tenant(
        new.connection.strategy,
        &app.store().list_connections().await?,
    )?;
    complete(&app, &mut new.connection, new.discovery.as_ref()).await?;
    app.store()
        .create_connection(&new.connection, &new.enabled_clients)
        .await
        .map_err(unknown_client)?;
    caller.audit(&app, "Create a connection").await;
    Ok((
        StatusCode::CREATED,
        Json(shown(&app, &new.connection).await?),
    ))
}

pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let patch = parse_body::<ConnectionPatch>(&body)?;
    let mut connection = connection_or_404(&app, &id).await?;
    let enabled = app.store().connection_clients(&connection.id).await?;
    let policy = app.upstreams().policy();
    let (changes, discovery) = patch.apply(&mut connection, &enabled, app.now(), &policy)?;
    complete(&app, &mut connection, discovery.as_ref()).await?;
    app.store()
        .update_connection(&connection, &changes)
        .await
        .map_err(unknown_client)?;
    caller.audit(&app, "Update a connection").await;
    Ok(Json(shown(&app, &connection).await?))
}

/// Auth0 answers 202: its deletion of the users may go on after the answer. Here it is done
/// when the answer comes.
pub(crate) async fn delete<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    match app.store().delete_connection(&ConnectionId::from(id)).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(missing()),
        Err(e) => return Err(e.into()),
    }
    caller.audit(&app, "Delete a connection").await;
    Ok(StatusCode::ACCEPTED)
}

pub(crate) async fn clients<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Params(query): Params<CheckpointQuery>,
) -> Result<Json<Value>, MgmtError> {
    let connection = connection_or_404(&app, &id).await?;
    let enabled = app.store().connection_clients(&connection.id).await?;
    Ok(Json(client_page(
        &enabled,
        query.take,
        query.from.as_deref(),
    )?))
}

pub(crate) async fn update_clients<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, MgmtError> {
    let changes = client_status_changes(&body)?;
    app.store()
        .update_connection_clients(&ConnectionId::from(id), &changes)
        .await
        .map_err(unknown_client)?;
    caller.audit(&app, "Update a connection's clients").await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /clients/{id}/connections`: the connections enabled for the client, by checkpoint,
/// filtered by `strategy` (a key that may repeat) when given.
pub(crate) async fn of_client<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, MgmtError> {
    let (strategies, query) = repeated_and_rest::<CheckpointQuery>(raw.as_deref(), "strategy")?;
    let client = ClientId(id);
    if app.store().client(&client).await?.is_none() {
        return Err(MgmtError::not_found(
            "inexistent_client",
            "The client does not exist.",
        ));
    }
    let mut connections = app.store().client_connections(&client).await?;
    if !strategies.is_empty() {
        connections.retain(|c| strategies.iter().any(|s| s == c.strategy.as_str()));
    }
    let (page, next) = checkpoint_page(&connections, query.take, query.from.as_deref(), |c| {
        c.id.as_str()
    })?;
    let mut shown_page = Vec::with_capacity(page.len());
    for connection in page {
        shown_page.push(shown(&app, connection).await?);
    }
    let mut json = json!({ "connections": shown_page });
    if let Some(next) = next {
        json["next"] = json!(next);
    }
    Ok(Json(json))
}
