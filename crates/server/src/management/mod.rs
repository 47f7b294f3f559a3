//! The Management API v2 (`/api/v2/…`), as Auth0's: every operation checks its scopes first,
//! reads its body strictly ([`body`]), answers Auth0's shapes, logs its writes (`sapi`), and
//! fails with Auth0's error shape ([`error`]).

mod body;
mod caller;
mod client_grants;
mod connections;
mod error;
mod grants;
mod jobs;
mod keys;
mod logs;
mod paging;
mod resource_servers;
mod roles;
mod tenant;
mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use sigil_core::Store;

use crate::App;

/// The routes, to be nested at `/api/v2`.
pub(crate) fn routes<S: Store + Clone>() -> Router<App<S>> {
    Router::new()
        .route("/keys/signing", get(keys::list::<S>))
        .route("/keys/signing/rotate", post(keys::rotate::<S>))
        .route("/keys/signing/{kid}", get(keys::get::<S>))
        .route("/keys/signing/{kid}/revoke", put(keys::revoke::<S>))
        .route(
            "/connections",
            get(connections::list::<S>).post(connections::create::<S>),
        )
        .route(
            "/connections/{id}",
            get(connections::get::<S>).patch(connections::update::<S>),
        )
        .route(
            "/grants",
            get(grants::list::<S>).delete(grants::delete_of_user::<S>),
        )
        .route("/grants/{id}", delete(grants::delete::<S>))
        .route(
            "/jobs/users-imports",
            post(jobs::import_users::<S>).layer(DefaultBodyLimit::max(jobs::IMPORT_LIMIT)),
        )
        .route("/jobs/users-exports", post(jobs::export_users::<S>))
        .route("/jobs/{id}", get(jobs::get::<S>))
        .route("/jobs/{id}/export", get(jobs::export_file::<S>))
        .route("/jobs/{id}/errors", get(jobs::errors::<S>))
        .route("/logs", get(logs::list::<S>))
        .route("/logs/{id}", get(logs::get::<S>))
        .route("/users/{id}/logs", get(logs::of_user::<S>))
        .route("/roles", get(roles::list::<S>).post(roles::create::<S>))
        .route(
            "/roles/{id}",
            get(roles::get::<S>)
                .patch(roles::update::<S>)
                .delete(roles::delete::<S>),
        )
        .route(
            "/roles/{id}/permissions",
            get(roles::permissions::<S>)
                .post(roles::add_permissions::<S>)
                .delete(roles::remove_permissions::<S>),
        )
        .route(
            "/roles/{id}/users",
            get(roles::users::<S>).post(roles::add_users::<S>),
        )
        .route(
            "/tenants/settings",
            get(tenant::get::<S>).patch(tenant::update::<S>),
        )
        .route("/users", get(users::list::<S>).post(users::create::<S>))
        .route("/users-by-email", get(users::by_email::<S>))
        .route(
            "/users/{id}",
            get(users::get::<S>)
                .patch(users::update::<S>)
                .delete(users::delete::<S>),
        )
        .route(
            "/users/{id}/roles",
            get(users::roles::<S>)
                .post(users::assign_roles::<S>)
                .delete(users::remove_roles::<S>),
        )
        .route(
            "/users/{id}/permissions",
            get(users::permissions::<S>)
                .post(users::add_permissions::<S>)
                .delete(users::remove_permissions::<S>),
        )
        .route(
            "/resource-servers",
            get(resource_servers::list::<S>).post(resource_servers::create::<S>),
        )
        .route(
            "/resource-servers/{id}",
            get(resource_servers::get::<S>)
                .patch(resource_servers::update::<S>)
                .delete(resource_servers::delete::<S>),
        )
        .route(
            "/client-grants",
            get(client_grants::list::<S>).post(client_grants::create::<S>),
        )
        .route(
            "/client-grants/{id}",
            get(client_grants::get::<S>)
                .patch(client_grants::update::<S>)
                .delete(client_grants::delete::<S>),
        )
}
