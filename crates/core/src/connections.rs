//! Which connections an application's users may log in with: those enabled for it (Auth0's
//! enabled clients), however the login starts (`/authorize?connection=…`, the login and signup
//! pages, the password grants, `/dbconnections/*`).

use crate::ids::ClientId;
use crate::model::connection::DEFAULT_DATABASE_CONNECTION;
use crate::model::{Connection, Strategy, StrategyKind};
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

/// The database connection whose password form a hosted page shows for `client`: the one the
/// request named (`None` unless it is a database enabled for the client), else the tenant's
/// default directory when it is enabled for the client, else the first database connection
/// enabled for it, by name (as Auth0's login page shows the application's enabled database).
pub async fn page_database(
    store: &impl Store,
    client: &ClientId,
    requested: Option<&str>,
) -> Result<Option<Connection>, StoreError> {
    let database = |c: Connection| (c.strategy == Strategy::Auth0).then_some(c);
    if let Some(name) = requested {
        return Ok(usable_by(store, client, name)
            .await?
            .ok()
            .and_then(database));
    }
    let default = store
        .tenant_settings()
        .await?
        .and_then(|t| t.default_directory)
        .unwrap_or_else(|| DEFAULT_DATABASE_CONNECTION.to_owned());
    if let Ok(connection) = usable_by(store, client, &default).await?
        && connection.strategy == Strategy::Auth0
    {
        return Ok(Some(connection));
    }
    Ok(store
        .client_connections(client)
        .await?
        .into_iter()
        .find_map(database))
}

/// The other identity providers the login page offers `client` a button for: every social
/// connection enabled for it, and the enterprise ones marked `show_as_button` (Auth0 reaches
/// the others by the user's email domain), in the order of [`Strategy::ALL`], then by name.
pub async fn buttons(store: &impl Store, client: &ClientId) -> Result<Vec<Connection>, StoreError> {
    let mut shown: Vec<Connection> = store
        .client_connections(client)
        .await?
        .into_iter()
        .filter(|c| match c.strategy.kind() {
            // A database has its form; a passwordless connection its own page.
            StrategyKind::Database | StrategyKind::Passwordless => false,
            StrategyKind::Social => true,
            StrategyKind::Enterprise => c.show_as_button,
        })
        .collect();
    let rank = |s: Strategy| Strategy::ALL.iter().position(|x| *x == s);
    shown.sort_by(|a, b| {
        rank(a.strategy)
            .cmp(&rank(b.strategy))
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(shown)
}

/// The passwordless connections enabled for `client` (email first, then SMS), whose "Email me
/// a code" / "Text me a code" the login page offers.
pub async fn passwordless(
    store: &impl Store,
    client: &ClientId,
) -> Result<Vec<Connection>, StoreError> {
    let mut found: Vec<Connection> = store
        .client_connections(client)
        .await?
        .into_iter()
        .filter(|c| c.strategy.is_passwordless())
        .collect();
    found.sort_by_key(|c| (c.strategy == Strategy::Sms, c.name.clone()));
    Ok(found)
}

/// What a login button says: "Continue with" this (the connection's display name, else its
/// provider's name for a preset, else the connection's name).
pub fn button_label(connection: &Connection) -> String {
    if let Some(name) = &connection.display_name {
        return name.clone();
    }
    match connection.strategy {
        Strategy::Google => "Google",
        Strategy::Github => "GitHub",
        Strategy::WindowsLive => "Microsoft",
        Strategy::Apple => "Apple",
        Strategy::Facebook => "Facebook",
        Strategy::Linkedin => "LinkedIn",
        Strategy::Waad => "Microsoft Entra ID",
        Strategy::Okta => "Okta",
        Strategy::Auth0 | Strategy::Oidc | Strategy::OAuth2 | Strategy::Email | Strategy::Sms => {
            connection.name.as_str()
        }
    }
    .to_owned()
}
