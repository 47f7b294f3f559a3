//! `/users`, `/users-by-email`, and a user's roles and permissions, in Auth0's shapes. What a
//! body may say and how a patch merges are decided in `sigil_core::management`; passwords are
//! hashed on the blocking pool. A verification mail goes to the outbox when `verify_email`
//! asks for one (`sigil_core::tickets`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_core::attack_protection::breached::{self, Checkpoint, Used};
use sigil_core::ids::{RoleId, UserId};
use sigil_core::management::attack_protection::with_blocked_for;
use sigil_core::management::{
    CreateUser, ManagementError, UserPatch, apply, parse_body, parse_user_search, parse_user_sort,
    project, user_json, user_json_showing,
};
use sigil_core::model::{PasswordRefusal, User};
use sigil_core::password::Passwords;

use crate::client_ip::ClientIp;
use sigil_core::{Store, StoreError, tickets};

use super::body::{Body, Params};
use super::caller::Caller;
use super::error::MgmtError;
use super::paging::{Paging, listed};
use super::roles::{Permissions, checked_permissions, described, role_json};
use crate::App;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserListQuery {
    page: Option<u32>,
    per_page: Option<u32>,
    #[serde(default)]
    include_totals: bool,
    q: Option<String>,
    sort: Option<String>,
    search_engine: Option<String>,
    fields: Option<String>,
    include_fields: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Projection {
    fields: Option<String>,
    include_fields: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ByEmail {
    email: String,
    fields: Option<String>,
    include_fields: Option<bool>,
}

/// A stored conflict as the user endpoints name it (409), anything else as usual.
fn user_store_error(e: StoreError) -> MgmtError {
    match e {
        StoreError::Conflict(c) => match ManagementError::from_conflict(c) {
            Some(refusal) => refusal.into(),
            None => StoreError::Conflict(c).into(),
        },
        StoreError::NotFound(_) => ManagementError::UserNotFound.into(),
        other => other.into(),
    }
}

/// The user `id`, or 404 `inexistent_user` (a linked account is no user of its own).
pub(crate) async fn user_or_404<S: Store>(app: &App<S>, id: &str) -> Result<User, MgmtError> {
    app.store()
        .user(&UserId::from(id))
        .await?
        .ok_or_else(|| ManagementError::UserNotFound.into())
}

/// Whether the caller may see the identities' upstream tokens: a machine's token with
/// `read:user_idp_tokens`, never a user's own.
fn shows_idp_tokens(caller: &Caller) -> bool {
    caller.user().is_none() && caller.has("read:user_idp_tokens")
}

pub(crate) async fn list<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Params(query): Params<UserListQuery>,
) -> Result<Json<Value>, MgmtError> {
    if let Some(engine) = query.search_engine.as_deref()
        && engine != "v3"
    {
        return Err(MgmtError::bad_query(format!(
            "Query validation error: search_engine {engine} is not supported; use v3."
        )));
    }
    let paging = Paging {
        page: query.page,
        per_page: query.per_page,
        include_totals: query.include_totals,
    };
    let page = paging.page()?;
    let mut filter = parse_user_search(query.q.as_deref().unwrap_or(""))?;
    filter.sort = query.sort.as_deref().map(parse_user_sort).transpose()?;
    let users = app.store().list_users(&filter, page).await?;
    let total = if paging.include_totals {
        Some(app.store().count_users(&filter).await?)
    } else {
        None
    };
    let users = users
        .iter()
        .map(|u| {
            project(
                user_json_showing(u, shows_idp_tokens(&caller)),
                query.fields.as_deref(),
                query.include_fields,
            )
        })
        .collect();
    Ok(Json(listed(&paging, "users", users, total)))
}

pub(crate) async fn by_email<S: Store>(
    State(app): State<App<S>>,
    Params(query): Params<ByEmail>,
) -> Result<Json<Value>, MgmtError> {
    let filter = sigil_core::model::UserQuery {
        email: Some(query.email),
        ..Default::default()
    };
    let users = app
        .store()
        .list_users(&filter, sigil_core::Page::first())
        .await?;
    Ok(Json(Value::Array(
        users
            .iter()
            .map(|u| project(user_json(u), query.fields.as_deref(), query.include_fields))
            .collect(),
    )))
}

pub(crate) async fn get<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Params(projection): Params<Projection>,
) -> Result<Json<Value>, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let json = user_json_showing(&user, shows_idp_tokens(&caller));
    let protection = super::tenant::settings(&app).await?.brute_force;
    let json = with_blocked_for(app.store(), &protection, &user, json, app.now()).await?;
    Ok(Json(project(
        json,
        projection.fields.as_deref(),
        projection.include_fields,
    )))
}

