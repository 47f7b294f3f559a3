//! [`ManagementError`]: why a Management API request about users was refused, with what the
//! HTTP layer needs to answer `{"statusCode","error","message","errorCode"}` in one match.

use crate::Conflict;
use crate::model::PasswordRefusal;

/// The message Auth0 answers for a password the connection's policy refuses. Clients compare
/// it verbatim, so it carries no detail; [`ManagementError::WeakPassword`] keeps the detail.
pub const WEAK_PASSWORD_MESSAGE: &str = "PasswordStrengthError: Password is too weak";

/// The message Auth0 answers for a password on the common-passwords list.
pub const COMMON_PASSWORD_MESSAGE: &str = "PasswordDictionaryError: Password is too common";

/// A refused Management API request about users.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManagementError {
    /// 400 `invalid_body`: the JSON body is malformed, has an unknown or ill-typed property,
    /// or a value Sigil refuses; the message names the property.
    #[error("{0}")]
    InvalidBody(String),
    /// 400 `invalid_query_string`: a query parameter (`q`, `fields`, …) is not one Sigil
    /// answers; the message says what is not supported.
    #[error("{0}")]
    InvalidQuery(String),
    /// 400 `auth0_password_strength_error`: the password does not meet the connection's
    /// policy. The message is Auth0's fixed one; `why` says what is missing (for logs and
    /// people, not the wire).
    #[error("{WEAK_PASSWORD_MESSAGE}")]
    WeakPassword {
        /// What the policy missed.
        why: String,
    },
    /// 400 `auth0_password_dictionary_error`: the connection refuses the most common
    /// passwords, and this is one. The message is Auth0's fixed one.
    #[error("{COMMON_PASSWORD_MESSAGE}")]
    CommonPassword,
    /// 400 `inexistent_connection`: no connection has the name given.
    #[error("The connection does not exist.")]
    UnknownConnection,
    /// 404 `inexistent_user`.
    #[error("The user does not exist.")]
    UserNotFound,
    /// 400 `inexistent_user`: the account a body names (to link) does not exist.
    #[error("{0}")]
    AccountNotFound(String),
    /// 400 `operation_not_supported`: the request is well formed but cannot be done (linking
    /// a user to itself, unlinking a user's main identity, …); the message says why.
    #[error("{0}")]
    NotSupported(String),
    /// 409 `auth0_idp_error`: the connection has a user with this email (or this user id).
    #[error("The user already exists.")]
    UserExists,
    /// 409 `auth0_idp_error`: the connection has a user with this username.
    #[error("The username provided is in use already.")]
    UsernameTaken,
}

impl From<crate::model::MetadataTooLarge> for ManagementError {
    fn from(too_large: crate::model::MetadataTooLarge) -> Self {
        ManagementError::body(too_large.field, &too_large)
    }
}

