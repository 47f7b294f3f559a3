//! Users and their identities. A user belongs to one connection; its `user_id` is
//! `<provider>|<id>` and its first identity is that same pair. Linking accounts moves another
//! user's identity into `identities`.

use serde::{Deserialize, Serialize};

use super::JsonObject;
use crate::UnixTime;
use crate::ids::{ConnectionId, UserId};
use crate::password::PasswordHash;
use crate::secret::Token;

/// A user.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    /// `<provider>|<id>`.
    pub user_id: UserId,
    /// The connection the user signed up with.
    pub connection_id: ConnectionId,
    /// Email address as given; unique per connection, ignoring case.
    pub email: Option<String>,
    /// Whether the address was proven.
    pub email_verified: bool,
    /// Username, for connections that require one; unique per connection, ignoring case.
    pub username: Option<String>,
    /// Full name.
    pub name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Nickname (Auth0 defaults it to the email's local part).
    pub nickname: Option<String>,
    /// Picture URL.
    pub picture: Option<String>,
    /// What the user may edit.
    pub user_metadata: JsonObject,
    /// What only administrators may edit.
    pub app_metadata: JsonObject,
    /// Blocked users cannot log in.
    pub blocked: bool,
    /// When the user was made.
    pub created_at: UnixTime,
    /// Last change to the profile.
    pub updated_at: UnixTime,
    /// Last successful login.
    pub last_login: Option<UnixTime>,
    /// Address of the last successful login.
    pub last_ip: Option<String>,
    /// Successful logins.
    pub logins_count: i64,
    /// Password hash (database connections).
    pub password: Option<PasswordHash>,
    /// When the password was last reset.
    pub last_password_reset: Option<UnixTime>,
    /// The user's identities, the primary one first, then those of the accounts linked to it
    /// (with their `profileData`).
    pub identities: Vec<Identity>,
    /// For a linked (secondary) account, the primary user it is linked to. Such an account is
    /// no user of its own any more: only its credentials serve, to log in as the primary.
    pub linked_to: Option<UserId>,
    /// What another identity provider said of a federated user beyond the root attributes
    /// (`locale`, Azure's `tenantid`, …), shown at the root as Auth0 does; never Sigil's own
    /// fields.
    pub idp_attributes: JsonObject,
    /// Phone number in E.164 form (`+15551234567`): an SMS connection's users; unique per
    /// connection.
    pub phone_number: Option<String>,
    /// Whether the number was proven (a code sent to it was entered).
    pub phone_verified: bool,
    /// When the user's newest confirmed second factor (an authenticator app, an email factor;
    /// not the recovery code) was enrolled: the store reads it from their authenticators, and
    /// never writes it with the user.
    pub mfa_enrolled_at: Option<UnixTime>,
}

/// One identity of a user: the user as one provider knows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// `auth0`, `oidc`, `google-oauth2`, …
    pub provider: String,
    /// The id at that provider (without the `provider|` prefix).
    pub user_id: String,
    /// The connection's name.
    pub connection: String,
    /// Whether the provider is a social one.
    #[serde(rename = "isSocial")]
    pub is_social: bool,
    /// The upstream provider's access token (social/enterprise connections).
    #[serde(skip)]
    pub access_token: Option<Token>,
    /// The upstream provider's refresh token.
    #[serde(skip)]
    pub refresh_token: Option<Token>,
    /// The upstream access token's lifetime in seconds, as the provider gave it at the last
    /// login.
    #[serde(skip)]
    pub expires_in: Option<i64>,
    /// The profile the provider returned, for linked secondary identities.
    #[serde(
        rename = "profileData",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub profile_data: Option<JsonObject>,
}

/// Which users a listing returns. Empty: all users.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Only users of this connection.
    pub connection_id: Option<ConnectionId>,
    /// Only users with this email, ignoring case.
    pub email: Option<String>,
    /// Only this user.
    pub user_id: Option<UserId>,
    /// Only users with exactly this name.
    pub name: Option<String>,
    /// The order of a listing (the default: oldest first). Counting ignores it.
    pub sort: Option<UserSort>,
}

