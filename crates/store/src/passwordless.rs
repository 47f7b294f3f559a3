//! Passwordless codes: one live code per connection and recipient (a new one replaces it),
//! its tries counted by one `UPDATE … RETURNING` that stops at the limit, used up by one
//! `DELETE` that only the holder of the right digest can win.

use sigil_core::ids::{ClientId, ConnectionId};
use sigil_core::model::PasswordlessCode;
use sigil_core::store::Result;
use sigil_core::{Conflict, UnixTime};

use crate::SqlStore;
use crate::database::on_pool;
use crate::error::{OrBackend as _, corrupt, write_error};

#[derive(sqlx::FromRow)]
struct Row {
    connection_id: String,
    recipient: String,
    digest: Vec<u8>,
    client_id: String,
    attempts: i32,
    created_at: i64,
    expires_at: i64,
}

impl Row {
    fn into_model(self) -> Result<PasswordlessCode> {
        Ok(PasswordlessCode {
            connection_id: ConnectionId(self.connection_id),
            recipient: self.recipient,
            digest: self
                .digest
                .try_into()
                .map_err(|_| corrupt("passwordless code", "digest of the wrong length"))?,
            client_id: ClientId(self.client_id),
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            created_at: UnixTime(self.created_at),
            expires_at: UnixTime(self.expires_at),
        })
    }
}

pub(crate) async fn put_code(store: &SqlStore, code: &PasswordlessCode) -> Result<()> {
    const SQL: &str = "INSERT INTO passwordless_codes (connection_id, recipient, digest, \
                       client_id, attempts, created_at, expires_at) \
                       VALUES ($1, $2, $3, $4, 0, $5, $6) \
                       ON CONFLICT (connection_id, recipient) DO UPDATE SET \
                       digest = excluded.digest, client_id = excluded.client_id, attempts = 0, \
                       created_at = excluded.created_at, expires_at = excluded.expires_at";
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(code.connection_id.as_str())
        .bind(&code.recipient)
        .bind(code.digest.to_vec())
        .bind(code.client_id.as_str())
        .bind(code.created_at.0)
        .bind(code.expires_at.0)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Token, "connection"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn try_code(
    store: &SqlStore,
    connection: &ConnectionId,
    recipient: &str,
    now: UnixTime,
    max_attempts: u32,
) -> Result<Option<PasswordlessCode>> {
    const SQL: &str = "UPDATE passwordless_codes SET attempts = attempts + 1 \
                       WHERE connection_id = $1 AND recipient = $2 AND expires_at > $3 \
                       AND attempts < $4 \
                       RETURNING connection_id, recipient, digest, client_id, attempts, \
                       created_at, expires_at";
    let max = i32::try_from(max_attempts).unwrap_or(i32::MAX);
    let row: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(connection.as_str())
        .bind(recipient)
        .bind(now.0)
        .bind(max)
        .fetch_optional(pool)
        .await
        .db()?);
    row.map(Row::into_model).transpose()
}

pub(crate) async fn consume_code(
    store: &SqlStore,
    connection: &ConnectionId,
    recipient: &str,
    digest: &[u8; 32],
) -> Result<bool> {
    const SQL: &str = "DELETE FROM passwordless_codes \
                       WHERE connection_id = $1 AND recipient = $2 AND digest = $3";
    let deleted = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(connection.as_str())
        .bind(recipient)
        .bind(digest.to_vec())
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(deleted == 1)
}
