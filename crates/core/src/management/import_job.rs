//! The user import job, shared by `POST /api/v2/jobs/users-imports` and `sigil users import`:
//! [`run_import`] writes a parsed file ([`Import`]) to the store in batches, each user
//! inserted or refused on its own (with `upsert`, a collision updates the existing user
//! instead), and [`import_job`] makes the finished [`Job`] both callers record, so that
//! `GET /jobs/{id}` and `/jobs/{id}/errors` answer the same for either.

use serde_json::json;
use sigil_jose::UnixTime;

use super::import::{Import, ImportedUser, RowError};
use crate::Rng;
use crate::ids::JobId;
use crate::model::{Connection, Job, JobKind, JsonObject};
use crate::store::{Conflict, Store, StoreError};

/// Users written per store transaction: a long import reports its progress batch by batch.
pub const IMPORT_BATCH: usize = 1000;

/// The longest `external_id` a job accepts, as at Auth0.
pub const MAX_EXTERNAL_ID: usize = 128;

/// How an import went.
#[derive(Debug, Default)]
pub struct ImportOutcome {
    /// How many entries the file held.
    pub total: usize,
    /// Users added.
    pub inserted: usize,
    /// Existing users updated (`upsert` only).
    pub updated: usize,
    /// The entries refused, by the parser or by the store, in file order.
    pub errors: Vec<RowError>,
}

/// Writes `import`'s users into `connection` in batches of [`IMPORT_BATCH`], calling
/// `progress` with the number of users of each batch once it is written. Each batch is one
/// transaction in which every user is added or refused on its own; with `upsert`, a user that
/// collides with an existing one by email or `user_id` updates it (only with what the entry
/// gives, at `now`). The outcome counts both and holds every refused entry, the parser's
/// included, sorted by index.
///
/// A store failure (not a collision) stops the import; the batches written before it stay.
pub async fn run_import(
    store: &impl Store,
    connection: &Connection,
    import: Import,
    upsert: bool,
    now: UnixTime,
    mut progress: impl FnMut(usize),
) -> Result<ImportOutcome, StoreError> {
    let mut outcome = ImportOutcome {
        total: import.total,
        errors: import.errors,
        ..ImportOutcome::default()
    };
    for batch in import.users.chunks(IMPORT_BATCH) {
        let records: Vec<_> = batch
            .iter()
            .map(|u| (u.user.clone(), u.factors.clone()))
            .collect();
        let results = store.import_users(&records).await?;
        for (imported, result) in batch.iter().zip(results) {
            let Err(conflict) = result else {
                outcome.inserted += 1;
                continue;
            };
            let retried = if upsert {
                update_existing(store, connection, imported, conflict, now).await?
            } else {
                None
            };
            match retried {
                Some(Ok(())) => outcome.updated += 1,
                Some(Err(again)) => {
                    outcome
                        .errors
                        .push(RowError::duplicate(imported, again, &connection.name));
                }
                None => {
                    outcome
                        .errors
                        .push(RowError::duplicate(imported, conflict, &connection.name));
                }
            }
        }
        progress(batch.len());
    }
    outcome.errors.sort_by_key(|e| e.index);
    Ok(outcome)
}

