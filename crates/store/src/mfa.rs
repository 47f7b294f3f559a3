//! Users' multi-factor authenticators: at most one of each kind per user (a pending enrolment
//! replaced by the next, a confirmed one kept), a TOTP secret sealed under the master key and
//! bound to its row, a recovery code as its digest. Every single-use step is one conditional
//! statement: a TOTP step is taken by an `UPDATE` that requires it to be later than the last,
//! a recovery code used by an `UPDATE` that requires it to be the stored one.

use sigil_core::ids::UserId;
use sigil_core::mfa::totp::TotpSecret;
use sigil_core::model::{
    Authenticator, AuthenticatorKind, AuthenticatorSecret, BrowserMemory, OobCode,
};
use sigil_core::store::Result;
use sigil_core::{Conflict, StoreError, UnixTime};

use crate::SqlStore;
use crate::codec::{digest, open, seal, unix};
use crate::database::{BeginWrite as _, on_pool};
use crate::error::{OrBackend as _, corrupt};

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    user_id: String,
    kind: String,
    name: Option<String>,
    secret: Option<Vec<u8>>,
    digest: Option<Vec<u8>>,
    confirmed_at: Option<i64>,
    created_at: i64,
    last_auth_at: Option<i64>,
}

/// What a TOTP secret is sealed for: its row.
fn purpose(id: &str) -> String {
    format!("authenticator:{id}")
}

impl Row {
    fn into_model(self, store: &SqlStore) -> Result<Authenticator> {
        let kind = AuthenticatorKind::parse(&self.kind)
            .ok_or_else(|| corrupt("authenticator", format!("kind {:?}", self.kind)))?;
        let secret = match kind {
            AuthenticatorKind::Totp => {
                let sealed = self
                    .secret
                    .ok_or_else(|| corrupt("authenticator", "a TOTP factor without a secret"))?;
                let bytes = open(&store.key, "authenticator", &purpose(&self.id), &sealed)?;
                AuthenticatorSecret::Totp(
                    TotpSecret::from_bytes(bytes)
                        .ok_or_else(|| corrupt("authenticator", "a TOTP secret too short"))?,
                )
            }
            AuthenticatorKind::RecoveryCode => {
                let bytes = self
                    .digest
                    .ok_or_else(|| corrupt("authenticator", "a recovery code without a digest"))?;
                AuthenticatorSecret::RecoveryCode(digest("recovery code", &bytes)?)
            }
            AuthenticatorKind::Email => AuthenticatorSecret::None,
        };
        Ok(Authenticator {
            id: self.id,
            user_id: UserId(self.user_id),
            kind,
            name: self.name,
            secret,
            confirmed_at: unix(self.confirmed_at),
            created_at: UnixTime(self.created_at),
            last_auth_at: unix(self.last_auth_at),
        })
    }
}

/// Adds an authenticator (as [`put`]: a pending one of the kind is replaced, a confirmed one
/// kept, and then nothing is written).
pub(crate) const PUT: &str = "INSERT INTO authenticators (id, user_id, kind, name, secret, \
     digest, confirmed_at, created_at, last_auth_at, last_step) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL) \
     ON CONFLICT (user_id, kind) DO UPDATE SET id = excluded.id, \
     name = excluded.name, secret = excluded.secret, digest = excluded.digest, \
     confirmed_at = excluded.confirmed_at, created_at = excluded.created_at, \
     last_auth_at = excluded.last_auth_at, last_step = NULL \
     WHERE authenticators.confirmed_at IS NULL";

/// An authenticator's columns for [`PUT`], its TOTP secret sealed, bound by [`bind_put!`].
pub(crate) struct Columns<'a> {
    pub(crate) authenticator: &'a Authenticator,
    pub(crate) secret: Option<Vec<u8>>,
    pub(crate) digest: Option<Vec<u8>>,
}

impl<'a> Columns<'a> {
    pub(crate) fn of(store: &SqlStore, authenticator: &'a Authenticator) -> Result<Self> {
        let (secret, digest) = match &authenticator.secret {
            AuthenticatorSecret::Totp(secret) => (
                Some(seal(
                    &store.key,
                    &purpose(&authenticator.id),
                    secret.bytes(),
                )?),
                None,
            ),
            AuthenticatorSecret::RecoveryCode(digest) => (None, Some(digest.0.to_vec())),
            AuthenticatorSecret::None => (None, None),
        };
        Ok(Columns {
            authenticator,
            secret,
            digest,
        })
    }
}

