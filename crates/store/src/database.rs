//! Opening the database, its schema version, migrations, and the master-key check.
//!
//! This is the one place that knows there are two backends. SQL that both accept is written
//! once (`$N` placeholders work in both); what differs is matched here and nowhere else.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, SqlStr};

use crate::retry::retrying;
use crate::{DatabaseError, MasterKey};

/// Which database engine a [`Database`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: one file in the data directory.
    Sqlite,
    /// Several stateless Sigil nodes sharing one database.
    Postgres,
}

/// An open connection pool to Sigil's database.
#[derive(Clone, Debug)]
pub enum Database {
    /// SQLite, in WAL mode with full synchronisation and foreign keys on.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// What [`Database::migrate`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migrated {
    /// The schema version before (0 for an empty database).
    pub from: i64,
    /// The schema version now.
    pub to: i64,
}

/// Runs the same code on whichever pool the database has: for SQL both backends accept, written
/// once. (The pools are different types, so this cannot be a function without `sqlx::Any`.)
///
/// It is the store's one way to a pool, and it runs `$body` through [`retrying`]: the body is
/// a whole unit of work (one statement, or a transaction it begins and commits), run again
/// from scratch when the database answers a serialization failure or a deadlock. The body
/// becomes an async block returning `Result<_, StoreError>`, made afresh for each run by a `Fn`
/// closure: its `?` leaves the block, and the macro's own `?` then leaves the calling function
/// with the error, as if the body's had. A `return` in the body leaves only the block, its
/// value being the block's `Result`. The body can neither move nor change anything it
/// captured, so each run starts from the same inputs.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        $crate::retry::retrying(|| async {
            Ok::<_, ::sigil_core::StoreError>(match $db {
                $crate::database::Database::Sqlite($pool) => $body,
                $crate::database::Database::Postgres($pool) => $body,
            })
        })
        .await?
    };
}

pub(crate) use on_pool;

/// A transaction that writes, begun as each engine needs it. On SQLite, `BEGIN IMMEDIATE`:
/// the write lock is taken at the start, waiting for it under the busy timeout. A deferred
/// transaction (plain `BEGIN`) that has read and then writes asks SQLite to upgrade its read
/// into a write, and SQLite answers that at once with SQLITE_BUSY ("database is locked",
/// without calling the busy handler, since waiting could deadlock) whenever another connection
/// holds the write lock, even for a moment. On PostgreSQL, a plain `BEGIN`.
pub(crate) trait BeginWrite {
    /// The engine.
    type Db: sqlx::Database;

