//! Log events. The id is the row's sequence number, zero-padded to 20 digits so that ids sort
//! as text in the order they were written (checkpoint paging with `from`).

use sigil_core::StoreError;
use sigil_core::ids::{ClientId, LogId, UserId};
use sigil_core::model::{LogEvent, LogQuery, LogType, NewLogEvent};
use sigil_core::store::{Page, Result};
use sqlx::AssertSqlSafe;

use crate::SqlStore;
use crate::codec::{Filter, from_json, to_json};
use crate::database::{BeginWrite as _, on_pool};
use crate::error::OrBackend as _;

macro_rules! columns {
    () => {
        "seq, date_ms, type, description, client_id, client_name, user_id, user_name, \
         connection, connection_id, strategy, strategy_type, audience, scope, ip, user_agent, \
         hostname, details"
    };
}

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    date_ms: i64,
    #[sqlx(rename = "type")]
    log_type: Option<String>,
    description: Option<String>,
    client_id: Option<String>,
    client_name: Option<String>,
    user_id: Option<String>,
    user_name: Option<String>,
    connection: Option<String>,
    connection_id: Option<String>,
    strategy: Option<String>,
    strategy_type: Option<String>,
    audience: Option<String>,
    scope: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    hostname: Option<String>,
    details: String,
}

fn log_id(seq: i64) -> LogId {
    LogId(format!("{seq:020}"))
}

/// The sequence number in an id; `None` for ids Sigil never handed out.
fn seq(id: &LogId) -> Option<i64> {
    id.0.parse().ok().filter(|s: &i64| *s > 0)
}

impl Row {
    fn into_model(self) -> Result<LogEvent> {
        Ok(LogEvent {
            log_id: log_id(self.seq),
            event: NewLogEvent {
                date_ms: self.date_ms,
                log_type: self.log_type.map(LogType),
                description: self.description,
                client_id: self.client_id.map(ClientId),
                client_name: self.client_name,
                user_id: self.user_id.map(UserId),
                user_name: self.user_name,
                connection: self.connection,
                connection_id: self.connection_id,
                strategy: self.strategy,
                strategy_type: self.strategy_type,
                audience: self.audience,
                scope: self.scope,
                ip: self.ip,
                user_agent: self.user_agent,
                hostname: self.hostname,
                details: from_json("log details", &self.details)?,
            },
        })
    }
}

/// Writes `events` in one transaction, which first takes the `log_order` lock (the table's on
/// PostgreSQL, before the transaction's view is fixed, so that writers queue rather than fail
/// under REPEATABLE READ or SERIALIZABLE; then the row's): events get their ids under it and
/// it is held until they commit, so ids become visible in order and a reader paging with
/// `from` never passes an event that commits later. Returns the ids, in the order of `events`.
pub(crate) async fn append_logs(store: &SqlStore, events: &[NewLogEvent]) -> Result<Vec<LogId>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let details = events
        .iter()
        .map(|e| to_json("log details", &e.details))
        .collect::<Result<Vec<_>>>()?;
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let queue = store.db.queue_on("log_order");
    // Rows go in chunks of CHUNK (one statement text) and the rest one by one (another), so
    // the connection's prepared-statement cache holds two statements whatever the batch sizes.
    let chunk_sql = insert_sql(CHUNK);
    let row_sql = insert_sql(1);
    let mut seqs: Vec<i64> = on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        if let Some(queue) = &queue {
            sqlx::query(AssertSqlSafe(queue.clone())).execute(&mut *tx).await.db()?;
        }
        sqlx::query("UPDATE log_order SET written = written + $1 WHERE id = 1")
            .bind(count)
            .execute(&mut *tx)
            .await
            .db()?;
        let mut seqs = Vec::with_capacity(events.len());
        let rows: Vec<_> = events.iter().zip(&details).collect();
        for part in rows.chunks(CHUNK) {
            let sql = if part.len() == CHUNK { &chunk_sql } else { &row_sql };
            let singles: Vec<&[_]> = if part.len() == CHUNK {
                vec![part]
            } else {
                part.chunks(1).collect()
            };
            for rows in singles {
                let mut insert = sqlx::query_scalar(AssertSqlSafe(sql.clone()));
                for (event, details) in rows {
                    insert = insert
                        .bind(event.date_ms)
                        .bind(event.log_type.as_ref().map(|t| t.0.clone()))
                        .bind(event.description.clone())
                        .bind(event.client_id.as_ref().map(|c| c.0.clone()))
                        .bind(event.client_name.clone())
                        .bind(event.user_id.as_ref().map(|u| u.0.clone()))
                        .bind(event.user_name.clone())
                        .bind(event.connection.clone())
                        .bind(event.connection_id.clone())
                        .bind(event.strategy.clone())
                        .bind(event.strategy_type.clone())
                        .bind(event.audience.clone())
                        .bind(event.scope.clone())
                        .bind(event.ip.clone())
                        .bind(event.user_agent.clone())
                        .bind(event.hostname.clone())
                        .bind((*details).clone());
                }
                let part_seqs: Vec<i64> = insert.fetch_all(&mut *tx).await.db()?;
                seqs.extend(part_seqs);
            }
        }
        tx.commit().await.db()?;
        seqs
    });
    // The rows of one INSERT take their ids in the order of its VALUES.
    seqs.sort_unstable();
    Ok(seqs.into_iter().map(log_id).collect())
}

