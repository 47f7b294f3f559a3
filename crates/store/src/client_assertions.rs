//! Used client-assertion `jti`s (`private_key_jwt`): one row per client and `jti` until the
//! assertion expires. Single use is decided by the primary key, in one statement.

use sigil_core::ids::ClientId;
use sigil_core::store::Result;
use sigil_core::{Conflict, StoreError, UnixTime};

use crate::SqlStore;
use crate::database::on_pool;
use crate::error::write_error;

pub(crate) async fn record_client_assertion(
    store: &SqlStore,
    client: &ClientId,
    jti: &str,
    expires_at: UnixTime,
    now: UnixTime,
) -> Result<()> {
    // Inserts, or takes over the row of an expired assertion with the same jti; a live row is
    // left alone and nothing is written, which is the replay.
    const SQL: &str = "INSERT INTO client_assertions (client_id, jti, expires_at) \
         VALUES ($1, $2, $3) \
         ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at \
         WHERE client_assertions.expires_at <= $4";
    let written = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(client.as_str())
        .bind(jti)
        .bind(expires_at.0)
        .bind(now.0)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Token, "client"))?
        .rows_affected());
    if written == 0 {
        return Err(StoreError::AlreadyUsed);
    }
    Ok(())
}
