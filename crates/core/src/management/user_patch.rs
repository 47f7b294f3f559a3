//! `PATCH /api/v2/users/{id}`: the body ([`UserPatch`]), its validation against the user's
//! connection ([`ValidPatch`]), and [`apply`], with Auth0's rules: plain properties replaced
//! (`null` unsets those that may be unset), `user_metadata`/`app_metadata` merged one level
//! deep (a key set to `null` removed, nested objects replaced whole, `{}` clearing them).

use serde::Deserialize;

use super::ManagementError;
use super::body::{Body, PlainPassword, check_email, check_username, nullable, present};
use crate::UnixTime;
use crate::model::user::normalized;
use crate::model::{Connection, JsonObject, Strategy, User, check_metadata};
use crate::password::PasswordHash;

/// The body of `PATCH /api/v2/users/{id}`, with Auth0's property names. `Option<Option<_>>`
/// properties tell absent (`None`) from `null` (`Some(None)`). Read it with
/// [`parse_body`](super::parse_body).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Block or unblock.
    #[serde(default, deserialize_with = "present")]
    pub blocked: Option<bool>,
    /// New email address (`null` is refused: database users have one).
    #[serde(default, deserialize_with = "nullable")]
    pub email: Option<Option<String>>,
    /// Whether the address is proven.
    #[serde(default, deserialize_with = "present")]
    pub email_verified: Option<bool>,
    /// New username (`null` unsets it where the connection does not require one).
    #[serde(default, deserialize_with = "nullable")]
    pub username: Option<Option<String>>,
    /// New password (`null` is refused).
    #[serde(default, deserialize_with = "nullable")]
    pub password: Option<Option<PlainPassword>>,
    /// Full name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: Option<Option<String>>,
    /// Given name.
    #[serde(default, deserialize_with = "nullable")]
    pub given_name: Option<Option<String>>,
    /// Family name.
    #[serde(default, deserialize_with = "nullable")]
    pub family_name: Option<Option<String>>,
    /// Nickname.
    #[serde(default, deserialize_with = "nullable")]
    pub nickname: Option<Option<String>>,
    /// Picture URL.
    #[serde(default, deserialize_with = "nullable")]
    pub picture: Option<Option<String>>,
    /// Merged into the user's (`null` or `{}` clears it).
    #[serde(default, deserialize_with = "nullable")]
    pub user_metadata: Option<Option<JsonObject>>,
    /// Merged into the user's (`null` or `{}` clears it).
    #[serde(default, deserialize_with = "nullable")]
    pub app_metadata: Option<Option<JsonObject>>,
    /// The identity's connection (Auth0 uses it to pick a secondary identity; it must be the
    /// user's own here).
    #[serde(default, deserialize_with = "present")]
    pub connection: Option<String>,
    /// The application whose email templates apply (accepted, not used).
    #[serde(default, deserialize_with = "present")]
    pub client_id: Option<String>,
    /// Whether to send a verification mail for a new email address.
    #[serde(default, deserialize_with = "present")]
    pub verify_email: Option<bool>,
    /// Whether the password is checked against the policy: `false` is refused.
    #[serde(default, deserialize_with = "present")]
    pub verify_password: Option<bool>,
    /// SMS connections' phone number: refused, Sigil has none.
    #[serde(default)]
    pub phone_number: Option<serde_json::Value>,
}

impl Body for UserPatch {
    const FIELDS: &'static [&'static str] = &[
        "blocked",
        "email",
        "email_verified",
        "username",
        "password",
        "name",
        "given_name",
        "family_name",
        "nickname",
        "picture",
        "user_metadata",
        "app_metadata",
        "connection",
        "client_id",
        "verify_email",
        "verify_password",
        "phone_number",
    ];
}

/// A patch that passed validation against the user and their connection. Hash
/// [`ValidPatch::password`] if there is one, then [`apply`] it.
#[derive(Clone, Debug)]
pub struct ValidPatch {
    patch: UserPatch,
    email: Option<String>,
    username: Option<Option<String>>,
    password: Option<PlainPassword>,
    send_verification_email: bool,
}

