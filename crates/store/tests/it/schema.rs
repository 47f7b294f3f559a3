//! Migrations, schema versions and the master-key check, on every backend.

use sigil_store::{Backend, Database, DatabaseError, MasterKey};
use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::backends::{self, on_every_backend};
use crate::fixtures::NOW;

#[tokio::test]
async fn migrate_is_versioned_and_idempotent() {
    on_every_backend(|f| async move {
        let db = &f.db;
        assert_eq!(db.schema_version().await.unwrap(), 0);
        assert!(matches!(
            db.check_schema().await,
            Err(DatabaseError::SchemaTooOld { found: 0, .. })
        ));
        let first = db.migrate().await.unwrap();
        assert_eq!((first.from, first.to), (0, db.supported_version()));
        let again = db.migrate().await.unwrap();
        assert_eq!(
            (again.from, again.to),
            (first.to, first.to),
            "{:?}",
            db.backend()
        );
        db.check_schema().await.unwrap();
        f
    })
    .await;
}

#[tokio::test]
async fn a_newer_schema_is_refused_not_written_over() {
    on_every_backend(|f| async move {
        f.db.migrate().await.unwrap();
        let future = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                      VALUES (9999, 'from the future', TRUE, $1, 0)";
        match &f.db {
            Database::Sqlite(pool) => sqlx::query(future).bind(vec![0u8; 48]).execute(pool).await.map(|_| ()).unwrap(),
            Database::Postgres(pool) => sqlx::query(future).bind(vec![0u8; 48]).execute(pool).await.map(|_| ()).unwrap(),
        };
        for result in [f.db.migrate().await.map(|_| ()), f.db.check_schema().await] {
            match result {
                Err(DatabaseError::SchemaTooNew { found: 9999, supported }) => {
                    assert_eq!(supported, f.db.supported_version());
                }
                other => panic!("{:?}: {other:?}", f.db.backend()),
            }
        }
        let message = f.db.check_schema().await.unwrap_err().to_string();
        assert!(message.contains("upgrade sigil"), "{message}");
        f
    })
    .await;
}

/// Migrations 1 to 4 of `backend`, exactly as shipped: the schema before key families.
fn before_key_families(backend: Backend) -> Migrator {
    macro_rules! first_four {
        ($dir:literal) => {
            [
                (
                    1,
                    "0001_meta",
                    include_str!(concat!("../../migrations/", $dir, "/0001_meta.sql")),
                ),
                (
                    2,
                    "0002_model",
                    include_str!(concat!("../../migrations/", $dir, "/0002_model.sql")),
                ),
                (
                    3,
                    "0003_outbox",
                    include_str!(concat!("../../migrations/", $dir, "/0003_outbox.sql")),
                ),
                (
                    4,
                    "0004_refresh_auth_time",
                    include_str!(concat!(
                        "../../migrations/",
                        $dir,
                        "/0004_refresh_auth_time.sql"
                    )),
                ),
            ]
        };
    }
    let files = match backend {
        Backend::Sqlite => first_four!("sqlite"),
        Backend::Postgres => first_four!("postgres"),
    };
    Migrator::with_migrations(
        files
            .into_iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    version,
                    name.into(),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    )
}

/// Runs one statement with text parameters on either backend.
async fn execute(db: &Database, sql: &'static str, params: &[&str]) -> Result<(), sqlx::Error> {
    match db {
        Database::Sqlite(pool) => {
            let mut query = sqlx::query(sql);
            for p in params {
                query = query.bind(*p);
            }
            query.execute(pool).await.map(|_| ())
        }
        Database::Postgres(pool) => {
            let mut query = sqlx::query(sql);
            for p in params {
                query = query.bind(*p);
            }
            query.execute(pool).await.map(|_| ())
        }
    }
}

