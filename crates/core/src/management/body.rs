//! Reading Management API JSON bodies: [`parse_body`] refuses what is not a JSON object,
//! unknown properties, ill-typed values and repeated keys, each as a 400 `invalid_body` naming
//! the property; plus the small value checks (emails, usernames) the user bodies share.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use zeroize::Zeroizing;

use super::ManagementError;

/// A body type: its properties, as Auth0 names them. Every property is optional for serde
/// (required ones are checked after parsing), so each can be checked on its own.
pub trait Body: DeserializeOwned {
    /// The properties the body may have.
    const FIELDS: &'static [&'static str];
}

/// Parses a JSON body into `T`. Refusals (400 `invalid_body`): not JSON, not an object, a
/// property `T` does not have, a value of the wrong type (naming the property), a property
/// given twice.
pub fn parse_body<T: Body>(body: &[u8]) -> Result<T, ManagementError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ManagementError::InvalidBody(format!("Payload validation error: 'Invalid JSON: {e}'."))
    })?;
    let Value::Object(object) = value else {
        return Err(ManagementError::InvalidBody(format!(
            "Payload validation error: 'Expected type object but found type {}'.",
            type_name(&value)
        )));
    };
    if let Some(unknown) = object.keys().find(|k| !T::FIELDS.contains(&k.as_str())) {
        return Err(ManagementError::InvalidBody(format!(
            "Payload validation error: 'Additional properties not allowed: {unknown}'."
        )));
    }
    // Each property alone, so that a type error names the property it is about.
    for (key, value) in &object {
        let single = Value::Object([(key.clone(), value.clone())].into_iter().collect());
        if let Err(e) = serde_json::from_value::<T>(single) {
            return Err(ManagementError::body(key, e));
        }
    }
    // The bytes again, not the object: serde refuses a property given twice, which the
    // object above silently kept the last of.
    serde_json::from_slice(body)
        .map_err(|e| ManagementError::InvalidBody(format!("Payload validation error: '{e}'.")))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A password as the caller sent it: zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainPassword(Zeroizing<String>);

impl PlainPassword {
    /// The password, to check against the policy and hash.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for PlainPassword {
    fn from(value: String) -> Self {
        PlainPassword(Zeroizing::new(value))
    }
}

impl fmt::Debug for PlainPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainPassword([redacted])")
    }
}

impl<'de> Deserialize<'de> for PlainPassword {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(PlainPassword::from)
    }
}

/// For `#[serde(default, deserialize_with = "nullable")]`: absent is `None`, `null` is
/// `Some(None)` (unset the property), a value is `Some(Some(v))`.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// For `#[serde(default, deserialize_with = "present")]`: absent is `None`, `null` is refused
/// as the wrong type (a property that cannot be unset).
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// `email`, trimmed, if it is an address Sigil takes
/// ([`check_email`](crate::model::user::check_email)): Auth0's format message for a malformed
/// one, the reason for a lookalike.
pub(crate) fn check_email(email: &str) -> Result<String, ManagementError> {
    use crate::model::user::IdentifierRefusal;
    match crate::model::user::check_email(email) {
        Ok(email) => Ok(email.to_owned()),
        Err(IdentifierRefusal::NotAnEmail) => Err(ManagementError::body(
            "email",
            "Object didn't pass validation for format email",
        )),
        Err(lookalike) => Err(ManagementError::body("email", lookalike)),
    }
}

/// Longest username accepted (Auth0's largest configurable maximum).
pub const USERNAME_MAX: usize = 128;

/// `username` if it is 1 to [`USERNAME_MAX`] characters without spaces.
pub(crate) fn check_username(username: &str) -> Result<String, ManagementError> {
    let length = username.chars().count();
    if length == 0 || length > USERNAME_MAX {
        return Err(ManagementError::body(
            "username",
            format!("String length must be between 1 and {USERNAME_MAX}"),
        ));
    }
    if username.chars().any(char::is_whitespace) {
        return Err(ManagementError::body(
            "username",
            "Username must not contain spaces",
        ));
    }
    crate::model::user::check_identifier(username)
        .map_err(|refusal| ManagementError::body("username", refusal))?;
    Ok(username.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[serde(default, deserialize_with = "present")]
        flag: Option<bool>,
        #[serde(default, deserialize_with = "nullable")]
        name: Option<Option<String>>,
    }

    impl Body for Sample {
        const FIELDS: &'static [&'static str] = &["flag", "name"];
    }

    #[test]
    fn bodies_are_refused_naming_the_property() {
        // (body, Ok(parsed) or Err(message))
        let cases: [(&str, Result<Sample, &str>); 9] = [
            (
                "{}",
                Ok(Sample {
                    flag: None,
                    name: None,
                }),
            ),
            (
                r#"{"flag":true,"name":null}"#,
                Ok(Sample {
                    flag: Some(true),
                    name: Some(None),
                }),
            ),
            (
                r#"{"name":"Ann"}"#,
                Ok(Sample {
                    flag: None,
                    name: Some(Some("Ann".into())),
                }),
            ),
            (
                r#"{"other":1}"#,
                Err("Payload validation error: 'Additional properties not allowed: other'."),
            ),
            (
                r#"{"flag":"yes"}"#,
                Err(
                    "Payload validation error: 'invalid type: string \"yes\", expected a boolean' on property flag.",
                ),
            ),
            (
                r#"{"flag":null}"#,
                Err(
                    "Payload validation error: 'invalid type: null, expected a boolean' on property flag.",
                ),
            ),
            (
                "[1]",
                Err("Payload validation error: 'Expected type object but found type array'."),
            ),
            ("{", Err("Payload validation error: 'Invalid JSON")),
            (
                r#"{"flag":true,"flag":false}"#,
                Err("Payload validation error: 'duplicate field `flag`"),
            ),
        ];
        for (body, expected) in cases {
            let got = parse_body::<Sample>(body.as_bytes());
            match (got, expected) {
                (Ok(got), Ok(expected)) => assert_eq!(got, expected, "{body}"),
                (Err(ManagementError::InvalidBody(got)), Err(expected)) => {
                    assert!(got.starts_with(expected), "{body}: {got}");
                }
                (got, expected) => panic!("{body}: {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn emails_and_usernames() {
        for (email, ok) in [
            ("ann@example.com", true),
            ("  ann@example.com ", true),
            ("ann", false),
            ("@example.com", false),
            ("ann@", false),
            ("a@b@c", false),
            ("ann lee@example.com", false),
        ] {
            assert_eq!(check_email(email).is_ok(), ok, "{email}");
        }
        for (username, ok) in [("ann", true), ("", false), ("a b", false)] {
            assert_eq!(check_username(username).is_ok(), ok, "{username}");
        }
        assert!(check_username(&"a".repeat(USERNAME_MAX + 1)).is_err());
    }

    #[test]
    fn passwords_do_not_print() {
        let password = PlainPassword::from("Secret123".to_owned());
        assert_eq!(format!("{password:?}"), "PlainPassword([redacted])");
    }
}
