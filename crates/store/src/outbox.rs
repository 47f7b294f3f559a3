//! The outbox: mail queued for delivery, bodies sealed under the master key.

use sigil_core::UnixTime;
use sigil_core::model::OutgoingEmail;
use sigil_core::store::{Page, Result};

use crate::SqlStore;
use crate::codec::{Filter, open, seal};
use crate::database::on_pool;
use crate::error::{OrBackend as _, corrupt};

/// Sealed bodies are bound to this purpose (a body cannot be passed off as another secret).
const PURPOSE: &str = "outbox body";

#[derive(sqlx::FromRow)]
struct Row {
    created_at: i64,
    recipient: String,
    subject: String,
    sealed_body: Vec<u8>,
    kind: String,
}

pub(crate) async fn queue_email(store: &SqlStore, email: &OutgoingEmail) -> Result<()> {
    const SQL: &str = "INSERT INTO outbox (created_at, recipient, subject, sealed_body, kind) \
                       VALUES ($1, $2, $3, $4, $5)";
    let sealed = seal(&store.key, PURPOSE, email.body.as_bytes())?;
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(email.created_at.0)
        .bind(&email.to)
        .bind(&email.subject)
        .bind(&sealed)
        .bind(&email.kind)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(())
}

pub(crate) async fn outbox(
    store: &SqlStore,
    recipient: Option<&str>,
    page: Page,
) -> Result<Vec<OutgoingEmail>> {
    let filter = Filter::default().eq("recipient", recipient.map(str::to_owned));
    let n = filter.next();
    let sql = format!(
        "SELECT created_at, recipient, subject, sealed_body, kind FROM outbox {} \
         ORDER BY seq DESC LIMIT ${n} OFFSET ${}",
        filter.clause(None),
        n + 1
    );
    let rows: Vec<Row> = on_pool!(&store.db, pool => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for v in &filter.values {
            q = q.bind(v.clone());
        }
        q.bind(page.limit()).bind(page.offset()).fetch_all(pool).await.db()?
    });
    rows.into_iter()
        .map(|row| {
            let body = open(&store.key, "outbox message", PURPOSE, &row.sealed_body)?;
            Ok(OutgoingEmail {
                to: row.recipient,
                subject: row.subject,
                body: String::from_utf8(body.to_vec()).map_err(|e| corrupt("outbox message", e))?,
                kind: row.kind,
                created_at: UnixTime(row.created_at),
            })
        })
        .collect()
}

pub(crate) async fn count_outbox(store: &SqlStore) -> Result<u64> {
    let count: i64 = on_pool!(&store.db, pool =>
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(pool).await.db()?);
    Ok(u64::try_from(count).unwrap_or(0))
}
