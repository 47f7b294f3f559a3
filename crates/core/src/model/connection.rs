//! Connections: where users come from. Database connections (`strategy: "auth0"`) hold users
//! with passwords; `Username-Password-Authentication` is the default one.

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::ids::ConnectionId;

/// The default database connection's name.
pub const DEFAULT_DATABASE_CONNECTION: &str = "Username-Password-Authentication";

/// A connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Connection {
    /// `con_…`.
    pub id: ConnectionId,
    /// Unique name, used as `connection`/`realm` on the wire. Never changes.
    pub name: String,
    /// Where its users come from.
    pub strategy: Strategy,
    /// Strategy-specific settings.
    pub options: ConnectionOptions,
    /// When it was made.
    pub created_at: UnixTime,
    /// Last change.
    pub updated_at: UnixTime,
}

impl Connection {
    /// The `provider` part of its users' ids and identities (`auth0` for databases).
    pub fn provider(&self) -> &'static str {
        self.strategy.as_str()
    }
}

/// A connection's strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// A database connection, users with passwords kept by Sigil.
    Auth0,
    /// An upstream OpenID Connect provider.
    Oidc,
}

impl Strategy {
    /// The strategy's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Auth0 => "auth0",
            Strategy::Oidc => "oidc",
        }
    }

    /// The strategy named `name`, if Sigil has it.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "auth0" => Some(Strategy::Auth0),
            "oidc" => Some(Strategy::Oidc),
            _ => None,
        }
    }
}

/// Auth0's password policy levels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordPolicy {
    /// At least one character.
    None,
    /// At least 6 characters.
    Low,
    /// At least 8 characters with lower, upper case and digits (Auth0's default).
    #[default]
    Fair,
    /// At least 8 characters and three of: lower, upper, digits, specials.
    Good,
    /// At least 10 characters, three of the four kinds, no more than 2 identical in a row.
    Excellent,
}

/// A connection's `options`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionOptions {
    /// Password strength required at signup and reset.
    #[serde(rename = "passwordPolicy")]
    pub password_policy: PasswordPolicy,
    /// Minimum length overriding the policy's (`password_complexity_options.min_length`).
    pub min_length: Option<u32>,
    /// Refuse public signups.
    pub disable_signup: bool,
    /// Users also have a username.
    pub requires_username: bool,
    /// Lock out after repeated failures.
    pub brute_force_protection: bool,
    /// Refuse passwords from the common-passwords list.
    pub password_dictionary: bool,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptions {
            password_policy: PasswordPolicy::Fair,
            min_length: None,
            disable_signup: false,
            requires_username: false,
            brute_force_protection: true,
            password_dictionary: false,
        }
    }
}
