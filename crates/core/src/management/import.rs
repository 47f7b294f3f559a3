//! Auth0's bulk user import format, shared by `POST /api/v2/jobs/users-imports` and
//! `sigil users import`: a JSON array of users, each judged on its own. [`parse_import`] turns
//! the file into the users to insert and a [`RowError`] for every entry that cannot be one, so
//! that one bad row never stops the others. Password hashes are kept as they come (bcrypt, or
//! Auth0's `custom_password_hash`); the user's next successful login re-hashes with argon2id.
//!
//! Pure: no store, no hashing. The caller inserts [`ImportedUser::user`]s and reports what the
//! store refused with [`RowError::duplicate`].

use serde::Deserialize;
use serde_json::Value;
use sigil_jose::UnixTime;

use crate::Rng;
use crate::ids::UserId;
use crate::mfa::totp::TotpSecret;
use crate::model::{
    Authenticator, AuthenticatorKind, AuthenticatorSecret, Connection, JsonObject, NewUser, User,
};
use crate::password::{PasswordAlgorithm, PasswordHash};
use crate::store::Conflict;

/// The members Auth0's import schema allows; anything else refuses the entry, so that a
/// misspelt field is not silently dropped.
pub const FIELDS: &[&str] = &[
    "email",
    "email_verified",
    "user_id",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "blocked",
    "user_metadata",
    "app_metadata",
    "password_hash",
    "custom_password_hash",
    "mfa_factors",
];

/// Auth0's job error code for an entry that is not a valid user.
pub const INVALID_FORMAT: &str = "INVALID_FORMAT";
/// Auth0's job error code for an entry that collides with an existing user.
pub const DUPLICATED_USER: &str = "DUPLICATED_USER";

/// One entry of the file.
#[derive(Deserialize)]
struct Entry {
    email: Option<String>,
    email_verified: Option<bool>,
    user_id: Option<String>,
    username: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    name: Option<String>,
    nickname: Option<String>,
    picture: Option<String>,
    blocked: Option<bool>,
    user_metadata: Option<JsonObject>,
    app_metadata: Option<JsonObject>,
    password_hash: Option<String>,
    custom_password_hash: Option<Value>,
    mfa_factors: Option<Vec<Value>>,
}

/// The whole file could not be read as an import: nothing in it is imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportFileError {
    /// Not JSON at all.
    #[error("is not valid JSON: {0}")]
    NotJson(String),
    /// JSON, but not an array.
    #[error("is not a JSON array of users (Auth0's bulk import format)")]
    NotArray,
}

/// An entry that became a user, with what it said (for an upsert) and where it was.
pub struct ImportedUser {
    /// The entry's position in the file, from 0.
    pub index: usize,
    /// The entry as it was in the file (reported back if the store refuses it).
    pub row: Value,
    /// The user to insert.
    pub user: User,
    /// The user's second factors (`mfa_factors`), confirmed: the user logs in with them at
    /// once, without enrolling.
    pub factors: Vec<Authenticator>,
    /// The profile fields the entry gave, for [`ImportedUser::update`].
    entry: Entry,
}

impl ImportedUser {
    /// `existing` with what this entry gives (profile, flags, metadata, password hash)
    /// written over it; what the entry leaves out is kept. The id, identities and login
    /// counters are never changed.
    pub fn update(&self, mut existing: User, now: UnixTime) -> User {
        let entry = &self.entry;
        let user = &self.user;
        if entry.email_verified.is_some() {
            existing.email_verified = user.email_verified;
        }
        if entry.username.is_some() {
            existing.username.clone_from(&user.username);
        }
        for (given, field, value) in [
            (entry.name.is_some(), &mut existing.name, &user.name),
            (
                entry.nickname.is_some(),
                &mut existing.nickname,
                &user.nickname,
            ),
            (
                entry.given_name.is_some(),
                &mut existing.given_name,
                &user.given_name,
            ),
            (
                entry.family_name.is_some(),
                &mut existing.family_name,
                &user.family_name,
            ),
            (
                entry.picture.is_some(),
                &mut existing.picture,
                &user.picture,
            ),
        ] {
            if given {
                field.clone_from(value);
            }
        }
        if entry.blocked.is_some() {
            existing.blocked = user.blocked;
        }
        if entry.user_metadata.is_some() {
            existing.user_metadata.clone_from(&user.user_metadata);
        }
        if entry.app_metadata.is_some() {
            existing.app_metadata.clone_from(&user.app_metadata);
        }
        if user.password.is_some() {
            existing.password.clone_from(&user.password);
        }
        existing.updated_at = now;
        existing
    }
}

