//! The store runs a unit of work again when PostgreSQL says it lost a race it could not
//! settle, and the loser then reads as the contract's loser, never as a backend failure. Each
//! test here makes that failure happen on purpose, with a transaction of its own holding a row
//! the store needs, so the first run of the store's work is sure to fail: a serialization
//! failure (SQLSTATE 40001) under SERIALIZABLE, and a deadlock (40P01) at any level. Without
//! the retry, both end in `StoreError::Backend`.
//!
//! PostgreSQL only (SQLite serialises its writers), so these run when
//! `SIGIL_TEST_DATABASE_URL` is set and say so otherwise, as the rest of the suite does.

use std::time::Duration;

use sigil_core::ids::FamilyId;
use sigil_core::model::KeyState;
use sigil_core::{Store, StoreError, SystemRng};
use sigil_store::{Backend, Database, SqlStore};
use sqlx::{Connection as _, PgConnection};

use crate::backends::{Fresh, all, fresh_at, open_store};
use crate::fixtures::{at, child_of, refresh_token, rsa_signing_key, world};

/// A PostgreSQL store at `isolation` and a connection of the test's own to the same database,
/// or `None` when PostgreSQL is not configured.
async fn postgres_at(isolation: Option<&str>) -> Option<(Fresh, SqlStore, PgConnection)> {
    if !all().contains(&Backend::Postgres) {
        return None;
    }
    let fresh = fresh_at(Backend::Postgres, isolation).await;
    let store = open_store(&fresh).await;
    let blocker = PgConnection::connect(&fresh.url)
        .await
        .expect("the test's own connection");
    Some((fresh, store, blocker))
}

/// Waits until some statement in the store's database waits for a lock: the store's work has
/// reached the row the test holds. Polls, since PostgreSQL has no event to wait for.
async fn until_the_store_waits_for_a_lock(store: &SqlStore) {
    let Database::Postgres(pool) = store.database() else {
        unreachable!("PostgreSQL only");
    };
    for _ in 0..1000 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE NOT l.granted AND a.datname = current_database()",
        )
        .fetch_one(pool)
        .await
        .expect("read pg_locks");
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the store's statement never waited for the row the test holds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_failing_to_serialize_runs_again_and_reads_already_used() {
    let Some((fresh, store, mut blocker)) = postgres_at(Some("serializable")).await else {
        return;
    };
    let w = world(&store).await;
    let family = FamilyId::generate(&SystemRng);
    let parent = refresh_token(&w.client.client_id, &w.user.user_id, &family, None);
    store.create_refresh_token(&parent).await.unwrap();
    let child = child_of(&parent, at(10));

    // Another rotation, by hand: it has marked the token used and not yet committed.
    sqlx::raw_sql("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE digest = $2")
        .bind(at(5).0)
        .bind(parent.digest.0.to_vec())
        .execute(&mut blocker)
        .await
        .unwrap();
    let rotation = tokio::spawn({
        let store = store.clone();
        let (old, new) = (parent.digest.clone(), child.clone());
        async move { store.rotate_refresh_token(&old, &new, at(10)).await }
    });
    until_the_store_waits_for_a_lock(&store).await;
    // The store's update saw the token unused in its snapshot: under SERIALIZABLE, this commit
    // makes it fail with 40001 rather than find the row gone, as READ COMMITTED would.
    sqlx::raw_sql("COMMIT").execute(&mut blocker).await.unwrap();

    let result = rotation.await.unwrap();
    assert!(
        matches!(result, Err(StoreError::AlreadyUsed)),
        "the loser of a rotation is told the token was used, not a failure: {result:?}"
    );
    assert!(
        store.refresh_token(&child.digest).await.unwrap().is_none(),
        "the loser's child is not stored"
    );
    blocker.close().await.unwrap();
    store.database().close().await;
    fresh.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_chosen_as_a_deadlock_victim_runs_again_and_succeeds() {
    // At the server's default level: deadlocks do not need a stricter one.
    let Some((fresh, store, mut blocker)) = postgres_at(None).await else {
        return;
    };
    let current = rsa_signing_key(KeyState::Current);
    let next = rsa_signing_key(KeyState::Next);
    for key in [&current, &next] {
        store.create_signing_key(key).await.unwrap();
    }
    let family = next.family();

    // The test's transaction holds the next key's row; the rotation retires the current key
    // (locking its row), then waits to promote the next one.
    sqlx::raw_sql("BEGIN").execute(&mut blocker).await.unwrap();
    // So that PostgreSQL's deadlock check fires in the store's session, not in this one
    // (superuser only; scripts/with-postgres's role is one).
    sqlx::raw_sql("SET LOCAL deadlock_timeout = '30s'")
        .execute(&mut blocker)
        .await
        .unwrap();
    sqlx::query("UPDATE signing_keys SET state = state WHERE kid = $1")
        .bind(&next.kid)
        .execute(&mut blocker)
        .await
        .unwrap();
    let newcomer = rsa_signing_key(KeyState::Next);
    let rotation = tokio::spawn({
        let store = store.clone();
        let newcomer = newcomer.clone();
        async move { store.rotate_signing_keys(&newcomer, at(100)).await }
    });
    until_the_store_waits_for_a_lock(&store).await;
    // Now the test wants the current key's row, which the rotation holds: a deadlock. After
    // deadlock_timeout (1 s by default) PostgreSQL aborts the rotation's transaction with
    // 40P01, this update goes through, and the rotation runs again behind this commit.
    sqlx::query("UPDATE signing_keys SET state = state WHERE kid = $1 AND family = $2")
        .bind(&current.kid)
        .bind(family)
        .execute(&mut blocker)
        .await
        .unwrap();
    sqlx::raw_sql("COMMIT").execute(&mut blocker).await.unwrap();

    let result = rotation.await.unwrap();
    assert!(
        result.is_ok(),
        "a rotation that was a deadlock's victim runs again: {result:?}"
    );
    let keys = store.signing_keys().await.unwrap();
    let state = |kid: &str| keys.iter().find(|k| k.kid == kid).map(|k| k.state);
    assert_eq!(
        (state(&current.kid), state(&next.kid), state(&newcomer.kid)),
        (
            Some(KeyState::Previous),
            Some(KeyState::Current),
            Some(KeyState::Next)
        ),
        "one rotation, done once"
    );
    blocker.close().await.unwrap();
    store.database().close().await;
    fresh.finish().await;
}
