//! Connections: where users come from. Database connections (`strategy: "auth0"`) hold users
//! with passwords; `Username-Password-Authentication` is the default one. Social and enterprise
//! connections send users to another identity provider; passwordless ones (`email`, `sms`) send
//! them a one-time code or link.

use std::collections::BTreeMap;

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
    /// A database connection's settings (defaults for the other strategies).
    pub options: ConnectionOptions,
    /// The `options` of every strategy but `auth0`, with their secrets kept apart: another
    /// identity provider's settings, or a passwordless connection's (code, message, SMS
    /// provider).
    pub upstream: Option<Upstream>,
    /// The name people see (the login page's "Continue with …"); `name` when absent.
    pub display_name: Option<String>,
    /// Whether the login page shows a button for it (Auth0's `show_as_button`, for enterprise
    /// connections; social ones always have one, a database its form).
    pub show_as_button: bool,
    /// The tenant's own string properties (Auth0's `metadata`: at most 10).
    pub metadata: BTreeMap<String, String>,
    /// When it was made.
    pub created_at: UnixTime,
    /// Last change.
    pub updated_at: UnixTime,
}

impl Connection {
    /// A connection with neither display name, button nor metadata, made at `now`.
    pub fn new(
        id: ConnectionId,
        name: impl Into<String>,
        strategy: Strategy,
        options: ConnectionOptions,
        now: UnixTime,
    ) -> Self {
        Connection {
            id,
            name: name.into(),
            strategy,
            options,
            upstream: None,
            display_name: None,
            show_as_button: false,
            metadata: BTreeMap::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// The `provider` part of its users' ids and identities (`auth0` for databases).
    pub fn provider(&self) -> &'static str {
        self.strategy.as_str()
    }
}

/// What a connection that is not a database holds: its `options` in Auth0's names, checked for
/// its strategy (`federation::settings`, `passwordless::settings`), without the secrets, which
/// are kept apart, sealed at rest and never shown.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Upstream {
    /// The options as the Management API takes and shows them, secrets removed.
    pub options: super::JsonObject,
    /// The secrets (`client_secret`, Apple's `app_secret`, Twilio's `twilio_token`), by option
    /// name.
    pub secrets: UpstreamSecrets,
}

/// A connection's secrets by option name: written through the Management API,
/// sealed at rest, never shown, never logged (`Debug` names the keys only).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UpstreamSecrets(pub BTreeMap<String, String>);

impl std::fmt::Debug for UpstreamSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl UpstreamSecrets {
    /// The secret named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// A connection's strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// A database connection, users with passwords kept by Sigil.
    Auth0,
    /// An upstream OpenID Connect provider (Auth0's enterprise `oidc`).
    Oidc,
    /// Any OAuth 2.0 provider, its profile read by the connection's script (Auth0's custom
    /// social connection).
    OAuth2,
    /// Google (`google-oauth2`), an OpenID provider.
    Google,
    /// GitHub, OAuth 2.0 with its own user API.
    Github,
    /// Microsoft accounts (`windowslive`), an OpenID provider.
    WindowsLive,
    /// Sign in with Apple: OpenID, with a signed client secret and a POSTed callback.
    Apple,
    /// Facebook, OAuth 2.0 with the Graph API.
    Facebook,
    /// LinkedIn, an OpenID provider.
    Linkedin,
    /// Microsoft Entra ID (Azure AD, `waad`), an enterprise OpenID provider.
    Waad,
    /// Okta, an enterprise OpenID provider.
    Okta,
    /// Passwordless by email: a one-time code or a magic link.
    Email,
    /// Passwordless by SMS: a one-time code.
    Sms,
}

/// What kind of place a strategy's users come from (the events' `strategy_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrategyKind {
    /// Sigil's own directory.
    Database,
    /// A social provider: `isSocial`, a login button always.
    Social,
    /// A company's provider: a button only when `show_as_button` says so.
    Enterprise,
    /// A one-time code or link sent to the user's address or phone.
    Passwordless,
}

impl StrategyKind {
    /// Its name in events.
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyKind::Database => "database",
            StrategyKind::Social => "social",
            StrategyKind::Enterprise => "enterprise",
            StrategyKind::Passwordless => "passwordless",
        }
    }
}

