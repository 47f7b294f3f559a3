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

impl ConnectionOptions {
    /// The password policy in words, for the pages that ask for a new password: what
    /// [`ConnectionOptions::check_password`] accepts.
    pub fn describe_password_policy(&self) -> String {
        let (policy_min, rule) = match self.password_policy {
            PasswordPolicy::None => (1, ""),
            PasswordPolicy::Low => (6, ""),
            PasswordPolicy::Fair => (
                8,
                ", with lower case letters, upper case letters and digits",
            ),
            PasswordPolicy::Good => (
                8,
                ", with three of: lower case letters, upper case letters, digits, special characters",
            ),
            PasswordPolicy::Excellent => (
                10,
                ", with three of: lower case letters, upper case letters, digits, special \
                 characters; no more than 2 identical characters in a row",
            ),
        };
        let min = self.min_length.map_or(policy_min, u64::from);
        let unit = if min == 1 { "character" } else { "characters" };
        format!("At least {min} {unit}{rule}.")
    }

    /// Whether `password` satisfies the connection's policy (Auth0's levels); the error says
    /// what is missing.
    pub fn check_password(&self, password: &str) -> Result<(), String> {
        let chars: Vec<char> = password.chars().collect();
        let (policy_min, kinds_needed) = match self.password_policy {
            PasswordPolicy::None => (1, 0),
            PasswordPolicy::Low => (6, 0),
            PasswordPolicy::Fair => (8, 3),
            PasswordPolicy::Good => (8, 3),
            PasswordPolicy::Excellent => (10, 3),
        };
        let min = self
            .min_length
            .map_or(policy_min, |m| usize::try_from(m).unwrap_or(usize::MAX));
        if chars.len() < min {
            return Err(format!(
                "Password is too weak: use at least {min} characters"
            ));
        }
        let lower = chars.iter().any(|c| c.is_lowercase());
        let upper = chars.iter().any(|c| c.is_uppercase());
        let digit = chars.iter().any(|c| c.is_ascii_digit());
        let special = chars.iter().any(|c| !c.is_alphanumeric());
        match self.password_policy {
            // Fair: lower case, upper case and digits, all three.
            PasswordPolicy::Fair if !(lower && upper && digit) => {
                return Err(
                    "Password is too weak: use lower case, upper case letters and digits".into(),
                );
            }
            PasswordPolicy::Good | PasswordPolicy::Excellent
                if [lower, upper, digit, special]
                    .iter()
                    .filter(|k| **k)
                    .count()
                    < kinds_needed =>
            {
                return Err(
                    "Password is too weak: use three of lower case, upper case, digits \
                            and special characters"
                        .into(),
                );
            }
            _ => {}
        }
        if self.password_policy == PasswordPolicy::Excellent
            && chars.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
        {
            return Err(
                "Password is too weak: no more than 2 identical characters in a row".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policies_as_auth0_defines_them() {
        let with = |policy| ConnectionOptions {
            password_policy: policy,
            ..ConnectionOptions::default()
        };
        // (policy, password, accepted)
        let cases = [
            (PasswordPolicy::None, "a", true),
            (PasswordPolicy::None, "", false),
            (PasswordPolicy::Low, "abcdef", true),
            (PasswordPolicy::Low, "abcde", false),
            (PasswordPolicy::Fair, "Abcdefg1", true),
            (PasswordPolicy::Fair, "abcdefg1", false),
            (PasswordPolicy::Fair, "Abcdef1", false),
            (PasswordPolicy::Good, "abcdefg1!", true),
            (PasswordPolicy::Good, "abcdefgh1", false),
            (PasswordPolicy::Excellent, "Abcdefghi1", true),
            (PasswordPolicy::Excellent, "Abbbcdefg1", false),
            (PasswordPolicy::Excellent, "Abcdefgh1", false),
        ];
        for (policy, password, accepted) in cases {
            assert_eq!(
                with(policy).check_password(password).is_ok(),
                accepted,
                "{policy:?} {password:?}"
            );
        }
    }
}