#[tokio::test]
async fn keys_stored_before_key_families_are_filed_under_the_kind_their_alg_needs() {
    on_every_backend(|f| async move {
        let backend = f.db.backend();
        let old = before_key_families(backend);
        match &f.db {
            Database::Sqlite(pool) => old.run(pool).await.unwrap(),
            Database::Postgres(pool) => old.run(pool).await.unwrap(),
        }
        assert_eq!(f.db.schema_version().await.unwrap(), 4);
        // What a schema-4 database may hold: one current and one next key in all.
        const OLD_INSERT: &str = "INSERT INTO signing_keys (kid, alg, state, sealed_key, created_at) \
                                  VALUES ($1, $2, $3, X'00', 0)";
        const PG_OLD_INSERT: &str = "INSERT INTO signing_keys (kid, alg, state, sealed_key, created_at) \
                                     VALUES ($1, $2, $3, '\\x00'::bytea, 0)";
        let old_insert = match backend {
            Backend::Sqlite => OLD_INSERT,
            Backend::Postgres => PG_OLD_INSERT,
        };
        for (kid, alg, state) in [
            ("rs-current", "RS256", "current"),
            ("ps-previous", "PS256", "previous"),
            ("es-next", "ES256", "next"),
            ("es-revoked", "ES256", "revoked"),
        ] {
            execute(&f.db, old_insert, &[kid, alg, state]).await.unwrap();
        }

        let migrated = f.db.migrate().await.unwrap();
        assert_eq!((migrated.from, migrated.to), (4, f.db.supported_version()));
        const FAMILIES: &str = "SELECT kid, family FROM signing_keys ORDER BY kid";
        let families: Vec<(String, String)> = match &f.db {
            Database::Sqlite(pool) => sqlx::query_as(FAMILIES).fetch_all(pool).await.unwrap(),
            Database::Postgres(pool) => sqlx::query_as(FAMILIES).fetch_all(pool).await.unwrap(),
        };
        let families: Vec<(&str, &str)> = families
            .iter()
            .map(|(k, f)| (k.as_str(), f.as_str()))
            .collect();
        assert_eq!(
            families,
            vec![
                ("es-next", "ec-p256"),
                ("es-revoked", "ec-p256"),
                ("ps-previous", "rsa"),
                ("rs-current", "rsa"),
            ],
            "{backend:?}"
        );

        // One current and one next key per family now, not in all.
        let new_insert = match backend {
            Backend::Sqlite => {
                "INSERT INTO signing_keys (kid, alg, state, sealed_key, created_at, family) \
                 VALUES ($1, $2, $3, X'00', 0, $4)"
            }
            Backend::Postgres => {
                "INSERT INTO signing_keys (kid, alg, state, sealed_key, created_at, family) \
                 VALUES ($1, $2, $3, '\\x00'::bytea, 0, $4)"
            }
        };
        for (kid, alg, state, family, allowed) in [
            ("es-current", "ES256", "current", "ec-p256", true),
            ("rs-next", "RS256", "next", "rsa", true),
            ("rs-current-2", "RS256", "current", "rsa", false),
            ("es-next-2", "ES256", "next", "ec-p256", false),
        ] {
            let result = execute(&f.db, new_insert, &[kid, alg, state, family]).await;
            assert_eq!(result.is_ok(), allowed, "{backend:?} {kid}: {result:?}");
        }
        f
    })
    .await;
}

#[tokio::test]
async fn the_first_master_key_is_recorded_and_others_are_refused() {
    on_every_backend(|f| async move {
        f.db.migrate().await.unwrap();
        let (key, _) = MasterKey::generate().unwrap();
        let (other, _) = MasterKey::generate().unwrap();
        f.db.check_master_key(&key, NOW).await.unwrap();
        f.db.check_master_key(&key, NOW + 1).await.unwrap();
        assert!(matches!(
            f.db.check_master_key(&other, NOW).await,
            Err(DatabaseError::WrongMasterKey)
        ));
        // A second pool on the same database sees the same record.
        let again = Database::connect(&f.url).await.unwrap();
        again.check_master_key(&key, NOW).await.unwrap();
        assert!(again.check_master_key(&other, NOW).await.is_err());
        again.close().await;
        f
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_master_keys_have_exactly_one_winner() {
    on_every_backend(|f| async move {
        f.db.migrate().await.unwrap();
        let mut racers = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let db = f.db.clone();
            racers.spawn(async move {
                let (key, _) = MasterKey::generate().unwrap();
                db.check_master_key(&key, NOW).await
            });
        }
        let results = racers.join_all().await;
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "{:?}: {results:?}", f.db.backend());
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Ok(()) | Err(DatabaseError::WrongMasterKey)))
        );
        f
    })
    .await;
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_full_sync() {
    let f = backends::fresh(Backend::Sqlite).await;
    if let Database::Sqlite(pool) = &f.db {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(pool)
            .await
            .unwrap();
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
    }
    f.finish().await;
}

#[tokio::test]
async fn unsupported_urls_are_a_clear_error() {
    for url in ["mysql://x", "sqlite-ish", ""] {
        let err = Database::connect(url).await.unwrap_err();
        assert!(
            matches!(err, DatabaseError::UnsupportedUrl(_)),
            "{url}: {err}"
        );
    }
}
