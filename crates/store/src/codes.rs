//! Authorization codes: stored as digests, redeemed once by a conditional update.

use sigil_core::ids::{ClientId, SessionId, UserId};
use sigil_core::model::AuthorizationCode;
use sigil_core::secret::SecretDigest;
use sigil_core::store::Result;
use sigil_core::{Conflict, StoreError, UnixTime};

use crate::SqlStore;
use crate::codec::{digest, join, split, time, unix};
use crate::database::on_pool;
use crate::error::{OrBackend as _, corrupt, write_error};

const COLUMNS: &str = "digest, client_id, user_id, session_id, redirect_uri, scope, audience, \
     nonce, code_challenge, auth_time, created_at, expires_at, used_at, actions";

#[derive(sqlx::FromRow)]
struct Row {
    digest: Vec<u8>,
    client_id: String,
    user_id: String,
    session_id: Option<String>,
    redirect_uri: String,
    scope: String,
    audience: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth_time: i64,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    actions: Option<String>,
}

impl Row {
    fn into_model(self) -> Result<AuthorizationCode> {
        Ok(AuthorizationCode {
            digest: digest("authorization code digest", &self.digest)?,
            client_id: ClientId(self.client_id),
            user_id: UserId(self.user_id),
            session_id: self.session_id.map(SessionId),
            redirect_uri: self.redirect_uri,
            scope: split(&self.scope),
            audience: self.audience,
            nonce: self.nonce,
            code_challenge: self.code_challenge,
            auth_time: UnixTime(self.auth_time),
            created_at: UnixTime(self.created_at),
            expires_at: UnixTime(self.expires_at),
            used_at: unix(self.used_at),
            actions: self
                .actions
                .map(|json| serde_json::from_str(&json))
                .transpose()
                .map_err(|e| corrupt("authorization code", e))?,
        })
    }
}

pub(crate) async fn create_code(store: &SqlStore, code: &AuthorizationCode) -> Result<()> {
    const SQL: &str = "INSERT INTO authorization_codes (digest, client_id, user_id, session_id, \
         redirect_uri, scope, audience, nonce, code_challenge, auth_time, created_at, expires_at, \
         used_at, actions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
    let actions = code
        .actions
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Backend(Box::new(e)))?;
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(code.digest.0.to_vec())
        .bind(code.client_id.as_str())
        .bind(code.user_id.as_str())
        .bind(code.session_id.as_ref().map(|s| s.0.clone()))
        .bind(&code.redirect_uri)
        .bind(join(&code.scope))
        .bind(code.audience.as_deref())
        .bind(code.nonce.as_deref())
        .bind(code.code_challenge.as_deref())
        .bind(code.auth_time.0)
        .bind(code.created_at.0)
        .bind(code.expires_at.0)
        .bind(time(code.used_at))
        .bind(actions.as_deref())
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Token, "client or user"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn redeem_code(
    store: &SqlStore,
    code: &SecretDigest,
    now: UnixTime,
) -> Result<AuthorizationCode> {
    // One statement decides the winner: only an unused, unexpired code matches, and the
    // update marks it used before any other attempt can match it.
    let redeem = format!(
        "UPDATE authorization_codes SET used_at = $2 \
         WHERE digest = $1 AND used_at IS NULL AND expires_at > $2 RETURNING {COLUMNS}"
    );
    const STATE: &str = "SELECT used_at, expires_at FROM authorization_codes WHERE digest = $1";
    let won: Option<Row> = on_pool!(&store.db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(redeem.clone()))
            .bind(code.0.to_vec())
            .bind(now.0)
            .fetch_optional(pool)
            .await
            .db()?);
    if let Some(row) = won {
        return row.into_model();
    }
    let state: Option<(Option<i64>, i64)> = on_pool!(&store.db, pool =>
        sqlx::query_as(STATE).bind(code.0.to_vec()).fetch_optional(pool).await.db()?);
    Err(match state {
        None => StoreError::NotFound("authorization code"),
        Some((Some(_), _)) => StoreError::AlreadyUsed,
        Some((None, _)) => StoreError::Expired,
    })
}
