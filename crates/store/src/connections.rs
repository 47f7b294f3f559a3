//! Connections.

use sigil_core::ids::ConnectionId;
use sigil_core::model::{Connection, Strategy};
use sigil_core::store::Result;
use sigil_core::{Conflict, UnixTime};

use crate::SqlStore;
use crate::codec::{from_json, to_json};
use crate::database::on_pool;
use crate::error::{OrBackend as _, corrupt, touched, write_error};

macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, strategy, options, created_at, updated_at FROM connections ",
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
    created_at: i64,
    updated_at: i64,
}

impl Row {
    fn into_model(self) -> Result<Connection> {
        Ok(Connection {
            id: ConnectionId(self.id),
            strategy: Strategy::parse(&self.strategy)
                .ok_or_else(|| corrupt("connection", format!("strategy {:?}", self.strategy)))?,
            name: self.name,
            options: from_json("connection options", &self.options)?,
            created_at: UnixTime(self.created_at),
            updated_at: UnixTime(self.updated_at),
        })
    }
}

pub(crate) async fn create_connection(store: &SqlStore, connection: &Connection) -> Result<()> {
    const SQL: &str = "INSERT INTO connections (id, name, strategy, options, created_at, updated_at) \
                       VALUES ($1, $2, $3, $4, $5, $6)";
    let options = to_json("connection options", &connection.options)?;
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(connection.id.as_str())
        .bind(&connection.name)
        .bind(connection.strategy.as_str())
        .bind(&options)
        .bind(connection.created_at.0)
        .bind(connection.updated_at.0)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Connection, "connection"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn connection(store: &SqlStore, id: &ConnectionId) -> Result<Option<Connection>> {
    let row: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(select!("WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(pool)
        .await
        .db()?);
    row.map(Row::into_model).transpose()
}

pub(crate) async fn connection_by_name(store: &SqlStore, name: &str) -> Result<Option<Connection>> {
    let row: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(select!("WHERE name = $1"))
        .bind(name)
        .fetch_optional(pool)
        .await
        .db()?);
    row.map(Row::into_model).transpose()
}

pub(crate) async fn list_connections(store: &SqlStore) -> Result<Vec<Connection>> {
    let rows: Vec<Row> = on_pool!(&store.db, pool => sqlx::query_as(select!("ORDER BY name"))
        .fetch_all(pool)
        .await
        .db()?);
    rows.into_iter().map(Row::into_model).collect()
}

pub(crate) async fn update_connection(store: &SqlStore, connection: &Connection) -> Result<()> {
    const SQL: &str = "UPDATE connections SET options = $2, updated_at = $3 WHERE id = $1";
    let options = to_json("connection options", &connection.options)?;
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(connection.id.as_str())
        .bind(&options)
        .bind(connection.updated_at.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    touched(done, "connection")
}
