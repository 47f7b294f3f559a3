//! `/client-grants`: which clients may get tokens for which API with the client credentials
//! grant, and with which of its scopes, in Auth0's shapes. The client and the API must exist,
//! every scope must be one the API defines, and a client has one grant per API (the store's
//! unique index decides). The token endpoint sees a change within `CACHE_TTL`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_core::ids::{ClientGrantId, ClientId};
use sigil_core::model::{ClientGrant, ResourceServer};
use sigil_core::oauth::canonical_audience;
use sigil_core::{Page, Store, StoreError};

use super::body::{Body, Params};
use super::caller::Caller;
use super::error::MgmtError;
use super::paging::Paging;
use crate::App;

fn grant_json(grant: &ClientGrant) -> Value {
    json!({
        "id": grant.id,
        "client_id": grant.client_id,
        "audience": grant.audience,
        "scope": grant.scope,
    })
}

fn missing_grant() -> MgmtError {
    MgmtError::not_found(
        "inexistent_client_grant",
        "The client grant does not exist.",
    )
}

async fn grant_or_404<S: Store>(app: &App<S>, id: &str) -> Result<ClientGrant, MgmtError> {
    app.store()
        .client_grant(&ClientGrantId::from(id))
        .await?
        .ok_or_else(missing_grant)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantQuery {
    page: Option<u32>,
    per_page: Option<u32>,
    #[serde(default)]
    include_totals: bool,
    audience: Option<String>,
    client_id: Option<String>,
}

pub(crate) async fn list<S: Store>(
    State(app): State<App<S>>,
    Params(query): Params<GrantQuery>,
) -> Result<Json<Value>, MgmtError> {
    let paging = Paging {
        page: query.page,
        per_page: query.per_page,
        include_totals: query.include_totals,
    };
    paging.page()?;
    let client = query.client_id.map(ClientId::from);
    let audience = query.audience.map(|a| canonical_audience(app.issuer(), &a));
    // Read whole (one page of the store at a time), then paged, so totals are exact.
    let mut grants = Vec::new();
    for page in 0.. {
        let batch = app
            .store()
            .list_client_grants(
                client.as_ref(),
                audience.as_deref(),
                Page::new(page, Page::MAX_PER_PAGE),
            )
            .await?;
        let done = batch.len() < Page::MAX_PER_PAGE as usize;
        grants.extend(batch.iter().map(grant_json));
        if done {
            break;
        }
    }
    Ok(Json(paging.slice("client_grants", grants)?))
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(grant_json(&grant_or_404(&app, &id).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewGrant {
    client_id: String,
    audience: String,
    #[serde(default)]
    scope: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantPatch {
    scope: Option<Vec<String>>,
}

/// `scope`, each one a scope `api` defines, duplicates dropped (first kept).
fn checked_scope(api: &ResourceServer, scope: Vec<String>) -> Result<Vec<String>, MgmtError> {
    let mut out: Vec<String> = Vec::with_capacity(scope.len());
    for s in scope {
        if !api.scopes.iter().any(|d| d.value == s) {
            return Err(MgmtError::bad_body(format!(
                "Payload validation error: the resource server {} has no scope {s}.",
                api.identifier
            )));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

async fn api_of<S: Store>(app: &App<S>, audience: &str) -> Result<ResourceServer, MgmtError> {
    app.store()
        .resource_server_by_identifier(audience)
        .await?
        .ok_or_else(|| {
            MgmtError::not_found(
                "inexistent_resource_server",
                format!("The resource server {audience} does not exist."),
            )
        })
}

pub(crate) async fn create<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Body(new): Body<NewGrant>,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    if new.audience.is_empty() {
        return Err(MgmtError::bad_body(
            "Payload validation error: 'audience' must have at least 1 character.",
        ));
    }
    let client_id = ClientId::from(new.client_id.as_str());
    let missing_client = || {
        MgmtError::not_found(
            "inexistent_client",
            format!("The client {client_id} does not exist."),
        )
    };
    if app.store().client(&client_id).await?.is_none() {
        return Err(missing_client());
    }
    let api = api_of(&app, &canonical_audience(app.issuer(), &new.audience)).await?;
    let grant = ClientGrant {
        id: ClientGrantId::generate(app.rng()),
        client_id: client_id.clone(),
        scope: checked_scope(&api, new.scope.unwrap_or_default())?,
        audience: api.identifier,
        created_at: app.now(),
    };
    // The client or the API may go between the checks and the insert.
    match app.store().create_client_grant(&grant).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => {
            return Err(MgmtError::not_found(
                "inexistent_resource",
                "The client or the resource server no longer exists.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    caller.audit(&app, "Create client grant").await;
    Ok((StatusCode::CREATED, Json(grant_json(&grant))))
}

pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(patch): Body<GrantPatch>,
) -> Result<Json<Value>, MgmtError> {
    let mut grant = grant_or_404(&app, &id).await?;
    if let Some(scope) = patch.scope {
        let api = api_of(&app, &grant.audience).await?;
        grant.scope = checked_scope(&api, scope)?;
        match app
            .store()
            .update_client_grant(&grant.id, &grant.scope)
            .await
        {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(missing_grant()),
            Err(e) => return Err(e.into()),
        }
    }
    caller.audit(&app, "Update client grant").await;
    Ok(Json(grant_json(&grant)))
}

pub(crate) async fn delete<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    match app
        .store()
        .delete_client_grant(&ClientGrantId::from(id.as_str()))
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(missing_grant()),
        Err(e) => return Err(e.into()),
    }
    caller.audit(&app, "Delete client grant").await;
    Ok(StatusCode::NO_CONTENT)
}
