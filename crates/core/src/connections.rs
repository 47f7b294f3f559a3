//! Which connections an application's users may log in with: those enabled for it (Auth0's
//! enabled clients), however the login starts (`/authorize?connection=…`, the login and signup
//! pages, the password grants, `/dbconnections/*`).

use crate::ids::ClientId;
use crate::model::Connection;
use crate::{Store, StoreError};

/// Why a named connection cannot be used by a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// No connection has this name.
    Unknown,
    /// It exists but is not enabled for the client.
    Disabled,
}

impl Unusable {
    /// What the application is told, as Auth0 words it.
    pub fn message(self) -> &'static str {
        match self {
            Unusable::Unknown => "the connection was not found",
            Unusable::Disabled => "the connection was disabled",
        }
    }
}

/// The connection `name`, when `client` may log users in with it.
pub async fn usable_by(
    store: &impl Store,
    client: &ClientId,
    name: &str,
) -> Result<Result<Connection, Unusable>, StoreError> {
    let Some(connection) = store.connection_by_name(name).await? else {
        return Ok(Err(Unusable::Unknown));
    };
    Ok(if store.connection_enabled(&connection.id, client).await? {
        Ok(connection)
    } else {
        Err(Unusable::Disabled)
    })
}
