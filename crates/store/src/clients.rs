//! Clients (applications). The secret is kept as its SHA-256 digest; the secret itself only
//! while ID tokens are HS256-signed with it, sealed under the master key.

use sigil_core::ids::ClientId;
use sigil_core::model::{AppType, Client};
use sigil_core::secret::ClientSecret;
use sigil_core::store::{Page, Result};
use sigil_core::{Conflict, UnixTime};

use crate::SqlStore;
use crate::codec::{digest, from_json, open, seal, to_json};
use crate::database::{BeginWrite as _, on_pool};
use crate::error::{OrBackend as _, corrupt, touched, write_error};

macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT client_id, name, app_type, is_first_party, secret_digest, signing_secret, \
             settings, created_at, updated_at FROM clients ",
            $tail
        )
    };
}

#[derive(sqlx::FromRow)]
struct Row {
    client_id: String,
    name: String,
    app_type: String,
    is_first_party: bool,
    secret_digest: Option<Vec<u8>>,
    signing_secret: Option<Vec<u8>>,
    settings: String,
    created_at: i64,
    updated_at: i64,
}

fn purpose(client: &str) -> String {
    format!("client signing secret:{client}")
}

impl Row {
    fn into_model(self, store: &SqlStore) -> Result<Client> {
        let signing_secret = self
            .signing_secret
            .map(|sealed| {
                let plain = open(
                    &store.key,
                    "client secret",
                    &purpose(&self.client_id),
                    &sealed,
                )?;
                String::from_utf8(plain.to_vec())
                    .map(ClientSecret::new)
                    .map_err(|e| corrupt("client secret", e))
            })
            .transpose()?;
        Ok(Client {
            app_type: AppType::parse(&self.app_type)
                .ok_or_else(|| corrupt("client", format!("app_type {:?}", self.app_type)))?,
            secret_digest: self
                .secret_digest
                .map(|d| digest("client secret digest", &d))
                .transpose()?,
            signing_secret,
            settings: from_json("client settings", &self.settings)?,
            client_id: ClientId(self.client_id),
            name: self.name,
            is_first_party: self.is_first_party,
            created_at: UnixTime(self.created_at),
            updated_at: UnixTime(self.updated_at),
        })
    }
}

struct Values {
    settings: String,
    secret_digest: Option<Vec<u8>>,
    signing_secret: Option<Vec<u8>>,
}

fn values(store: &SqlStore, client: &Client) -> Result<Values> {
    Ok(Values {
        settings: to_json("client settings", &client.settings)?,
        secret_digest: client.secret_digest.as_ref().map(|d| d.0.to_vec()),
        signing_secret: client
            .signing_secret
            .as_ref()
            .map(|s| {
                seal(
                    &store.key,
                    &purpose(client.client_id.as_str()),
                    s.expose().as_bytes(),
                )
            })
            .transpose()?,
    })
}

pub(crate) async fn create_client(store: &SqlStore, client: &Client) -> Result<()> {
    const SQL: &str = "INSERT INTO clients (client_id, name, app_type, is_first_party, \
         secret_digest, signing_secret, settings, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    // Every database connection serves the new client, as all did before connections had
    // clients (Auth0 enables none; a Sigil client made anywhere can log users in at once).
    const DATABASES: &str = "INSERT INTO connection_clients (connection_id, client_id) \
         SELECT id, $1 FROM connections WHERE strategy = 'auth0'";
    let v = values(store, client)?;
    on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        sqlx::query(SQL)
            .bind(client.client_id.as_str())
            .bind(&client.name)
            .bind(client.app_type.as_str())
            .bind(client.is_first_party)
            .bind(&v.secret_digest)
            .bind(&v.signing_secret)
            .bind(&v.settings)
            .bind(client.created_at.0)
            .bind(client.updated_at.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, |_| Conflict::Client, "client"))?;
        sqlx::query(DATABASES)
            .bind(client.client_id.as_str())
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
    });
    Ok(())
}

pub(crate) async fn client(store: &SqlStore, id: &ClientId) -> Result<Option<Client>> {
    let row: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(select!("WHERE client_id = $1"))
        .bind(id.as_str())
        .fetch_optional(pool)
        .await
        .db()?);
    row.map(|r| r.into_model(store)).transpose()
}

pub(crate) async fn list_clients(store: &SqlStore, page: Page) -> Result<Vec<Client>> {
    let rows: Vec<Row> = on_pool!(&store.db, pool =>
        sqlx::query_as(select!("ORDER BY created_at, client_id LIMIT $1 OFFSET $2"))
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await
            .db()?);
    rows.into_iter().map(|r| r.into_model(store)).collect()
}

pub(crate) async fn update_client(store: &SqlStore, client: &Client) -> Result<()> {
    const SQL: &str = "UPDATE clients SET name = $2, app_type = $3, is_first_party = $4, \
         secret_digest = $5, signing_secret = $6, settings = $7, updated_at = $8 \
         WHERE client_id = $1";
    let v = values(store, client)?;
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(client.client_id.as_str())
        .bind(&client.name)
        .bind(client.app_type.as_str())
        .bind(client.is_first_party)
        .bind(&v.secret_digest)
        .bind(&v.signing_secret)
        .bind(&v.settings)
        .bind(client.updated_at.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    touched(done, "client")
}

pub(crate) async fn delete_client(store: &SqlStore, id: &ClientId) -> Result<()> {
    const SQL: &str = "DELETE FROM clients WHERE client_id = $1";
    let done = on_pool!(&store.db, pool =>
        sqlx::query(SQL).bind(id.as_str()).execute(pool).await.db()?.rows_affected());
    touched(done, "client")
}

pub(crate) async fn client_origins(store: &SqlStore) -> Result<Vec<String>> {
    /// The two members of the settings JSON that name origins; the rest is not read.
    #[derive(serde::Deserialize)]
    struct Origins {
        #[serde(default)]
        web_origins: Vec<String>,
        #[serde(default)]
        allowed_origins: Vec<String>,
    }
    const SQL: &str = "SELECT settings FROM clients";
    let rows: Vec<(String,)> =
        on_pool!(&store.db, pool => sqlx::query_as(SQL).fetch_all(pool).await.db()?);
    let mut origins = Vec::new();
    for (settings,) in rows {
        let found: Origins = from_json("client settings", &settings)?;
        origins.extend(found.web_origins);
        origins.extend(found.allowed_origins);
    }
    origins.sort();
    origins.dedup();
    Ok(origins)
}
