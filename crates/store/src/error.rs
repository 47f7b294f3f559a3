//! What can go wrong when opening, migrating or protecting the database, and how `sqlx` errors
//! become the `Store` contract's errors.

use sigil_core::{Conflict, StoreError};

/// A storage error. Messages are one sentence saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The database URL is not `sqlite:…` or `postgres://…`.
    #[error("database URL {0:?} is neither sqlite://PATH nor postgres://…")]
    UnsupportedUrl(String),
    /// The database could not be reached or opened.
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// The schema was written by a newer Sigil.
    #[error(
        "the database schema is at version {found}, newer than this sigil understands ({supported}); \
         upgrade sigil instead of writing over it"
    )]
    SchemaTooNew {
        /// The database's version.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The schema is older than this build expects.
    #[error(
        "the database schema is at version {found} and this sigil needs {supported}; run `sigil migrate`"
    )]
    SchemaTooOld {
        /// The database's version (0: empty database).
        found: i64,
        /// The version this build needs.
        supported: i64,
    },
    /// A migration failed; the transaction was rolled back.
    #[error("migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The master key does not open what the database protects.
    #[error(
        "the master key does not match this database (it was set up with another key); \
         set SIGIL_MASTER_KEY or <data-dir>/master.key to the key it was created with"
    )]
    WrongMasterKey,
    /// The master key is missing or malformed, or its file is unsafe.
    #[error("{0}")]
    MasterKey(String),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

/// `sqlx` errors as the contract's [`StoreError`]: a failing database is a backend failure.
pub(crate) trait OrBackend<T> {
    /// Maps any database error to [`StoreError::Backend`].
    fn db(self) -> Result<T, StoreError>;
}

impl<T> OrBackend<T> for Result<T, sqlx::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(failure)
    }
}

/// A database failure as the contract's error: [`StoreError::Unavailable`] when the database
/// cannot serve now and may shortly (no connection to be had, the server going away or
/// starting, a full disk), [`StoreError::Backend`] for anything else.
pub(crate) fn failure(e: sqlx::Error) -> StoreError {
    let unavailable = match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| {
            // PostgreSQL: connection exceptions (08…), insufficient resources (53…: disk
            // full, out of memory, too many connections), operator intervention (57P…:
            // shutting down, starting up). SQLite: SQLITE_FULL (13), SQLITE_IOERR (10, and
            // its extended codes, whose low byte is 10).
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code
                    .parse::<i32>()
                    .is_ok_and(|n| n & 0xff == 13 || n & 0xff == 10)
        }),
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(Box::new(e))
    } else {
        StoreError::Backend(Box::new(e))
    }
}

/// A failed write as the contract's error: a unique violation becomes the [`Conflict`] that
/// `which` picks from the index or constraint named in the error (index names say which
/// column they guard), a foreign-key violation becomes [`StoreError::NotFound`] of `missing`.
pub(crate) fn write_error(
    e: sqlx::Error,
    which: impl Fn(&str) -> Conflict,
    missing: &'static str,
) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            let hint = format!("{} {}", d.constraint().unwrap_or_default(), d.message());
            return StoreError::Conflict(which(&hint));
        }
        if d.is_foreign_key_violation() {
            return StoreError::NotFound(missing);
        }
    }
    failure(e)
}

/// A stored value that does not parse.
pub(crate) fn corrupt(what: &'static str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        why: why.to_string(),
    }
}

/// `Ok` when a write touched a row, else [`StoreError::NotFound`] of `what`: for updates and
/// deletes by key, where no row means no such record.
pub(crate) fn touched(rows: u64, what: &'static str) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound(what))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_cannot_serve_now_is_unavailable() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        for (e, unavailable) in [
            (sqlx::Error::PoolTimedOut, true),
            (sqlx::Error::PoolClosed, true),
            (sqlx::Error::Io(io()), true),
            (sqlx::Error::RowNotFound, false),
            (sqlx::Error::Protocol("odd".to_owned()), false),
        ] {
            let what = e.to_string();
            let mapped = failure(e);
            assert_eq!(
                matches!(mapped, StoreError::Unavailable(_)),
                unavailable,
                "{what}: {mapped:?}"
            );
        }
    }
}
