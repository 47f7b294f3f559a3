//! `sigil users import FILE`: Auth0's bulk user import format, a JSON array of users, into a
//! database connection, in one store transaction with a result per user: one bad or
//! duplicate user never stops the others. Password hashes are kept as they come (bcrypt, or
//! Auth0's `custom_password_hash`); the user's next successful login re-hashes with argon2id.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use serde::Deserialize;
use sigil_core::ids::UserId;
use sigil_core::model::connection::DEFAULT_DATABASE_CONNECTION;
use sigil_core::model::{Connection, JsonObject, NewUser, User};
use sigil_core::password::{PasswordAlgorithm, PasswordHash};
use sigil_core::{Rng, Store as _, SystemRng};
use sigil_jose::UnixTime;

use super::users::{conflict_message, database_connection};
use super::{Format, validate};
use crate::output;
use crate::storage::{self, Location};

pub(crate) const AFTER_HELP: &str = "\
FILE (or '-' for stdin) is a JSON array of users as Auth0 imports them: email (required), \
email_verified, user_id (the part after 'auth0|', which may be included), username, given_name, family_name, name, \
nickname, picture, blocked, user_metadata, app_metadata, and at most one of password_hash (a \
bcrypt hash) and custom_password_hash ({\"algorithm\",\"hash\":{\"value\",…},…}: argon2, \
bcrypt, pbkdf2, sha1, sha256, sha512, md5, hmac, scrypt). Hashes are kept as they are and \
replaced by argon2id at the user's next login.

Each user is imported or refused on its own: an invalid entry or a duplicate email, username \
or user_id is reported with its index in the array and never stops the others.

Exit status: 0 when the file was read and at least one user was imported (or it was empty); \
1 when none of its users could be imported; 2 when the file cannot be read or is not a JSON \
array.";

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The JSON file, or '-' for stdin.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The database connection to import into.
    #[arg(long, value_name = "C", default_value = DEFAULT_DATABASE_CONNECTION)]
    connection: String,
    #[command(flatten)]
    format: Format,
}

/// The members Auth0's import schema allows; anything else refuses the entry, so that a
/// misspelt field (or `mfa_factors`, which Sigil cannot import) is not silently dropped.
const FIELDS: &[&str] = &[
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
];

/// One entry of the file.
#[derive(Deserialize)]
struct Entry {
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    user_id: Option<String>,
    username: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    name: Option<String>,
    nickname: Option<String>,
    picture: Option<String>,
    #[serde(default)]
    blocked: bool,
    user_metadata: Option<JsonObject>,
    app_metadata: Option<JsonObject>,
    password_hash: Option<String>,
    custom_password_hash: Option<serde_json::Value>,
}

/// Why an entry was not imported, with Auth0's job error codes.
struct Failure {
    index: usize,
    email: Option<String>,
    code: &'static str,
    message: String,
}

