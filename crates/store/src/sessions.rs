//! Login sessions (the SSO cookie; only its digest is stored).

use sigil_core::ids::{ClientId, SessionId, UserId};
use sigil_core::model::Session;
use sigil_core::secret::SecretDigest;
use sigil_core::store::Result;
use sigil_core::{Conflict, UnixTime};

use crate::SqlStore;
use crate::codec::{digest, join, split};
use crate::database::on_pool;
use crate::error::{OrBackend as _, touched, write_error};

macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, cookie_digest, user_id, created_at, authenticated_at, last_seen_at, \
             expires_at, idle_expires_at, clients, ip, user_agent, method FROM sessions ",
            $tail
        )
    };
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    cookie_digest: Vec<u8>,
    user_id: String,
    created_at: i64,
    authenticated_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    idle_expires_at: i64,
    clients: String,
    ip: Option<String>,
    user_agent: Option<String>,
    method: String,
}

impl Row {
    fn into_model(self) -> Result<Session> {
        Ok(Session {
            id: SessionId(self.id),
            cookie_digest: digest("session cookie digest", &self.cookie_digest)?,
            user_id: UserId(self.user_id),
            created_at: UnixTime(self.created_at),
            authenticated_at: UnixTime(self.authenticated_at),
            last_seen_at: UnixTime(self.last_seen_at),
            expires_at: UnixTime(self.expires_at),
            idle_expires_at: UnixTime(self.idle_expires_at),
            clients: split(&self.clients).into_iter().map(ClientId).collect(),
            ip: self.ip,
            user_agent: self.user_agent,
            method: self.method,
        })
    }
}

pub(crate) async fn create_session(store: &SqlStore, session: &Session) -> Result<()> {
    const SQL: &str = "INSERT INTO sessions (id, cookie_digest, user_id, created_at, \
         authenticated_at, last_seen_at, expires_at, idle_expires_at, clients, ip, user_agent, \
         method) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    let clients: Vec<String> = session.clients.iter().map(|c| c.0.clone()).collect();
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(session.id.as_str())
        .bind(session.cookie_digest.0.to_vec())
        .bind(session.user_id.as_str())
        .bind(session.created_at.0)
        .bind(session.authenticated_at.0)
        .bind(session.last_seen_at.0)
        .bind(session.expires_at.0)
        .bind(session.idle_expires_at.0)
        .bind(join(&clients))
        .bind(session.ip.as_deref())
        .bind(session.user_agent.as_deref())
        .bind(session.method.as_str())
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Token, "user"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn session(store: &SqlStore, id: &SessionId) -> Result<Option<Session>> {
    let row: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(select!("WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(pool)
        .await
        .db()?);
    row.map(Row::into_model).transpose()
}

pub(crate) async fn session_by_cookie(
    store: &SqlStore,
    cookie: &SecretDigest,
) -> Result<Option<Session>> {
    let row: Option<Row> = on_pool!(&store.db, pool =>
        sqlx::query_as(select!("WHERE cookie_digest = $1"))
            .bind(cookie.0.to_vec())
            .fetch_optional(pool)
            .await
            .db()?);
    row.map(Row::into_model).transpose()
}

pub(crate) async fn touch_session(
    store: &SqlStore,
    id: &SessionId,
    now: UnixTime,
    idle_expires_at: UnixTime,
    client: Option<&ClientId>,
) -> Result<()> {
    const TOUCH: &str = "UPDATE sessions SET last_seen_at = $2, idle_expires_at = $3 WHERE id = $1";
    // The client is appended in the same statement unless already listed; LIKE's wildcards
    // in the id are escaped, so only the exact id matches.
    const TOUCH_WITH_CLIENT: &str = "UPDATE sessions SET last_seen_at = $2, idle_expires_at = $3, \
         clients = CASE WHEN (' ' || clients || ' ') LIKE ('% ' || \
         REPLACE(REPLACE(REPLACE($4, '!', '!!'), '%', '!%'), '_', '!_') || ' %') ESCAPE '!' \
         THEN clients ELSE TRIM(clients || ' ' || $4) END WHERE id = $1";
    let sql = if client.is_some() {
        TOUCH_WITH_CLIENT
    } else {
        TOUCH
    };
    let done = on_pool!(&store.db, pool => {
        let query = sqlx::query(sql)
            .bind(id.as_str())
            .bind(now.0)
            .bind(idle_expires_at.0);
        match client {
            Some(c) => query.bind(c.as_str()),
            None => query,
        }
        .execute(pool)
        .await
        .db()?
        .rows_affected()
    });
    touched(done, "session")
}

pub(crate) async fn record_session_method(
    store: &SqlStore,
    id: &SessionId,
    name: &str,
    at: UnixTime,
) -> Result<()> {
    // Only for a session that exists (a foreign key would refuse the row instead).
    const SQL: &str = "INSERT INTO session_methods (session_id, name, recorded_at) \
         SELECT id, $2, $3 FROM sessions WHERE id = $1 \
         ON CONFLICT (session_id, name) DO UPDATE SET recorded_at = excluded.recorded_at";
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(id.as_str())
        .bind(name)
        .bind(at.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(())
}

pub(crate) async fn session_methods(
    store: &SqlStore,
    id: &SessionId,
) -> Result<Vec<(String, UnixTime)>> {
    const SQL: &str = "SELECT name, recorded_at FROM session_methods WHERE session_id = $1 \
         ORDER BY recorded_at, name";
    let rows: Vec<(String, i64)> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(id.as_str())
        .fetch_all(pool)
        .await
        .db()?);
    Ok(rows
        .into_iter()
        .map(|(name, at)| (name, UnixTime(at)))
        .collect())
}

pub(crate) async fn delete_session(store: &SqlStore, id: &SessionId) -> Result<()> {
    const SQL: &str = "DELETE FROM sessions WHERE id = $1";
    let done = on_pool!(&store.db, pool =>
        sqlx::query(SQL).bind(id.as_str()).execute(pool).await.db()?.rows_affected());
    touched(done, "session")
}

pub(crate) async fn delete_user_sessions(store: &SqlStore, user: &UserId) -> Result<u64> {
    const SQL: &str = "DELETE FROM sessions WHERE user_id = $1";
    Ok(on_pool!(&store.db, pool =>
        sqlx::query(SQL).bind(user.as_str()).execute(pool).await.db()?.rows_affected()))
}