pub(crate) async fn create<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), MgmtError> {
    let request = parse_body::<CreateUser>(&body)?;
    let connection = app
        .store()
        .connection_by_name(request.connection_name()?)
        .await?
        .ok_or(ManagementError::UnknownConnection)?;
    let valid = request.validate(&connection)?;
    let used = Used {
        user: None,
        identifier: valid.email(),
        client_id: None,
        ip: None,
    };
    refuse_breached(&app, Checkpoint::Signup, valid.password(), used).await?;
    let hash = app.hasher().hash(valid.password().to_owned()).await?;
    let send_verification = valid.send_verification_email();
    let user = valid.into_user(UserId::generate_database(app.rng()), hash, app.now())?;
    app.store()
        .create_user(&user)
        .await
        .map_err(user_store_error)?;
    if send_verification {
        tickets::send_verification_email(
            app.store(),
            app.rng(),
            app.issuer(),
            app.now(),
            &user,
            None,
        )
        .await?;
    }
    caller.audit(&app, "Create a User").await;
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}

pub(crate) async fn update<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, MgmtError> {
    let patch = parse_body::<UserPatch>(&body)?;
    within_scope(&caller, &body)?;
    let mut user = user_or_404(&app, &id).await?;
    let connection = app
        .store()
        .connection(&user.connection_id)
        .await?
        .ok_or(ManagementError::UnknownConnection)?;
    let valid = patch.validate(&user, &connection)?;
    let hash = match valid.password() {
        Some(password) => {
            let used = Used {
                user: Some(&user),
                identifier: user.email.as_deref().unwrap_or_default(),
                client_id: None,
                ip: None,
            };
            refuse_breached(&app, Checkpoint::PasswordChange, password, used).await?;
            app.hasher().hash(password.to_owned()).await?
        }
        None => None,
    };
    let send_verification = valid.send_verification_email();
    let password_changed = hash.is_some();
    let was_blocked = user.blocked;
    apply(&mut user, valid, hash, app.now())?;
    app.store()
        .update_user(&user)
        .await
        .map_err(user_store_error)?;
    // A block ends the user's sessions and refresh tokens at once, as Auth0's does.
    if user.blocked && !was_blocked {
        sigil_core::accounts::end_access(app.store(), &user.user_id, app.now()).await?;
    }
    if password_changed {
        sigil_core::attack_protection::brute_force::forget_user(app.store(), &user).await?;
        sigil_core::actions::password_changed(
            &app,
            app.store(),
            app.rng(),
            app.now(),
            &user.user_id,
            Some(&ip.to_string()),
        )
        .await;
    }
    if send_verification {
        tickets::send_verification_email(
            app.store(),
            app.rng(),
            app.issuer(),
            app.now(),
            &user,
            None,
        )
        .await?;
    }
    caller.audit(&app, "Update a User").await;
    Ok(Json(user_json(&user)))
}

/// Refuses a new password that breached-password detection blocks at `checkpoint`
/// (`sigil_core::attack_protection::breached`, whose rule this only calls).
async fn refuse_breached<S: Store>(
    app: &App<S>,
    checkpoint: Checkpoint,
    password: &str,
    used: Used<'_>,
) -> Result<(), MgmtError> {
    let detection = super::tenant::settings(app).await?.breached_passwords;
    let refused = breached::refuses(
        app.store(),
        app.hasher(),
        None,
        &detection,
        checkpoint,
        password,
        used,
        app.now(),
    )
    .await?;
    if refused {
        return Err(ManagementError::password(PasswordRefusal::Breached).into());
    }
    Ok(())
}

