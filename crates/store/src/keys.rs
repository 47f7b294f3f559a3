//! Signing keys, their private halves sealed under the master key (AES-256-GCM, bound to the
//! kid). Each key is filed under its family ([`SigningKeyRecord::family`], in the `family`
//! column); partial unique indexes keep at most one current and one next key per family, and
//! a rotation touches one family only.

use sigil_core::model::{KeyState, SigningKeyRecord};
use sigil_core::store::Result;
use sigil_core::{Conflict, StoreError, UnixTime};
use sigil_jose::Algorithm;

use crate::SqlStore;
use crate::codec::{open, seal, time, unix};
use crate::database::{BeginWrite as _, on_pool};
use crate::error::{OrBackend as _, corrupt, write_error};

const INSERT: &str = "INSERT INTO signing_keys (kid, alg, state, sealed_key, created_at, \
     current_since, previous_since, revoked_at, family) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

#[derive(sqlx::FromRow)]
struct Row {
    kid: String,
    alg: String,
    state: String,
    sealed_key: Vec<u8>,
    created_at: i64,
    current_since: Option<i64>,
    previous_since: Option<i64>,
    revoked_at: Option<i64>,
}

fn purpose(kid: &str) -> String {
    format!("signing key:{kid}")
}

impl Row {
    fn into_model(self, store: &SqlStore) -> Result<SigningKeyRecord> {
        Ok(SigningKeyRecord {
            alg: self
                .alg
                .parse::<Algorithm>()
                .map_err(|e| corrupt("signing key", e))?,
            state: KeyState::parse(&self.state)
                .ok_or_else(|| corrupt("signing key", format!("state {:?}", self.state)))?,
            private_pkcs8: open(
                &store.key,
                "signing key",
                &purpose(&self.kid),
                &self.sealed_key,
            )?,
            kid: self.kid,
            created_at: UnixTime(self.created_at),
            current_since: unix(self.current_since),
            previous_since: unix(self.previous_since),
            revoked_at: unix(self.revoked_at),
        })
    }
}

struct Values {
    sealed: Vec<u8>,
}

fn values(store: &SqlStore, key: &SigningKeyRecord) -> Result<Values> {
    Ok(Values {
        sealed: seal(&store.key, &purpose(&key.kid), &key.private_pkcs8)?,
    })
}

macro_rules! bind_key {
    ($query:expr, $key:expr, $state:expr, $current_since:expr, $v:expr) => {
        $query
            .bind($key.kid.as_str())
            .bind($key.alg.as_str())
            .bind($state.as_str())
            .bind($v.sealed.clone())
            .bind($key.created_at.0)
            .bind($current_since)
            .bind(time($key.previous_since))
            .bind(time($key.revoked_at))
            .bind($key.family())
    };
}

pub(crate) async fn create_signing_key(store: &SqlStore, key: &SigningKeyRecord) -> Result<()> {
    let v = values(store, key)?;
    on_pool!(&store.db, pool => bind_key!(sqlx::query(INSERT), key, key.state, time(key.current_since), v)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::SigningKey, "signing key"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn signing_keys(store: &SqlStore) -> Result<Vec<SigningKeyRecord>> {
    const SQL: &str = "SELECT kid, alg, state, sealed_key, created_at, current_since, \
                       previous_since, revoked_at FROM signing_keys ORDER BY created_at, kid";
    let rows: Vec<Row> =
        on_pool!(&store.db, pool => sqlx::query_as(SQL).fetch_all(pool).await.db()?);
    rows.into_iter().map(|r| r.into_model(store)).collect()
}

pub(crate) async fn rotate_signing_keys(
    store: &SqlStore,
    next: &SigningKeyRecord,
    now: UnixTime,
) -> Result<()> {
    const RETIRE: &str = "UPDATE signing_keys SET state = 'previous', previous_since = $1 \
                          WHERE state = 'current' AND family = $2";
    const PROMOTE: &str = "UPDATE signing_keys SET state = 'current', current_since = $1 \
                           WHERE state = 'next' AND family = $2";
    let v = values(store, next)?;
    let family = next.family();
    on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        sqlx::query(RETIRE)
            .bind(now.0)
            .bind(family)
            .execute(&mut *tx)
            .await
            .db()?;
        let promoted = sqlx::query(PROMOTE)
            .bind(now.0)
            .bind(family)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, |_| Conflict::SigningKey, "signing key"))?
            .rows_affected();
        // With a next key promoted, the new key waits as next; otherwise it signs at once.
        let (state, since) = if promoted > 0 {
            (KeyState::Next, None)
        } else {
            (KeyState::Current, Some(now.0))
        };
        bind_key!(sqlx::query(INSERT), next, state, since, v)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, |_| Conflict::SigningKey, "signing key"))?;
        tx.commit().await.db()?;
    });
    Ok(())
}

pub(crate) async fn revoke_signing_key(store: &SqlStore, kid: &str, now: UnixTime) -> Result<()> {
    const SQL: &str = "UPDATE signing_keys SET state = 'revoked', revoked_at = $2 \
                       WHERE kid = $1 AND state IN ('previous', 'next')";
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(kid)
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    if done == 0 {
        return Err(StoreError::NotFound(
            "previous or next signing key with this kid",
        ));
    }
    Ok(())
}
