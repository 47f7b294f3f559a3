//! Housekeeping: expired runtime state deleted in bounded batches, so one purge never holds
//! the write lock (SQLite) or row locks (PostgreSQL) for long.

use sigil_core::UnixTime;
use sigil_core::store::{Purged, Result};

use crate::SqlStore;
use crate::database::{Database, on_pool};
use crate::error::OrBackend as _;

/// Revoked refresh tokens are kept this long (seconds) so a replayed one is reported as
/// revoked rather than unknown; then they go.
const KEEP_REVOKED: i64 = 86_400;

/// One `DELETE` per kind: `$1` is now, `$2` the batch size, `$3` the revoked-token horizon.
const PURGES: [&str; 6] = [
    "DELETE FROM authorization_codes WHERE digest IN \
     (SELECT digest FROM authorization_codes WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM sessions WHERE id IN \
     (SELECT id FROM sessions WHERE expires_at <= $1 OR idle_expires_at <= $1 LIMIT $2)",
    "DELETE FROM refresh_tokens WHERE digest IN \
     (SELECT digest FROM refresh_tokens WHERE expires_at <= $1 OR idle_expires_at <= $1 \
     OR revoked_at <= $3 LIMIT $2)",
    "DELETE FROM device_codes WHERE digest IN \
     (SELECT digest FROM device_codes WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM tickets WHERE digest IN \
     (SELECT digest FROM tickets WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM client_assertions WHERE (client_id, jti) IN \
     (SELECT client_id, jti FROM client_assertions WHERE expires_at <= $1 LIMIT $2)",
];

pub(crate) async fn purge_expired(store: &SqlStore, now: UnixTime, batch: u32) -> Result<Purged> {
    let mut counts = [0u64; 6];
    for (sql, count) in PURGES.iter().zip(counts.iter_mut()) {
        let sql: &'static str = sql;
        *count = on_pool!(&store.db, pool => {
            let query = sqlx::query(sql).bind(now.0).bind(i64::from(batch));
            // PostgreSQL refuses parameters a statement does not use.
            if sql.contains("$3") {
                query.bind(now.0 - KEEP_REVOKED)
            } else {
                query
            }
            .execute(pool)
            .await
            .db()?
            .rows_affected()
        });
    }
    let [
        codes,
        sessions,
        refresh_tokens,
        device_codes,
        tickets,
        client_assertions,
    ] = counts;
    Ok(Purged {
        codes,
        sessions,
        refresh_tokens,
        device_codes,
        tickets,
        client_assertions,
    })
}