    /// Begins a transaction that will write.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// Embeds one backend's migrations: `version => "file"` for `migrations/<backend>/<file>.sql`.
macro_rules! migrations {
    ($dir:literal: $($version:literal => $file:literal),* $(,)?) => {
        vec![$(Migration::new(
            $version,
            $file.into(),
            MigrationType::Simple,
            SqlStr::from_static(include_str!(concat!("../migrations/", $dir, "/", $file, ".sql"))),
            false,
        )),*]
    };
}

fn sqlite_migrations() -> Vec<Migration> {
    migrations!("sqlite":
        1 => "0001_meta",
        2 => "0002_model",
        3 => "0003_outbox",
        4 => "0004_refresh_auth_time",
        5 => "0005_client_assertions",
        6 => "0006_key_families",
        7 => "0007_jobs",
        8 => "0008_account_links",
        9 => "0009_log_order",
        10 => "0010_rate_limits",
        11 => "0011_actions",
        12 => "0012_code_actions",
        13 => "0013_trigger_queue",
        14 => "0014_action_executions",
        15 => "0015_rules",
        16 => "0016_session_methods",
        17 => "0017_connections",
        18 => "0018_federation_transactions",
        19 => "0019_federated_users",
        20 => "0020_mail_delivery",
        21 => "0021_email_templates",
        22 => "0022_passwordless",
        23 => "0023_mfa",
        24 => "0024_mfa_email",
        25 => "0025_login_failures",
    )
}

fn postgres_migrations() -> Vec<Migration> {
    migrations!("postgres":
        1 => "0001_meta",
        2 => "0002_model",
        3 => "0003_outbox",
        4 => "0004_refresh_auth_time",
        5 => "0005_client_assertions",
        6 => "0006_key_families",
        7 => "0007_jobs",
        8 => "0008_account_links",
        9 => "0009_log_order",
        10 => "0010_rate_limits",
        11 => "0011_actions",
        12 => "0012_code_actions",
        13 => "0013_trigger_queue",
        14 => "0014_action_executions",
        15 => "0015_rules",
        16 => "0016_session_methods",
        17 => "0017_connections",
        18 => "0018_federation_transactions",
        19 => "0019_federated_users",
        20 => "0020_mail_delivery",
        21 => "0021_email_templates",
        22 => "0022_passwordless",
        23 => "0023_mfa",
        24 => "0024_mfa_email",
        25 => "0025_login_failures",
    )
}

/// The value sealed under the master key to recognise it.
const MASTER_KEY_CHECK: &str = "master_key_check";
const MASTER_KEY_CHECK_TEXT: &[u8] = b"sigil master key check v1";

/// How long SQLite waits for another connection's lock before answering "database is locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a database connection before it is answered 503.
const POOL_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens the SQLite pool, retrying while another process holds the file busy.
///
/// The busy timeout does not cover everything: switching a brand-new file to WAL mode while
/// other processes do the same (several `sigil init` or `serve` racing on a fresh data
/// directory) can make SQLite answer SQLITE_BUSY at once, without calling the busy handler,
/// because waiting could deadlock. Opening again a moment later succeeds once the winner has
/// switched the file, so the open retries, pausing for as long in all as the busy timeout would have waited.
async fn open_sqlite(options: SqliteConnectOptions) -> Result<SqlitePool, DatabaseError> {
    let mut waited = Duration::ZERO;
    let mut pause = Duration::from_millis(10);
    loop {
        match SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(POOL_ACQUIRE_TIMEOUT)
            // An embedded file has no connection to lose: no ping before each query.
            .test_before_acquire(false)
            // A connection that still counts a transaction when it is handed out again is
            // closed (which ends the transaction) rather than reused. It happens after a full
            // disk: SQLite may roll a failed transaction back itself, sqlx's own ROLLBACK then
            // fails and sqlx still counts the transaction, so its next `begin` is only a
            // SAVEPOINT, whose rollback (`ROLLBACK TO`) keeps the transaction, and with it the
            // write lock, open for ever: every other writer answered "database is locked".
            .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .connect_with(options.clone())
            .await
        {
            Ok(pool) => return Ok(pool),
            Err(e) if is_sqlite_busy(&e) && waited < SQLITE_BUSY_TIMEOUT => {
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            Err(e) => return Err(DatabaseError::Connect(e)),
        }
    }
}

/// SQLITE_BUSY or one of its extended codes (the primary code is the low byte).
fn is_sqlite_busy(error: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    match error {
        sqlx::Error::Database(e) => e
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == SQLITE_BUSY),
        _ => false,
    }
}

/// The connection pool's state, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open.
    pub open: u32,
    /// Of those, idle.
    pub idle: u32,
}

impl Database {
    /// How many connections are open and idle now.
    pub fn pool_state(&self) -> PoolState {
        let (open, idle) = match self {
            Database::Sqlite(pool) => (pool.size(), pool.num_idle()),
            Database::Postgres(pool) => (pool.size(), pool.num_idle()),
        };
        PoolState {
            open,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
        }
    }

