//! `POST /api/v2/users`: the body ([`CreateUser`]), its validation against the connection
//! ([`ValidCreate`]), and the new [`User`] once the caller has hashed the password.

use serde::Deserialize;

use super::ManagementError;
use super::body::{Body, PlainPassword, check_email, check_username, present};
use crate::UnixTime;
use crate::ids::UserId;
use crate::model::{Connection, JsonObject, NewUser, Strategy, User, check_metadata};
use crate::password::PasswordHash;

/// The body of `POST /api/v2/users`, with Auth0's property names. Read it with
/// [`parse_body`](super::parse_body).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The connection's name (required).
    #[serde(default, deserialize_with = "present")]
    pub connection: Option<String>,
    /// Email address (required for database connections).
    #[serde(default, deserialize_with = "present")]
    pub email: Option<String>,
    /// Initial password (required for database connections).
    #[serde(default, deserialize_with = "present")]
    pub password: Option<PlainPassword>,
    /// Whether the address is already proven (default false).
    #[serde(default, deserialize_with = "present")]
    pub email_verified: Option<bool>,
    /// Whether to send a verification mail (default: when the address is not proven).
    #[serde(default, deserialize_with = "present")]
    pub verify_email: Option<bool>,
    /// Created blocked.
    #[serde(default, deserialize_with = "present")]
    pub blocked: Option<bool>,
    /// Username, for connections that require one.
    #[serde(default, deserialize_with = "present")]
    pub username: Option<String>,
    /// Given name.
    #[serde(default, deserialize_with = "present")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(default, deserialize_with = "present")]
    pub family_name: Option<String>,
    /// Full name (default: the email).
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    /// Nickname (default: the email's local part).
    #[serde(default, deserialize_with = "present")]
    pub nickname: Option<String>,
    /// Picture URL.
    #[serde(default, deserialize_with = "present")]
    pub picture: Option<String>,
    /// What the user may edit.
    #[serde(default, deserialize_with = "present")]
    pub user_metadata: Option<JsonObject>,
    /// What only administrators may edit.
    #[serde(default, deserialize_with = "present")]
    pub app_metadata: Option<JsonObject>,
    /// A chosen id: Auth0 accepts it, Sigil refuses it (ids are generated).
    #[serde(default)]
    pub user_id: Option<serde_json::Value>,
    /// SMS connections' phone number: refused, Sigil has none.
    #[serde(default)]
    pub phone_number: Option<serde_json::Value>,
}

impl Body for CreateUser {
    const FIELDS: &'static [&'static str] = &[
        "connection",
        "email",
        "password",
        "email_verified",
        "verify_email",
        "blocked",
        "username",
        "given_name",
        "family_name",
        "name",
        "nickname",
        "picture",
        "user_metadata",
        "app_metadata",
        "user_id",
        "phone_number",
    ];
}

/// A create request that passed validation against its connection: what
/// [`ValidCreate::password`] returns must be hashed, then [`ValidCreate::into_user`] builds
/// the user to store.
#[derive(Clone, Debug)]
pub struct ValidCreate {
    connection: Connection,
    email: String,
    password: PlainPassword,
    email_verified: bool,
    send_verification_email: bool,
    blocked: bool,
    username: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    name: Option<String>,
    nickname: Option<String>,
    picture: Option<String>,
    user_metadata: JsonObject,
    app_metadata: JsonObject,
}

impl CreateUser {
    /// The connection's name, to look it up: 400 when it is missing or empty.
    pub fn connection_name(&self) -> Result<&str, ManagementError> {
        match self.connection.as_deref() {
            Some(name) if !name.is_empty() => Ok(name),
            _ => Err(ManagementError::InvalidBody(
                "Payload validation error: 'Missing required property: connection'.".into(),
            )),
        }
    }

    /// Checks the request against `connection` (the one [`CreateUser::connection_name`]
    /// names): a database connection; no `user_id` or `phone_number`; an email address; a
    /// password meeting the connection's policy; a username exactly when the connection
    /// requires one.
    pub fn validate(self, connection: &Connection) -> Result<ValidCreate, ManagementError> {
        if self.connection_name()? != connection.name {
            return Err(ManagementError::UnknownConnection);
        }
        if connection.strategy != Strategy::Auth0 {
            return Err(ManagementError::body(
                "connection",
                format!(
                    "{} is not a database connection; its users come from its provider",
                    connection.name
                ),
            ));
        }
        if self.user_id.is_some() {
            return Err(ManagementError::body(
                "user_id",
                "Choosing a user_id is not supported; Sigil generates it",
            ));
        }
        if self.phone_number.is_some() {
            return Err(ManagementError::body(
                "phone_number",
                "Phone numbers are not supported; Sigil has no SMS connections",
            ));
        }
        let email = match &self.email {
            Some(email) => check_email(email)?,
            None => return Err(missing("email")),
        };
        let Some(password) = self.password else {
            return Err(missing("password"));
        };
        connection
            .options
            .check_password(password.expose())
            .map_err(ManagementError::password)?;
        let username = match (&self.username, connection.options.requires_username) {
            (Some(username), true) => Some(check_username(username)?),
            (None, true) => return Err(missing("username")),
            (Some(_), false) => {
                return Err(ManagementError::InvalidBody(
                    "Cannot set username for connection without requires_username".into(),
                ));
            }
            (None, false) => None,
        };
        let email_verified = self.email_verified.unwrap_or(false);
        let user_metadata = self.user_metadata.unwrap_or_default();
        let app_metadata = self.app_metadata.unwrap_or_default();
        check_metadata("user_metadata", &user_metadata)?;
        check_metadata("app_metadata", &app_metadata)?;
        Ok(ValidCreate {
            connection: connection.clone(),
            email,
            password,
            email_verified,
            send_verification_email: self.verify_email.unwrap_or(!email_verified),
            blocked: self.blocked.unwrap_or(false),
            username,
            given_name: self.given_name,
            family_name: self.family_name,
            name: self.name,
            nickname: self.nickname,
            picture: self.picture,
            user_metadata,
            app_metadata,
        })
    }
}

