//! A user as the Management API returns it, and Auth0's `fields` / `include_fields`
//! projection of it.

use serde_json::{Map, Value};

use crate::clock::auth0_time;
use crate::model::User;

/// `user` as Auth0's Management API returns it. What the user does not have is left out, as
/// Auth0 does: `username`, the profile fields, empty metadata, `blocked` unless true, the
/// login fields before the first login. Times are `2026-11-22T15:00:00.000Z`. Identities carry
/// no upstream tokens, and the password hash is never part of it. What another identity
/// provider said beyond the root attributes is at the root too, never in place of Sigil's
/// own fields.
pub fn user_json(user: &User) -> Value {
    user_json_showing(user, false)
}

/// [`user_json`], with the identities' upstream tokens (`access_token`, `expires_in`,
/// `refresh_token`) when `idp_tokens`: only for a caller whose token has
/// `read:user_idp_tokens`, never a user's own.
pub fn user_json_showing(user: &User, idp_tokens: bool) -> Value {
    let mut json = Map::new();
    let mut put = |name: &str, value: Value| {
        if !value.is_null() {
            json.insert(name.to_owned(), value);
        }
    };
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    let time = |t: Option<crate::UnixTime>| t.map_or(Value::Null, |t| Value::String(auth0_time(t)));
    put("user_id", Value::String(user.user_id.0.clone()));
    put("email", text(&user.email));
    put("email_verified", Value::Bool(user.email_verified));
    put("username", text(&user.username));
    if user.phone_number.is_some() {
        put("phone_number", text(&user.phone_number));
        put("phone_verified", Value::Bool(user.phone_verified));
    }
    put("name", text(&user.name));
    put("nickname", text(&user.nickname));
    put("picture", text(&user.picture));
    put("given_name", text(&user.given_name));
    put("family_name", text(&user.family_name));
    put("created_at", time(Some(user.created_at)));
    put("updated_at", time(Some(user.updated_at)));
    put("identities", identities_json(user));
    if !user.user_metadata.is_empty() {
        put("user_metadata", Value::Object(user.user_metadata.clone()));
    }
    if !user.app_metadata.is_empty() {
        put("app_metadata", Value::Object(user.app_metadata.clone()));
    }
    if user.blocked {
        put("blocked", Value::Bool(true));
    }
    // Auth0's: the MFA providers the user is enrolled with (Guardian covers every factor).
    if let Some(at) = user.mfa_enrolled_at {
        put("multifactor", serde_json::json!(["guardian"]));
        put("multifactor_last_modified", time(Some(at)));
    }
    put("last_ip", text(&user.last_ip));
    put("last_login", time(user.last_login));
    put("last_password_reset", time(user.last_password_reset));
    put("logins_count", Value::from(user.logins_count));
    if idp_tokens {
        json.insert(
            "identities".to_owned(),
            Value::Array(user.identities.iter().map(identity_with_tokens).collect()),
        );
    }
    for (name, value) in &user.idp_attributes {
        json.entry(name.clone()).or_insert_with(|| value.clone());
    }
    Value::Object(json)
}

fn identity_with_tokens(identity: &crate::model::Identity) -> Value {
    let mut json = identity_json(identity);
    if let Value::Object(map) = &mut json {
        if let Some(token) = &identity.access_token {
            map.insert(
                "access_token".to_owned(),
                Value::String(token.expose().to_owned()),
            );
        }
        if let Some(expires_in) = identity.expires_in {
            map.insert("expires_in".to_owned(), Value::from(expires_in));
        }
        if let Some(token) = &identity.refresh_token {
            map.insert(
                "refresh_token".to_owned(),
                Value::String(token.expose().to_owned()),
            );
        }
    }
    json
}

/// A user's identities as the linking operations answer them: an array of [`identity_json`].
pub fn identities_json(user: &User) -> Value {
    Value::Array(user.identities.iter().map(identity_json).collect())
}

/// One identity: `connection`, `user_id`, `provider`, `isSocial`, and `profileData` for a
/// linked secondary identity. Written out field by field so that no token can slip in.
fn identity_json(identity: &crate::model::Identity) -> Value {
    let mut json = Map::new();
    json.insert(
        "connection".to_owned(),
        Value::String(identity.connection.clone()),
    );
    // GitHub's ids are numbers, and Auth0 answers them as JSON numbers (SDKs parse them so).
    let user_id = match identity.user_id.parse::<u64>() {
        Ok(n) if identity.provider == "github" => Value::from(n),
        _ => Value::String(identity.user_id.clone()),
    };
    json.insert("user_id".to_owned(), user_id);
    json.insert(
        "provider".to_owned(),
        Value::String(identity.provider.clone()),
    );
    json.insert("isSocial".to_owned(), Value::Bool(identity.is_social));
    if let Some(profile) = &identity.profile_data {
        json.insert("profileData".to_owned(), Value::Object(profile.clone()));
    }
    Value::Object(json)
}