/// Why an entry was not imported, with Auth0's job error code.
#[derive(Clone, Debug)]
pub struct RowError {
    /// The entry's position in the file, from 0.
    pub index: usize,
    /// The entry as it was in the file.
    pub row: Value,
    /// The entry's email, if it had one.
    pub email: Option<String>,
    /// [`INVALID_FORMAT`] or [`DUPLICATED_USER`].
    pub code: &'static str,
    /// What was wrong, for people.
    pub message: String,
}

impl RowError {
    /// The store refused `imported` because of `conflict` in the connection named
    /// `connection`.
    pub fn duplicate(imported: &ImportedUser, conflict: Conflict, connection: &str) -> Self {
        let message = match conflict {
            Conflict::Email => {
                format!("a user with this email already exists in connection {connection}")
            }
            Conflict::Username => {
                format!("a user with this username already exists in connection {connection}")
            }
            other => other.to_string(),
        };
        RowError {
            index: imported.index,
            row: imported.row.clone(),
            email: imported.user.email.clone(),
            code: DUPLICATED_USER,
            message,
        }
    }
}

/// The file judged entry by entry.
pub struct Import {
    /// How many entries the file holds.
    pub total: usize,
    /// The entries that are valid users, in file order.
    pub users: Vec<ImportedUser>,
    /// The entries that are not, in file order.
    pub errors: Vec<RowError>,
}

/// Reads `bytes` as Auth0's bulk import file for `connection`: every entry becomes a user
/// (ids generated with `rng` where the entry gives none, created at `now`) or a [`RowError`].
pub fn parse_import(
    bytes: &[u8],
    connection: &Connection,
    now: UnixTime,
    rng: &dyn Rng,
) -> Result<Import, ImportFileError> {
    let json: Value =
        serde_json::from_slice(bytes).map_err(|e| ImportFileError::NotJson(e.to_string()))?;
    let Value::Array(entries) = json else {
        return Err(ImportFileError::NotArray);
    };
    let total = entries.len();
    let mut users = Vec::new();
    let mut errors = Vec::new();
    for (index, row) in entries.into_iter().enumerate() {
        match to_user(&row, connection, now, rng) {
            Ok((user, factors, entry)) => users.push(ImportedUser {
                index,
                row,
                user,
                factors,
                entry,
            }),
            Err(message) => errors.push(RowError {
                index,
                email: row.get("email").and_then(Value::as_str).map(str::to_owned),
                row,
                code: INVALID_FORMAT,
                message,
            }),
        }
    }
    Ok(Import {
        total,
        users,
        errors,
    })
}

/// `text`, trimmed, if it is an address Sigil takes
/// ([`check_email`](crate::model::user::check_email)).
fn email(text: &str) -> Result<String, String> {
    crate::model::user::check_email(text)
        .map(str::to_owned)
        .map_err(|refusal| refusal.to_string())
}