/// `sigil users import`.
pub(crate) fn run(
    args: ImportArgs,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    let entries = read_entries(&args.file)?;
    let total = entries.len();
    let (inserted, failures) = storage::with_initialised(location, now, async |opened| {
        let connection = database_connection(&opened.store, &args.connection).await?;
        let mut failures = Vec::new();
        let mut users = Vec::new();
        let mut positions = Vec::new();
        for (index, entry) in entries.into_iter().enumerate() {
            let email = entry
                .get("email")
                .and_then(|e| e.as_str())
                .map(str::to_owned);
            match to_user(entry, &connection, now, &SystemRng) {
                Ok(user) => {
                    users.push(user);
                    positions.push(index);
                }
                Err(message) => failures.push(Failure {
                    index,
                    email,
                    code: "INVALID_FORMAT",
                    message,
                }),
            }
        }
        let results = if users.is_empty() {
            Vec::new()
        } else {
            opened
                .store
                .import_users(&users)
                .await
                .context("cannot import the users")?
        };
        let mut inserted = 0;
        for ((user, index), result) in users.iter().zip(positions).zip(results) {
            match result {
                Ok(()) => inserted += 1,
                Err(conflict) => failures.push(Failure {
                    index,
                    email: user.email.clone(),
                    code: "DUPLICATED_USER",
                    message: conflict_message(conflict, &connection.name),
                }),
            }
        }
        failures.sort_by_key(|f| f.index);
        Ok((inserted, failures))
    })?;

    let mut lines = vec![format!(
        "imported {inserted} of {total} users into {}{}",
        args.connection,
        if failures.is_empty() {
            String::new()
        } else {
            format!("; {} failed:", failures.len())
        }
    )];
    lines.extend(failures.iter().map(|f| {
        format!(
            "  [{}] {}: {}",
            f.index,
            f.email.as_deref().unwrap_or("(no email)"),
            f.message
        )
    }));
    let json = serde_json::json!({
        "connection": args.connection,
        "total": total,
        "inserted": inserted,
        "failed": failures.len(),
        "errors": failures.iter().map(|f| serde_json::json!({
            "index": f.index,
            "email": f.email,
            "code": f.code,
            "message": f.message,
        })).collect::<Vec<_>>(),
    });
    super::print(&args.format, &json, &lines)?;
    if inserted == 0 && total > 0 {
        output::stderr(&format!(
            "error: none of the {total} users in {} was imported",
            args.file.display()
        ));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The file's entries: it must be a JSON array; what each element holds is judged later, one
/// by one.
fn read_entries(path: &std::path::Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut bytes = Vec::new();
    let stdin = path.as_os_str() == "-";
    let name = if stdin {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    };
    if stdin {
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("cannot read the users from stdin")?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
    }
    let json: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{name} is not valid JSON"))?;
    match json {
        serde_json::Value::Array(entries) => Ok(entries),
        _ => anyhow::bail!("{name} is not a JSON array of users (Auth0's bulk import format)"),
    }
}

/// One entry as a user of `connection`, or why it cannot be one.
fn to_user(
    value: serde_json::Value,
    connection: &Connection,
    now: UnixTime,
    rng: &dyn Rng,
) -> Result<User, String> {
    let serde_json::Value::Object(object) = &value else {
        return Err("not a JSON object".to_owned());
    };
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("the field {unknown:?} is not supported"));
    }
    let entry: Entry = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let email = validate::email(entry.email.as_deref().ok_or("email is required")?)
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
    let password = match (entry.password_hash, entry.custom_password_hash) {
        (Some(_), Some(_)) => {
            return Err("give password_hash or custom_password_hash, not both".to_owned());
        }
        (Some(hash), None) => Some(bcrypt(&hash).map_err(|e| format!("password_hash: {e}"))?),
        (None, Some(custom)) => {
            Some(custom_hash(custom).map_err(|e| format!("custom_password_hash: {e}"))?)
        }
        (None, None) => None,
    };
    let new = NewUser {
        email,
        email_verified: entry.email_verified,
        username: entry.username,
        password,
    };
    let mut user = User::new_database(user_id, connection, new, now);
    if entry.name.is_some() {
        user.name = entry.name;
    }
    if entry.nickname.is_some() {
        user.nickname = entry.nickname;
    }
    user.given_name = entry.given_name;
    user.family_name = entry.family_name;
    user.picture = entry.picture;
    user.blocked = entry.blocked;
    user.user_metadata = entry.user_metadata.unwrap_or_default();
    user.app_metadata = entry.app_metadata.unwrap_or_default();
    Ok(user)
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

/// A bcrypt hash in modular crypt form: `$2a$`, `$2b$` or `$2y$`, a two-digit cost, 53 characters
/// of salt and hash.
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
fn custom_hash(custom: serde_json::Value) -> Result<PasswordHash, String> {
    let algorithm_name = custom
        .get("algorithm")
        .and_then(|a| a.as_str())
        .ok_or("algorithm is required")?;
    let algorithm = PasswordAlgorithm::parse(algorithm_name)
        .ok_or_else(|| format!("the algorithm {algorithm_name:?} is not supported"))?;
    let value = custom
        .get("hash")
        .and_then(|h| h.get("value"))
        .and_then(|v| v.as_str())
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
        _ => serde_json::to_string(&custom).map_err(|e| e.to_string())?,
    };
    Ok(PasswordHash { algorithm, encoded })
}