/// A listing's order: one field, ascending or descending; users without the field come last
/// either way, and ties keep the default order (oldest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSort {
    /// By what.
    pub field: UserSortField,
    /// Largest first.
    pub descending: bool,
}

/// What users can be sorted by (Auth0's `sort=field:1|-1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserSortField {
    /// `created_at`.
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `last_login`.
    LastLogin,
    /// `logins_count`.
    LoginsCount,
    /// `email`, ignoring case.
    Email,
    /// `name`.
    Name,
}

impl UserSortField {
    /// The field named `name` as Auth0 writes it.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "created_at" => UserSortField::CreatedAt,
            "updated_at" => UserSortField::UpdatedAt,
            "last_login" => UserSortField::LastLogin,
            "logins_count" => UserSortField::LoginsCount,
            "email" => UserSortField::Email,
            "name" => UserSortField::Name,
            _ => return None,
        })
    }
}

/// What a new database user needs before Sigil fills in the rest.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Email address.
    pub email: String,
    /// Whether the address is already proven.
    pub email_verified: bool,
    /// Username, when the connection requires one.
    pub username: Option<String>,
    /// Password hash.
    pub password: Option<PasswordHash>,
}

/// Whether `email` (trimmed) is an address Sigil takes: see [`check_email`].
pub fn plausible_email(email: &str) -> bool {
    check_email(email).is_ok()
}

/// Why an email or username was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierRefusal {
    /// Not one `@` with something on both sides, or has spaces, or over 254 bytes.
    #[error("not an email address")]
    NotAnEmail,
    /// Holds a character that looks like another or like nothing, so two identical-looking
    /// identifiers could name two accounts (see [`check_identifier`]).
    #[error(
        "it has a character that looks like another one or like nothing (a compatibility form \
         such as U+212A KELVIN SIGN or fullwidth letters, a control, or an invisible format \
         character); write it with plain characters"
    )]
    Lookalike,
}

/// `email`, trimmed, if it is an address Sigil takes: one `@` with something on both sides, no
/// spaces or controls, at most 254 bytes (RFC 5321's path limit), and nothing
/// [`check_identifier`] refuses. (Deliverability is the verification mail's job.) The one home
/// of this rule: signup, the Management API, imports and passwordless all call it.
pub fn check_email(email: &str) -> Result<&str, IdentifierRefusal> {
    let email = email.trim();
    let shaped = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if !shaped {
        return Err(IdentifierRefusal::NotAnEmail);
    }
    check_identifier(email)?;
    Ok(email)
}

/// Whether `c` is a character that stands for another: one whose own NFKC form differs, a
/// Unicode compatibility character (fullwidth `ａ`, the ligature `ﬁ`) or a canonical singleton
/// (the Kelvin sign `K`, which NFC itself turns into `K`).
fn stands_for_another(c: char) -> bool {
    use unicode_normalization::UnicodeNormalization;
    !std::iter::once(c).nfkc().eq(std::iter::once(c))
}

/// Refuses an identifier (email or username) that cannot be normalised safely: one holding a
/// control character, an invisible format character (zero-width spaces and joiners, bidi
/// overrides, the soft hyphen, the byte-order mark), or a character that
/// [stands for another](stands_for_another). Such an identifier looks like another, so it is
/// refused when a user is made, and matches nobody at a login ([`normalized`]).
pub fn check_identifier(value: &str) -> Result<(), IdentifierRefusal> {
    let invisible = |c: char| {
        matches!(
            c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}' | '\u{FEFF}'
        ) || ('\u{200B}'..='\u{200F}').contains(&c)
            || ('\u{202A}'..='\u{202E}').contains(&c)
            || ('\u{2060}'..='\u{206F}').contains(&c)
    };
    if value
        .chars()
        .any(|c| c.is_control() || invisible(c) || stands_for_another(c))
    {
        return Err(IdentifierRefusal::Lookalike);
    }
    Ok(())
}