/// Binds [`Columns`] in [`PUT`]'s order.
macro_rules! bind_put {
    ($query:expr, $columns:expr) => {{
        let c = $columns;
        let a = c.authenticator;
        $query
            .bind(a.id.clone())
            .bind(a.user_id.as_str().to_owned())
            .bind(a.kind.as_str())
            .bind(a.name.clone())
            .bind(c.secret.clone())
            .bind(c.digest.clone())
            .bind(crate::codec::time(a.confirmed_at))
            .bind(a.created_at.0)
            .bind(crate::codec::time(a.last_auth_at))
    }};
}
pub(crate) use bind_put;

pub(crate) async fn put(store: &SqlStore, authenticator: &Authenticator) -> Result<()> {
    let columns = Columns::of(store, authenticator)?;
    let written = on_pool!(&store.db, pool => bind_put!(sqlx::query(PUT), &columns)
        .execute(pool)
        .await
        .map_err(|e| crate::error::write_error(e, |_| Conflict::Authenticator, "user"))?
        .rows_affected());
    if written == 0 {
        return Err(StoreError::Conflict(Conflict::Authenticator));
    }
    Ok(())
}

pub(crate) async fn list(store: &SqlStore, user: &UserId) -> Result<Vec<Authenticator>> {
    const SQL: &str = "SELECT id, user_id, kind, name, secret, digest, confirmed_at, \
                       created_at, last_auth_at FROM authenticators WHERE user_id = $1 \
                       ORDER BY created_at, id";
    let rows: Vec<Row> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(user.as_str())
        .fetch_all(pool)
        .await
        .db()?);
    rows.into_iter().map(|row| row.into_model(store)).collect()
}

pub(crate) async fn one(store: &SqlStore, id: &str) -> Result<Option<Authenticator>> {
    const SQL: &str = "SELECT id, user_id, kind, name, secret, digest, confirmed_at, \
                       created_at, last_auth_at FROM authenticators WHERE id = $1";
    let row: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(id)
        .fetch_optional(pool)
        .await
        .db()?);
    row.map(|row| row.into_model(store)).transpose()
}

pub(crate) async fn confirm(
    store: &SqlStore,
    user: &UserId,
    id: &str,
    now: UnixTime,
) -> Result<bool> {
    const SQL: &str = "UPDATE authenticators SET confirmed_at = $3 \
                       WHERE user_id = $1 AND id = $2 AND confirmed_at IS NULL";
    let updated = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(user.as_str())
        .bind(id)
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(updated == 1)
}

pub(crate) async fn take_step(
    store: &SqlStore,
    id: &str,
    step: i64,
    now: UnixTime,
) -> Result<bool> {
    const SQL: &str = "UPDATE authenticators SET last_step = $2, last_auth_at = $3 \
                       WHERE id = $1 AND (last_step IS NULL OR last_step < $2)";
    let updated = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(id)
        .bind(step)
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(updated == 1)
}

pub(crate) async fn replace_recovery_code(
    store: &SqlStore,
    user: &UserId,
    id: &str,
    old: Option<&sigil_core::secret::SecretDigest>,
    new: &sigil_core::secret::SecretDigest,
    now: UnixTime,
) -> Result<bool> {
    let kind = AuthenticatorKind::RecoveryCode.as_str();
    match old {
        Some(old) => {
            const SQL: &str = "UPDATE authenticators SET digest = $3, last_auth_at = $4 \
                               WHERE user_id = $1 AND kind = $2 AND digest = $5 \
                               AND confirmed_at IS NOT NULL";
            let updated = on_pool!(&store.db, pool => sqlx::query(SQL)
                .bind(user.as_str())
                .bind(kind)
                .bind(new.0.to_vec())
                .bind(now.0)
                .bind(old.0.to_vec())
                .execute(pool)
                .await
                .db()?
                .rows_affected());
            Ok(updated == 1)
        }
        None => {
            const SQL: &str = "INSERT INTO authenticators (id, user_id, kind, digest, \
                               confirmed_at, created_at) VALUES ($1, $2, $3, $4, $5, $5) \
                               ON CONFLICT (user_id, kind) DO UPDATE SET \
                               digest = excluded.digest, \
                               confirmed_at = COALESCE(authenticators.confirmed_at, \
                               excluded.confirmed_at)";
            on_pool!(&store.db, pool => sqlx::query(SQL)
                .bind(id)
                .bind(user.as_str())
                .bind(kind)
                .bind(new.0.to_vec())
                .bind(now.0)
                .execute(pool)
                .await
                .map_err(|e| crate::error::write_error(e, |_| Conflict::Authenticator, "user"))?
                .rows_affected());
            Ok(true)
        }
    }
}

pub(crate) async fn delete(store: &SqlStore, user: &UserId, id: &str) -> Result<bool> {
    const SQL: &str = "DELETE FROM authenticators WHERE user_id = $1 AND id = $2";
    let deleted = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(user.as_str())
        .bind(id)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(deleted == 1)
}