/// The existing user `imported` collided with, updated with what the entry gives; `None`
/// when it cannot be (another kind of collision, or the user is gone), `Some(Err)` when the
/// update collides in turn (say, a username another user has).
async fn update_existing(
    store: &impl Store,
    connection: &Connection,
    imported: &ImportedUser,
    conflict: Conflict,
    now: UnixTime,
) -> Result<Option<Result<(), Conflict>>, StoreError> {
    let existing = match conflict {
        Conflict::Email => match &imported.user.email {
            Some(email) => store.user_by_email(&connection.id, email).await?,
            None => None,
        },
        Conflict::UserId => store
            .user(&imported.user.user_id)
            .await?
            .filter(|u| u.connection_id == connection.id),
        _ => None,
    };
    // An account linked to another user is no user to update: the entry stays refused.
    let Some(existing) = existing.filter(|u| u.linked_to.is_none()) else {
        return Ok(None);
    };
    let user_id = existing.user_id.clone();
    match store.update_user(&imported.update(existing, now)).await {
        Ok(()) => {}
        Err(StoreError::Conflict(conflict)) => return Ok(Some(Err(conflict))),
        Err(e) => return Err(e),
    }
    // The entry's factors join the user's; one of a kind the user already confirmed stays.
    for factor in &imported.factors {
        let factor = crate::model::Authenticator {
            user_id: user_id.clone(),
            ..factor.clone()
        };
        match store.put_authenticator(&factor).await {
            Ok(()) | Err(StoreError::Conflict(Conflict::Authenticator)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(Ok(())))
}

/// The finished import as a [`Job`] to record: `users_import`, `completed`, its `summary`
/// (`failed`, `updated`, `inserted`, `total`) and its refused entries in Auth0's shape (without
/// password hashes, see [`RowError::job_error`]), with a new id from `rng`, made at `now`.
pub fn import_job(
    outcome: &ImportOutcome,
    connection: &Connection,
    external_id: Option<String>,
    now: UnixTime,
    rng: &dyn Rng,
) -> Job {
    let mut details = JsonObject::new();
    details.insert(
        "summary".to_owned(),
        json!({
            "failed": outcome.errors.len(),
            "updated": outcome.updated,
            "inserted": outcome.inserted,
            "total": outcome.total,
        }),
    );
    Job {
        id: JobId::generate(rng),
        kind: JobKind::UsersImport,
        status: "completed".to_owned(),
        connection_id: Some(connection.id.clone()),
        external_id,
        created_at: now,
        details,
        errors: outcome.errors.iter().map(RowError::job_error).collect(),
        output: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemRng;
    use crate::management::import::{DUPLICATED_USER, parse_import};
    use crate::management::job_json;
    use crate::management::user_create::tests::connection;

    #[test]
    fn the_job_holds_the_summary_and_the_refused_entries_without_hashes() {
        let connection = connection(false);
        let file = json!([
            {"email": "ann@example.com"},
            {"email": "not an address", "password_hash": "plaintext"},
            {"email": "bo@example.com", "custom_password_hash": {
                "algorithm": "md5", "hash": {"value": "x"}}},
        ]);
        let Ok(import) = parse_import(
            file.to_string().as_bytes(),
            &connection,
            UnixTime(7),
            &SystemRng,
        ) else {
            panic!("the file is an array");
        };
        // As if the store had inserted Ann and refused Bo, who was there already.
        let mut errors = vec![RowError::duplicate(
            &import.users[1],
            Conflict::Email,
            &connection.name,
        )];
        errors.extend(import.errors);
        errors.sort_by_key(|e| e.index);
        let outcome = ImportOutcome {
            total: import.total,
            inserted: 1,
            updated: 0,
            errors,
        };

        let job = import_job(
            &outcome,
            &connection,
            Some("batch-7".into()),
            UnixTime(7),
            &SystemRng,
        );
        assert!(job.id.0.starts_with("job_"), "{}", job.id.0);
        assert_eq!(job.kind, JobKind::UsersImport);
        assert_eq!(job.status, "completed");
        assert_eq!(job.connection_id.as_ref(), Some(&connection.id));
        assert_eq!(job.output, None);
        let answer = job_json(&job, None);
        assert_eq!(answer["external_id"], "batch-7");
        assert_eq!(
            answer["summary"],
            json!({"failed": 2, "updated": 0, "inserted": 1, "total": 3})
        );
        assert_eq!(job.errors.len(), 2);
        assert_eq!(job.errors[0]["user"], json!({"email": "not an address"}));
        assert_eq!(job.errors[0]["errors"][0]["code"], "INVALID_FORMAT");
        assert_eq!(job.errors[1]["user"], json!({"email": "bo@example.com"}));
        assert_eq!(job.errors[1]["errors"][0]["code"], DUPLICATED_USER);
        assert_eq!(job.errors[1]["errors"][0]["path"], "email");
    }
}