impl Strategy {
    /// Every strategy, in the order the login page lists buttons.
    pub const ALL: [Strategy; 13] = [
        Strategy::Auth0,
        Strategy::Google,
        Strategy::Github,
        Strategy::WindowsLive,
        Strategy::Apple,
        Strategy::Facebook,
        Strategy::Linkedin,
        Strategy::OAuth2,
        Strategy::Oidc,
        Strategy::Waad,
        Strategy::Okta,
        Strategy::Email,
        Strategy::Sms,
    ];

    /// The strategy's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Auth0 => "auth0",
            Strategy::Oidc => "oidc",
            Strategy::OAuth2 => "oauth2",
            Strategy::Google => "google-oauth2",
            Strategy::Github => "github",
            Strategy::WindowsLive => "windowslive",
            Strategy::Apple => "apple",
            Strategy::Facebook => "facebook",
            Strategy::Linkedin => "linkedin",
            Strategy::Waad => "waad",
            Strategy::Okta => "okta",
            Strategy::Email => "email",
            Strategy::Sms => "sms",
        }
    }

    /// The strategy named `name`, if Sigil has it.
    pub fn parse(name: &str) -> Option<Self> {
        Strategy::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Where its users come from.
    pub fn kind(self) -> StrategyKind {
        match self {
            Strategy::Auth0 => StrategyKind::Database,
            Strategy::Oidc | Strategy::Waad | Strategy::Okta => StrategyKind::Enterprise,
            Strategy::Email | Strategy::Sms => StrategyKind::Passwordless,
            Strategy::OAuth2
            | Strategy::Google
            | Strategy::Github
            | Strategy::WindowsLive
            | Strategy::Apple
            | Strategy::Facebook
            | Strategy::Linkedin => StrategyKind::Social,
        }
    }

    /// Whether its users come from another identity provider.
    pub fn is_federated(self) -> bool {
        matches!(self.kind(), StrategyKind::Social | StrategyKind::Enterprise)
    }

    /// Whether it is a database connection, users with passwords kept by Sigil (every other
    /// strategy keeps its `options` as Auth0 writes them, in [`Connection::upstream`]).
    pub fn is_database(self) -> bool {
        self == Strategy::Auth0
    }

    /// Whether its users log in with a one-time code or link.
    pub fn is_passwordless(self) -> bool {
        self.kind() == StrategyKind::Passwordless
    }

    /// Whether a tenant may have one connection of it only: a social preset's or a
    /// passwordless strategy's users' ids do not name the connection (`github|100234`,
    /// `email|…`), so two would claim the same ids.
    pub fn one_per_tenant(self) -> bool {
        !self.is_database() && !self.names_connection_in_ids()
    }

    /// Whether its users' ids carry the connection's name (`oidc|corp|alice`): enterprise
    /// connections and custom `oauth2` ones, of which a tenant may have several; a social
    /// preset's are `<strategy>|<id>` (`github|100234`).
    pub fn names_connection_in_ids(self) -> bool {
        matches!(self.kind(), StrategyKind::Enterprise) || self == Strategy::OAuth2
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
    /// Refuse passwords from the bundled list of the 10,000 most common ones (Auth0's
    /// `password_dictionary.enable`). On for new connections; a stored connection that does not
    /// say reads as off, so existing connections keep what they had.
    #[serde(default)]
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
            // A secure default for new connections (Auth0's is off).
            password_dictionary: true,
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
        let common = if self.password_dictionary {
            " It must not be one of the 10,000 most common passwords."
        } else {
            ""
        };
        format!("At least {min} {unit}{rule}.{common}")
    }

    /// Whether `password` satisfies the connection's policy (Auth0's levels) and, when the
    /// connection's `password_dictionary` is on, is not one of the most common passwords. The
    /// one check of a new password: signup, reset and the Management API all call it.
    pub fn check_password(&self, password: &str) -> Result<(), PasswordRefusal> {
        if password.len() > crate::password::MAX_PASSWORD_BYTES {
            return Err(PasswordRefusal::TooLong);
        }
        self.check_strength(password)
            .map_err(PasswordRefusal::TooWeak)?;
        if self.password_dictionary && crate::common_passwords::is_common(password) {
            return Err(PasswordRefusal::TooCommon);
        }
        Ok(())
    }

    /// The policy's level alone; the error says what is missing.
    fn check_strength(&self, password: &str) -> Result<(), String> {
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

/// Why a new password was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRefusal {
    /// The policy's level is not met (Auth0's `PasswordStrengthError`); the text says what is
    /// missing.
    #[error("{0}")]
    TooWeak(String),
    /// On the common-passwords list (Auth0's `PasswordDictionaryError`).
    #[error(
        "Password is too common: it is one of the 10,000 most used passwords, which attackers \
         try first. Choose another one."
    )]
    TooCommon,
    /// Longer than [`crate::password::MAX_PASSWORD_BYTES`] (Sigil's limit; reported with
    /// Auth0's `PasswordStrengthError` name).
    #[error(
        "Password is too long: use at most {} bytes",
        crate::password::MAX_PASSWORD_BYTES
    )]
    TooLong,
    /// Found in a data breach, and breached-password detection blocks such passwords here.
    #[error(
        "This password has previously appeared in a data breach and should not be used. \
         Choose another one."
    )]
    Breached,
}