/// Records `now` as the moment the user's remembered browsers were forgotten.
const FORGET: &str = "INSERT INTO mfa_users (user_id, browsers_forgotten_at) \
                      SELECT user_id, $2 FROM users WHERE user_id = $1 \
                      ON CONFLICT (user_id) DO UPDATE SET \
                      browsers_forgotten_at = excluded.browsers_forgotten_at";

pub(crate) async fn delete_all(store: &SqlStore, user: &UserId, now: UnixTime) -> Result<u64> {
    const SQL: &str = "DELETE FROM authenticators WHERE user_id = $1";
    Ok(on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        let deleted = sqlx::query(SQL)
            .bind(user.as_str())
            .execute(&mut *tx)
            .await
            .db()?
            .rows_affected();
        sqlx::query(FORGET)
            .bind(user.as_str())
            .bind(now.0)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        deleted
    }))
}

pub(crate) async fn forget_browsers(store: &SqlStore, user: &UserId, now: UnixTime) -> Result<()> {
    on_pool!(&store.db, pool => sqlx::query(FORGET)
        .bind(user.as_str())
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(())
}

pub(crate) async fn remembered_browsers(store: &SqlStore, user: &UserId) -> Result<BrowserMemory> {
    const SQL: &str = "SELECT browsers_forgotten_at, used_at FROM mfa_users WHERE user_id = $1";
    let row: Option<(i64, Option<i64>)> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(user.as_str())
        .fetch_optional(pool)
        .await
        .db()?);
    Ok(
        row.map_or_else(BrowserMemory::default, |(forgotten, used)| BrowserMemory {
            // 0: a row made by a use, never forgotten.
            forgotten_at: (forgotten > 0).then_some(UnixTime(forgotten)),
            used_at: unix(used),
        }),
    )
}

pub(crate) async fn remembered_browser_used(
    store: &SqlStore,
    user: &UserId,
    now: UnixTime,
) -> Result<()> {
    const SQL: &str = "INSERT INTO mfa_users (user_id, browsers_forgotten_at, used_at) \
                       SELECT user_id, 0, $2 FROM users WHERE user_id = $1 \
                       ON CONFLICT (user_id) DO UPDATE SET used_at = excluded.used_at";
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(user.as_str())
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(())
}

/// Codes mailed to email factors: each is found by its `oob_code`'s digest and used up by
/// one `DELETE` that only the holder of the right binding code can win.
#[derive(sqlx::FromRow)]
struct OobRow {
    digest: Vec<u8>,
    user_id: String,
    authenticator_id: String,
    binding: Vec<u8>,
    expires_at: i64,
}

pub(crate) async fn put_oob_code(store: &SqlStore, code: &OobCode) -> Result<()> {
    const SQL: &str = "INSERT INTO mfa_oob_codes (digest, user_id, authenticator_id, binding, \
                       expires_at) VALUES ($1, $2, $3, $4, $5)";
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(code.digest.to_vec())
        .bind(code.user_id.as_str())
        .bind(&code.authenticator_id)
        .bind(code.binding.to_vec())
        .bind(code.expires_at.0)
        .execute(pool)
        .await
        .map_err(|e| crate::error::write_error(e, |_| Conflict::Token, "user"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn oob_code(
    store: &SqlStore,
    digest: &[u8; 32],
    now: UnixTime,
) -> Result<Option<OobCode>> {
    const SQL: &str = "SELECT digest, user_id, authenticator_id, binding, expires_at \
                       FROM mfa_oob_codes WHERE digest = $1 AND expires_at > $2";
    let row: Option<OobRow> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(digest.to_vec())
        .bind(now.0)
        .fetch_optional(pool)
        .await
        .db()?);
    row.map(|row| {
        let bytes = |v: Vec<u8>, what: &str| {
            <[u8; 32]>::try_from(v)
                .map_err(|_| corrupt("oob code", format!("{what} of the wrong length")))
        };
        Ok(OobCode {
            digest: bytes(row.digest, "digest")?,
            user_id: UserId(row.user_id),
            authenticator_id: row.authenticator_id,
            binding: bytes(row.binding, "binding")?,
            expires_at: UnixTime(row.expires_at),
        })
    })
    .transpose()
}

pub(crate) async fn consume_oob_code(
    store: &SqlStore,
    digest: &[u8; 32],
    binding: &[u8; 32],
) -> Result<bool> {
    const SQL: &str = "DELETE FROM mfa_oob_codes WHERE digest = $1 AND binding = $2";
    let deleted = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(digest.to_vec())
        .bind(binding.to_vec())
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(deleted == 1)
}