fn missing(field: &str) -> ManagementError {
    ManagementError::InvalidBody(format!(
        "Payload validation error: 'Missing required property: {field}'."
    ))
}

impl ValidCreate {
    /// The password to hash (off the async threads) before [`ValidCreate::into_user`].
    pub fn password(&self) -> &str {
        self.password.expose()
    }

    /// The new user's address.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The connection the user goes into.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Whether a verification mail should be sent: `verify_email` as given, else when the
    /// address is not proven (Auth0's default).
    pub fn send_verification_email(&self) -> bool {
        self.send_verification_email
    }

    /// The user to store, with id `user_id` (`UserId::generate_database`), `hash` the hash of
    /// [`ValidCreate::password`] (`None` when it could not be hashed: a 400), made at `now`.
    /// Unset profile fields get Auth0's defaults (name: the email; nickname: its local part).
    pub fn into_user(
        self,
        user_id: UserId,
        hash: Option<PasswordHash>,
        now: UnixTime,
    ) -> Result<User, ManagementError> {
        let Some(hash) = hash else {
            return Err(ManagementError::body(
                "password",
                "The password cannot be used",
            ));
        };
        let mut user = User::new_database(
            user_id,
            &self.connection,
            NewUser {
                email: self.email,
                email_verified: self.email_verified,
                username: self.username,
                password: Some(hash),
            },
            now,
        );
        user.blocked = self.blocked;
        user.given_name = self.given_name;
        user.family_name = self.family_name;
        user.name = self.name.or(user.name);
        user.nickname = self.nickname.or(user.nickname);
        user.picture = self.picture;
        user.user_metadata = self.user_metadata;
        user.app_metadata = self.app_metadata;
        Ok(user)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::ConnectionId;
    use crate::management::parse_body;
    use crate::model::{ConnectionOptions, PasswordPolicy};
    use crate::password::PasswordAlgorithm;

    pub(crate) fn connection(requires_username: bool) -> Connection {
        Connection::new(
            ConnectionId::from("con_0123456789abcdef"),
            "Username-Password-Authentication",
            Strategy::Auth0,
            ConnectionOptions {
                password_policy: PasswordPolicy::Fair,
                requires_username,
                ..ConnectionOptions::default()
            },
            UnixTime(0),
        )
    }

    pub(crate) fn hash() -> PasswordHash {
        PasswordHash {
            algorithm: PasswordAlgorithm::Argon2,
            encoded: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        }
    }

    fn create(body: serde_json::Value) -> CreateUser {
        match parse_body(body.to_string().as_bytes()) {
            Ok(create) => create,
            Err(e) => panic!("{body}: {e}"),
        }
    }

    const CONNECTION: &str = "Username-Password-Authentication";

    #[test]
    fn create_validation() {
        // (body, requires_username, None if valid or Some((errorCode, piece of message)))
        let cases = [
            (
                json!({"connection": CONNECTION, "email": "ann@example.com", "password": "Passw0rdOK"}),
                false,
                None,
            ),
            (
                json!({"connection": CONNECTION, "email": "ann@example.com", "password": "Passw0rdOK", "username": "ann"}),
                true,
                None,
            ),
            (
                json!({"email": "ann@example.com", "password": "Passw0rdOK"}),
                false,
                Some(("invalid_body", "Missing required property: connection")),
            ),
            (
                json!({"connection": "Other", "email": "ann@example.com", "password": "Passw0rdOK"}),
                false,
                Some(("inexistent_connection", "The connection does not exist.")),
            ),
            (
                json!({"connection": CONNECTION, "password": "Passw0rdOK"}),
                false,
                Some(("invalid_body", "Missing required property: email")),
            ),
            (
                json!({"connection": CONNECTION, "email": "ann", "password": "Passw0rdOK"}),
                false,
                Some(("invalid_body", "format email' on property email")),
            ),
            (
                json!({"connection": CONNECTION, "email": "ann@example.com"}),
                false,
                Some(("invalid_body", "Missing required property: password")),
            ),
            (
                json!({"connection": CONNECTION, "email": "ann@example.com", "password": "weak"}),
                false,
                Some(("auth0_password_strength_error", "Password is too weak")),
            ),
            (
                json!({"connection": CONNECTION, "email": "ann@example.com", "password": "Passw0rdOK"}),
                true,
                Some(("invalid_body", "Missing required property: username")),
            ),
            (
                json!({"connection": CONNECTION, "email": "ann@example.com", "password": "Passw0rdOK", "username": "ann"}),
                false,
                Some(("invalid_body", "without requires_username")),
            ),
            (
                json!({"connection": CONNECTION, "email": "ann@example.com", "password": "Passw0rdOK", "username": "a b"}),
                true,
                Some(("invalid_body", "on property username")),
            ),
            (
                json!({"connection": CONNECTION, "email": "ann@example.com", "password": "Passw0rdOK", "user_id": "abc"}),
                false,
                Some(("invalid_body", "on property user_id")),
            ),
            (
                json!({"connection": CONNECTION, "email": "ann@example.com", "password": "Passw0rdOK", "phone_number": "+15551234567"}),
                false,
                Some(("invalid_body", "on property phone_number")),
            ),
        ];
        for (body, requires_username, expected) in cases {
            let got = create(body.clone()).validate(&connection(requires_username));
            match (got, expected) {
                (Ok(_), None) => {}
                (Err(e), Some((code, piece))) => {
                    assert_eq!(e.error_code(), code, "{body}: {e}");
                    assert!(e.to_string().contains(piece), "{body}: {e}");
                }
                (got, expected) => panic!("{body}: {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn body_refusals_name_the_property() {
        for (body, piece) in [
            (
                json!({"connection": CONNECTION, "blocked": "no"}),
                "on property blocked",
            ),
            (
                json!({"connection": CONNECTION, "user_metadata": [1]}),
                "on property user_metadata",
            ),
            (
                json!({"connection": CONNECTION, "app_metadata": "x"}),
                "on property app_metadata",
            ),
            (
                json!({"connection": CONNECTION, "email": null}),
                "on property email",
            ),
            (
                json!({"connection": CONNECTION, "phone_verified": true}),
                "not allowed: phone_verified",
            ),
        ] {
            match parse_body::<CreateUser>(body.to_string().as_bytes()) {
                Err(ManagementError::InvalidBody(m)) => assert!(m.contains(piece), "{body}: {m}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_new_user_has_what_was_asked_and_auth0_defaults() {
        let valid = create(json!({
            "connection": CONNECTION,
            "email": " ann@example.com ",
            "password": "Passw0rdOK",
            "blocked": true,
            "given_name": "Ann",
            "user_metadata": {"color": "blue"},
            "app_metadata": {"plan": "full"},
        }))
        .validate(&connection(false))
        .unwrap();
        assert_eq!(valid.password(), "Passw0rdOK");
        assert!(valid.send_verification_email());
        let user = valid
            .into_user(
                UserId::from("auth0|0123456789abcdef01234567"),
                Some(hash()),
                UnixTime(7),
            )
            .unwrap();
        assert_eq!(user.email.as_deref(), Some("ann@example.com"));
        assert_eq!(user.name.as_deref(), Some("ann@example.com"));
        assert_eq!(user.nickname.as_deref(), Some("ann"));
        assert_eq!(user.given_name.as_deref(), Some("Ann"));
        assert!(user.blocked && !user.email_verified);
        assert_eq!(user.password, Some(hash()));
        assert_eq!(user.user_metadata["color"], json!("blue"));
        assert_eq!(user.app_metadata["plan"], json!("full"));
        assert_eq!(
            (user.created_at, user.updated_at),
            (UnixTime(7), UnixTime(7))
        );
        assert_eq!(user.identities[0].connection, CONNECTION);

        let verified = create(json!({
            "connection": CONNECTION, "email": "bo@example.com", "password": "Passw0rdOK",
            "email_verified": true, "name": "Bo", "nickname": "bobo",
        }))
        .validate(&connection(false))
        .unwrap();
        assert!(!verified.send_verification_email());
        let user = verified
            .into_user(UserId::from("auth0|1"), Some(hash()), UnixTime(7))
            .unwrap();
        assert_eq!(
            (user.name.as_deref(), user.nickname.as_deref()),
            (Some("Bo"), Some("bobo"))
        );
        assert!(user.email_verified);

        let unhashed = create(
            json!({"connection": CONNECTION, "email": "c@example.com", "password": "Passw0rdOK"}),
        )
        .validate(&connection(false))
        .unwrap()
        .into_user(UserId::from("auth0|2"), None, UnixTime(7));
        assert!(matches!(unhashed, Err(ManagementError::InvalidBody(_))));
    }
}