/// The form of an email (or username) that uniqueness and every lookup are decided on:
/// trimmed, in NFC (so a precomposed `é` and `e` + U+0301 are one address), and lower-cased.
/// An identifier with a character that [stands for another](stands_for_another) is only
/// trimmed: [`check_identifier`] keeps such characters out of every stored identifier, so it
/// matches no user (where NFC and lower-casing would have made the Kelvin sign's `Kate` into
/// `kate`).
pub fn normalized(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let value = value.trim();
    if value.chars().any(stands_for_another) {
        return value.to_owned();
    }
    value.nfc().flat_map(char::to_lowercase).nfc().collect()
}

impl User {
    /// Checks both metadata objects against [`METADATA_LIMIT`], before the user is stored.
    pub fn check_metadata(&self) -> Result<(), MetadataTooLarge> {
        check_metadata("user_metadata", &self.user_metadata)?;
        check_metadata("app_metadata", &self.app_metadata)
    }

    /// A new database user of `connection` (`provider` is its strategy, `auth0`), with Auth0's
    /// defaults: nickname from the email's local part, name and picture empty, never logged in.
    pub fn new_database(
        user_id: UserId,
        connection: &super::Connection,
        new: NewUser,
        now: UnixTime,
    ) -> Self {
        let nickname = new
            .email
            .split_once('@')
            .map_or(new.email.as_str(), |(local, _)| local)
            .to_owned();
        User {
            name: Some(new.email.clone()),
            email: Some(new.email),
            email_verified: new.email_verified,
            username: new.username,
            nickname: Some(nickname),
            password: new.password,
            ..User::first(user_id, connection, now)
        }
    }

    /// A new user of `connection` at `now`, with nothing known of them yet: its one identity
    /// names the connection (`provider` its strategy, the id `user_id`'s local part), no
    /// profile, metadata or credentials, never logged in. The other constructors fill it in.
    pub fn first(user_id: UserId, connection: &super::Connection, now: UnixTime) -> Self {
        let identity = Identity {
            provider: connection.provider().to_owned(),
            user_id: user_id.local_part().to_owned(),
            connection: connection.name.clone(),
            is_social: connection.strategy.kind() == super::StrategyKind::Social,
            access_token: None,
            refresh_token: None,
            expires_in: None,
            profile_data: None,
        };
        User {
            user_id,
            connection_id: connection.id.clone(),
            email: None,
            email_verified: false,
            username: None,
            name: None,
            given_name: None,
            family_name: None,
            nickname: None,
            picture: None,
            user_metadata: JsonObject::new(),
            app_metadata: JsonObject::new(),
            blocked: false,
            created_at: now,
            updated_at: now,
            last_login: None,
            last_ip: None,
            logins_count: 0,
            password: None,
            last_password_reset: None,
            identities: vec![identity],
            linked_to: None,
            idp_attributes: JsonObject::new(),
            phone_number: None,
            phone_verified: false,
            mfa_enrolled_at: None,
        }
    }

    /// Whether the user comes from another identity provider (its own identity's provider is a
    /// federated strategy). Such users' emails are not unique: two providers may vouch for
    /// the same address, and neither makes it Sigil's.
    pub fn is_federated(&self) -> bool {
        self.identities
            .first()
            .and_then(|i| super::Strategy::parse(&i.provider))
            .is_some_and(super::Strategy::is_federated)
    }

    /// The account's profile as a primary user's identities show a linked one
    /// (`profileData`): what it says about the person, without metadata or credentials.
    pub fn profile_data(&self) -> JsonObject {
        let mut profile = JsonObject::new();
        let mut put = |name: &str, value: Option<&String>| {
            if let Some(value) = value {
                profile.insert(name.to_owned(), serde_json::Value::String(value.clone()));
            }
        };
        put("email", self.email.as_ref());
        put("username", self.username.as_ref());
        put("name", self.name.as_ref());
        put("given_name", self.given_name.as_ref());
        put("family_name", self.family_name.as_ref());
        put("nickname", self.nickname.as_ref());
        put("picture", self.picture.as_ref());
        if self.email.is_some() {
            profile.insert(
                "email_verified".to_owned(),
                serde_json::Value::Bool(self.email_verified),
            );
        }
        profile
    }
}

/// The most JSON, in bytes, each of a user's `user_metadata` and `app_metadata` may hold, however
/// it is written (the Management API, an import, a signup, an Action). Auth0 allows 16 MB
/// a user but names 16 kB the practical limit and caps an Action's metadata at 32 kB; Sigil
/// holds every writer to the Action's figure, so no caller can grow a user without bound.
pub const METADATA_LIMIT: usize = 32 * 1024;

