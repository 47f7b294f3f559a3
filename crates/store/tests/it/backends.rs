//! Fresh, isolated databases for each test on each backend, and the helpers that run a test
//! body once per backend (on a bare database, or on an opened `SqlStore`).

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use sigil_core::UnixTime;
use sigil_store::{Backend, Database, MasterKey, SqlStore};

static NEXT: AtomicU64 = AtomicU64::new(0);
/// Says once per test binary whether PostgreSQL is in the run.
static SKIP_LINE: Once = Once::new();

/// A database made for one test; PostgreSQL ones are dropped by [`Fresh::finish`].
pub(crate) struct Fresh {
    pub(crate) db: Database,
    pub(crate) url: String,
    drop_pg: Option<(String, String)>,
}

impl Fresh {
    /// Closes the pool and removes the PostgreSQL database.
    pub(crate) async fn finish(self) {
        self.db.close().await;
        if let Some((admin_url, name)) = self.drop_pg {
            admin(
                &admin_url,
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
        }
    }
}

/// Runs one statement (CREATE/DROP DATABASE) on the PostgreSQL server the tests were given.
async fn admin(admin_url: &str, sql: String) {
    let admin = Database::connect(admin_url)
        .await
        .expect("admin connection");
    if let Database::Postgres(pool) = &admin {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("admin statement failed: {e}"));
    }
    admin.close().await;
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The backends to run on: SQLite, and PostgreSQL when configured.
pub(crate) fn all() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    match std::env::var("SIGIL_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            SKIP_LINE.call_once(|| {
                use std::io::Write as _;
                let level = match pg_isolation() {
                    Some(level) => format!("every transaction at {} (SIGIL_TEST_PG_ISOLATION)", level.to_uppercase()),
                    None => "at the server's default isolation, READ COMMITTED unless configured \
                             (SIGIL_TEST_PG_ISOLATION=serializable|repeatable_read|read_committed \
                             picks one)"
                        .to_owned(),
                };
                let _ = writeln!(
                    std::io::stderr(),
                    "PostgreSQL contract run ENABLED (SIGIL_TEST_DATABASE_URL), {level}"
                );
            });
            backends.push(Backend::Postgres);
        }
        // Written to the process's stderr directly, past the test harness's capture, so the
        // skip is visible in every run.
        _ => SKIP_LINE.call_once(|| {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "PostgreSQL contract run SKIPPED: SIGIL_TEST_DATABASE_URL is not set (scripts/with-postgres sets it)"
            );
        }),
    }
    backends
}

/// The isolation level `SIGIL_TEST_PG_ISOLATION` names, as PostgreSQL spells it, or `None`
/// to leave the server's default. Anything else stops the run rather than test the default
/// under another name.
fn pg_isolation() -> Option<&'static str> {
    let value = std::env::var("SIGIL_TEST_PG_ISOLATION").ok()?;
    match value.to_ascii_lowercase().replace([' ', '-'], "_").as_str() {
        "" => None,
        "serializable" => Some("serializable"),
        "repeatable_read" => Some("repeatable read"),
        "read_committed" => Some("read committed"),
        _ => panic!(
            "SIGIL_TEST_PG_ISOLATION={value:?}: expected serializable, repeatable_read or read_committed"
        ),
    }
}

/// A new, empty database on `backend` (on PostgreSQL at the level `SIGIL_TEST_PG_ISOLATION`
/// names).
pub(crate) async fn fresh(backend: Backend) -> Fresh {
    fresh_at(backend, pg_isolation()).await
}

/// A new, empty database on `backend`; on PostgreSQL every transaction in it runs at
/// `isolation` (as PostgreSQL spells it), or at the server's default for `None`.
pub(crate) async fn fresh_at(backend: Backend, isolation: Option<&str>) -> Fresh {
    match backend {
        Backend::Sqlite => {
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("sigil_store"));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let url = format!("sqlite://{}", dir.join("sigil.db").display());
            let db = Database::connect(&url).await.expect("open SQLite");
            Fresh {
                db,
                url,
                drop_pg: None,
            }
        }
        Backend::Postgres => {
            let admin_url = std::env::var("SIGIL_TEST_DATABASE_URL").expect("checked by all()");
            let name = unique("sigil_t");
            admin(&admin_url, format!("CREATE DATABASE {name}")).await;
            // Set before the store connects, so every session it opens starts at this level.
            if let Some(level) = isolation {
                admin(
                    &admin_url,
                    format!("ALTER DATABASE {name} SET default_transaction_isolation = '{level}'"),
                )
                .await;
            }
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("a URL with a database name");
            let url = format!("{base}/{name}");
            let db = Database::connect(&url).await.expect("open PostgreSQL");
            Fresh {
                db,
                url,
                drop_pg: Some((admin_url, name)),
            }
        }
    }
}

/// Runs `test` once per backend on a new, empty (unmigrated) database, then drops it.
pub(crate) async fn on_every_backend<F, Fut>(test: F)
where
    F: Fn(Fresh) -> Fut,
    Fut: std::future::Future<Output = Fresh>,
{
    for backend in backends_announced() {
        let fresh = fresh(backend).await;
        test(fresh).await.finish().await;
    }
}

/// Runs `test` once per backend on a migrated database opened as a [`SqlStore`] (with a new
/// master key), then drops the database. The store's `database()` is there for raw checks.
///
/// Each run is a task of its own, so that a failure on one backend does not keep the others
/// from running: every backend's verdict is in the output, and the first panic is re-raised
/// at the end.
pub(crate) async fn on_every_store<F, Fut>(test: F)
where
    F: Fn(SqlStore) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut failed = Vec::new();
    for backend in backends_announced() {
        let fresh = fresh(backend).await;
        let store = open_store(&fresh).await;
        let verdict = tokio::spawn(test(store)).await;
        fresh.finish().await;
        if let Err(e) = verdict {
            eprintln!("--- FAILED on {backend:?}");
            failed.push(e);
        }
    }
    match failed
        .into_iter()
        .next()
        .map(tokio::task::JoinError::try_into_panic)
    {
        None => {}
        Some(Ok(panic)) => std::panic::resume_unwind(panic),
        Some(Err(e)) => panic!("the test task did not finish: {e}"),
    }
}

/// Migrates `fresh` and opens it as a store under a new master key.
pub(crate) async fn open_store(fresh: &Fresh) -> SqlStore {
    fresh.db.migrate().await.expect("migrate");
    let (key, _) = MasterKey::generate().expect("master key");
    SqlStore::open(fresh.db.clone(), key, UnixTime(crate::fixtures::NOW))
        .await
        .expect("open the store")
}

/// [`all`], saying which backend each run is on: the harness captures this and shows it
/// with a failure, so a panic deep in a shared test body still names its backend.
fn backends_announced() -> impl Iterator<Item = Backend> {
    all()
        .into_iter()
        .inspect(|backend| eprintln!("--- on {backend:?}"))
}
