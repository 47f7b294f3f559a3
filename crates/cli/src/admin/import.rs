//! `sigil users import FILE`: Auth0's bulk user import format, a JSON array of users, into a
//! database connection, in one store transaction with a result per user: one bad or
//! duplicate user never stops the others. Password hashes are kept as they come (bcrypt, or
//! Auth0's `custom_password_hash`); the user's next successful login re-hashes with argon2id.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use sigil_core::management::import::{RowError, parse_import};
use sigil_core::model::User;
use sigil_core::model::connection::DEFAULT_DATABASE_CONNECTION;
use sigil_core::{Store as _, SystemRng};
use sigil_jose::UnixTime;

use super::Format;
use super::users::database_connection;
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

/// Users written per transaction.
const IMPORT_BATCH: usize = 1000;

/// `sigil users import`: a progress bar on stderr while it runs (only on a terminal), then a
/// summary of imported and failed entries.
pub(crate) fn run(
    args: ImportArgs,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    let (bytes, name) = read_file(&args.file)?;
    let (total, inserted, failures) = storage::with_initialised(location, now, async |opened| {
        let connection = database_connection(&opened.store, &args.connection).await?;
        let import = parse_import(&bytes, &connection, now, &SystemRng)
            .map_err(|e| anyhow::anyhow!("{name} {e}"))?;
        let mut failures = import.errors;
        let users: Vec<User> = import.users.iter().map(|u| u.user.clone()).collect();
        // In batches, so that a long import shows its progress; each batch is one transaction
        // and each user in it is added or refused on its own.
        let progress = indicatif::ProgressBar::new(users.len() as u64).with_style(
            indicatif::ProgressStyle::with_template(
                "importing {bar:40} {pos}/{len} users ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let mut results = Vec::with_capacity(users.len());
        for batch in users.chunks(IMPORT_BATCH) {
            results.extend(
                opened
                    .store
                    .import_users(batch)
                    .await
                    .context("cannot import the users")?,
            );
            progress.inc(batch.len() as u64);
        }
        progress.finish_and_clear();
        let mut inserted = 0;
        for (imported, result) in import.users.iter().zip(results) {
            match result {
                Ok(()) => inserted += 1,
                Err(conflict) => {
                    failures.push(RowError::duplicate(imported, conflict, &connection.name))
                }
            }
        }
        failures.sort_by_key(|f| f.index);
        Ok((import.total, inserted, failures))
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

/// The file's bytes and its name for messages ('-' is stdin).
fn read_file(path: &std::path::Path) -> anyhow::Result<(Vec<u8>, String)> {
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
    Ok((bytes, name))
}
