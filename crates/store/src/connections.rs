//! Connections, and the clients each is enabled for.

use std::collections::BTreeMap;

use sigil_core::ids::{ClientId, ConnectionId};
use sigil_core::model::{Connection, ConnectionOptions, Strategy, Upstream, UpstreamSecrets};
use sigil_core::store::Result;
use sigil_core::{Conflict, UnixTime};

use crate::SqlStore;
use crate::codec::{from_json, open, seal, to_json};
use crate::database::{BeginWrite as _, on_pool};
use crate::error::{OrBackend as _, corrupt, touched, write_error};

macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, strategy, options, secrets, display_name, show_as_button, \
             metadata, created_at, updated_at FROM connections ",
            $tail
        )
    };
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    strategy: String,
    options: String,
    secrets: Option<Vec<u8>>,
    display_name: Option<String>,
    show_as_button: bool,
    metadata: String,
    created_at: i64,
    updated_at: i64,
}

/// What the secrets of connection `id` are sealed for: that connection only.
fn secrets_purpose(id: &ConnectionId) -> String {
    format!("connection secrets:{}", id.as_str())
}

/// A connection's `options` column and its sealed secrets: a database connection's settings,
/// or another provider's options (its secrets sealed apart).
fn option_columns(store: &SqlStore, connection: &Connection) -> Result<(String, Option<Vec<u8>>)> {
    match &connection.upstream {
        None => Ok((to_json("connection options", &connection.options)?, None)),
        Some(upstream) => {
            let secrets = if upstream.secrets.0.is_empty() {
                None
            } else {
                let plain =
                    zeroize::Zeroizing::new(to_json("connection secrets", &upstream.secrets.0)?);
                Some(seal(
                    &store.key,
                    &secrets_purpose(&connection.id),
                    plain.as_bytes(),
                )?)
            };
            Ok((to_json("connection options", &upstream.options)?, secrets))
        }
    }
}

impl Row {
    fn into_model(self, store: &SqlStore) -> Result<Connection> {
        let strategy = Strategy::parse(&self.strategy)
            .ok_or_else(|| corrupt("connection", format!("strategy {:?}", self.strategy)))?;
        let id = ConnectionId(self.id);
        let (options, upstream) = if !strategy.is_database() {
            let secrets = match &self.secrets {
                None => BTreeMap::new(),
                Some(sealed) => {
                    let plain = open(
                        &store.key,
                        "connection secrets",
                        &secrets_purpose(&id),
                        sealed,
                    )?;
                    serde_json::from_slice(&plain)
                        .map_err(|e| corrupt("connection secrets", e.to_string()))?
                }
            };
            let upstream = Upstream {
                options: from_json("connection options", &self.options)?,
                secrets: UpstreamSecrets(secrets),
            };
            (ConnectionOptions::default(), Some(upstream))
        } else {
            (from_json("connection options", &self.options)?, None)
        };
        Ok(Connection {
            id,
            strategy,
            name: self.name,
            options,
            upstream,
            display_name: self.display_name,
            show_as_button: self.show_as_button,
            metadata: from_json::<BTreeMap<String, String>>("connection metadata", &self.metadata)?,
            created_at: UnixTime(self.created_at),
            updated_at: UnixTime(self.updated_at),
        })
    }
}

/// Enables (`true`) or disables (`false`) `$connection` for each client of `$clients`, in the
/// transaction `$tx` (a macro, as the body of `on_pool!` is written once for both backends).
macro_rules! change_clients {
    ($tx:expr, $connection:expr, $clients:expr) => {
        for (client, enabled) in $clients {
            const ENABLE: &str = "INSERT INTO connection_clients (connection_id, client_id) \
                                  VALUES ($1, $2) ON CONFLICT DO NOTHING";
            const DISABLE: &str =
                "DELETE FROM connection_clients WHERE connection_id = $1 AND client_id = $2";
            sqlx::query(if *enabled { ENABLE } else { DISABLE })
                .bind($connection.as_str())
                .bind(client.as_str())
                .execute(&mut *$tx)
                .await
                .map_err(|e| write_error(e, |_| Conflict::Connection, "client"))?;
        }
    };
}

pub(crate) async fn create_connection(
    store: &SqlStore,
    connection: &Connection,
    clients: &[ClientId],
) -> Result<()> {
    const SQL: &str = "INSERT INTO connections (id, name, strategy, options, secrets, \
                       display_name, show_as_button, metadata, created_at, updated_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let (options, secrets) = option_columns(store, connection)?;
    let metadata = to_json("connection metadata", &connection.metadata)?;
    on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        sqlx::query(SQL)
            .bind(connection.id.as_str())
            .bind(&connection.name)
            .bind(connection.strategy.as_str())
            .bind(&options)
            .bind(secrets.clone())
            .bind(connection.display_name.as_deref())
            .bind(connection.show_as_button)
            .bind(&metadata)
            .bind(connection.created_at.0)
            .bind(connection.updated_at.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, |_| Conflict::Connection, "connection"))?;
        let enable: Vec<(ClientId, bool)> = clients.iter().map(|c| (c.clone(), true)).collect();
        change_clients!(tx, connection.id, &enable);
        tx.commit().await.db()?;
    });
    Ok(())
}

