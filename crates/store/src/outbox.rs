//! The outbox: mail queued for delivery, bodies sealed under the master key, and the queue's
//! leases (`sigil_core::mail` holds the rules); the tenant's mail provider, its SMTP password
//! sealed; and its email templates.

use sigil_core::UnixTime;
use sigil_core::mail::LEASE;
use sigil_core::model::{
    ClaimedEmail, Delivered, DeliveryStatus, EmailProvider, EmailTemplate, OutboxEntry,
    OutgoingEmail, SmtpCredentials, TemplateName,
};
use sigil_core::store::{Page, Result};
use zeroize::Zeroizing;

use crate::SqlStore;
use crate::codec::{Filter, open, seal, unix};
use crate::database::{Backend, on_pool};
use crate::error::{OrBackend as _, corrupt};

/// Sealed bodies are bound to this purpose (a body cannot be passed off as another secret).
const PURPOSE: &str = "outbox body";

/// Sealed HTML bodies are bound to this purpose.
const HTML_PURPOSE: &str = "outbox html body";

/// The SMTP password's purpose.
const PROVIDER_PURPOSE: &str = "email provider smtp_pass";

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    created_at: i64,
    recipient: String,
    subject: String,
    sealed_body: Vec<u8>,
    sealed_html: Option<Vec<u8>>,
    sender: Option<String>,
    kind: String,
    status: String,
    attempts: i32,
    next_attempt_at: i64,
    last_error: Option<String>,
    sent_at: Option<i64>,
    message_id: Option<String>,
    lease: Option<String>,
}

const COLUMNS: &str = "seq, created_at, recipient, subject, sealed_body, sealed_html, sender, \
                       kind, status, attempts, next_attempt_at, last_error, sent_at, message_id, \
                       lease";

impl Row {
    fn email(&self, store: &SqlStore) -> Result<OutgoingEmail> {
        let text = |sealed: &[u8], purpose: &str| -> Result<String> {
            let plain = open(&store.key, "outbox message", purpose, sealed)?;
            String::from_utf8(plain.to_vec()).map_err(|e| corrupt("outbox message", e))
        };
        Ok(OutgoingEmail {
            to: self.recipient.clone(),
            subject: self.subject.clone(),
            body: text(&self.sealed_body, PURPOSE)?,
            html: self
                .sealed_html
                .as_deref()
                .map(|sealed| text(sealed, HTML_PURPOSE))
                .transpose()?,
            from: self.sender.clone(),
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
                       sealed_html, sender, status, attempts, next_attempt_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $1)";
    let sealed = seal(&store.key, PURPOSE, email.body.as_bytes())?;
    let sealed_html = email
        .html
        .as_ref()
        .map(|html| seal(&store.key, HTML_PURPOSE, html.as_bytes()))
        .transpose()?;
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(email.created_at.0)
        .bind(&email.to)
        .bind(&email.subject)
        .bind(&sealed)
        .bind(&email.kind)
        .bind(&sealed_html)
        .bind(&email.from)
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
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending') \
                           AND kind <> 'sms'")
            .fetch_one(pool).await.db()?);
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Which rows are due at the time bound to `now`: queued mail whose attempt is due, and mail
/// whose lease ran out. SMS kept in the outbox (`kind` `sms`) is never sent from it: the
/// operator relays it.
fn due(now: &str) -> String {
    format!(
        "kind <> '{SMS}' AND ((status = 'queued' AND next_attempt_at <= {now}) \
         OR (status = 'sending' AND lease_until <= {now}))"
    )
}

/// The `kind` of SMS messages kept in the outbox.
const SMS: &str = sigil_core::model::outbox::SMS_KIND;

pub(crate) async fn claim_emails(
    store: &SqlStore,
    now: UnixTime,
    lease: &str,
    limit: u32,
) -> Result<Vec<ClaimedEmail>> {
    // Most looks find nothing due: a read answers them without taking a write lock.
    let probe = format!("SELECT seq FROM outbox WHERE {} LIMIT 1", due("$1"));
    let any: Option<i64> = on_pool!(&store.db, pool => sqlx::query_scalar(sqlx::AssertSqlSafe(probe.clone()))
        .bind(now.0)
        .fetch_optional(pool)
        .await
        .db()?);
    if any.is_none() {
        return Ok(Vec::new());
    }
    let due = due("$3");
    let sql = match store.db.backend() {
        // One writer at a time: the statement is the lease.
        Backend::Sqlite => format!(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease = $1, \
             lease_until = $2 WHERE seq IN (SELECT seq FROM outbox WHERE {due} \
             ORDER BY seq LIMIT $4) RETURNING {COLUMNS}"
        ),
        // Rows another node is leasing right now are skipped, not waited for.
        Backend::Postgres => format!(
            "WITH due AS (SELECT seq FROM outbox WHERE {due} ORDER BY seq LIMIT $4 \
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

#[derive(sqlx::FromRow)]
struct TemplateRow {
    name: String,
    body: String,
    sender: String,
    subject: String,
    result_url: Option<String>,
    url_lifetime_in_seconds: Option<i64>,
    include_email_in_redirect: bool,
    enabled: bool,
}

pub(crate) async fn email_template(
    store: &SqlStore,
    name: TemplateName,
) -> Result<Option<EmailTemplate>> {
    const SQL: &str = "SELECT name, body, sender, subject, result_url, url_lifetime_in_seconds, \
                       include_email_in_redirect, enabled FROM email_templates WHERE name = $1";
    let row: Option<TemplateRow> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(name.as_str())
        .fetch_optional(pool)
        .await
        .db()?);
    row.map(|row| {
        Ok(EmailTemplate {
            name: TemplateName::parse(&row.name)
                .ok_or_else(|| corrupt("email template", "an unknown name"))?,
            body: row.body,
            from: row.sender,
            subject: row.subject,
            result_url: row.result_url,
            url_lifetime_in_seconds: row.url_lifetime_in_seconds,
            include_email_in_redirect: row.include_email_in_redirect,
            enabled: row.enabled,
        })
    })
    .transpose()
}

/// Writes `template`: only when none of its name exists (`create`), or whatever exists.
pub(crate) async fn put_email_template(
    store: &SqlStore,
    template: &EmailTemplate,
    create: bool,
    now: UnixTime,
) -> Result<bool> {
    const INSERT: &str = "INSERT INTO email_templates (name, body, sender, subject, result_url, \
                          url_lifetime_in_seconds, include_email_in_redirect, enabled, updated_at) \
                          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ";
    let sql = if create {
        format!("{INSERT} ON CONFLICT (name) DO NOTHING")
    } else {
        format!(
            "{INSERT} ON CONFLICT (name) DO UPDATE SET body = excluded.body, \
             sender = excluded.sender, subject = excluded.subject, \
             result_url = excluded.result_url, \
             url_lifetime_in_seconds = excluded.url_lifetime_in_seconds, \
             include_email_in_redirect = excluded.include_email_in_redirect, \
             enabled = excluded.enabled, updated_at = excluded.updated_at"
        )
    };
    let written = on_pool!(&store.db, pool => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(template.name.as_str())
        .bind(&template.body)
        .bind(&template.from)
        .bind(&template.subject)
        .bind(&template.result_url)
        .bind(template.url_lifetime_in_seconds)
        .bind(template.include_email_in_redirect)
        .bind(template.enabled)
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(written == 1)
}