/// One entry as a user of `connection`, or why it cannot be one.
fn to_user(
    value: &Value,
    connection: &Connection,
    now: UnixTime,
    rng: &dyn Rng,
) -> Result<(User, Vec<Authenticator>, Entry), String> {
    let Value::Object(object) = value else {
        return Err("not a JSON object".to_owned());
    };
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("the field {unknown:?} is not supported"));
    }
    let entry = Entry::deserialize(value).map_err(|e| e.to_string())?;
    let email = email(entry.email.as_deref().ok_or("email is required")?)
        .map_err(|e| format!("email: {e}"))?;
    if connection.options.requires_username && entry.username.is_none() {
        return Err(format!(
            "the connection {} requires a username",
            connection.name
        ));
    }
    let user_id = match &entry.user_id {
        Some(id) => imported_user_id(id, connection)?,
        None => UserId::generate_database(rng),
    };
    let password = match (&entry.password_hash, &entry.custom_password_hash) {
        (Some(_), Some(_)) => {
            return Err("give password_hash or custom_password_hash, not both".to_owned());
        }
        (Some(hash), None) => Some(bcrypt(hash).map_err(|e| format!("password_hash: {e}"))?),
        (None, Some(custom)) => {
            Some(custom_hash(custom).map_err(|e| format!("custom_password_hash: {e}"))?)
        }
        (None, None) => None,
    };
    let new = NewUser {
        email,
        email_verified: entry.email_verified.unwrap_or(false),
        username: entry.username.clone(),
        password,
    };
    let mut user = User::new_database(user_id, connection, new, now);
    if entry.name.is_some() {
        user.name.clone_from(&entry.name);
    }
    if entry.nickname.is_some() {
        user.nickname.clone_from(&entry.nickname);
    }
    user.given_name.clone_from(&entry.given_name);
    user.family_name.clone_from(&entry.family_name);
    user.picture.clone_from(&entry.picture);
    user.blocked = entry.blocked.unwrap_or(false);
    user.user_metadata = entry.user_metadata.clone().unwrap_or_default();
    user.app_metadata = entry.app_metadata.clone().unwrap_or_default();
    user.check_metadata().map_err(|e| e.to_string())?;
    let factors = match &entry.mfa_factors {
        Some(factors) => mfa_factors(factors, &user.user_id, now, rng)
            .map_err(|e| format!("mfa_factors: {e}"))?,
        None => Vec::new(),
    };
    Ok((user, factors, entry))
}

/// Auth0's `mfa_factors`: 1 to 10 objects of one member each, `{"totp": {"secret": BASE32}}`
/// or `{"email": {"value": ADDRESS}}`, at most one of each kind, imported confirmed.
/// `phone` is refused by name: Sigil has no SMS factor.
fn mfa_factors(
    factors: &[Value],
    user: &UserId,
    now: UnixTime,
    rng: &dyn Rng,
) -> Result<Vec<Authenticator>, String> {
    if factors.is_empty() || factors.len() > 10 {
        return Err("give 1 to 10 factors".to_owned());
    }
    let mut out: Vec<Authenticator> = Vec::new();
    for factor in factors {
        let (kind, body) = match factor.as_object().map(|o| o.iter().collect::<Vec<_>>()) {
            Some(members) if members.len() == 1 => members[0],
            _ => return Err("each factor is an object with one member (totp or email)".to_owned()),
        };
        let text = |field: &str| body.get(field).and_then(Value::as_str);
        let (kind, name, secret) = match kind.as_str() {
            "totp" => {
                let secret = text("secret")
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7')))
                    .and_then(TotpSecret::from_base32)
                    .ok_or("totp.secret must be an unpadded base32 secret (A-Z, 2-7) of 16 characters or more")?;
                (
                    AuthenticatorKind::Totp,
                    None,
                    AuthenticatorSecret::Totp(secret),
                )
            }
            "email" => {
                let address = email(text("value").ok_or("email.value is required")?)
                    .map_err(|e| format!("email.value: {e}"))?;
                (
                    AuthenticatorKind::Email,
                    Some(address),
                    AuthenticatorSecret::None,
                )
            }
            "phone" => {
                return Err("phone factors are not imported: Sigil has no SMS factor".to_owned());
            }
            other => return Err(format!("{other:?} is not a factor (totp, email)")),
        };
        if out.iter().any(|a| a.kind == kind) {
            return Err(format!("at most one {} factor", kind.as_str()));
        }
        out.push(Authenticator {
            id: crate::mfa::authenticators::new_id(kind, rng),
            user_id: user.clone(),
            kind,
            name,
            secret,
            confirmed_at: Some(now),
            created_at: now,
            last_auth_at: None,
        });
    }
    Ok(out)
}