/// Rows one multi-row `INSERT` of log events writes.
const CHUNK: usize = 32;

/// `INSERT INTO logs … VALUES (…), … RETURNING seq` for `rows` rows.
fn insert_sql(rows: usize) -> String {
    const COLUMNS: usize = 17;
    let values: Vec<String> = (0..rows)
        .map(|i| {
            let first = i * COLUMNS + 1;
            let params: Vec<String> = (first..first + COLUMNS).map(|n| format!("${n}")).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO logs (date_ms, type, description, client_id, client_name, user_id, \
         user_name, connection, connection_id, strategy, strategy_type, audience, scope, ip, \
         user_agent, hostname, details) VALUES {} RETURNING seq",
        values.join(", ")
    )
}

pub(crate) async fn log(store: &SqlStore, id: &LogId) -> Result<Option<LogEvent>> {
    const SQL: &str = concat!("SELECT ", columns!(), " FROM logs WHERE seq = $1");
    let Some(seq) = seq(id) else {
        return Ok(None);
    };
    let row: Option<Row> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(seq).fetch_optional(pool).await.db()?);
    row.map(Row::into_model).transpose()
}

fn filter(query: &LogQuery) -> Filter {
    Filter::default()
        .eq("type", query.log_type.as_ref().map(|t| t.0.clone()))
        .eq("user_id", query.user_id.as_ref().map(|u| u.0.clone()))
        .eq("client_id", query.client_id.as_ref().map(|c| c.0.clone()))
}

pub(crate) async fn list_logs(
    store: &SqlStore,
    query: &LogQuery,
    page: Page,
) -> Result<Vec<LogEvent>> {
    let filter = filter(query);
    let n = filter.next();
    let sql = format!(
        concat!(
            "SELECT ",
            columns!(),
            " FROM logs {} ORDER BY seq DESC LIMIT ${} OFFSET ${}"
        ),
        filter.clause(None),
        n,
        n + 1
    );
    let rows: Vec<Row> = on_pool!(&store.db, pool => {
        let mut q = sqlx::query_as(AssertSqlSafe(sql.clone()));
        for v in &filter.values {
            q = q.bind(v.clone());
        }
        q.bind(page.limit()).bind(page.offset()).fetch_all(pool).await.db()?
    });
    rows.into_iter().map(Row::into_model).collect()
}

pub(crate) async fn logs_from(
    store: &SqlStore,
    query: &LogQuery,
    from: Option<&LogId>,
    take: u32,
) -> Result<Vec<LogEvent>> {
    let after = match from {
        None => 0,
        Some(id) => seq(id).ok_or(StoreError::NotFound("log event"))?,
    };
    let filter = filter(query);
    let n = filter.next();
    let sql = format!(
        concat!(
            "SELECT ",
            columns!(),
            " FROM logs {} ORDER BY seq LIMIT ${}"
        ),
        filter.clause(Some(&format!("seq > ${n}"))),
        n + 1
    );
    let rows: Vec<Row> = on_pool!(&store.db, pool => {
        let mut q = sqlx::query_as(AssertSqlSafe(sql.clone()));
        for v in &filter.values {
            q = q.bind(v.clone());
        }
        q.bind(after).bind(i64::from(take)).fetch_all(pool).await.db()?
    });
    rows.into_iter().map(Row::into_model).collect()
}

pub(crate) async fn count_logs(store: &SqlStore, query: &LogQuery) -> Result<u64> {
    let filter = filter(query);
    let sql = format!("SELECT COUNT(*) FROM logs {}", filter.clause(None));
    let count: i64 = on_pool!(&store.db, pool => {
        let mut q = sqlx::query_scalar(AssertSqlSafe(sql.clone()));
        for v in &filter.values {
            q = q.bind(v.clone());
        }
        q.fetch_one(pool).await.db()?
    });
    Ok(u64::try_from(count).unwrap_or(0))
}
