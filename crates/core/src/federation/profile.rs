//! An upstream account as a Sigil user: its `user_id` in Auth0's forms, the root attributes
//! Auth0 normalises (`name`, `nickname`, `picture`, …), the upstream's other attributes, and an
//! email believed verified only when the source that gave the address says so.

use serde_json::{Map, Value};

use super::id_token::UpstreamClaims;
use crate::ids::UserId;

/// The most an upstream's other attributes may take, as JSON: a profile larger than this is
/// refused rather than stored.
pub const MAX_ATTRIBUTES: usize = 16 * 1024;

/// Claims that say something about the token, not the user, or that are Sigil's own fields:
/// never kept among the upstream's attributes.
const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "nonce",
    "azp",
    "at_hash",
    "c_hash",
    "s_hash",
    "auth_time",
    "acr",
    "amr",
    "sid",
    "typ",
    "cnf",
    "user_id",
    "identities",
    "app_metadata",
    "user_metadata",
    "blocked",
    "created_at",
    "updated_at",
    "last_login",
    "last_ip",
    "logins_count",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "username",
    "phone_number",
    "phone_verified",
    "multifactor",
    "last_password_reset",
    "password",
];

/// A federated user's `user_id` and its identity's `user_id`: `<strategy>|<id>` for a social
/// connection (`github|100234`, `google-oauth2|1035…`), `<strategy>|<connection>|<id>` for an
/// enterprise or custom `oauth2` connection (`oidc|corp|alice`), whose identity's `user_id` is
/// then `<connection>|<id>`.
pub fn federated_user_id(
    strategy: &str,
    connection: &str,
    upstream_id: &str,
    social: bool,
) -> (UserId, String) {
    let identity = if social {
        upstream_id.to_owned()
    } else {
        format!("{connection}|{upstream_id}")
    };
    (UserId(format!("{strategy}|{identity}")), identity)
}

/// What Sigil keeps of an upstream account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// The account's id at the upstream (`sub`, GitHub's numeric `id` as text).
    pub upstream_id: String,
    /// Whether the upstream gave its id as a JSON number (GitHub): Auth0 then shows the
    /// identity's `user_id` as a number too.
    pub numeric_id: bool,
    /// The email address, if the upstream gave one.
    pub email: Option<String>,
    /// Whether the source that gave the email says it is verified (`true`, or Apple's `"true"`).
    pub email_verified: bool,
    /// Full name.
    pub name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Nickname: the upstream's, its `preferred_username` or login, or the email's local part.
    pub nickname: Option<String>,
    /// Picture URL.
    pub picture: Option<String>,
    /// Everything else the upstream said about the user (`locale`, Azure's `tid`, …).
    pub attributes: Map<String, Value>,
}

/// Why an upstream's account cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// UserInfo is about someone else (OIDC Core §5.3.2).
    #[error("UserInfo's sub ({userinfo:?}) is not the ID token's ({id_token:?})")]
    SubjectMismatch {
        /// The ID token's `sub`.
        id_token: String,
        /// UserInfo's `sub`.
        userinfo: Option<String>,
    },
    /// No usable id.
    #[error("the upstream gave no id for the user")]
    NoId,
    /// The attributes are larger than [`MAX_ATTRIBUTES`].
    #[error("the upstream's profile is larger than {MAX_ATTRIBUTES} bytes")]
    TooLarge,
}

