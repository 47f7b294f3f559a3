//! The outbox: mail queued for delivery, bodies sealed under the master key, and the queue's
//! leases (`sigil_core::mail` holds the rules); and the tenant's mail provider, its SMTP
//! password sealed.

use sigil_core::UnixTime;
use sigil_core::mail::LEASE;
use sigil_core::model::{
    ClaimedEmail, Delivered, DeliveryStatus, EmailProvider, OutboxEntry, OutgoingEmail,
    SmtpCredentials,
};
use sigil_core::store::{Page, Result};
use zeroize::Zeroizing;

use crate::SqlStore;
use crate::codec::{Filter, open, seal, unix};
use crate::database::{Backend, on_pool};
use crate::error::{OrBackend as _, corrupt};

/// Sealed bodies are bound to this purpose (a body cannot be passed off as another secret).
const PURPOSE: &str = "outbox body";

/// The SMTP password's purpose.
const PROVIDER_PURPOSE: &str = "email provider smtp_pass";

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    created_at: i64,
    recipient: String,
    subject: String,
    sealed_body: Vec<u8>,
    kind: String,
    status: String,
    attempts: i32,
    next_attempt_at: i64,
    last_error: Option<String>,
    sent_at: Option<i64>,
    message_id: Option<String>,
    lease: Option<String>,
}

const COLUMNS: &str = "seq, created_at, recipient, subject, sealed_body, kind, status, attempts, \
                       next_attempt_at, last_error, sent_at, message_id, lease";

impl Row {
    fn email(&self, store: &SqlStore) -> Result<OutgoingEmail> {
        let body = open(&store.key, "outbox message", PURPOSE, &self.sealed_body)?;
        Ok(OutgoingEmail {
            to: self.recipient.clone(),
            subject: self.subject.clone(),
            body: String::from_utf8(body.to_vec()).map_err(|e| corrupt("outbox message", e))?,
            kind: self.kind.clone(),
            created_at: UnixTime(self.created_at),
        })
    }

    fn attempts(&self) -> u32 {
        u32::try_from(self.attempts).unwrap_or(0)
    }
}

pub(crate) async fn queue_email(store: &SqlStore, email: &OutgoingEmail) -> Result<()> {
    const SQL: &str = "INSERT INTO outbox (created_at, recipient, subject, sealed_body, kind, \
                       status, attempts, next_attempt_at) \
                       VALUES ($1, $2, $3, $4, $5, 'queued', 0, $1)";
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
) -> Result<Vec<OutboxEntry>> {
    let filter = Filter::default().eq("recipient", recipient.map(str::to_owned));
    let n = filter.next();
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox {} ORDER BY seq DESC LIMIT ${n} OFFSET ${}",
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
            Ok(OutboxEntry {
                id: row.seq,
                email: row.email(store)?,
                status: DeliveryStatus::parse(&row.status)
                    .ok_or_else(|| corrupt("outbox message", "an unknown status"))?,
                attempts: row.attempts(),
                next_attempt_at: UnixTime(row.next_attempt_at),
                last_error: row.last_error,
                sent_at: unix(row.sent_at),
                message_id: row.message_id,
            })
        })
        .collect()
}

