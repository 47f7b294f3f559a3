//! SQLite on a full disk: writes fail while it is full and succeed again once there is room,
//! from every connection of the pool.
//!
//! The disk is "full" through `PRAGMA max_page_count`, which makes SQLite answer SQLITE_FULL
//! exactly as a full file system does, on every connection it is set on. `scripts/faults disk`
//! fills a real file system; this test pins the same regression without one: a transaction
//! that SQLite rolled back by itself left sqlx counting it, the connection's next transaction
//! was only a SAVEPOINT, its rollback kept the transaction (and the write lock) open, and every
//! later writer was answered "database is locked".

use sigil_core::Store;
use sigil_core::model::NewLogEvent;
use sigil_store::{Backend, Database};
use sqlx::SqlitePool;

use crate::backends;
use crate::fixtures::{at, user, world};

/// At least the pool's size (`open_sqlite`), so that every connection gets the setting.
const POOL_SIZE: usize = 8;
/// SQLite's largest page count: no limit.
const NO_LIMIT: i64 = 4_294_967_294;

#[tokio::test]
async fn sqlite_writes_resume_once_a_full_disk_has_room_again() {
    let fresh = backends::fresh(Backend::Sqlite).await;
    let store = backends::open_store(&fresh).await;
    let world = world(&store).await;
    let Database::Sqlite(pool) = store.database().clone() else {
        unreachable!("a SQLite database")
    };

    // Full: no connection may grow the file past its current size (SQLite never sets the
    // limit below the current page count, so 1 means "as large as it is").
    set_max_page_count(&pool, 1).await;
    let mut refused = 0;
    for i in 0..40 {
        let u = user(&world.connection, &format!("full{i}@example.com"));
        let created = store.create_user(&u).await;
        let logged = store.append_logs(&events(i)).await;
        for result in [created.map(|_| ()), logged.map(|_| ())] {
            match result {
                Ok(()) => {}
                Err(e) if e.is_unavailable() => refused += 1,
                Err(e) => panic!("a write on the full disk: {e}"),
            }
        }
    }
    assert!(refused > 0, "no write was refused on the full disk");

    // Room again, on every connection the pool has or opens.
    set_max_page_count(&pool, NO_LIMIT).await;
    for i in 0..(2 * POOL_SIZE) {
        let u = user(&world.connection, &format!("room{i}@example.com"));
        store
            .create_user(&u)
            .await
            .unwrap_or_else(|e| panic!("create user {i} once there is room: {e}"));
        store
            .append_logs(&events(i))
            .await
            .unwrap_or_else(|e| panic!("append logs {i} once there is room: {e}"));
    }
    fresh.finish().await;
}

/// Large events, so that the log's pages fill quickly.
fn events(i: usize) -> Vec<NewLogEvent> {
    (0..4)
        .map(|n| NewLogEvent {
            date_ms: at(0).0 * 1000,
            description: Some(format!("event {i}-{n} {}", "x".repeat(2000))),
            ..NewLogEvent::default()
        })
        .collect()
}

/// Sets `PRAGMA max_page_count` on as many connections as the pool holds at most.
async fn set_max_page_count(pool: &SqlitePool, pages: i64) {
    let mut held = Vec::with_capacity(POOL_SIZE);
    for _ in 0..POOL_SIZE {
        let mut conn = pool.acquire().await.expect("a pooled connection");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "PRAGMA max_page_count = {pages}"
        )))
        .execute(&mut *conn)
        .await
        .expect("set max_page_count");
        held.push(conn);
    }
}