/// `email_verified` as an upstream says it: a boolean, or the strings `"true"`/`"false"`
/// (Apple); anything else, or nothing, is false.
fn verified(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

fn text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Profile {
    /// The profile of an OpenID provider's user: the checked ID token's claims, and UserInfo's
    /// when it was asked (its `sub` must be the token's). The email and its `email_verified`
    /// come together from one source: the token when it has an email, else UserInfo.
    pub fn from_oidc(
        token: &UpstreamClaims,
        userinfo: Option<&Map<String, Value>>,
    ) -> Result<Profile, ProfileError> {
        if let Some(info) = userinfo {
            let sub = info.get("sub").and_then(Value::as_str);
            if sub != Some(token.sub.as_str()) {
                return Err(ProfileError::SubjectMismatch {
                    id_token: token.sub.clone(),
                    userinfo: sub.map(str::to_owned),
                });
            }
        }
        let email_source = match userinfo {
            Some(info) if text(&token.claims, "email").is_none() => info,
            _ => &token.claims,
        };
        let mut claims = token.claims.clone();
        if let Some(info) = userinfo {
            for (name, value) in info {
                claims.entry(name.clone()).or_insert_with(|| value.clone());
            }
        }
        Profile::from_claims(
            token.sub.clone(),
            false,
            text(email_source, "email"),
            verified(email_source.get("email_verified")),
            &claims,
        )
    }

    /// The profile of a GitHub user: `/user` (its numeric `id`, `login`, `name`, `avatar_url`,
    /// …) and, when read, `/user/emails`, whose primary address is the email with its own
    /// `verified`. Without the list, the public email of `/user` is taken but not believed
    /// verified.
    pub fn from_github(
        user: &Map<String, Value>,
        emails: Option<&[Value]>,
    ) -> Result<Profile, ProfileError> {
        let id = match user.get("id") {
            Some(Value::Number(n)) if n.is_u64() => n.to_string(),
            _ => return Err(ProfileError::NoId),
        };
        let primary = emails.and_then(|list| {
            list.iter()
                .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        });
        let (email, verified) = match (emails, primary) {
            (Some(_), Some(entry)) => (
                entry
                    .get("email")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                entry.get("verified").and_then(Value::as_bool) == Some(true),
            ),
            (Some(_), None) => (None, false),
            (None, _) => (text(user, "email"), false),
        };
        let mut claims = Map::new();
        for (name, value) in user {
            let renamed = match name.as_str() {
                "id" | "email" => continue,
                "login" => "nickname",
                "avatar_url" => "picture",
                other => other,
            };
            if !value.is_null() {
                claims.insert(renamed.to_owned(), value.clone());
            }
        }
        Profile::from_claims(id, true, email, verified, &claims)
    }

    /// Sign in with Apple's `user` form field, which Apple POSTs on a user's first
    /// authorization only (`{"name":{"firstName","lastName"},"email"}`): the name fills what the
    /// ID token lacks (Apple never puts it there); its email is ignored, the ID token's being
    /// the signed one. Anything unreadable is ignored.
    pub fn with_apple_user(mut self, user: Option<&str>) -> Profile {
        let Some(user) = user.filter(|u| u.len() <= 4096) else {
            return self;
        };
        let Ok(Value::Object(user)) = serde_json::from_str::<Value>(user) else {
            return self;
        };
        let Some(Value::Object(name)) = user.get("name") else {
            return self;
        };
        let first = text(name, "firstName");
        let last = text(name, "lastName");
        if self.given_name.is_none() {
            self.given_name.clone_from(&first);
        }
        if self.family_name.is_none() {
            self.family_name.clone_from(&last);
        }
        if self.name.is_none() {
            let full: Vec<String> = [first, last].into_iter().flatten().collect();
            if !full.is_empty() {
                self.name = Some(full.join(" "));
            }
        }
        self
    }

    /// The profile of a Facebook user: the Graph API's `/me` (`id`, `name`, `email`,
    /// `first_name`, `last_name`, `picture.data.url`). Facebook says nothing of whether the
    /// address is verified, so it is not believed.
    pub fn from_facebook(me: &Map<String, Value>) -> Result<Profile, ProfileError> {
        let id = match me.get("id") {
            Some(Value::String(id)) if id.bytes().all(|b| b.is_ascii_digit()) => id.clone(),
            _ => return Err(ProfileError::NoId),
        };
        let mut claims = Map::new();
        for (name, value) in me {
            let (renamed, value) = match name.as_str() {
                "id" | "email" => continue,
                "first_name" => ("given_name", value.clone()),
                "last_name" => ("family_name", value.clone()),
                "picture" => (
                    "picture",
                    value.pointer("/data/url").cloned().unwrap_or(Value::Null),
                ),
                other => (other, value.clone()),
            };
            if !value.is_null() {
                claims.insert(renamed.to_owned(), value);
            }
        }
        Profile::from_claims(id, false, text(me, "email"), false, &claims)
    }

    /// The profile a custom `oauth2` connection's script gave: its `user_id` (text or a
    /// number, required, as Auth0 requires it), and the rest in OIDC's names; its
    /// `email_verified` as it says (a boolean or `"true"`).
    pub fn from_script(profile: &Map<String, Value>) -> Result<Profile, ProfileError> {
        let (id, numeric) = match profile.get("user_id").or_else(|| profile.get("id")) {
            Some(Value::String(id)) => (id.trim().to_owned(), false),
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => (n.to_string(), true),
            _ => return Err(ProfileError::NoId),
        };
        let email = text(profile, "email");
        let verified = verified(profile.get("email_verified"));
        let claims: Map<String, Value> = profile
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "user_id" | "id"))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        Profile::from_claims(id, numeric, email, verified, &claims)
    }

    /// A profile from `claims` in OIDC's names (a custom `oauth2` connection's profile script
    /// and the presets map theirs to these), with the id and the email already decided.
    pub fn from_claims(
        upstream_id: String,
        numeric_id: bool,
        email: Option<String>,
        email_verified: bool,
        claims: &Map<String, Value>,
    ) -> Result<Profile, ProfileError> {
        if upstream_id.is_empty() || upstream_id.contains(char::is_control) {
            return Err(ProfileError::NoId);
        }
        let attributes: Map<String, Value> = claims
            .iter()
            .filter(|(name, _)| !RESERVED.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        if Value::Object(attributes.clone()).to_string().len() > MAX_ATTRIBUTES {
            return Err(ProfileError::TooLarge);
        }
        let nickname = text(claims, "nickname")
            .or_else(|| text(claims, "preferred_username"))
            .or_else(|| text(claims, "login"))
            .or_else(|| {
                email
                    .as_deref()
                    .and_then(|e| e.split_once('@'))
                    .map(|(local, _)| local.to_owned())
            });
        Ok(Profile {
            upstream_id,
            numeric_id,
            email_verified: email.is_some() && email_verified,
            email,
            name: text(claims, "name"),
            given_name: text(claims, "given_name"),
            family_name: text(claims, "family_name"),
            nickname,
            picture: text(claims, "picture"),
            attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(claims: Value) -> UpstreamClaims {
        let claims = claims.as_object().unwrap().clone();
        UpstreamClaims {
            sub: claims["sub"].as_str().unwrap().to_owned(),
            claims,
        }
    }

    #[test]
    fn user_ids_take_auth0s_forms() {
        for (strategy, connection, id, social, user_id, identity) in [
            (
                "github",
                "github",
                "100234",
                true,
                "github|100234",
                "100234",
            ),
            (
                "google-oauth2",
                "google-oauth2",
                "1035",
                true,
                "google-oauth2|1035",
                "1035",
            ),
            (
                "oidc",
                "corp",
                "alice",
                false,
                "oidc|corp|alice",
                "corp|alice",
            ),
            (
                "oauth2",
                "custom",
                "7",
                false,
                "oauth2|custom|7",
                "custom|7",
            ),
        ] {
            let (u, i) = federated_user_id(strategy, connection, id, social);
            assert_eq!((u.as_str(), i.as_str()), (user_id, identity));
        }
    }

    #[test]
    fn the_email_is_verified_only_by_the_source_that_gave_it() {
        let base = json!({"iss": "https://idp/", "sub": "alice", "aud": "x", "exp": 1, "iat": 0});
        let with = |extra: Value| {
            let mut c = base.clone();
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            token(c)
        };
        let info = |v: Value| v.as_object().unwrap().clone();
        for (case, id_token, userinfo, email, verified) in [
            (
                "the token's email and flag",
                with(json!({"email": "a@x.test", "email_verified": true})),
                None,
                Some("a@x.test"),
                true,
            ),
            (
                "Apple's string flag",
                with(json!({"email": "a@x.test", "email_verified": "true"})),
                None,
                Some("a@x.test"),
                true,
            ),
            (
                "no flag means unverified",
                with(json!({"email": "a@x.test"})),
                None,
                Some("a@x.test"),
                false,
            ),
            (
                "a flag of 1 is not true",
                with(json!({"email": "a@x.test", "email_verified": 1})),
                None,
                Some("a@x.test"),
                false,
            ),
            (
                "the token's flag does not vouch for UserInfo's email",
                with(json!({"email_verified": true})),
                Some(info(json!({"sub": "alice", "email": "b@x.test"}))),
                Some("b@x.test"),
                false,
            ),
            (
                "UserInfo's email with its own flag",
                with(json!({})),
                Some(info(
                    json!({"sub": "alice", "email": "b@x.test", "email_verified": true}),
                )),
                Some("b@x.test"),
                true,
            ),
            (
                "UserInfo's flag does not vouch for the token's email",
                with(json!({"email": "a@x.test"})),
                Some(info(
                    json!({"sub": "alice", "email": "b@x.test", "email_verified": true}),
                )),
                Some("a@x.test"),
                false,
            ),
            (
                "no email at all",
                with(json!({"email_verified": true})),
                None,
                None,
                false,
            ),
        ] {
            let p = Profile::from_oidc(&id_token, userinfo.as_ref()).unwrap();
            assert_eq!(
                (p.email.as_deref(), p.email_verified),
                (email, verified),
                "{case}"
            );
        }
    }

    #[test]
    fn userinfo_about_someone_else_is_refused() {
        let t = token(json!({"sub": "alice"}));
        for info in [json!({"sub": "mallory"}), json!({"name": "no sub"})] {
            let info = info.as_object().unwrap().clone();
            assert!(matches!(
                Profile::from_oidc(&t, Some(&info)),
                Err(ProfileError::SubjectMismatch { .. })
            ));
        }
    }

    #[test]
    fn root_attributes_are_normalised_and_the_rest_kept() {
        let t = token(json!({
            "iss": "https://idp/", "sub": "alice", "aud": "x", "exp": 1, "iat": 0, "nonce": "n",
            "name": " Alice Liddell ", "given_name": "Alice", "family_name": "Liddell",
            "picture": "https://idp/alice.png", "email": "alice@wonder.test", "locale": "en-GB",
            "groups": ["readers"], "app_metadata": {"admin": true}
        }));
        let p = Profile::from_oidc(&t, None).unwrap();
        assert_eq!(p.name.as_deref(), Some("Alice Liddell"));
        assert_eq!(p.nickname.as_deref(), Some("alice"), "from the email");
        assert_eq!(
            Value::Object(p.attributes),
            json!({"locale": "en-GB", "groups": ["readers"]}),
            "token claims and Sigil's own fields are not the upstream's to set"
        );
        let huge = token(json!({"sub": "alice", "blob": "x".repeat(MAX_ATTRIBUTES)}));
        assert_eq!(Profile::from_oidc(&huge, None), Err(ProfileError::TooLarge));
        let github = json!({"login": "octocat", "id": 583231});
        let p = Profile::from_claims(
            "583231".to_owned(),
            true,
            None,
            true,
            github.as_object().unwrap(),
        )
        .unwrap();
        assert_eq!(p.nickname.as_deref(), Some("octocat"));
        assert!(!p.email_verified, "no email, nothing verified");
    }
}

#[cfg(test)]
mod github_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn github_users_take_the_primary_email_with_its_verified_flag() {
        let user = json!({"id": 583231, "login": "octocat", "name": "The Octocat",
            "email": null, "avatar_url": "https://avatars.example/u/583231", "blog": null,
            "html_url": "https://github.com/octocat"});
        let user = user.as_object().unwrap();
        let emails = [
            json!({"email": "old@example.com", "primary": false, "verified": true}),
            json!({"email": "octo@example.com", "primary": true, "verified": false}),
        ];
        // (emails read, expected email, expected verified)
        let cases = [
            (Some(&emails[..]), Some("octo@example.com"), false),
            (Some(&emails[..1]), None, false),
            (None, None, false),
        ];
        for (list, email, verified) in cases {
            let profile = Profile::from_github(user, list).unwrap();
            assert_eq!(profile.upstream_id, "583231");
            assert!(profile.numeric_id);
            assert_eq!(profile.email.as_deref(), email);
            assert_eq!(profile.email_verified, verified);
            assert_eq!(profile.nickname.as_deref(), Some("octocat"));
            assert_eq!(
                profile.picture.as_deref(),
                Some("https://avatars.example/u/583231")
            );
            assert_eq!(profile.attributes["html_url"], "https://github.com/octocat");
            assert!(
                !profile.attributes.contains_key("blog"),
                "nulls are not kept"
            );
        }
        let verified = [json!({"email": "octo@example.com", "primary": true, "verified": true})];
        assert!(
            Profile::from_github(user, Some(&verified))
                .unwrap()
                .email_verified
        );
        let text_id = json!({"id": "583231", "login": "x"});
        assert_eq!(
            Profile::from_github(text_id.as_object().unwrap(), None),
            Err(ProfileError::NoId)
        );
    }
}
