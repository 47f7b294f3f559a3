//! Device authorizations (RFC 8628): the device polls with a digest, the user decides with the
//! user code; an approval is consumed by exactly one poll.

use sigil_core::ids::{ClientId, UserId};
use sigil_core::model::{DeviceCode, DeviceStatus};
use sigil_core::secret::SecretDigest;
use sigil_core::store::Result;
use sigil_core::{Conflict, StoreError, UnixTime};

use crate::SqlStore;
use crate::codec::{digest, join, split, time, unix};
use crate::database::on_pool;
use crate::error::{OrBackend as _, corrupt, write_error};

macro_rules! columns {
    () => {
        "digest, user_code, client_id, scope, audience, status, user_id, created_at, \
         expires_at, interval_seconds, last_polled_at, consumed_at"
    };
}

#[derive(sqlx::FromRow)]
struct Row {
    digest: Vec<u8>,
    user_code: String,
    client_id: String,
    scope: String,
    audience: Option<String>,
    status: String,
    user_id: Option<String>,
    created_at: i64,
    expires_at: i64,
    interval_seconds: i64,
    last_polled_at: Option<i64>,
    consumed_at: Option<i64>,
}

/// The stored form of a status: its name and, when approved, the user.
fn status_columns(status: &DeviceStatus) -> (&'static str, Option<String>) {
    match status {
        DeviceStatus::Pending => ("pending", None),
        DeviceStatus::Approved(user) => ("approved", Some(user.0.clone())),
        DeviceStatus::Denied => ("denied", None),
    }
}

impl Row {
    fn into_model(self) -> Result<DeviceCode> {
        let status = match (self.status.as_str(), self.user_id) {
            ("pending", _) => DeviceStatus::Pending,
            ("approved", Some(user)) => DeviceStatus::Approved(UserId(user)),
            ("denied", _) => DeviceStatus::Denied,
            (other, _) => return Err(corrupt("device code", format!("status {other:?}"))),
        };
        Ok(DeviceCode {
            digest: digest("device code digest", &self.digest)?,
            user_code: self.user_code,
            client_id: ClientId(self.client_id),
            scope: split(&self.scope),
            audience: self.audience,
            status,
            created_at: UnixTime(self.created_at),
            expires_at: UnixTime(self.expires_at),
            interval: self.interval_seconds,
            last_polled_at: unix(self.last_polled_at),
            consumed_at: unix(self.consumed_at),
        })
    }
}

pub(crate) async fn create_device_code(store: &SqlStore, code: &DeviceCode) -> Result<()> {
    const SQL: &str = concat!(
        "INSERT INTO device_codes (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    );
    let (status, user) = status_columns(&code.status);
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(code.digest.0.to_vec())
        .bind(&code.user_code)
        .bind(code.client_id.as_str())
        .bind(join(&code.scope))
        .bind(code.audience.as_deref())
        .bind(status)
        .bind(&user)
        .bind(code.created_at.0)
        .bind(code.expires_at.0)
        .bind(code.interval)
        .bind(time(code.last_polled_at))
        .bind(time(code.consumed_at))
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Token, "client"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn device_code_by_user_code(
    store: &SqlStore,
    user_code: &str,
) -> Result<Option<DeviceCode>> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM device_codes WHERE user_code = $1"
    );
    let row: Option<Row> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(user_code).fetch_optional(pool).await.db()?);
    row.map(Row::into_model).transpose()
}

pub(crate) async fn decide_device_code(
    store: &SqlStore,
    user_code: &str,
    decision: &DeviceStatus,
    now: UnixTime,
) -> Result<()> {
    const SQL: &str = "UPDATE device_codes SET status = $2, user_id = $3 \
                       WHERE user_code = $1 AND status = 'pending' AND expires_at > $4";
    let (status, user) = status_columns(decision);
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(user_code)
        .bind(status)
        .bind(&user)
        .bind(now.0)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Token, "user"))?
        .rows_affected());
    if done > 0 {
        return Ok(());
    }
    Err(match device_code_by_user_code(store, user_code).await? {
        None => StoreError::NotFound("device code"),
        Some(code) if code.expires_at <= now => StoreError::Expired,
        Some(_) => StoreError::AlreadyUsed,
    })
}

pub(crate) async fn poll_device_code(
    store: &SqlStore,
    code: &SecretDigest,
    now: UnixTime,
) -> Result<DeviceCode> {
    const CONSUME: &str = concat!(
        "UPDATE device_codes SET consumed_at = $2 WHERE digest = $1 \
         AND status = 'approved' AND consumed_at IS NULL AND expires_at > $2 RETURNING ",
        columns!()
    );
    const READ: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM device_codes WHERE digest = $1"
    );
    const POLLED: &str = "UPDATE device_codes SET last_polled_at = $2 WHERE digest = $1";
    let consumed: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(CONSUME)
        .bind(code.0.to_vec())
        .bind(now.0)
        .fetch_optional(pool)
        .await
        .db()?);
    if let Some(row) = consumed {
        // Report it as the poll found it: approved, not yet consumed, with the previous poll's
        // time (the consuming poll leaves `last_polled_at` alone; nothing polls afterwards).
        let mut code = row.into_model()?;
        code.consumed_at = None;
        return Ok(code);
    }
    let row: Option<Row> = on_pool!(&store.db, pool =>
        sqlx::query_as(READ).bind(code.0.to_vec()).fetch_optional(pool).await.db()?);
    let Some(found) = row.map(Row::into_model).transpose()? else {
        return Err(StoreError::NotFound("device code"));
    };
    if found.consumed_at.is_some() {
        return Err(StoreError::AlreadyUsed);
    }
    if found.expires_at <= now {
        return Err(StoreError::Expired);
    }
    on_pool!(&store.db, pool => sqlx::query(POLLED)
        .bind(code.0.to_vec())
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(found)
}