impl ManagementError {
    /// A refused body: Auth0's `Payload validation error: '<what>' on property <field>.`
    pub fn body(field: &str, what: impl std::fmt::Display) -> Self {
        ManagementError::InvalidBody(format!(
            "Payload validation error: '{what}' on property {field}."
        ))
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ManagementError::InvalidBody(_)
            | ManagementError::InvalidQuery(_)
            | ManagementError::WeakPassword { .. }
            | ManagementError::CommonPassword
            | ManagementError::UnknownConnection
            | ManagementError::AccountNotFound(_)
            | ManagementError::NotSupported(_) => 400,
            ManagementError::UserNotFound => 404,
            ManagementError::UserExists | ManagementError::UsernameTaken => 409,
        }
    }

    /// Auth0's `errorCode`.
    pub fn error_code(&self) -> &'static str {
        match self {
            ManagementError::InvalidBody(_) => "invalid_body",
            ManagementError::InvalidQuery(_) => "invalid_query_string",
            ManagementError::WeakPassword { .. } => "auth0_password_strength_error",
            ManagementError::CommonPassword => "auth0_password_dictionary_error",
            ManagementError::UnknownConnection => "inexistent_connection",
            ManagementError::UserNotFound | ManagementError::AccountNotFound(_) => {
                "inexistent_user"
            }
            ManagementError::NotSupported(_) => "operation_not_supported",
            ManagementError::UserExists | ManagementError::UsernameTaken => "auth0_idp_error",
        }
    }

    /// Status, `errorCode` and message: everything the response needs but the reason phrase
    /// (`error`), which follows from the status.
    pub fn parts(&self) -> (u16, &'static str, String) {
        (self.status(), self.error_code(), self.to_string())
    }

    /// The refusal of a password by the connection's policy.
    pub fn password(refusal: PasswordRefusal) -> Self {
        match refusal {
            PasswordRefusal::TooWeak(why) => ManagementError::WeakPassword { why },
            PasswordRefusal::TooCommon => ManagementError::CommonPassword,
            PasswordRefusal::TooLong => ManagementError::body("password", PasswordRefusal::TooLong),
            PasswordRefusal::Breached => {
                ManagementError::body("password", PasswordRefusal::Breached)
            }
        }
    }

    /// The refusal for a user the store could not add or update because of `conflict`;
    /// `None` for conflicts that are not about users (a store bug, not the caller's mistake).
    pub fn from_conflict(conflict: Conflict) -> Option<Self> {
        match conflict {
            Conflict::Email | Conflict::UserId | Conflict::PhoneNumber => {
                Some(ManagementError::UserExists)
            }
            Conflict::Username => Some(ManagementError::UsernameTaken),
            Conflict::Connection
            | Conflict::Client
            | Conflict::ResourceServer
            | Conflict::ClientGrant
            | Conflict::Role
            | Conflict::SigningKey
            | Conflict::Token
            | Conflict::Action
            | Conflict::ActionBound
            | Conflict::Rule
            | Conflict::Authenticator => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_auth0_status_code_and_message() {
        let cases = [
            (
                ManagementError::body("blocked", "Expected type boolean"),
                400,
                "invalid_body",
                "Payload validation error: 'Expected type boolean' on property blocked.",
            ),
            (
                ManagementError::InvalidQuery("q: x is not supported".into()),
                400,
                "invalid_query_string",
                "q: x is not supported",
            ),
            (
                ManagementError::WeakPassword {
                    why: "short".into(),
                },
                400,
                "auth0_password_strength_error",
                WEAK_PASSWORD_MESSAGE,
            ),
            (
                ManagementError::CommonPassword,
                400,
                "auth0_password_dictionary_error",
                COMMON_PASSWORD_MESSAGE,
            ),
            (
                ManagementError::UnknownConnection,
                400,
                "inexistent_connection",
                "The connection does not exist.",
            ),
            (
                ManagementError::UserNotFound,
                404,
                "inexistent_user",
                "The user does not exist.",
            ),
            (
                ManagementError::UserExists,
                409,
                "auth0_idp_error",
                "The user already exists.",
            ),
            (
                ManagementError::UsernameTaken,
                409,
                "auth0_idp_error",
                "The username provided is in use already.",
            ),
        ];
        for (error, status, code, message) in cases {
            assert_eq!(
                error.parts(),
                (status, code, message.to_owned()),
                "{error:?}"
            );
        }
    }

    #[test]
    fn user_conflicts_map_to_409_and_others_to_none() {
        assert_eq!(
            ManagementError::from_conflict(Conflict::Email),
            Some(ManagementError::UserExists)
        );
        assert_eq!(
            ManagementError::from_conflict(Conflict::UserId),
            Some(ManagementError::UserExists)
        );
        assert_eq!(
            ManagementError::from_conflict(Conflict::Username),
            Some(ManagementError::UsernameTaken)
        );
        assert_eq!(ManagementError::from_conflict(Conflict::Role), None);
    }
}