pub(crate) async fn count_outbox(store: &SqlStore) -> Result<u64> {
    let count: i64 = on_pool!(&store.db, pool =>
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')")
            .fetch_one(pool).await.db()?);
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Which rows are due: queued ones whose attempt is due, and ones whose lease ran out.
const DUE: &str = "(status = 'queued' AND next_attempt_at <= $3) \
                   OR (status = 'sending' AND lease_until <= $3)";

pub(crate) async fn claim_emails(
    store: &SqlStore,
    now: UnixTime,
    lease: &str,
    limit: u32,
) -> Result<Vec<ClaimedEmail>> {
    let sql = match store.db.backend() {
        // One writer at a time: the statement is the lease.
        Backend::Sqlite => format!(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease = $1, \
             lease_until = $2 WHERE seq IN (SELECT seq FROM outbox WHERE {DUE} \
             ORDER BY seq LIMIT $4) RETURNING {COLUMNS}"
        ),
        // Rows another node is leasing right now are skipped, not waited for.
        Backend::Postgres => format!(
            "WITH due AS (SELECT seq FROM outbox WHERE {DUE} ORDER BY seq LIMIT $4 \
             FOR UPDATE SKIP LOCKED) \
             UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease = $1, \
             lease_until = $2 FROM due WHERE outbox.seq = due.seq RETURNING {}",
            COLUMNS
                .split(", ")
                .map(|c| format!("outbox.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut rows: Vec<Row> = on_pool!(&store.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(lease)
        .bind(now.0.saturating_add(LEASE))
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .db()?);
    rows.sort_by_key(|row| row.seq);
    rows.into_iter()
        .map(|row| {
            Ok(ClaimedEmail {
                id: row.seq,
                lease: row.lease.clone().unwrap_or_default(),
                attempts: row.attempts(),
                email: row.email(store)?,
            })
        })
        .collect()
}

pub(crate) async fn record_delivery(
    store: &SqlStore,
    id: i64,
    lease: &str,
    delivered: &Delivered,
) -> Result<bool> {
    const SQL: &str = "UPDATE outbox SET status = $1, \
                       next_attempt_at = COALESCE($2, next_attempt_at), \
                       last_error = COALESCE($3, last_error), sent_at = $4, message_id = $5, \
                       lease = NULL, lease_until = NULL \
                       WHERE seq = $6 AND lease = $7 AND status = 'sending'";
    let (status, next, error, sent_at, message_id) = match delivered {
        Delivered::Sent { message_id, at } => (
            DeliveryStatus::Sent,
            None,
            None,
            Some(at.0),
            Some(message_id.as_str()),
        ),
        Delivered::Retry { at, error } => (
            DeliveryStatus::Queued,
            Some(at.0),
            Some(error.as_str()),
            None,
            None,
        ),
        Delivered::Failed { error } => (
            DeliveryStatus::Failed,
            None,
            Some(error.as_str()),
            None,
            None,
        ),
    };
    let changed = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(status.as_str())
        .bind(next)
        .bind(error)
        .bind(sent_at)
        .bind(message_id)
        .bind(id)
        .bind(lease)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(changed == 1)
}

#[derive(sqlx::FromRow)]
struct ProviderRow {
    name: String,
    enabled: bool,
    default_from_address: Option<String>,
    smtp_host: String,
    smtp_port: i32,
    smtp_user: String,
    sealed_smtp_pass: Vec<u8>,
    headers: String,
}

pub(crate) async fn email_provider(store: &SqlStore) -> Result<Option<EmailProvider>> {
    const SQL: &str = "SELECT name, enabled, default_from_address, smtp_host, smtp_port, \
                       smtp_user, sealed_smtp_pass, headers FROM email_provider WHERE id = 1";
    let row: Option<ProviderRow> =
        on_pool!(&store.db, pool => sqlx::query_as(SQL).fetch_optional(pool).await.db()?);
    let Some(row) = row else { return Ok(None) };
    let pass = open(
        &store.key,
        "email provider",
        PROVIDER_PURPOSE,
        &row.sealed_smtp_pass,
    )?;
    let headers: Vec<(String, String)> =
        serde_json::from_str(&row.headers).map_err(|e| corrupt("email provider", e))?;
    Ok(Some(EmailProvider {
        name: row.name,
        enabled: row.enabled,
        default_from_address: row.default_from_address,
        smtp: SmtpCredentials {
            host: row.smtp_host,
            port: u16::try_from(row.smtp_port).map_err(|e| corrupt("email provider", e))?,
            user: row.smtp_user,
            pass: Zeroizing::new(
                String::from_utf8(pass.to_vec()).map_err(|e| corrupt("email provider", e))?,
            ),
        },
        headers,
    }))
}

pub(crate) async fn put_email_provider(
    store: &SqlStore,
    provider: &EmailProvider,
    now: UnixTime,
) -> Result<()> {
    const SQL: &str = "INSERT INTO email_provider (id, name, enabled, default_from_address, \
                       smtp_host, smtp_port, smtp_user, sealed_smtp_pass, headers, updated_at) \
                       VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9) \
                       ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
                       enabled = excluded.enabled, \
                       default_from_address = excluded.default_from_address, \
                       smtp_host = excluded.smtp_host, smtp_port = excluded.smtp_port, \
                       smtp_user = excluded.smtp_user, \
                       sealed_smtp_pass = excluded.sealed_smtp_pass, \
                       headers = excluded.headers, updated_at = excluded.updated_at";
    let sealed = seal(&store.key, PROVIDER_PURPOSE, provider.smtp.pass.as_bytes())?;
    let headers =
        serde_json::to_string(&provider.headers).map_err(|e| corrupt("email provider", e))?;
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(&provider.name)
        .bind(provider.enabled)
        .bind(&provider.default_from_address)
        .bind(&provider.smtp.host)
        .bind(i32::from(provider.smtp.port))
        .bind(&provider.smtp.user)
        .bind(&sealed)
        .bind(&headers)
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(())
}

pub(crate) async fn delete_email_provider(store: &SqlStore) -> Result<bool> {
    let deleted = on_pool!(&store.db, pool => sqlx::query("DELETE FROM email_provider WHERE id = 1")
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(deleted == 1)
}