/// A metadata object over [`METADATA_LIMIT`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{field} would be {size} bytes of JSON; at most {METADATA_LIMIT} bytes are allowed in each \
     of user_metadata and app_metadata"
)]
pub struct MetadataTooLarge {
    /// `user_metadata` or `app_metadata`.
    pub field: &'static str,
    /// Its size, in bytes of JSON.
    pub size: usize,
}

/// Checks `metadata` (the `field` of a user) against [`METADATA_LIMIT`].
pub fn check_metadata(field: &'static str, metadata: &JsonObject) -> Result<(), MetadataTooLarge> {
    /// Counts what JSON serialisation writes, without keeping it.
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail; a map of JSON values always serialises.
    let _ = serde_json::to_writer(&mut counter, metadata);
    if counter.0 > METADATA_LIMIT {
        return Err(MetadataTooLarge {
            field,
            size: counter.0,
        });
    }
    Ok(())
}

/// Auth0's rule for changing metadata by key: each key of `changes` replaces the stored one
/// whole, and a key set to `null` is removed.
pub fn merge_keys(stored: &mut JsonObject, changes: JsonObject) {
    for (key, value) in changes {
        if value.is_null() {
            stored.remove(&key);
        } else {
            stored.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_normalised_one_way_and_lookalikes_refused() {
        // (what, given, normalized, accepted as a new identifier)
        let cases = [
            (
                "ASCII, trimmed and lower-cased",
                " Ann@Example.COM ",
                "ann@example.com",
                true,
            ),
            (
                "precomposed é",
                "jos\u{e9}@example.com",
                "jos\u{e9}@example.com",
                true,
            ),
            (
                "decomposed é is the same",
                "JOSE\u{301}@example.com",
                "jos\u{e9}@example.com",
                true,
            ),
            (
                "Greek capital sigma",
                "\u{3a3}@example.com",
                "\u{3c3}@example.com",
                true,
            ),
            (
                "Kelvin sign",
                "\u{212a}ate@example.com",
                "\u{212a}ate@example.com",
                false,
            ),
            (
                "Angstrom sign",
                "\u{212b}@example.com",
                "\u{212b}@example.com",
                false,
            ),
            (
                "fullwidth a",
                "\u{ff41}nn@example.com",
                "\u{ff41}nn@example.com",
                false,
            ),
            (
                "ligature fi",
                "\u{fb01}@example.com",
                "\u{fb01}@example.com",
                false,
            ),
            (
                "zero-width space",
                "an\u{200b}n@example.com",
                "an\u{200b}n@example.com",
                false,
            ),
            (
                "bidi override",
                "\u{202e}nna@example.com",
                "\u{202e}nna@example.com",
                false,
            ),
            (
                "soft hyphen",
                "an\u{ad}n@example.com",
                "an\u{ad}n@example.com",
                false,
            ),
        ];
        for (what, given, expected, accepted) in cases {
            assert_eq!(normalized(given), expected, "{what}");
            assert_eq!(check_email(given).is_ok(), accepted, "{what}");
        }
        assert_eq!(
            check_email("no-at-sign"),
            Err(IdentifierRefusal::NotAnEmail)
        );
        assert_eq!(
            check_email(&format!("{}@example.com", "a".repeat(250))),
            Err(IdentifierRefusal::NotAnEmail)
        );
    }

    #[test]
    fn metadata_is_measured_as_json() {
        let object = |text: String| {
            let mut object = JsonObject::new();
            object.insert("k".to_owned(), serde_json::Value::String(text));
            object
        };
        // {"k":"…"} is 8 bytes around the text.
        assert!(check_metadata("user_metadata", &object("x".repeat(METADATA_LIMIT - 8))).is_ok());
        assert_eq!(
            check_metadata("app_metadata", &object("x".repeat(METADATA_LIMIT - 7))),
            Err(MetadataTooLarge {
                field: "app_metadata",
                size: METADATA_LIMIT + 1
            })
        );
    }
}
