//! One-time tickets (password reset, email verification): digests, consumed once.

use sigil_core::ids::UserId;
use sigil_core::model::{Ticket, TicketKind};
use sigil_core::secret::SecretDigest;
use sigil_core::store::Result;
use sigil_core::{Conflict, StoreError, UnixTime};

use crate::SqlStore;
use crate::codec::{digest, time, unix};
use crate::database::on_pool;
use crate::error::{OrBackend as _, corrupt, write_error};

macro_rules! columns {
    () => {
        "digest, kind, user_id, result_url, created_at, expires_at, used_at"
    };
}

#[derive(sqlx::FromRow)]
struct Row {
    digest: Vec<u8>,
    kind: String,
    user_id: String,
    result_url: Option<String>,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl Row {
    fn into_model(self) -> Result<Ticket> {
        Ok(Ticket {
            digest: digest("ticket digest", &self.digest)?,
            kind: TicketKind::parse(&self.kind)
                .ok_or_else(|| corrupt("ticket", format!("kind {:?}", self.kind)))?,
            user_id: UserId(self.user_id),
            result_url: self.result_url,
            created_at: UnixTime(self.created_at),
            expires_at: UnixTime(self.expires_at),
            used_at: unix(self.used_at),
        })
    }
}

pub(crate) async fn create_ticket(store: &SqlStore, ticket: &Ticket) -> Result<()> {
    const SQL: &str = concat!(
        "INSERT INTO tickets (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
    );
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(ticket.digest.0.to_vec())
        .bind(ticket.kind.as_str())
        .bind(ticket.user_id.as_str())
        .bind(ticket.result_url.as_deref())
        .bind(ticket.created_at.0)
        .bind(ticket.expires_at.0)
        .bind(time(ticket.used_at))
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Token, "user"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn ticket(store: &SqlStore, ticket: &SecretDigest) -> Result<Option<Ticket>> {
    const SQL: &str = concat!("SELECT ", columns!(), " FROM tickets WHERE digest = $1");
    let row: Option<Row> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(ticket.0.to_vec()).fetch_optional(pool).await.db()?);
    row.map(Row::into_model).transpose()
}

pub(crate) async fn consume_ticket(
    store: &SqlStore,
    ticket: &SecretDigest,
    kind: TicketKind,
    now: UnixTime,
) -> Result<Ticket> {
    const CONSUME: &str = concat!(
        "UPDATE tickets SET used_at = $3 WHERE digest = $1 AND kind = $2 AND used_at IS NULL \
         AND expires_at > $3 RETURNING ",
        columns!()
    );
    const STATE: &str = "SELECT used_at FROM tickets WHERE digest = $1 AND kind = $2";
    let won: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(CONSUME)
        .bind(ticket.0.to_vec())
        .bind(kind.as_str())
        .bind(now.0)
        .fetch_optional(pool)
        .await
        .db()?);
    if let Some(row) = won {
        return row.into_model();
    }
    let state: Option<Option<i64>> = on_pool!(&store.db, pool => sqlx::query_scalar(STATE)
        .bind(ticket.0.to_vec())
        .bind(kind.as_str())
        .fetch_optional(pool)
        .await
        .db()?);
    Err(match state {
        None => StoreError::NotFound("ticket"),
        Some(Some(_)) => StoreError::AlreadyUsed,
        Some(None) => StoreError::Expired,
    })
}