    /// Opens `url`: `sqlite://PATH` (the file is created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self, DatabaseError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(DatabaseError::Connect)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a commit that returned is on disk, even across a power cut.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            Ok(Database::Sqlite(open_sqlite(options).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                // A request waits this long for a connection, then is answered 503: shorter
                // than a load balancer's patience, so a database outage shows as such.
                .acquire_timeout(POOL_ACQUIRE_TIMEOUT)
                .connect(url)
                .await
                .map_err(DatabaseError::Connect)?;
            Ok(Database::Postgres(pool))
        } else {
            Err(DatabaseError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        match self {
            Database::Sqlite(_) => Backend::Sqlite,
            Database::Postgres(_) => Backend::Postgres,
        }
    }

    /// The statement that, run first in a transaction, queues it behind every other
    /// transaction that ran it on `table` until they end: on PostgreSQL `LOCK TABLE … IN
    /// EXCLUSIVE MODE` (readers of the table still pass), on SQLite none, since its writers
    /// are serialised anyway.
    ///
    /// On PostgreSQL it is what keeps a hot row from failing under REPEATABLE READ and
    /// SERIALIZABLE. Those levels fix a transaction's view at its first query or write, but
    /// not at `LOCK`: taken first, the lock is granted only after the previous holder
    /// committed, and the view that follows includes what it wrote. Updating the row instead,
    /// the view would predate that commit, and the update would fail with a serialization
    /// failure for every writer that queued.
    pub(crate) fn queue_on(&self, table: &'static str) -> Option<String> {
        match self {
            Database::Sqlite(_) => None,
            Database::Postgres(_) => Some(format!("LOCK TABLE {table} IN EXCLUSIVE MODE")),
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Database::Sqlite(pool) => pool.close().await,
            Database::Postgres(pool) => pool.close().await,
        }
    }

    fn migrator(&self) -> Migrator {
        Migrator::with_migrations(match self {
            Database::Sqlite(_) => sqlite_migrations(),
            Database::Postgres(_) => postgres_migrations(),
        })
    }

    /// The newest schema version this build knows.
    pub fn supported_version(&self) -> i64 {
        self.migrator().iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// The schema version: the newest migration applied, 0 for an empty database.
    pub async fn schema_version(&self) -> Result<i64, DatabaseError> {
        const APPLIED: &str =
            "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
        let exists = match self {
            Database::Sqlite(pool) => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(pool)
            .await?
                > 0,
            Database::Postgres(pool) => {
                sqlx::query_scalar::<_, bool>("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?
            }
        };
        if !exists {
            return Ok(0);
        }
        Ok(match self {
            Database::Sqlite(pool) => sqlx::query_scalar(APPLIED).fetch_one(pool).await?,
            Database::Postgres(pool) => sqlx::query_scalar(APPLIED).fetch_one(pool).await?,
        })
    }

    /// Applies the migrations this database lacks. Running it again does nothing. A schema newer
    /// than this build is refused, never written over.
    pub async fn migrate(&self) -> Result<Migrated, DatabaseError> {
        self.migrate_to(self.supported_version()).await
    }

    /// Applies the migrations this database lacks up to `version` only: for tests of what a
    /// migration does to the data an older schema held. A schema newer than this build is
    /// refused, never written over.
    pub async fn migrate_to(&self, version: i64) -> Result<Migrated, DatabaseError> {
        let from = self.schema_version().await?;
        let supported = self.supported_version();
        if from > supported {
            return Err(DatabaseError::SchemaTooNew {
                found: from,
                supported,
            });
        }
        let mut migrator = self.migrator();
        migrator.migrations = migrator
            .migrations
            .iter()
            .filter(|m| m.version <= version)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        let result = match self {
            // SQLite's migrator takes no lock, so two first runs would both apply 0001. One
            // `BEGIN IMMEDIATE` transaction around the whole run serialises them (the second
            // waits, then finds nothing to do) and makes the upgrade all-or-nothing.
            Database::Sqlite(pool) => {
                async {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    migrator.run(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(())
                }
                .await
            }
            // PostgreSQL's migrator holds an advisory lock for the run.
            Database::Postgres(pool) => migrator.run(pool).await,
        };
        result.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(found) => {
                DatabaseError::SchemaTooNew { found, supported }
            }
            other => DatabaseError::Migrate(other),
        })?;
        Ok(Migrated {
            from,
            to: self.schema_version().await?,
        })
    }

    /// Fails unless the schema is exactly the one this build expects: every command except
    /// `migrate` and `init` (which migrate first) checks this before touching data.
    pub async fn check_schema(&self) -> Result<(), DatabaseError> {
        let found = self.schema_version().await?;
        let supported = self.supported_version();
        match found.cmp(&supported) {
            std::cmp::Ordering::Equal => Ok(()),
            std::cmp::Ordering::Greater => Err(DatabaseError::SchemaTooNew { found, supported }),
            std::cmp::Ordering::Less => Err(DatabaseError::SchemaTooOld { found, supported }),
        }
    }

    /// Checks `key` against the value the database keeps sealed under its master key. The first
    /// key ever checked is recorded (atomically: of two racing first checks, one key wins and
    /// the other is refused). `now` is Unix seconds.
    pub async fn check_master_key(&self, key: &MasterKey, now: i64) -> Result<(), DatabaseError> {
        const RECORD: &str = "INSERT INTO sigil_meta (name, value, updated_at) VALUES ($1, $2, $3) \
                              ON CONFLICT (name) DO NOTHING";
        const READ: &str = "SELECT value FROM sigil_meta WHERE name = $1";
        let sealed = key.seal(MASTER_KEY_CHECK, MASTER_KEY_CHECK_TEXT)?;
        let candidate = base64_simd::URL_SAFE_NO_PAD.encode_to_string(&sealed);
        macro_rules! record_and_read {
            ($pool:expr) => {{
                sqlx::query(RECORD)
                    .bind(MASTER_KEY_CHECK)
                    .bind(&candidate)
                    .bind(now)
                    .execute($pool)
                    .await?;
                sqlx::query_scalar(READ)
                    .bind(MASTER_KEY_CHECK)
                    .fetch_one($pool)
                    .await?
            }};
        }
        // Two first checks racing under SERIALIZABLE: the loser's insert answers 40001 where
        // READ COMMITTED would see the winner's row and do nothing; run again, it does that.
        let stored: String = retrying(|| async {
            Ok::<_, DatabaseError>(match self {
                Database::Sqlite(pool) => record_and_read!(pool),
                Database::Postgres(pool) => record_and_read!(pool),
            })
        })
        .await?;
        let stored = base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(stored.as_bytes())
            .map_err(|_| DatabaseError::WrongMasterKey)?;
        match key.open(MASTER_KEY_CHECK, &stored)?.as_slice() {
            text if text == MASTER_KEY_CHECK_TEXT => Ok(()),
            _ => Err(DatabaseError::WrongMasterKey),
        }
    }
}
