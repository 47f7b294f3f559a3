//! Fresh, isolated databases for each test on each backend.

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use sigil_store::{Backend, Database};

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
                let _ = writeln!(std::io::stderr(), "PostgreSQL contract run ENABLED (SIGIL_TEST_DATABASE_URL)");
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

/// A new, empty database on `backend`.
pub(crate) async fn fresh(backend: Backend) -> Fresh {
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
