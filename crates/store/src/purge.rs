//! Housekeeping: expired runtime state, and finished records past their retention, deleted in
//! bounded batches, so one purge never holds the write lock (SQLite) or row locks (PostgreSQL)
//! for long.

use sigil_core::UnixTime;
use sigil_core::store::{Purged, Result, Retention};

use crate::SqlStore;
use crate::database::on_pool;
use crate::error::OrBackend as _;

/// Revoked refresh tokens are kept this long (seconds) so a replayed one is reported as
/// revoked rather than unknown; then they go.
const KEEP_REVOKED: i64 = 86_400;

/// The horizon a purge compares with.
#[derive(Clone, Copy)]
enum Horizon {
    /// Expired by now (`$1`); refresh tokens also when revoked long enough ago (`$3`).
    Now,
    /// Log events dated before the retention, in milliseconds.
    Logs,
    /// Jobs made before the retention.
    Jobs,
    /// Now, in milliseconds.
    NowMs,
    /// Mail queued before the retention.
    Mail,
    /// Failed-login counters whose last failure is older than a block lasts.
    Blocks,
}

/// One `DELETE` per kind, in the order of [`Purged::by_kind`]: `$1` is the horizon, `$2` the
/// batch size.
const PURGES: [(&str, Horizon); 15] = [
    (
        "DELETE FROM authorization_codes WHERE digest IN \
         (SELECT digest FROM authorization_codes WHERE expires_at <= $1 LIMIT $2)",
        Horizon::Now,
    ),
    (
        "DELETE FROM sessions WHERE id IN \
         (SELECT id FROM sessions WHERE expires_at <= $1 OR idle_expires_at <= $1 LIMIT $2)",
        Horizon::Now,
    ),
    (
        "DELETE FROM refresh_tokens WHERE digest IN \
         (SELECT digest FROM refresh_tokens WHERE expires_at <= $1 OR idle_expires_at <= $1 \
         OR revoked_at <= $3 LIMIT $2)",
        Horizon::Now,
    ),
    (
        "DELETE FROM device_codes WHERE digest IN \
         (SELECT digest FROM device_codes WHERE expires_at <= $1 LIMIT $2)",
        Horizon::Now,
    ),
    (
        "DELETE FROM tickets WHERE digest IN \
         (SELECT digest FROM tickets WHERE expires_at <= $1 LIMIT $2)",
        Horizon::Now,
    ),
    (
        "DELETE FROM client_assertions WHERE (client_id, jti) IN \
         (SELECT client_id, jti FROM client_assertions WHERE expires_at <= $1 LIMIT $2)",
        Horizon::Now,
    ),
    (
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE created_at < $1 LIMIT $2)",
        Horizon::Jobs,
    ),
    (
        "DELETE FROM logs WHERE seq IN (SELECT seq FROM logs WHERE date_ms < $1 LIMIT $2)",
        Horizon::Logs,
    ),
    (
        "DELETE FROM rate_limits WHERE bucket IN \
         (SELECT bucket FROM rate_limits WHERE full_at_ms <= $1 LIMIT $2)",
        Horizon::NowMs,
    ),
    (
        "DELETE FROM action_executions WHERE id IN \
         (SELECT id FROM action_executions WHERE expires_at <= $1 LIMIT $2)",
        Horizon::Now,
    ),
    (
        "DELETE FROM federation_transactions WHERE state_digest IN \
         (SELECT state_digest FROM federation_transactions WHERE expires_at <= $1 LIMIT $2)",
        Horizon::Now,
    ),
    (
        "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox \
         WHERE (status IN ('sent', 'failed') OR kind = 'sms') AND created_at < $1 LIMIT $2)",
        Horizon::Mail,
    ),
    (
        "DELETE FROM passwordless_codes WHERE (connection_id, recipient) IN \
         (SELECT connection_id, recipient FROM passwordless_codes WHERE expires_at <= $1 \
         LIMIT $2)",
        Horizon::Now,
    ),
    (
        "DELETE FROM mfa_oob_codes WHERE digest IN \
         (SELECT digest FROM mfa_oob_codes WHERE expires_at <= $1 LIMIT $2)",
        Horizon::Now,
    ),
    (
        "DELETE FROM login_failures WHERE (connection_id, identifier, ip) IN \
         (SELECT connection_id, identifier, ip FROM login_failures \
         WHERE last_failure_at <= $1 LIMIT $2)",
        Horizon::Blocks,
    ),
];

pub(crate) async fn purge_expired(
    store: &SqlStore,
    now: UnixTime,
    retention: &Retention,
    batch: u32,
) -> Result<Purged> {
    let mut counts = [0u64; 15];
    for ((sql, horizon), count) in PURGES.iter().zip(counts.iter_mut()) {
        let sql: &'static str = sql;
        let first = match horizon {
            Horizon::Now => now.0,
            Horizon::Logs => retention.logs_before.0.saturating_mul(1000),
            Horizon::Jobs => retention.jobs_before.0,
            Horizon::NowMs => now.0.saturating_mul(1000),
            Horizon::Blocks => now.0 - sigil_core::attack_protection::brute_force::BLOCK_LIFETIME,
            Horizon::Mail => retention.mail_before.0,
        };
        *count = on_pool!(&store.db, pool => {
            let query = sqlx::query(sql).bind(first).bind(i64::from(batch));
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
        jobs,
        logs,
        rate_limits,
        action_executions,
        federation_transactions,
        outbox,
        passwordless_codes,
        oob_codes,
        login_failures,
    ] = counts;
    Ok(Purged {
        codes,
        sessions,
        refresh_tokens,
        device_codes,
        tickets,
        client_assertions,
        jobs,
        logs,
        rate_limits,
        action_executions,
        federation_transactions,
        outbox,
        passwordless_codes,
        oob_codes,
        login_failures,
    })
}
