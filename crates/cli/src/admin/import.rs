//! `sigil users import FILE`: Auth0's bulk user import format, a JSON array of users, into a
//! database connection. It runs the job `POST /api/v2/jobs/users-imports` runs
//! (`sigil_core::management::import_job`): batches of 1000 users, each user added or refused
//! on its own, so one bad or duplicate user never stops the others; with `--upsert`, a
//! duplicate updates the existing user. The finished job is recorded as the API records it, so
//! `GET /api/v2/jobs/{id}` and `/jobs/{id}/errors` show it. Password hashes are kept as they
//! come (bcrypt, or Auth0's `custom_password_hash`); the user's next successful login
//! re-hashes with argon2id.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use sigil_core::management::import::parse_import;
use sigil_core::management::import_job::{ImportOutcome, MAX_EXTERNAL_ID, import_job, run_import};
use sigil_core::management::job_json;
use sigil_core::model::Job;
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
or user_id is reported with its index in the array and never stops the others. With --upsert, \
a user whose email or user_id exists already is updated with what the entry gives instead.

This is the job POST /api/v2/jobs/users-imports runs, recorded the same way: the summary names \
the job, and GET /api/v2/jobs/<id> and GET /api/v2/jobs/<id>/errors (every refused entry) \
answer for it.

Exit status: 0 when the file was read and at least one user was imported or updated (or it was \
empty); 1 when none of its users could be; 2 when the file cannot be read or is not a JSON \
array.";

/// Refused entries listed in the summary; the job holds them all.
const LISTED_FAILURES: usize = 20;

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The JSON file, or '-' for stdin.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The database connection to import into.
    #[arg(long, value_name = "C", default_value = DEFAULT_DATABASE_CONNECTION)]
    connection: String,
    /// Update the existing user (found by email or user_id) instead of refusing the entry.
    #[arg(long)]
    upsert: bool,
    /// Your own reference for the job, kept with it (at most 128 characters).
    #[arg(long, value_name = "ID", value_parser = external_id)]
    external_id: Option<String>,
    #[command(flatten)]
    format: Format,
}

/// `--external-id`: at most [`MAX_EXTERNAL_ID`] bytes, as the API accepts.
fn external_id(text: &str) -> Result<String, String> {
    if text.len() > MAX_EXTERNAL_ID {
        return Err(format!("at most {MAX_EXTERNAL_ID} characters"));
    }
    Ok(text.to_owned())
}

/// `sigil users import`: a progress bar on stderr while it runs (only on a terminal), then a
/// summary of imported, updated and failed entries and the job that recorded them.
pub(crate) fn run(
    args: ImportArgs,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    let (bytes, name) = read_file(&args.file)?;
    let (outcome, job, issuer) = storage::with_initialised(location, now, async |opened| {
        let connection = database_connection(&opened.store, &args.connection).await?;
        let import = parse_import(&bytes, &connection, now, &SystemRng)
            .map_err(|e| anyhow::anyhow!("{name} {e}"))?;
        let progress = indicatif::ProgressBar::new(import.users.len() as u64).with_style(
            indicatif::ProgressStyle::with_template(
                "importing {bar:40} {pos}/{len} users ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let outcome = run_import(
            &opened.store,
            &connection,
            import,
            args.upsert,
            now,
            |written| progress.inc(written as u64),
        )
        .await
        .context("cannot import the users")?;
        progress.finish_and_clear();
        let job = import_job(
            &outcome,
            &connection,
            args.external_id.clone(),
            now,
            &SystemRng,
        );
        opened
            .store
            .create_job(&job)
            .await
            .context("cannot record the import job")?;
        Ok((outcome, job, opened.tenant.issuer.clone()))
    })?;

    let json = report_json(&args.connection, &outcome, &job);
    super::print(
        &args.format,
        &json,
        &summary(&args.connection, &outcome, &job, &issuer),
    )?;
    let total = outcome.total;
    if outcome.inserted + outcome.updated == 0 && total > 0 {
        output::stderr(&format!(
            "error: none of the {total} users in {} was imported",
            args.file.display()
        ));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The summary for people: the counts, the first [`LISTED_FAILURES`] refused entries, and the
/// job, with where to read every refused entry.
fn summary(connection: &str, outcome: &ImportOutcome, job: &Job, issuer: &str) -> Vec<String> {
    let failed = outcome.errors.len();
    let mut lines = vec![format!(
        "imported {} of {} users into {connection}{}",
        outcome.inserted,
        outcome.total,
        if failed == 0 {
            String::new()
        } else {
            format!("; {failed} failed:")
        }
    )];
    lines.extend(outcome.errors.iter().take(LISTED_FAILURES).map(|f| {
        format!(
            "  [{}] {}: {}",
            f.index,
            f.email.as_deref().unwrap_or("(no email)"),
            f.message
        )
    }));
    if failed > LISTED_FAILURES {
        lines.push(format!("  … and {} more", failed - LISTED_FAILURES));
    }
    lines.push(format!(
        "total {}: {} imported, {} updated, {failed} failed",
        outcome.total, outcome.inserted, outcome.updated
    ));
    lines.push(format!("job {}", job.id));
    if failed > 0 {
        lines.push(format!(
            "every failed entry: GET {issuer}api/v2/jobs/{}/errors",
            job.id
        ));
    }
    lines
}

/// `--json`: the counts, every refused entry, and the job as `GET /api/v2/jobs/{id}` answers it.
fn report_json(connection: &str, outcome: &ImportOutcome, job: &Job) -> serde_json::Value {
    serde_json::json!({
        "connection": connection,
        "total": outcome.total,
        "inserted": outcome.inserted,
        "updated": outcome.updated,
        "failed": outcome.errors.len(),
        "errors": outcome.errors.iter().map(|f| serde_json::json!({
            "index": f.index,
            "email": f.email,
            "code": f.code,
            "message": f.message,
        })).collect::<Vec<_>>(),
        "job": job_json(job, None),
    })
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
