//! `sigil init` and the admin commands on PostgreSQL, when `SIGIL_TEST_DATABASE_URL` names a
//! server (`scripts/with-postgres` sets it; it must allow creating databases). Each test gets a
//! database of its own, dropped at the end. Without the variable the tests say, once, on the
//! real stderr, that they were skipped.

use std::io::Write as _;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection as _;

use crate::{check, check_env, json, master_key, scratch};

static SKIP_LINE: Once = Once::new();
static NEXT: AtomicU64 = AtomicU64::new(0);

/// The server's URL, or `None` (with the skip line) when the PostgreSQL run is off.
fn server() -> Option<String> {
    match std::env::var("SIGIL_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        // Written to the process's stderr directly, past the test harness's capture, so that the
        // skip shows in every run.
        _ => {
            SKIP_LINE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "sigil CLI PostgreSQL tests SKIPPED: SIGIL_TEST_DATABASE_URL is not set (scripts/with-postgres sets it)"
                );
            });
            None
        }
    }
}

/// A database made for one test, dropped when the test ends (also when it fails).
struct FreshDb {
    admin_url: String,
    name: String,
    url: String,
}

impl FreshDb {
    fn new(admin_url: &str) -> FreshDb {
        let name = format!(
            "sigil_cli_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(admin_url, &format!("CREATE DATABASE {name}"));
        let (base, _) = admin_url
            .rsplit_once('/')
            .expect("a URL with a database name");
        FreshDb {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        admin(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Runs one statement (CREATE/DROP DATABASE) on the server.
fn admin(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .expect("admin connection to SIGIL_TEST_DATABASE_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
    });
}

fn credentials(data_dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(data_dir.join("admin-credentials.json"))
        .expect("admin-credentials.json");
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn init_and_admin_commands_on_postgres() {
    let Some(server) = server() else { return };
    let db = FreshDb::new(&server);
    let dir = scratch("pg_init_admin");
    let env = [("SIGIL_DATABASE_URL", db.url.as_str())];

    check_env(
        &dir,
        &env,
        &["init"],
        "",
        0,
        &[
            "PostgreSQL at 127.0.0.1",
            "master key: created ./sigil-data/master.key",
            "admin client: granted all 251 Management API scopes",
        ],
        &[],
    );
    let data = dir.join("sigil-data");
    assert!(!data.join("sigil.db").exists(), "a SQLite file was made");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("admin-credentials.json")), 0o600);
    }
    let first = credentials(&data);
    assert_eq!(first["audience"], "http://127.0.0.1:8787/api/v2/");
    check_env(
        &dir,
        &env,
        &["init"],
        "",
        0,
        &["already initialised; nothing to do"],
        &[],
    );
    assert_eq!(credentials(&data), first);

    let client = json(&check_env(
        &dir,
        &env,
        &[
            "clients",
            "create",
            "--name",
            "Worker",
            "--type",
            "non_interactive",
            "--json",
        ],
        "",
        0,
        &[],
        &[],
    ));
    assert_eq!(client["client_secret"].as_str().unwrap().len(), 64);
    check_env(
        &dir,
        &env,
        &[
            "grants",
            "create",
            "--client",
            client["client_id"].as_str().unwrap(),
            "--api",
            "http://127.0.0.1:8787/api/v2/",
            "--scope",
            "read:users",
        ],
        "",
        0,
        &["with scopes: read:users"],
        &[],
    );
    let user = json(&check_env(
        &dir,
        &env,
        &[
            "users",
            "create",
            "--email",
            "pg@example.com",
            "--password",
            "pw",
            "--json",
        ],
        "",
        0,
        &[],
        &[],
    ));
    assert!(user["user_id"].as_str().unwrap().starts_with("auth0|"));
    check_env(
        &dir,
        &env,
        &[
            "users",
            "create",
            "--email",
            "PG@example.com",
            "--password",
            "pw",
        ],
        "",
        2,
        &[],
        &["a user with this email already exists in connection Username-Password-Authentication"],
    );
    check_env(
        &dir,
        &env,
        &["users", "import", "-"],
        r#"[{"email": "pg@example.com"}, {"email": "new@example.com"}, {}]"#,
        0,
        &[
            "imported 1 of 3 users",
            "[0] pg@example.com: a user with this email already exists",
        ],
        &[],
    );

    // Another node, without the key file: refused, and it keeps no key of its own.
    let other = master_key(8);
    check_env(
        &dir,
        &[
            ("SIGIL_DATABASE_URL", db.url.as_str()),
            ("SIGIL_MASTER_KEY", &other),
        ],
        &["init"],
        "",
        2,
        &[],
        &["the master key does not match this database"],
    );
    check_env(
        &dir,
        &env,
        &["init", "--data-dir", "node-b"],
        "",
        2,
        &[],
        &["a master key that this data directory lacks"],
    );
    assert!(!dir.join("node-b/master.key").exists());
    assert!(!dir.join("node-b/admin-credentials.json").exists());
}

#[test]
fn concurrent_inits_on_postgres_make_one_admin_client() {
    let Some(server) = server() else { return };
    let db = FreshDb::new(&server);
    let dir = scratch("pg_init_concurrent");
    let key = master_key(6);
    // Four nodes with their own data directories and the shared master key, starting at once
    // on an empty database: schema, tenant and all.
    let outputs: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..4)
            .map(|i| {
                let (dir, url, key) = (&dir, db.url.as_str(), key.as_str());
                s.spawn(move || {
                    let data_dir = format!("node-{i}");
                    check_env(
                        dir,
                        &[("SIGIL_DATABASE_URL", url), ("SIGIL_MASTER_KEY", key)],
                        &["init", "--data-dir", &data_dir],
                        "",
                        0,
                        &[],
                        &[],
                    )
                    .stdout
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let count = |what: &str| outputs.iter().filter(|o| o.contains(what)).count();
    assert_eq!(count("admin client: created"), 1, "{outputs:#?}");
    assert_eq!(count("(current)"), 1, "{outputs:#?}");
    assert_eq!(count("(next)"), 1, "{outputs:#?}");
    assert_eq!(count("Management API: created"), 1, "{outputs:#?}");
    let files = (0..4)
        .filter(|i| {
            dir.join(format!("node-{i}/admin-credentials.json"))
                .exists()
        })
        .count();
    assert_eq!(files, 1, "{outputs:#?}");
    check(
        &dir,
        &["--database-url", &db.url, "init"],
        "",
        2,
        &[],
        &["a master key that this data directory lacks"],
    );
}
