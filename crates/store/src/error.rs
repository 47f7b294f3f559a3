//! What can go wrong when opening, migrating or protecting the database.

/// A storage error. Messages are one sentence saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
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
