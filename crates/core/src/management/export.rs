//! Users written back in Auth0's bulk import format (`POST /jobs/users-exports`, `sigil users
//! export`): what [`super::import`] reads, without password hashes, which never leave Sigil.
//! `fields` chooses and renames the members, as Auth0's export job does.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::ManagementError;
use crate::model::User;

/// The members an export writes, in this order (the import format's, less the hashes).
pub const EXPORT_FIELDS: &[&str] = &[
    "user_id",
    "email",
    "email_verified",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "blocked",
    "user_metadata",
    "app_metadata",
];

/// One of Auth0's export `fields`: a member to write, optionally under another name.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExportField {
    /// The member.
    pub name: String,
    /// The name to write it under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_as: Option<String>,
}

/// `fields` checked: each names a member Sigil exports.
pub fn check_fields(fields: &[ExportField]) -> Result<(), ManagementError> {
    if let Some(unknown) = fields
        .iter()
        .find(|f| !EXPORT_FIELDS.contains(&f.name.as_str()))
    {
        return Err(ManagementError::body(
            "fields",
            format!(
                "{:?} cannot be exported; the fields are {}",
                unknown.name,
                EXPORT_FIELDS.join(", ")
            ),
        ));
    }
    Ok(())
}

/// `user` as an entry of the import format, with only `fields` when some are given.
pub fn export_entry(user: &User, fields: Option<&[ExportField]>) -> Value {
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    let value = |name: &str| -> Value {
        match name {
            "user_id" => Value::String(user.user_id.0.clone()),
            "email" => text(&user.email),
            "email_verified" => Value::Bool(user.email_verified),
            "username" => text(&user.username),
            "given_name" => text(&user.given_name),
            "family_name" => text(&user.family_name),
            "name" => text(&user.name),
            "nickname" => text(&user.nickname),
            "picture" => text(&user.picture),
            "blocked" => Value::Bool(user.blocked),
            "user_metadata" => Value::Object(user.user_metadata.clone()),
            "app_metadata" => Value::Object(user.app_metadata.clone()),
            _ => Value::Null,
        }
    };
    let mut entry = Map::new();
    match fields {
        Some(fields) => {
            for field in fields {
                let name = field.export_as.as_ref().unwrap_or(&field.name);
                entry.insert(name.clone(), value(&field.name));
            }
        }
        None => {
            for name in EXPORT_FIELDS {
                let v = value(name);
                let empty = v.is_null() || v.as_object().is_some_and(Map::is_empty);
                if !empty {
                    entry.insert((*name).to_owned(), v);
                }
            }
        }
    }
    Value::Object(entry)
}