/// What a patch may change without `update:users`: the metadata the token's other scopes name
/// (`update:users_app_metadata` both metadata objects, a user's own `update:current_user_metadata`
/// only `user_metadata`). Anything else, a password or an email above all, needs `update:users`.
fn within_scope(caller: &Caller, body: &[u8]) -> Result<(), MgmtError> {
    if caller.has("update:users") {
        return Ok(());
    }
    let allowed: &[&str] = if caller.has("update:users_app_metadata") {
        &["app_metadata", "user_metadata"]
    } else {
        &["user_metadata"]
    };
    // The body parsed as a patch just before, so it is an object.
    let fields: serde_json::Map<String, Value> = serde_json::from_slice(body).unwrap_or_default();
    match fields.keys().find(|key| !allowed.contains(&key.as_str())) {
        None => Ok(()),
        Some(field) => Err(MgmtError::Refused {
            status: 403,
            error_code: "insufficient_scope",
            message: format!("Insufficient scope to change '{field}', expected: update:users"),
        }),
    }
}

pub(crate) async fn delete<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    app.store()
        .delete_user(&UserId::from(id.as_str()))
        .await
        .map_err(user_store_error)?;
    caller.audit(&app, "Delete a User").await;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn roles<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Params(paging): Params<Paging>,
) -> Result<Json<Value>, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let roles = app.store().user_roles(&user.user_id).await?;
    Ok(Json(
        paging.slice("roles", roles.iter().map(role_json).collect())?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Roles {
    roles: Vec<String>,
}

async fn checked_roles<S: Store>(app: &App<S>, ids: Vec<String>) -> Result<Vec<RoleId>, MgmtError> {
    if ids.is_empty() {
        return Err(MgmtError::bad_body(
            "Payload validation error: 'roles' must have at least 1 item.",
        ));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let id = RoleId::from(id);
        if app.store().role(&id).await?.is_none() {
            return Err(MgmtError::not_found(
                "inexistent_role",
                format!("The role {id} does not exist."),
            ));
        }
        out.push(id);
    }
    Ok(out)
}

pub(crate) async fn assign_roles<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<Roles>,
) -> Result<StatusCode, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let roles = checked_roles(&app, body.roles).await?;
    app.store().assign_user_roles(&user.user_id, &roles).await?;
    caller.audit(&app, "Assign roles to a user").await;
    Ok(StatusCode::OK)
}

pub(crate) async fn remove_roles<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<Roles>,
) -> Result<StatusCode, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let roles: Vec<RoleId> = body.roles.into_iter().map(RoleId::from).collect();
    app.store().remove_user_roles(&user.user_id, &roles).await?;
    caller.audit(&app, "Remove roles from a user").await;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn permissions<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Params(paging): Params<Paging>,
) -> Result<Json<Value>, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let permissions = app.store().user_permissions(&user.user_id).await?;
    let mut out = described(&app, permissions).await?;
    for permission in &mut out {
        permission["sources"] =
            json!([{"source_id": "", "source_name": "", "source_type": "DIRECT"}]);
    }
    Ok(Json(paging.slice("permissions", out)?))
}

pub(crate) async fn add_permissions<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<Permissions>,
) -> Result<StatusCode, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let permissions = checked_permissions(&app, body.permissions).await?;
    app.store()
        .add_user_permissions(&user.user_id, &permissions)
        .await?;
    caller.audit(&app, "Assign permissions to a user").await;
    Ok(StatusCode::CREATED)
}

pub(crate) async fn remove_permissions<S: Store>(
    State(app): State<App<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<Permissions>,
) -> Result<StatusCode, MgmtError> {
    let user = user_or_404(&app, &id).await?;
    let permissions = body.named();
    app.store()
        .remove_user_permissions(&user.user_id, &permissions)
        .await?;
    caller.audit(&app, "Remove permissions from a user").await;
    Ok(StatusCode::NO_CONTENT)
}
