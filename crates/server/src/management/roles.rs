//! `/roles`: RBAC roles, their permissions and their users, in Auth0's shapes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_core::ids::{RoleId, UserId};
use sigil_core::model::{Permission, Role};
use sigil_core::{Page, Store};

use super::body::{Body, Params};
use super::caller::Caller;
use super::error::MgmtError;
use super::paging::{Paging, listed};
use crate::App;

pub(crate) fn role_json(role: &Role) -> Value {
    json!({"id": role.id, "name": role.name, "description": role.description})
}

fn missing_role() -> MgmtError {
    MgmtError::not_found("inexistent_role", "The role does not exist.")
}

async fn role_or_404<S: Store>(app: &App<S>, id: &str) -> Result<Role, MgmtError> {
    app.store()
        .role(&RoleId::from(id))
        .await?
        .ok_or_else(missing_role)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleQuery {
    page: Option<u32>,
    per_page: Option<u32>,
    #[serde(default)]
    include_totals: bool,
    name_filter: Option<String>,
}

/// Every role (the table is small: read whole, filtered by name, then paged).
async fn all_roles<S: Store>(app: &App<S>) -> Result<Vec<Role>, MgmtError> {
    let mut roles = Vec::new();
    for page in 0.. {
        let batch = app
            .store()
            .list_roles(Page::new(page, Page::MAX_PER_PAGE))
            .await?;
        let done = batch.len() < Page::MAX_PER_PAGE as usize;
        roles.extend(batch);
        if done {
            break;
        }
    }
    Ok(roles)
}

pub(crate) async fn list<S: Store>(
    State(app): State<App<S>>,
    Params(query): Params<RoleQuery>,
) -> Result<Json<Value>, MgmtError> {
    let paging = Paging {
        page: query.page,
        per_page: query.per_page,
        include_totals: query.include_totals,
    };
    let filter = query.name_filter.map(|f| f.to_lowercase());
    let roles: Vec<Value> = all_roles(&app)
        .await?
        .iter()
        .filter(|r| {
            filter
                .as_ref()
                .is_none_or(|f| r.name.to_lowercase().contains(f))
        })
        .map(role_json)
        .collect();
    Ok(Json(paging.slice("roles", roles)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRole {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RolePatch {
    name: Option<String>,
    description: Option<String>,
}

fn checked_name(name: &str) -> Result<String, MgmtError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(MgmtError::bad_body(
            "Payload validation error: 'name' must have 1 to 50 characters.",
        ));
    }
    Ok(name.to_owned())
}

fn checked_description(description: Option<String>) -> Result<String, MgmtError> {
    let description = description.unwrap_or_default();
    if description.chars().count() > 140 {
        return Err(MgmtError::bad_body(
            "Payload validation error: 'description' must have at most 140 characters.",
        ));
    }
    Ok(description)
}

pub(crate) async fn create<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Body(new): Body<NewRole>,
) -> Result<Json<Value>, MgmtError> {
    let role = Role {
        id: RoleId::generate(app.rng()),
        name: checked_name(&new.name)?,
        description: checked_description(new.description)?,
        created_at: app.now(),
    };
    app.store().create_role(&role).await?;
    caller.audit(&app, "Create a role").await;
    Ok(Json(role_json(&role)))
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(role_json(&role_or_404(&app, &id).await?)))
}

pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(patch): Body<RolePatch>,
) -> Result<Json<Value>, MgmtError> {
    let mut role = role_or_404(&app, &id).await?;
    if let Some(name) = patch.name {
        role.name = checked_name(&name)?;
    }
    if patch.description.is_some() {
        role.description = checked_description(patch.description)?;
    }
    app.store().update_role(&role).await?;
    caller.audit(&app, "Update a role").await;
    Ok(Json(role_json(&role)))
}

pub(crate) async fn delete<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    match app.store().delete_role(&RoleId::from(id.as_str())).await {
        Ok(()) => {}
        Err(sigil_core::StoreError::NotFound(_)) => return Err(missing_role()),
        Err(e) => return Err(e.into()),
    }
    caller.audit(&app, "Delete a role").await;
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PermissionRef {
    resource_server_identifier: String,
    permission_name: String,
}

impl PermissionRef {
    pub(crate) fn into_permission(self) -> Permission {
        Permission {
            resource_server_identifier: self.resource_server_identifier,
            permission_name: self.permission_name,
        }
    }
}

/// `{"permissions": [...]}`, the body that adds or removes permissions (of a role or a user).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Permissions {
    pub(crate) permissions: Vec<PermissionRef>,
}