impl UserPatch {
    /// Checks the patch against `user` and `connection` (the user's): at least one
    /// property; no phone number; `connection`, if given, the user's own; a new email an
    /// address; a username set only where the connection requires one, and unset only where
    /// it does not; a password only for database users, meeting the connection's policy.
    pub fn validate(
        self,
        user: &User,
        connection: &Connection,
    ) -> Result<ValidPatch, ManagementError> {
        let given = [
            self.blocked.is_some(),
            self.email.is_some(),
            self.email_verified.is_some(),
            self.username.is_some(),
            self.password.is_some(),
            self.name.is_some(),
            self.given_name.is_some(),
            self.family_name.is_some(),
            self.nickname.is_some(),
            self.picture.is_some(),
            self.user_metadata.is_some(),
            self.app_metadata.is_some(),
            self.connection.is_some(),
            self.client_id.is_some(),
            self.verify_email.is_some(),
            self.verify_password.is_some(),
            self.phone_number.is_some(),
        ];
        if !given.contains(&true) {
            return Err(ManagementError::InvalidBody(
                "Payload validation error: 'Too few properties defined (0), minimum 1'.".into(),
            ));
        }
        if self.phone_number.is_some() {
            return Err(ManagementError::body(
                "phone_number",
                "Phone numbers are not supported; Sigil has no SMS connections",
            ));
        }
        if let Some(name) = &self.connection
            && *name != connection.name
        {
            return Err(ManagementError::body(
                "connection",
                format!("The user has no identity in connection {name}"),
            ));
        }
        let email = match &self.email {
            None => None,
            Some(None) => {
                return Err(ManagementError::body(
                    "email",
                    "The email of a database user cannot be removed",
                ));
            }
            Some(Some(email)) => Some(check_email(email)?),
        };
        let requires_username = connection.options.requires_username;
        let username = match &self.username {
            None => None,
            Some(Some(_)) if !requires_username => {
                return Err(ManagementError::InvalidBody(
                    "Cannot set username for connection without requires_username".into(),
                ));
            }
            Some(Some(username)) => Some(Some(check_username(username)?)),
            Some(None) if requires_username => {
                return Err(ManagementError::body(
                    "username",
                    format!("Connection {} requires a username", connection.name),
                ));
            }
            Some(None) => Some(None),
        };
        if self.verify_password == Some(false) {
            return Err(ManagementError::body(
                "verify_password",
                "Skipping the password policy is not supported",
            ));
        }
        let password = match &self.password {
            None => None,
            Some(None) => {
                return Err(ManagementError::body(
                    "password",
                    "The password of a database user cannot be removed",
                ));
            }
            Some(Some(_)) if connection.strategy != Strategy::Auth0 => {
                return Err(ManagementError::body(
                    "password",
                    format!("Users of {} have no password here", connection.name),
                ));
            }
            Some(Some(password)) => {
                connection
                    .options
                    .check_password(password.expose())
                    .map_err(ManagementError::password)?;
                Some(password.clone())
            }
        };
        let email_changes = email
            .as_deref()
            .is_some_and(|new| user.email.as_deref().map(normalized) != Some(normalized(new)));
        // A new address is unproven unless the caller says otherwise, and is sent a
        // verification mail unless the caller says not to.
        let verified_after = self
            .email_verified
            .unwrap_or(!email_changes && user.email_verified);
        let send_verification_email = email_changes && self.verify_email.unwrap_or(!verified_after);
        Ok(ValidPatch {
            email,
            username,
            password,
            send_verification_email,
            patch: self,
        })
    }
}

impl ValidPatch {
    /// The new password to hash before [`apply`], if the patch sets one.
    pub fn password(&self) -> Option<&str> {
        self.password.as_ref().map(PlainPassword::expose)
    }

    /// Whether a verification mail should go to the new address.
    pub fn send_verification_email(&self) -> bool {
        self.send_verification_email
    }
}

/// Applies `patch` to `user` at `now`: plain properties replaced or unset, metadata merged one
/// level deep, `updated_at` = `now`; a new password (`new_hash`, the hash of
/// [`ValidPatch::password`]) sets `last_password_reset`. A new email address that the patch
/// does not mark verified is unverified. A password asked for without its hash (`None`: it
/// could not be hashed) is a 400, and leaves `user` as it was.
pub fn apply(
    user: &mut User,
    patch: ValidPatch,
    new_hash: Option<PasswordHash>,
    now: UnixTime,
) -> Result<(), ManagementError> {
    let new_password = match (&patch.password, new_hash) {
        (Some(_), Some(hash)) => Some(hash),
        (Some(_), None) => {
            return Err(ManagementError::body(
                "password",
                "The password cannot be used",
            ));
        }
        // A hash without a password asked for is ignored: only the patch changes passwords.
        (None, _) => None,
    };
    let ValidPatch {
        patch,
        email,
        username,
        ..
    } = patch;
    // The merged metadata is checked before anything changes, so a refused patch leaves the
    // user as it was.
    let merged = |field: &'static str, stored: &JsonObject, changes: Option<Option<JsonObject>>| {
        changes
            .map(|changes| {
                let mut metadata = stored.clone();
                merge_metadata(&mut metadata, changes);
                check_metadata(field, &metadata).map(|()| metadata)
            })
            .transpose()
    };
    let user_metadata = merged("user_metadata", &user.user_metadata, patch.user_metadata)?;
    let app_metadata = merged("app_metadata", &user.app_metadata, patch.app_metadata)?;
    if let Some(email) = email {
        if user.email.as_deref().map(normalized) != Some(normalized(&email)) {
            user.email_verified = false;
        }
        user.email = Some(email);
    }
    if let Some(verified) = patch.email_verified {
        user.email_verified = verified;
    }
    if let Some(username) = username {
        user.username = username;
    }
    if let Some(blocked) = patch.blocked {
        user.blocked = blocked;
    }
    for (field, value) in [
        (&mut user.name, patch.name),
        (&mut user.given_name, patch.given_name),
        (&mut user.family_name, patch.family_name),
        (&mut user.nickname, patch.nickname),
        (&mut user.picture, patch.picture),
    ] {
        if let Some(value) = value {
            *field = value;
        }
    }
    if let Some(metadata) = user_metadata {
        user.user_metadata = metadata;
    }
    if let Some(metadata) = app_metadata {
        user.app_metadata = metadata;
    }
    if let Some(hash) = new_password {
        user.password = Some(hash);
        user.last_password_reset = Some(now);
    }
    user.updated_at = now;
    Ok(())
}

