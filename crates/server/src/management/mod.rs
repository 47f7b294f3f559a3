//! The Management API v2 (`/api/v2/…`), as Auth0's: every operation checks its scopes first,
//! reads its body strictly ([`body`]), answers Auth0's shapes, logs its writes (`sapi`), and
//! fails with Auth0's error shape ([`error`]).

mod body;
mod caller;
mod clients;
mod error;
mod keys;
mod paging;
mod roles;

use axum::Router;
use axum::routing::{get, post, put};
use sigil_core::Store;

use crate::App;

/// The routes, to be nested at `/api/v2`.
pub(crate) fn routes<S: Store + Clone>() -> Router<App<S>> {
    Router::new()
        .route(
            "/clients",
            get(clients::list::<S>).post(clients::create::<S>),
        )
        .route(
            "/clients/{id}",
            get(clients::get::<S>)
                .patch(clients::update::<S>)
                .delete(clients::delete::<S>),
        )
        .route(
            "/clients/{id}/rotate-secret",
            post(clients::rotate_secret::<S>),
        )
        .route("/keys/signing", get(keys::list::<S>))
        .route("/keys/signing/rotate", post(keys::rotate::<S>))
        .route("/keys/signing/{kid}", get(keys::get::<S>))
        .route("/keys/signing/{kid}/revoke", put(keys::revoke::<S>))
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
}