/// `user_id` as Auth0 imports it: the id without the provider, which the connection's strategy
/// is put before. An id that already carries the provider (as Auth0's exports write it) is
/// taken as it is.
fn imported_user_id(id: &str, connection: &Connection) -> Result<UserId, String> {
    let provider = connection.provider();
    let local = id
        .strip_prefix(provider)
        .and_then(|rest| rest.strip_prefix('|'))
        .unwrap_or(id);
    if local.is_empty() || local.len() > 255 {
        return Err("user_id must be 1 to 255 characters".to_owned());
    }
    if local.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("user_id cannot contain spaces".to_owned());
    }
    Ok(UserId(format!("{provider}|{local}")))
}

/// A bcrypt hash in modular crypt form: `$2a$`, `$2b$` or `$2y$`, a two-digit cost, 53
/// characters of salt and hash.
fn bcrypt(hash: &str) -> Result<PasswordHash, String> {
    let well_formed = hash.len() == 60
        && ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
        && hash.as_bytes()[4..6].iter().all(u8::is_ascii_digit)
        && hash.as_bytes()[6] == b'$'
        && hash.as_bytes()[7..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/'));
    if !well_formed {
        return Err("not a bcrypt hash ($2a$, $2b$ or $2y$, cost, then 53 characters)".to_owned());
    }
    Ok(PasswordHash {
        algorithm: PasswordAlgorithm::Bcrypt,
        encoded: hash.to_owned(),
    })
}

/// Auth0's `custom_password_hash`. Hashes that carry their own parameters (argon2 and PBKDF2
/// PHC strings, bcrypt) are kept as that string; the salted digests (SHA-*, MD5, HMAC, scrypt)
/// as the JSON object, which holds their salt, encoding and key. See `PasswordHash`.
fn custom_hash(custom: &Value) -> Result<PasswordHash, String> {
    let algorithm_name = custom
        .get("algorithm")
        .and_then(Value::as_str)
        .ok_or("algorithm is required")?;
    let algorithm = PasswordAlgorithm::parse(algorithm_name)
        .ok_or_else(|| format!("the algorithm {algorithm_name:?} is not supported"))?;
    let value = custom
        .get("hash")
        .and_then(|h| h.get("value"))
        .and_then(Value::as_str)
        .ok_or("hash.value is required")?;
    let encoded = match algorithm {
        PasswordAlgorithm::Bcrypt => return bcrypt(value),
        PasswordAlgorithm::Argon2 if value.starts_with("$argon2") => value.to_owned(),
        PasswordAlgorithm::Pbkdf2 if value.starts_with("$pbkdf2") => value.to_owned(),
        PasswordAlgorithm::Argon2 | PasswordAlgorithm::Pbkdf2 => {
            return Err(format!(
                "hash.value must be a PHC string (${algorithm_name}…)"
            ));
        }
        _ => serde_json::to_string(custom).map_err(|e| e.to_string())?,
    };
    Ok(PasswordHash { algorithm, encoded })
}

impl RowError {
    /// The refused entry in Auth0's job errors shape: `{"user": <the entry>, "errors":
    /// [{"code", "message", "path"}]}`, `path` naming the field at fault where one is. The
    /// entry's password hashes are left out: they are kept with the job, and a hash is a secret
    /// the caller already has.
    pub fn job_error(&self) -> Value {
        let mut user = self.row.clone();
        if let Value::Object(entry) = &mut user {
            entry.remove("password_hash");
            entry.remove("custom_password_hash");
        }
        let field = self
            .message
            .split_once(':')
            .map(|(field, _)| field)
            .filter(|f| FIELDS.contains(f));
        let path = match (self.code, field) {
            (_, Some(field)) => field,
            (DUPLICATED_USER, None) if self.message.contains("username") => "username",
            (DUPLICATED_USER, None) if self.message.contains("user_id") => "user_id",
            (DUPLICATED_USER, None) => "email",
            _ => "",
        };
        serde_json::json!({
            "user": user,
            "errors": [{"code": self.code, "message": self.message, "path": path}],
        })
    }
}