impl Permissions {
    /// The permissions named, as they are (removal needs no check that they exist).
    pub(crate) fn named(self) -> Vec<Permission> {
        self.permissions
            .into_iter()
            .map(PermissionRef::into_permission)
            .collect()
    }
}

/// The permissions named, each an existing scope of an existing API.
pub(crate) async fn checked_permissions<S: Store>(
    app: &App<S>,
    refs: Vec<PermissionRef>,
) -> Result<Vec<Permission>, MgmtError> {
    if refs.is_empty() {
        return Err(MgmtError::bad_body(
            "Payload validation error: 'permissions' must have at least 1 item.",
        ));
    }
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let api = app
            .store()
            .resource_server_by_identifier(&r.resource_server_identifier)
            .await?
            .ok_or_else(|| {
                MgmtError::not_found(
                    "inexistent_resource_server",
                    format!(
                        "The resource server {} does not exist.",
                        r.resource_server_identifier
                    ),
                )
            })?;
        if !api.scopes.iter().any(|s| s.value == r.permission_name) {
            return Err(MgmtError::bad_body(format!(
                "Payload validation error: the resource server {} has no scope {}.",
                r.resource_server_identifier, r.permission_name
            )));
        }
        out.push(r.into_permission());
    }
    Ok(out)
}

/// Permissions as Auth0 lists them: with their API's name and the scope's description.
pub(crate) async fn described<S: Store>(
    app: &App<S>,
    permissions: Vec<Permission>,
) -> Result<Vec<Value>, MgmtError> {
    let mut out = Vec::with_capacity(permissions.len());
    for p in permissions {
        let api = app
            .store()
            .resource_server_by_identifier(&p.resource_server_identifier)
            .await?;
        let description = api
            .as_ref()
            .and_then(|a| a.scopes.iter().find(|s| s.value == p.permission_name))
            .map(|s| s.description.clone())
            .unwrap_or_default();
        out.push(json!({
            "permission_name": p.permission_name,
            "description": description,
            "resource_server_name": api.map(|a| a.name).unwrap_or_default(),
            "resource_server_identifier": p.resource_server_identifier,
        }));
    }
    Ok(out)
}

pub(crate) async fn permissions<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Params(paging): Params<Paging>,
) -> Result<Json<Value>, MgmtError> {
    let role = role_or_404(&app, &id).await?;
    let permissions = app.store().role_permissions(&role.id).await?;
    let listed_permissions = described(&app, permissions).await?;
    Ok(Json(paging.slice("permissions", listed_permissions)?))
}

pub(crate) async fn add_permissions<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<Permissions>,
) -> Result<StatusCode, MgmtError> {
    let role = role_or_404(&app, &id).await?;
    let permissions = checked_permissions(&app, body.permissions).await?;
    app.store()
        .add_role_permissions(&role.id, &permissions)
        .await?;
    caller
        .audit(&app, "Associate permissions with a role")
        .await;
    Ok(StatusCode::CREATED)
}

pub(crate) async fn remove_permissions<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<Permissions>,
) -> Result<StatusCode, MgmtError> {
    let role = role_or_404(&app, &id).await?;
    let permissions = body.named();
    app.store()
        .remove_role_permissions(&role.id, &permissions)
        .await?;
    caller.audit(&app, "Remove permissions from a role").await;
    Ok(StatusCode::OK)
}

pub(crate) async fn users<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Params(paging): Params<Paging>,
) -> Result<Json<Value>, MgmtError> {
    let role = role_or_404(&app, &id).await?;
    let page = paging.page()?;
    let ids = app.store().role_users(&role.id, page).await?;
    let mut users = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(user) = app.store().user(&id).await? {
            users.push(json!({
                "user_id": user.user_id,
                "email": user.email,
                "picture": user.picture,
                "name": user.name,
            }));
        }
    }
    Ok(Json(listed(&paging, "users", users, None)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Users {
    users: Vec<String>,
}

pub(crate) async fn add_users<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<Users>,
) -> Result<StatusCode, MgmtError> {
    let role = role_or_404(&app, &id).await?;
    if body.users.is_empty() {
        return Err(MgmtError::bad_body(
            "Payload validation error: 'users' must have at least 1 item.",
        ));
    }
    for user in &body.users {
        let user = UserId::from(user.as_str());
        if app.store().user(&user).await?.is_none() {
            return Err(MgmtError::not_found(
                "inexistent_user",
                format!("The user {user} does not exist."),
            ));
        }
        app.store()
            .assign_user_roles(&user, std::slice::from_ref(&role.id))
            .await?;
    }
    caller.audit(&app, "Assign users to a role").await;
    Ok(StatusCode::OK)
}