/// Auth0's metadata merge: `None` (`null`) or an empty object clears; otherwise each
/// top-level key replaces the stored one whole, and a key set to `null` is removed.
fn merge_metadata(stored: &mut JsonObject, changes: Option<JsonObject>) {
    match changes {
        Some(changes) if !changes.is_empty() => crate::model::user::merge_keys(stored, changes),
        _ => stored.clear(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::ids::UserId;
    use crate::management::parse_body;
    use crate::management::user_create::tests::{connection, hash};
    use crate::model::NewUser;

    fn user(requires_username: bool) -> User {
        let mut user = User::new_database(
            UserId::from("auth0|0123456789abcdef01234567"),
            &connection(requires_username),
            NewUser {
                email: "ann@example.com".into(),
                email_verified: true,
                username: requires_username.then(|| "ann".to_owned()),
                password: Some(hash()),
            },
            UnixTime(100),
        );
        user.given_name = Some("Ann".into());
        user.user_metadata = json!({"color": "blue", "addresses": {"home": "1 Main St"}, "n": 1})
            .as_object()
            .cloned()
            .unwrap();
        user.app_metadata = json!({"plan": "full"}).as_object().cloned().unwrap();
        user
    }

    fn patch(body: &Value) -> UserPatch {
        match parse_body(body.to_string().as_bytes()) {
            Ok(patch) => patch,
            Err(e) => panic!("{body}: {e}"),
        }
    }

    fn patched(body: Value) -> User {
        let mut user = user(false);
        let valid = patch(&body).validate(&user, &connection(false)).unwrap();
        let new_hash = valid.password().map(|_| PasswordHash {
            encoded: "new".into(),
            ..hash()
        });
        apply(&mut user, valid, new_hash, UnixTime(200)).unwrap();
        user
    }

    #[test]
    fn metadata_merges_one_level_deep() {
        // (user_metadata patch, expected user_metadata)
        let cases = [
            (
                json!({"addresses": {"work": "2 Mill Rd"}}),
                json!({"color": "blue", "addresses": {"work": "2 Mill Rd"}, "n": 1}),
            ),
            (
                json!({"color": null, "hobby": "surfing"}),
                json!({"addresses": {"home": "1 Main St"}, "n": 1, "hobby": "surfing"}),
            ),
            (
                json!({"absent": null}),
                json!({"color": "blue", "addresses": {"home": "1 Main St"}, "n": 1}),
            ),
            (json!({}), json!({})),
            (Value::Null, json!({})),
        ];
        for (changes, expected) in cases {
            let user = patched(json!({"user_metadata": changes.clone()}));
            assert_eq!(Value::Object(user.user_metadata), expected, "{changes}");
            assert_eq!(user.app_metadata["plan"], json!("full"), "{changes}");
            assert_eq!(user.updated_at, UnixTime(200));
        }
        let user = patched(json!({"app_metadata": {"plan": "free", "roles": ["a"]}}));
        assert_eq!(
            Value::Object(user.app_metadata),
            json!({"plan": "free", "roles": ["a"]})
        );
    }

    #[test]
    fn plain_properties_are_replaced_or_unset() {
        let user = patched(json!({
            "given_name": null, "family_name": "Lee", "name": "Ann Lee", "nickname": null,
            "picture": "https://example.com/a.png", "blocked": true,
        }));
        assert_eq!(user.given_name, None);
        assert_eq!(user.family_name.as_deref(), Some("Lee"));
        assert_eq!(user.name.as_deref(), Some("Ann Lee"));
        assert_eq!(user.nickname, None);
        assert_eq!(user.picture.as_deref(), Some("https://example.com/a.png"));
        assert!(user.blocked);
        assert_eq!(user.password, Some(hash()));
        assert_eq!(user.last_password_reset, None);
        assert!(user.email_verified);
    }

    #[test]
    fn a_new_password_is_the_given_hash_and_resets_the_clock() {
        let user = patched(json!({"password": "Passw0rdNEW"}));
        assert_eq!(user.password.map(|h| h.encoded), Some("new".to_owned()));
        assert_eq!(user.last_password_reset, Some(UnixTime(200)));

        let mut user = self::user(false);
        let before = user.clone();
        let valid = patch(&json!({"password": "Passw0rdNEW", "name": "X"}))
            .validate(&user, &connection(false))
            .unwrap();
        assert_eq!(valid.password(), Some("Passw0rdNEW"));
        assert!(apply(&mut user, valid, None, UnixTime(200)).is_err());
        assert_eq!(user, before, "a failed apply changes nothing");
    }

    #[test]
    fn a_new_email_is_unverified_and_sent_a_verification_mail() {
        // (patch, email_verified after, verification mail)
        let cases = [
            (json!({"email": "bo@example.com"}), false, true),
            (json!({"email": "ANN@example.com"}), true, false),
            (
                json!({"email": "bo@example.com", "email_verified": true}),
                true,
                false,
            ),
            (
                json!({"email": "bo@example.com", "verify_email": false}),
                false,
                false,
            ),
            (json!({"email_verified": false}), false, false),
        ];
        for (body, verified, mail) in cases {
            let mut user = user(false);
            let valid = patch(&body).validate(&user, &connection(false)).unwrap();
            assert_eq!(valid.send_verification_email(), mail, "{body}");
            apply(&mut user, valid, None, UnixTime(200)).unwrap();
            assert_eq!(user.email_verified, verified, "{body}");
        }
    }

    #[test]
    fn patch_validation() {
        // (body, requires_username, None if valid or Some((errorCode, piece of message)))
        let cases = [
            (json!({"name": "x"}), false, None),
            (json!({"username": "bo"}), true, None),
            (json!({"username": null}), false, None),
            (
                json!({"connection": "Username-Password-Authentication", "email_verified": true}),
                false,
                None,
            ),
            (
                json!({"client_id": "abc", "email": "bo@example.com"}),
                false,
                None,
            ),
            (
                json!({}),
                false,
                Some(("invalid_body", "Too few properties")),
            ),
            (
                json!({"email": null}),
                false,
                Some(("invalid_body", "on property email")),
            ),
            (
                json!({"email": "bo"}),
                false,
                Some(("invalid_body", "format email")),
            ),
            (
                json!({"username": "bo"}),
                false,
                Some(("invalid_body", "without requires_username")),
            ),
            (
                json!({"username": null}),
                true,
                Some(("invalid_body", "requires a username")),
            ),
            (
                json!({"password": null}),
                false,
                Some(("invalid_body", "on property password")),
            ),
            (
                json!({"password": "weak"}),
                false,
                Some(("auth0_password_strength_error", "too weak")),
            ),
            (
                json!({"password": "Passw0rdOK", "verify_password": false}),
                false,
                Some(("invalid_body", "verify_password")),
            ),
            (
                json!({"connection": "Other"}),
                false,
                Some(("invalid_body", "no identity in connection Other")),
            ),
            (
                json!({"phone_number": "+15551234567"}),
                false,
                Some(("invalid_body", "on property phone_number")),
            ),
        ];
        for (body, requires_username, expected) in cases {
            let got =
                patch(&body).validate(&user(requires_username), &connection(requires_username));
            match (got, expected) {
                (Ok(_), None) => {}
                (Err(e), Some((code, piece))) => {
                    assert_eq!(e.error_code(), code, "{body}: {e}");
                    assert!(e.to_string().contains(piece), "{body}: {e}");
                }
                (got, expected) => panic!("{body}: {got:?}, expected {expected:?}"),
            }
        }
        for (body, piece) in [
            (json!({"blocked": null}), "on property blocked"),
            (json!({"user_metadata": "x"}), "on property user_metadata"),
            (
                json!({"verify_phone_number": true}),
                "not allowed: verify_phone_number",
            ),
        ] {
            match parse_body::<UserPatch>(body.to_string().as_bytes()) {
                Err(ManagementError::InvalidBody(m)) => assert!(m.contains(piece), "{body}: {m}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