impl PasswordRefusal {
    /// Auth0's error `name` for it.
    pub fn name(&self) -> &'static str {
        match self {
            PasswordRefusal::TooWeak(_) | PasswordRefusal::TooLong => "PasswordStrengthError",
            PasswordRefusal::Breached => "PasswordLeakedError",
            PasswordRefusal::TooCommon => "PasswordDictionaryError",
        }
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
            let options = ConnectionOptions {
                password_dictionary: false,
                ..with(policy)
            };
            assert_eq!(
                options.check_password(password).is_ok(),
                accepted,
                "{policy:?} {password:?}"
            );
        }
    }

    #[test]
    fn the_dictionary_refuses_common_passwords_when_the_connection_says_so() {
        let with = |policy, password_dictionary| ConnectionOptions {
            password_policy: policy,
            password_dictionary,
            ..ConnectionOptions::default()
        };
        let weak = |why: &str| Err(PasswordRefusal::TooWeak(why.to_owned()));
        // (policy, dictionary on, password, outcome)
        let cases = [
            (
                PasswordPolicy::Fair,
                true,
                "Password1",
                Err(PasswordRefusal::TooCommon),
            ),
            (PasswordPolicy::Fair, true, "PASSWORD1x", Ok(())),
            (
                PasswordPolicy::Fair,
                true,
                "pAsSwOrD1",
                Err(PasswordRefusal::TooCommon),
            ),
            (
                PasswordPolicy::Fair,
                true,
                "Trustno1",
                Err(PasswordRefusal::TooCommon),
            ),
            (
                PasswordPolicy::Low,
                true,
                "DRAGON",
                Err(PasswordRefusal::TooCommon),
            ),
            (
                PasswordPolicy::None,
                true,
                "123456",
                Err(PasswordRefusal::TooCommon),
            ),
            (PasswordPolicy::Fair, true, "Vq7-Lamp-Orbit", Ok(())),
            (PasswordPolicy::Excellent, true, "Vq7-Lamp-Orbit", Ok(())),
            (PasswordPolicy::Fair, false, "Password1", Ok(())),
            (PasswordPolicy::None, false, "123456", Ok(())),
            // The policy's level is checked first, so a weak common password is "too weak".
            (
                PasswordPolicy::Fair,
                true,
                "password",
                weak("Password is too weak: use lower case, upper case letters and digits"),
            ),
        ];
        for (policy, dictionary, password, outcome) in cases {
            assert_eq!(
                with(policy, dictionary).check_password(password),
                outcome,
                "{policy:?} dictionary={dictionary} {password:?}"
            );
        }
    }

    #[test]
    fn new_connections_use_the_dictionary_but_stored_ones_keep_what_they_say() {
        assert!(ConnectionOptions::default().password_dictionary);
        let stored: ConnectionOptions = serde_json::from_str(r#"{"passwordPolicy":"good"}"#)
            .expect("options without the dictionary flag");
        assert!(!stored.password_dictionary);
        let stored: ConnectionOptions =
            serde_json::from_str(r#"{"password_dictionary":true}"#).expect("options");
        assert!(stored.password_dictionary);
    }
}
