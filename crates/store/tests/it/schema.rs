//! Migrations, schema versions and the master-key check, on every backend.

use sigil_store::{Backend, Database, DatabaseError, MasterKey};

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