/// Auth0's projection: `fields` is a comma-separated list of top-level properties;
/// `include_fields` (default true) keeps only those, false keeps all but those. Names the
/// value does not have are simply absent; an empty or missing `fields` keeps everything.
/// Values that are not objects are returned as they are.
pub fn project(value: Value, fields: Option<&str>, include_fields: Option<bool>) -> Value {
    let names: Vec<&str> = fields
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    if names.is_empty() {
        return value;
    }
    let include = include_fields.unwrap_or(true);
    match value {
        Value::Object(mut object) => {
            object.retain(|key, _| names.contains(&key.as_str()) == include);
            Value::Object(object)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::UnixTime;
    use crate::ids::{ConnectionId, UserId};
    use crate::model::{Connection, ConnectionOptions, NewUser, Strategy};
    use crate::password::{PasswordAlgorithm, PasswordHash};
    use crate::secret::Token;

    fn connection() -> Connection {
        Connection::new(
            ConnectionId::from("con_0123456789abcdef"),
            "Username-Password-Authentication",
            Strategy::Auth0,
            ConnectionOptions::default(),
            UnixTime(0),
        )
    }

    fn user() -> User {
        User::new_database(
            UserId::from("auth0|0123456789abcdef01234567"),
            &connection(),
            NewUser {
                email: "ann@example.com".into(),
                email_verified: false,
                username: None,
                password: Some(PasswordHash {
                    algorithm: PasswordAlgorithm::Argon2,
                    encoded: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                }),
            },
            UnixTime(1_795_359_600),
        )
    }

    #[test]
    fn a_new_user_as_auth0_returns_it() {
        assert_eq!(
            user_json(&user()),
            json!({
                "user_id": "auth0|0123456789abcdef01234567",
                "email": "ann@example.com",
                "email_verified": false,
                "name": "ann@example.com",
                "nickname": "ann",
                "created_at": "2026-11-22T15:00:00.000Z",
                "updated_at": "2026-11-22T15:00:00.000Z",
                "identities": [{
                    "connection": "Username-Password-Authentication",
                    "user_id": "0123456789abcdef01234567",
                    "provider": "auth0",
                    "isSocial": false,
                }],
                "logins_count": 0,
            })
        );
    }

    #[test]
    fn everything_a_user_has_and_nothing_secret() {
        let mut user = user();
        user.username = Some("ann".into());
        user.given_name = Some("Ann".into());
        user.family_name = Some("Lee".into());
        user.picture = Some("https://example.com/ann.png".into());
        user.user_metadata.insert("color".into(), json!("blue"));
        user.app_metadata.insert("plan".into(), json!("full"));
        user.blocked = true;
        user.last_ip = Some("192.0.2.1".into());
        user.last_login = Some(UnixTime(1_795_363_200));
        user.last_password_reset = Some(UnixTime(1_795_366_800));
        user.logins_count = 3;
        user.identities[0].access_token = Some(Token::new("upstream-access".to_owned()));
        user.identities[0].refresh_token = Some(Token::new("upstream-refresh".to_owned()));
        let json = user_json(&user);
        for (field, value) in [
            ("username", json!("ann")),
            ("given_name", json!("Ann")),
            ("family_name", json!("Lee")),
            ("picture", json!("https://example.com/ann.png")),
            ("user_metadata", json!({"color": "blue"})),
            ("app_metadata", json!({"plan": "full"})),
            ("blocked", json!(true)),
            ("last_ip", json!("192.0.2.1")),
            ("last_login", json!("2026-11-22T16:00:00.000Z")),
            ("last_password_reset", json!("2026-11-22T17:00:00.000Z")),
            ("logins_count", json!(3)),
        ] {
            assert_eq!(json[field], value, "{field}");
        }
        let text = json.to_string();
        for secret in ["argon2", "password\"", "upstream-", "access_token"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn projection_as_auth0_does_it() {
        let value = json!({"user_id": "u", "email": "e", "name": "n"});
        // (fields, include_fields, expected)
        let cases = [
            (
                None,
                None,
                json!({"user_id": "u", "email": "e", "name": "n"}),
            ),
            (
                Some(""),
                Some(false),
                json!({"user_id": "u", "email": "e", "name": "n"}),
            ),
            (Some("email,name"), None, json!({"email": "e", "name": "n"})),
            (
                Some("email, name"),
                Some(true),
                json!({"email": "e", "name": "n"}),
            ),
            (Some("email,unknown"), None, json!({"email": "e"})),
            (Some("unknown"), None, json!({})),
            (
                Some("email"),
                Some(false),
                json!({"user_id": "u", "name": "n"}),
            ),
            (
                Some("unknown"),
                Some(false),
                json!({"user_id": "u", "email": "e", "name": "n"}),
            ),
        ];
        for (fields, include, expected) in cases {
            assert_eq!(
                project(value.clone(), fields, include),
                expected,
                "{fields:?} {include:?}"
            );
        }
    }
}
