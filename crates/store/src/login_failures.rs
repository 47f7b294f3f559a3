//! Brute-force protection's counters: one row per connection, identifier and address; an
//! attempt is reserved by one `INSERT … ON CONFLICT DO UPDATE … WHERE count < max RETURNING`,
//! which returns no row when the counter is at the threshold, so racing attempts never get
//! past it.

use sigil_core::ids::ConnectionId;
use sigil_core::model::{LoginCounter, LoginFailures};
use sigil_core::store::Result;
use sigil_core::{Conflict, UnixTime};

use crate::SqlStore;
use crate::database::on_pool;
use crate::error::{OrBackend as _, write_error};

pub(crate) async fn reserve(
    store: &SqlStore,
    counter: &LoginCounter,
    max: u32,
    now: UnixTime,
    forget_before: UnixTime,
) -> Result<Option<u32>> {
    const SQL: &str = "INSERT INTO login_failures (connection_id, identifier, ip, count, \
                       last_failure_at) VALUES ($1, $2, $3, 1, $4) \
                       ON CONFLICT (connection_id, identifier, ip) DO UPDATE SET \
                       count = CASE WHEN login_failures.last_failure_at <= $5 THEN 1 \
                       ELSE login_failures.count + 1 END, last_failure_at = $4 \
                       WHERE login_failures.count < $6 OR login_failures.last_failure_at <= $5 \
                       RETURNING count";
    let max = i64::from(max);
    let count: Option<i64> = on_pool!(&store.db, pool => sqlx::query_scalar(SQL)
        .bind(counter.connection_id.as_str())
        .bind(&counter.identifier)
        .bind(&counter.ip)
        .bind(now.0)
        .bind(forget_before.0)
        .bind(max)
        .fetch_optional(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Token, "connection"))?);
    Ok(count.map(|c| u32::try_from(c).unwrap_or(u32::MAX)))
}

pub(crate) async fn release(store: &SqlStore, counter: &LoginCounter) -> Result<()> {
    const SQL: &str = "UPDATE login_failures SET count = count - 1 \
                       WHERE connection_id = $1 AND identifier = $2 AND ip = $3 AND count > 0";
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(counter.connection_id.as_str())
        .bind(&counter.identifier)
        .bind(&counter.ip)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(())
}

pub(crate) async fn clear(
    store: &SqlStore,
    connection: Option<&ConnectionId>,
    identifier: &str,
    ip: Option<&str>,
) -> Result<u64> {
    const SQL: &str = "DELETE FROM login_failures WHERE identifier = $1 \
                       AND ($2 IS NULL OR connection_id = $2) AND ($3 IS NULL OR ip = $3)";
    Ok(on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(identifier)
        .bind(connection.map(ConnectionId::as_str))
        .bind(ip)
        .execute(pool)
        .await
        .db()?
        .rows_affected()))
}

#[derive(sqlx::FromRow)]
struct Row {
    connection_id: String,
    identifier: String,
    ip: String,
    count: i64,
    last_failure_at: i64,
}

pub(crate) async fn list(
    store: &SqlStore,
    identifiers: &[String],
    min: u32,
    since: UnixTime,
) -> Result<Vec<LoginFailures>> {
    const SQL: &str = "SELECT connection_id, identifier, ip, count, last_failure_at \
                       FROM login_failures WHERE identifier = $1 AND count >= $2 \
                       AND last_failure_at > $3 ORDER BY connection_id, ip";
    let mut out = Vec::new();
    for identifier in identifiers {
        let rows: Vec<Row> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
            .bind(identifier)
            .bind(i64::from(min))
            .bind(since.0)
            .fetch_all(pool)
            .await
            .db()?);
        out.extend(rows.into_iter().map(|row| LoginFailures {
            counter: LoginCounter {
                connection_id: ConnectionId(row.connection_id),
                identifier: row.identifier,
                ip: row.ip,
            },
            count: u32::try_from(row.count).unwrap_or(u32::MAX),
            last_failure_at: UnixTime(row.last_failure_at),
        }));
    }
    Ok(out)
}
