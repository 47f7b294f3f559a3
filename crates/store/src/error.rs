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
        self.map_err(|e| StoreError::Backend(Box::new(e)))
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
    StoreError::Backend(Box::new(e))
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