pub(crate) async fn connection(store: &SqlStore, id: &ConnectionId) -> Result<Option<Connection>> {
    let row: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(select!("WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(pool)
        .await
        .db()?);
    row.map(|r| r.into_model(store)).transpose()
}

pub(crate) async fn connection_by_name(store: &SqlStore, name: &str) -> Result<Option<Connection>> {
    let row: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(select!("WHERE name = $1"))
        .bind(name)
        .fetch_optional(pool)
        .await
        .db()?);
    row.map(|r| r.into_model(store)).transpose()
}

pub(crate) async fn list_connections(store: &SqlStore) -> Result<Vec<Connection>> {
    let rows: Vec<Row> = on_pool!(&store.db, pool => sqlx::query_as(select!("ORDER BY name"))
        .fetch_all(pool)
        .await
        .db()?);
    rows.into_iter().map(|r| r.into_model(store)).collect()
}

pub(crate) async fn update_connection(
    store: &SqlStore,
    connection: &Connection,
    clients: &[(ClientId, bool)],
) -> Result<()> {
    const SQL: &str = "UPDATE connections SET options = $2, secrets = $3, display_name = $4, \
                       show_as_button = $5, metadata = $6, updated_at = $7 WHERE id = $1";
    let (options, secrets) = option_columns(store, connection)?;
    let metadata = to_json("connection metadata", &connection.metadata)?;
    let done = on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        let done = sqlx::query(SQL)
            .bind(connection.id.as_str())
            .bind(&options)
            .bind(secrets.clone())
            .bind(connection.display_name.as_deref())
            .bind(connection.show_as_button)
            .bind(&metadata)
            .bind(connection.updated_at.0)
            .execute(&mut *tx)
            .await
            .db()?
            .rows_affected();
        if done > 0 {
            change_clients!(tx, connection.id, clients);
            tx.commit().await.db()?;
        }
        done
    });
    touched(done, "connection")
}

pub(crate) async fn delete_connection(store: &SqlStore, id: &ConnectionId) -> Result<()> {
    // The users go first (their identities, sessions and tokens with them, and accounts linked
    // to them, as when a user is deleted), then the connection (its clients with it).
    const USERS: &str = "DELETE FROM users WHERE connection_id = $1";
    const CONNECTION: &str = "DELETE FROM connections WHERE id = $1";
    let done = on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        sqlx::query(USERS).bind(id.as_str()).execute(&mut *tx).await.db()?;
        let done = sqlx::query(CONNECTION)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .db()?
            .rows_affected();
        tx.commit().await.db()?;
        done
    });
    touched(done, "connection")
}

pub(crate) async fn connection_clients(
    store: &SqlStore,
    connection: &ConnectionId,
) -> Result<Vec<ClientId>> {
    const SQL: &str =
        "SELECT client_id FROM connection_clients WHERE connection_id = $1 ORDER BY client_id";
    let ids: Vec<String> = on_pool!(&store.db, pool => sqlx::query_scalar(SQL)
        .bind(connection.as_str())
        .fetch_all(pool)
        .await
        .db()?);
    Ok(ids.into_iter().map(ClientId).collect())
}

pub(crate) async fn update_connection_clients(
    store: &SqlStore,
    connection: &ConnectionId,
    changes: &[(ClientId, bool)],
) -> Result<()> {
    const EXISTS: &str = "SELECT COUNT(*) FROM connections WHERE id = $1";
    let exists: i64 = on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        let exists: i64 = sqlx::query_scalar(EXISTS)
            .bind(connection.as_str())
            .fetch_one(&mut *tx)
            .await
            .db()?;
        if exists > 0 {
            change_clients!(tx, connection, changes);
            tx.commit().await.db()?;
        }
        exists
    });
    touched(u64::try_from(exists).unwrap_or(0), "connection")
}

pub(crate) async fn connection_enabled(
    store: &SqlStore,
    connection: &ConnectionId,
    client: &ClientId,
) -> Result<bool> {
    const SQL: &str =
        "SELECT COUNT(*) FROM connection_clients WHERE connection_id = $1 AND client_id = $2";
    let count: i64 = on_pool!(&store.db, pool => sqlx::query_scalar(SQL)
        .bind(connection.as_str())
        .bind(client.as_str())
        .fetch_one(pool)
        .await
        .db()?);
    Ok(count > 0)
}

pub(crate) async fn client_connections(
    store: &SqlStore,
    client: &ClientId,
) -> Result<Vec<Connection>> {
    const SQL: &str = select!(
        "WHERE id IN (SELECT connection_id FROM connection_clients WHERE client_id = $1) \
         ORDER BY name"
    );
    let rows: Vec<Row> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(client.as_str())
        .fetch_all(pool)
        .await
        .db()?);
    rows.into_iter().map(|r| r.into_model(store)).collect()
}
