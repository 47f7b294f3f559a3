//! Token buckets shared by every node: one row per bucket holding when it will be full again
//! (sigil-core's `rate_limit`, GCRA). A request is one conditional upsert; a refusal writes
//! nothing and reads the row once more for the headers.

use sigil_core::rate_limit::{RateLimit, RateTaken};
use sigil_core::store::Result;

use crate::SqlStore;
use crate::database::on_pool;
use crate::error::OrBackend as _;

pub(crate) async fn take_rate_limit(
    store: &SqlStore,
    key: &str,
    limit: RateLimit,
    now_ms: i64,
) -> Result<RateTaken> {
    // $2 now, $3 the interval, $4 the tolerance. A missing row is a full bucket, so the insert
    // always lets the first request through. The conflict arm is evaluated on the row as it is
    // after any racer's commit (PostgreSQL re-checks the WHERE on the locked row; SQLite
    // serialises writers), so each request sees its predecessors.
    const TAKE: &str = "INSERT INTO rate_limits (bucket, full_at_ms) VALUES ($1, $2 + $3) \
         ON CONFLICT (bucket) DO UPDATE SET full_at_ms = \
             (CASE WHEN rate_limits.full_at_ms > $2 THEN rate_limits.full_at_ms ELSE $2 END) + $3 \
         WHERE (CASE WHEN rate_limits.full_at_ms > $2 THEN rate_limits.full_at_ms ELSE $2 END) \
             + $3 <= $2 + $4 \
         RETURNING full_at_ms";
    const READ: &str = "SELECT full_at_ms FROM rate_limits WHERE bucket = $1";
    let taken: Option<i64> = on_pool!(&store.db, pool => sqlx::query_scalar(TAKE)
        .bind(key)
        .bind(now_ms)
        .bind(limit.interval_ms())
        .bind(limit.tolerance_ms())
        .fetch_optional(pool)
        .await
        .db()?);
    if let Some(full_at_ms) = taken {
        return Ok(RateTaken {
            allowed: true,
            full_at_ms,
        });
    }
    let full_at_ms: Option<i64> = on_pool!(&store.db, pool => sqlx::query_scalar(READ)
        .bind(key)
        .fetch_optional(pool)
        .await
        .db()?);
    Ok(RateTaken {
        allowed: false,
        // Only a refused upsert leads here, which needs the row; had it gone since (nothing
        // deletes these rows today), the bucket would be full.
        full_at_ms: full_at_ms.unwrap_or(now_ms),
    })
}

pub(crate) async fn give_back_rate_limit(
    store: &SqlStore,
    key: &str,
    limit: RateLimit,
) -> Result<()> {
    // Moving the full time back by one interval is the inverse of a take; a time in the past
    // reads as a full bucket either way, so it needs no floor.
    const GIVE_BACK: &str = "UPDATE rate_limits SET full_at_ms = full_at_ms - $2 WHERE bucket = $1";
    on_pool!(&store.db, pool => sqlx::query(GIVE_BACK)
        .bind(key)
        .bind(limit.interval_ms())
        .execute(pool)
        .await
        .db()
        .map(|_| ())?);
    Ok(())
}
