//! Database connections as Auth0's Management API shows and takes them (`/connections`):
//! Auth0's option names (`passwordPolicy`, `password_complexity_options.min_length`,
//! `password_dictionary.enable`) mapped to Sigil's model. Only database connections
//! (`strategy: "auth0"`) are made here; a patch's `options` replace the old ones whole, as at
//! Auth0.

use serde::Deserialize;
use serde_json::{Value, json};

use super::ManagementError;
use crate::UnixTime;
use crate::ids::ConnectionId;
use crate::model::{Connection, ConnectionOptions, PasswordPolicy, Strategy};

/// A connection as Auth0 lists it.
pub fn connection_json(connection: &Connection) -> Value {
    let o = &connection.options;
    let mut options = json!({
        "passwordPolicy": o.password_policy,
        "disable_signup": o.disable_signup,
        "requires_username": o.requires_username,
        "brute_force_protection": o.brute_force_protection,
        "password_dictionary": {"enable": o.password_dictionary},
    });
    if let Some(min) = o.min_length {
        options["password_complexity_options"] = json!({"min_length": min});
    }
    json!({
        "id": connection.id,
        "name": connection.name,
        "strategy": connection.strategy.as_str(),
        "options": options,
        "realms": [connection.name],
        "is_domain_connection": false,
    })
}

/// `options` in Auth0's names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsBody {
    #[serde(rename = "passwordPolicy")]
    password_policy: Option<PasswordPolicy>,
    password_complexity_options: Option<Complexity>,
    disable_signup: Option<bool>,
    requires_username: Option<bool>,
    brute_force_protection: Option<bool>,
    password_dictionary: Option<Dictionary>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Complexity {
    min_length: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Dictionary {
    enable: bool,
}

impl OptionsBody {
    /// The options, defaults where absent (Auth0's: `fair` policy, brute-force protection on).
    fn into_options(self) -> Result<ConnectionOptions, ManagementError> {
        let defaults = ConnectionOptions::default();
        let min_length = self.password_complexity_options.and_then(|c| c.min_length);
        if let Some(min) = min_length
            && !(1..=128).contains(&min)
        {
            return Err(ManagementError::body(
                "options.password_complexity_options.min_length",
                "must be between 1 and 128",
            ));
        }
        Ok(ConnectionOptions {
            password_policy: self.password_policy.unwrap_or(defaults.password_policy),
            min_length,
            disable_signup: self.disable_signup.unwrap_or(defaults.disable_signup),
            requires_username: self.requires_username.unwrap_or(defaults.requires_username),
            brute_force_protection: self
                .brute_force_protection
                .unwrap_or(defaults.brute_force_protection),
            password_dictionary: self
                .password_dictionary
                .map_or(defaults.password_dictionary, |d| d.enable),
        })
    }
}

/// `POST /connections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionCreate {
    name: Option<String>,
    strategy: Option<String>,
    options: Option<OptionsBody>,
}

impl super::Body for ConnectionCreate {
    const FIELDS: &'static [&'static str] = &["name", "strategy", "options"];
}

/// Auth0's rule for connection names: letters and digits, single dashes between them, at most
/// 128 characters.
fn valid_name(name: &str) -> bool {
    name.len() <= 128
        && !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl ConnectionCreate {
    /// The new connection, or a 400 naming the property.
    pub fn into_connection(
        self,
        id: ConnectionId,
        now: UnixTime,
    ) -> Result<Connection, ManagementError> {
        let name = self
            .name
            .ok_or_else(|| ManagementError::body("name", "is required"))?;
        if !valid_name(&name) {
            return Err(ManagementError::body(
                "name",
                "must be letters and digits, with single dashes between them, at most 128 characters",
            ));
        }
        match self.strategy.as_deref() {
            Some("auth0") => {}
            Some(other) => {
                return Err(ManagementError::body(
                    "strategy",
                    format!("{other} is not supported here; only database connections (auth0) are"),
                ));
            }
            None => return Err(ManagementError::body("strategy", "is required")),
        }
        Ok(Connection {
            id,
            name,
            strategy: Strategy::Auth0,
            options: self.options.unwrap_or_default().into_options()?,
            created_at: now,
            updated_at: now,
        })
    }
}

/// `PATCH /connections/{id}`: the options, replaced whole.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    options: Option<OptionsBody>,
}

impl super::Body for ConnectionPatch {
    const FIELDS: &'static [&'static str] = &["options"];
}

impl ConnectionPatch {
    /// Applies the patch (a database connection's options only).
    pub fn apply(self, connection: &mut Connection, now: UnixTime) -> Result<(), ManagementError> {
        if let Some(options) = self.options {
            connection.options = options.into_options()?;
        }
        connection.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::management::parse_body;

    #[test]
    fn creation_checks_name_strategy_and_options() {
        for (body, outcome) in [
            (r#"{"name":"Staff","strategy":"auth0"}"#, Ok(None)),
            (
                r#"{"name":"Staff-2","strategy":"auth0","options":{"passwordPolicy":"excellent","password_complexity_options":{"min_length":12},"requires_username":true}}"#,
                Ok(Some(12)),
            ),
            (r#"{"strategy":"auth0"}"#, Err("name")),
            (r#"{"name":"a b","strategy":"auth0"}"#, Err("name")),
            (r#"{"name":"-x","strategy":"auth0"}"#, Err("name")),
            (
                r#"{"name":"x","strategy":"google-oauth2"}"#,
                Err("strategy"),
            ),
            (
                r#"{"name":"x","strategy":"auth0","options":{"passwordPolicy":"weird"}}"#,
                Err("options"),
            ),
            (
                r#"{"name":"x","strategy":"auth0","options":{"mfa":{}}}"#,
                Err("mfa"),
            ),
            (
                r#"{"name":"x","strategy":"auth0","enabled_clients":[]}"#,
                Err("enabled_clients"),
            ),
        ] {
            let made = parse_body::<ConnectionCreate>(body.as_bytes())
                .and_then(|c| c.into_connection(ConnectionId::from("con_1"), UnixTime(0)));
            match (made, outcome) {
                (Ok(c), Ok(min)) => {
                    assert_eq!(c.options.min_length, min, "{body}");
                    let json = connection_json(&c);
                    assert_eq!(json["strategy"], "auth0");
                    assert_eq!(json["realms"][0], c.name.as_str());
                }
                (Err(e), Err(field)) => {
                    assert!(e.parts().2.contains(field), "{body}: {}", e.parts().2)
                }
                (got, want) => panic!("{body}: {got:?}, wanted {want:?}"),
            }
        }
    }
}
