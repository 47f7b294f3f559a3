//! Refresh tokens: digests in families; rotation marks the old token used and stores the new
//! one in one transaction whose first statement decides the single winner.

use sigil_core::ids::{ClientId, FamilyId, SessionId, UserId};
use sigil_core::model::RefreshToken;
use sigil_core::secret::SecretDigest;
use sigil_core::store::Result;
use sigil_core::{Conflict, StoreError, UnixTime};

use crate::SqlStore;
use crate::codec::{digest, join, split, time, unix};
use crate::database::{BeginWrite as _, on_pool};
use crate::error::{OrBackend as _, touched, write_error};

macro_rules! columns {
    () => {
        "digest, family_id, parent, generation, client_id, user_id, session_id, audience, scope, \
         created_at, expires_at, idle_expires_at, used_at, revoked_at, auth_time"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO refresh_tokens (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
);

#[derive(sqlx::FromRow)]
struct Row {
    digest: Vec<u8>,
    family_id: String,
    parent: Option<Vec<u8>>,
    generation: i64,
    client_id: String,
    user_id: String,
    session_id: Option<String>,
    audience: Option<String>,
    scope: String,
    created_at: i64,
    expires_at: Option<i64>,
    idle_expires_at: Option<i64>,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    auth_time: Option<i64>,
}

impl Row {
    fn into_model(self) -> Result<RefreshToken> {
        Ok(RefreshToken {
            digest: digest("refresh token digest", &self.digest)?,
            family_id: FamilyId(self.family_id),
            parent: self
                .parent
                .map(|p| digest("refresh token parent", &p))
                .transpose()?,
            generation: self.generation,
            client_id: ClientId(self.client_id),
            user_id: UserId(self.user_id),
            session_id: self.session_id.map(SessionId),
            audience: self.audience,
            scope: split(&self.scope),
            created_at: UnixTime(self.created_at),
            expires_at: unix(self.expires_at),
            idle_expires_at: unix(self.idle_expires_at),
            used_at: unix(self.used_at),
            revoked_at: unix(self.revoked_at),
            auth_time: unix(self.auth_time),
        })
    }
}

macro_rules! bind_token {
    ($query:expr, $t:expr) => {
        $query
            .bind($t.digest.0.to_vec())
            .bind($t.family_id.as_str())
            .bind($t.parent.as_ref().map(|p| p.0.to_vec()))
            .bind($t.generation)
            .bind($t.client_id.as_str())
            .bind($t.user_id.as_str())
            .bind($t.session_id.as_ref().map(|s| s.0.clone()))
            .bind($t.audience.as_deref())
            .bind(join(&$t.scope))
            .bind($t.created_at.0)
            .bind(time($t.expires_at))
            .bind(time($t.idle_expires_at))
            .bind(time($t.used_at))
            .bind(time($t.revoked_at))
            .bind(time($t.auth_time))
    };
}

pub(crate) async fn create_refresh_token(store: &SqlStore, token: &RefreshToken) -> Result<()> {
    on_pool!(&store.db, pool => bind_token!(sqlx::query(INSERT), token)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Token, "client or user"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn refresh_token(
    store: &SqlStore,
    token: &SecretDigest,
) -> Result<Option<RefreshToken>> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM refresh_tokens WHERE digest = $1"
    );
    let row: Option<Row> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(token.0.to_vec()).fetch_optional(pool).await.db()?);
    row.map(Row::into_model).transpose()
}

pub(crate) async fn rotate_refresh_token(
    store: &SqlStore,
    old: &SecretDigest,
    new: &RefreshToken,
    now: UnixTime,
) -> Result<RefreshToken> {
    // The first statement takes the write lock and marks the old token used only if it is
    // still live; whoever's update matched is the one winner.
    const USE: &str = concat!(
        "UPDATE refresh_tokens SET used_at = $2 WHERE digest = $1 AND used_at IS NULL \
         AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
         AND (idle_expires_at IS NULL OR idle_expires_at > $2) RETURNING ",
        columns!()
    );
    let won: Option<Row> = on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        let won: Option<Row> = sqlx::query_as(USE)
            .bind(old.0.to_vec())
            .bind(now.0)
            .fetch_optional(&mut *tx)
            .await
            .db()?;
        if won.is_some() {
            bind_token!(sqlx::query(INSERT), new)
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, |_| Conflict::Token, "client or user"))?;
            tx.commit().await.db()?;
        }
        won
    });
    if let Some(row) = won {
        // Report it as it was: the update matched only because it was unused.
        let mut old = row.into_model()?;
        old.used_at = None;
        return Ok(old);
    }
    let Some(current) = refresh_token(store, old).await? else {
        return Err(StoreError::NotFound("refresh token"));
    };
    Err(if current.revoked_at.is_some() {
        StoreError::Revoked
    } else if current.used_at.is_some() {
        StoreError::AlreadyUsed
    } else {
        StoreError::Expired
    })
}

pub(crate) async fn touch_refresh_token(
    store: &SqlStore,
    token: &SecretDigest,
    idle_expires_at: Option<UnixTime>,
) -> Result<()> {
    const SQL: &str = "UPDATE refresh_tokens SET idle_expires_at = $2 WHERE digest = $1";
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(token.0.to_vec())
        .bind(time(idle_expires_at))
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    touched(done, "refresh token")
}

pub(crate) async fn revoke_refresh_token(
    store: &SqlStore,
    token: &SecretDigest,
    now: UnixTime,
) -> Result<bool> {
    const SQL: &str =
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE digest = $1 AND revoked_at IS NULL";
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(token.0.to_vec())
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(done > 0)
}

pub(crate) async fn revoke_refresh_family(
    store: &SqlStore,
    family: &FamilyId,
    now: UnixTime,
) -> Result<u64> {
    const SQL: &str =
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL";
    Ok(on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(family.as_str())
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected()))
}

pub(crate) async fn revoke_user_refresh_tokens(
    store: &SqlStore,
    user: &UserId,
    client: Option<&ClientId>,
    now: UnixTime,
) -> Result<u64> {
    const ALL: &str =
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL";
    const ONE_CLIENT: &str = "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 \
                              AND revoked_at IS NULL AND client_id = $3";
    Ok(on_pool!(&store.db, pool => {
        let query = sqlx::query(if client.is_some() { ONE_CLIENT } else { ALL })
            .bind(user.as_str())
            .bind(now.0);
        match client {
            Some(c) => query.bind(c.as_str()),
            None => query,
        }
        .execute(pool)
        .await
        .db()?
        .rows_affected()
    }))
}
