//! The bodies of `POST /tickets/email-verification` and `POST /tickets/password-change`
//! (Auth0's): whose ticket, where the user goes afterwards (`result_url`), and for how long
//! (`ttl_sec`, 0 or absent meaning Auth0's 5 days). Properties Sigil does not act on
//! (`includeEmailInRedirect`, `mark_email_as_verified`, organizations, `identity`) are refused
//! by name rather than ignored.

use serde::Deserialize;

use super::ManagementError;
use super::body::{Body, present};
use crate::tickets::TICKET_LIFETIME;

/// The longest `ttl_sec` accepted: 30 days.
pub const MAX_TICKET_TTL: i64 = 2_592_000;

/// Whose ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TicketUser {
    /// By id.
    Id(String),
    /// By email in a database connection (password change only).
    Email {
        /// The address.
        email: String,
        /// The connection's id.
        connection_id: String,
    },
}

/// A validated ticket request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidTicket {
    /// Whose.
    pub user: TicketUser,
    /// Where the page sends the user afterwards.
    pub result_url: Option<String>,
    /// Seconds the link works.
    pub lifetime: i64,
}

/// `POST /tickets/email-verification`'s body.
#[derive(Clone, Debug, Deserialize)]
pub struct VerificationTicketBody {
    /// The user.
    #[serde(default, deserialize_with = "present")]
    pub user_id: Option<String>,
    /// Where to send the user afterwards.
    #[serde(default)]
    pub result_url: Option<String>,
    /// Lifetime in seconds (0: the default).
    #[serde(default, deserialize_with = "present")]
    pub ttl_sec: Option<i64>,
}

impl Body for VerificationTicketBody {
    const FIELDS: &'static [&'static str] = &["user_id", "result_url", "ttl_sec"];
}

/// `POST /tickets/password-change`'s body.
#[derive(Clone, Debug, Deserialize)]
pub struct PasswordTicketBody {
    /// The user (or `email` with `connection_id`).
    #[serde(default, deserialize_with = "present")]
    pub user_id: Option<String>,
    /// The user's email, with `connection_id`.
    #[serde(default, deserialize_with = "present")]
    pub email: Option<String>,
    /// The database connection of `email`.
    #[serde(default, deserialize_with = "present")]
    pub connection_id: Option<String>,
    /// Where to send the user afterwards.
    #[serde(default)]
    pub result_url: Option<String>,
    /// Lifetime in seconds (0: the default).
    #[serde(default, deserialize_with = "present")]
    pub ttl_sec: Option<i64>,
}

impl Body for PasswordTicketBody {
    const FIELDS: &'static [&'static str] =
        &["user_id", "email", "connection_id", "result_url", "ttl_sec"];
}

fn common(
    result_url: Option<String>,
    ttl_sec: Option<i64>,
) -> Result<(Option<String>, i64), ManagementError> {
    if let Some(url) = &result_url {
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => {}
            _ => {
                return Err(ManagementError::body(
                    "result_url",
                    "must be an http(s) URL",
                ));
            }
        }
    }
    let lifetime = match ttl_sec {
        None | Some(0) => TICKET_LIFETIME,
        Some(ttl) if (1..=MAX_TICKET_TTL).contains(&ttl) => ttl,
        Some(_) => {
            return Err(ManagementError::body(
                "ttl_sec",
                format!("must be between 0 and {MAX_TICKET_TTL}"),
            ));
        }
    };
    Ok((result_url, lifetime))
}

fn missing(property: &str) -> ManagementError {
    ManagementError::InvalidBody(format!(
        "Payload validation error: 'Missing required property: {property}'."
    ))
}

impl VerificationTicketBody {
    /// Checks the body.
    pub fn validate(self) -> Result<ValidTicket, ManagementError> {
        let user = self.user_id.ok_or_else(|| missing("user_id"))?;
        let (result_url, lifetime) = common(self.result_url, self.ttl_sec)?;
        Ok(ValidTicket {
            user: TicketUser::Id(user),
            result_url,
            lifetime,
        })
    }
}

impl PasswordTicketBody {
    /// Checks the body: `user_id`, or `email` with `connection_id`, not both.
    pub fn validate(self) -> Result<ValidTicket, ManagementError> {
        let user = match (self.user_id, self.email, self.connection_id) {
            (Some(id), None, None) => TicketUser::Id(id),
            (None, Some(email), Some(connection_id)) => TicketUser::Email {
                email,
                connection_id,
            },
            (None, Some(_), None) => return Err(missing("connection_id")),
            (None, None, _) => return Err(missing("user_id")),
            (Some(_), _, _) => {
                return Err(ManagementError::InvalidBody(
                    "Payload validation error: 'give user_id, or email with connection_id, \
                     not both'."
                        .into(),
                ));
            }
        };
        let (result_url, lifetime) = common(self.result_url, self.ttl_sec)?;
        Ok(ValidTicket {
            user,
            result_url,
            lifetime,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::management::parse_body;

    #[test]
    fn bodies_are_checked_as_auth0_does() {
        // (body, accepted)
        let cases = [
            (r#"{"user_id":"auth0|1"}"#, true),
            (r#"{"email":"a@b.c","connection_id":"con_1"}"#, true),
            (r#"{"email":"a@b.c"}"#, false),
            (
                r#"{"user_id":"auth0|1","email":"a@b.c","connection_id":"con_1"}"#,
                false,
            ),
            (r#"{}"#, false),
            (r#"{"user_id":"auth0|1","ttl_sec":-1}"#, false),
            (r#"{"user_id":"auth0|1","ttl_sec":0}"#, true),
            (
                r#"{"user_id":"auth0|1","result_url":"javascript:alert(1)"}"#,
                false,
            ),
            (
                r#"{"user_id":"auth0|1","mark_email_as_verified":true}"#,
                false,
            ),
        ];
        for (body, accepted) in cases {
            let checked =
                parse_body::<PasswordTicketBody>(body.as_bytes()).and_then(|b| b.validate());
            assert_eq!(checked.is_ok(), accepted, "{body}: {checked:?}");
        }
        let valid = parse_body::<VerificationTicketBody>(br#"{"user_id":"auth0|1","ttl_sec":60}"#)
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(valid.lifetime, 60);
        assert!(parse_body::<VerificationTicketBody>(br#"{"email":"a@b.c"}"#).is_err());
    }
}
