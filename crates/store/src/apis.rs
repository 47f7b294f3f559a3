//! Resource servers (APIs) and client grants.

use serde::{Deserialize, Serialize};
use sigil_core::ids::{ClientGrantId, ClientId, ResourceServerId};
use sigil_core::model::{ClientGrant, ResourceServer, ResourceServerScope, TokenDialect};
use sigil_core::store::{Page, Result};
use sigil_core::{Conflict, UnixTime};
use sigil_jose::Algorithm;
use sqlx::AssertSqlSafe;

use crate::SqlStore;
use crate::codec::{Filter, from_json, join, split, to_json};
use crate::database::on_pool;
use crate::error::{OrBackend as _, touched, write_error};

macro_rules! select_api {
    ($tail:literal) => {
        concat!(
            "SELECT id, identifier, name, is_system, settings, created_at, updated_at \
             FROM resource_servers ",
            $tail
        )
    };
}

macro_rules! select_grant {
    ($tail:literal) => {
        concat!(
            "SELECT id, client_id, audience, scope, created_at FROM client_grants ",
            $tail
        )
    };
}

/// The part of an API that no query looks inside, stored as JSON.
#[derive(Serialize, Deserialize)]
struct Settings {
    scopes: Vec<ResourceServerScope>,
    signing_alg: Algorithm,
    token_lifetime: u32,
    token_lifetime_for_web: u32,
    enforce_policies: bool,
    token_dialect: TokenDialect,
    allow_offline_access: bool,
    skip_consent_for_verifiable_first_party_clients: bool,
}

#[derive(sqlx::FromRow)]
struct ApiRow {
    id: String,
    identifier: String,
    name: String,
    is_system: bool,
    settings: String,
    created_at: i64,
    updated_at: i64,
}

impl ApiRow {
    fn into_model(self) -> Result<ResourceServer> {
        let s: Settings = from_json("API settings", &self.settings)?;
        Ok(ResourceServer {
            id: ResourceServerId(self.id),
            identifier: self.identifier,
            name: self.name,
            is_system: self.is_system,
            scopes: s.scopes,
            signing_alg: s.signing_alg,
            token_lifetime: s.token_lifetime,
            token_lifetime_for_web: s.token_lifetime_for_web,
            enforce_policies: s.enforce_policies,
            token_dialect: s.token_dialect,
            allow_offline_access: s.allow_offline_access,
            skip_consent_for_verifiable_first_party_clients: s
                .skip_consent_for_verifiable_first_party_clients,
            created_at: UnixTime(self.created_at),
            updated_at: UnixTime(self.updated_at),
        })
    }
}

fn settings(api: &ResourceServer) -> Result<String> {
    to_json(
        "API settings",
        &Settings {
            scopes: api.scopes.clone(),
            signing_alg: api.signing_alg,
            token_lifetime: api.token_lifetime,
            token_lifetime_for_web: api.token_lifetime_for_web,
            enforce_policies: api.enforce_policies,
            token_dialect: api.token_dialect,
            allow_offline_access: api.allow_offline_access,
            skip_consent_for_verifiable_first_party_clients: api
                .skip_consent_for_verifiable_first_party_clients,
        },
    )
}

pub(crate) async fn create_resource_server(store: &SqlStore, api: &ResourceServer) -> Result<()> {
    const SQL: &str = "INSERT INTO resource_servers (id, identifier, name, is_system, settings, \
                       created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let settings = settings(api)?;
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(api.id.as_str())
        .bind(&api.identifier)
        .bind(&api.name)
        .bind(api.is_system)
        .bind(&settings)
        .bind(api.created_at.0)
        .bind(api.updated_at.0)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::ResourceServer, "API"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn resource_server(
    store: &SqlStore,
    id: &ResourceServerId,
) -> Result<Option<ResourceServer>> {
    let row: Option<ApiRow> = on_pool!(&store.db, pool => sqlx::query_as(select_api!("WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(pool)
        .await
        .db()?);
    row.map(ApiRow::into_model).transpose()
}

pub(crate) async fn resource_server_by_identifier(
    store: &SqlStore,
    identifier: &str,
) -> Result<Option<ResourceServer>> {
    let row: Option<ApiRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(select_api!("WHERE identifier = $1"))
            .bind(identifier)
            .fetch_optional(pool)
            .await
            .db()?);
    row.map(ApiRow::into_model).transpose()
}

pub(crate) async fn list_resource_servers(
    store: &SqlStore,
    page: Page,
) -> Result<Vec<ResourceServer>> {
    let rows: Vec<ApiRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(select_api!("ORDER BY created_at, id LIMIT $1 OFFSET $2"))
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await
            .db()?);
    rows.into_iter().map(ApiRow::into_model).collect()
}

pub(crate) async fn update_resource_server(store: &SqlStore, api: &ResourceServer) -> Result<()> {
    const SQL: &str =
        "UPDATE resource_servers SET name = $2, settings = $3, updated_at = $4 WHERE id = $1";
    let settings = settings(api)?;
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(api.id.as_str())
        .bind(&api.name)
        .bind(&settings)
        .bind(api.updated_at.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    touched(done, "API")
}

pub(crate) async fn delete_resource_server(store: &SqlStore, id: &ResourceServerId) -> Result<()> {
    const SQL: &str = "DELETE FROM resource_servers WHERE id = $1";
    let done = on_pool!(&store.db, pool =>
        sqlx::query(SQL).bind(id.as_str()).execute(pool).await.db()?.rows_affected());
    touched(done, "API")
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: String,
    client_id: String,
    audience: String,
    scope: String,
    created_at: i64,
}

impl From<GrantRow> for ClientGrant {
    fn from(row: GrantRow) -> Self {
        ClientGrant {
            id: ClientGrantId(row.id),
            client_id: ClientId(row.client_id),
            audience: row.audience,
            scope: split(&row.scope),
            created_at: UnixTime(row.created_at),
        }
    }
}

pub(crate) async fn create_client_grant(store: &SqlStore, grant: &ClientGrant) -> Result<()> {
    const SQL: &str = "INSERT INTO client_grants (id, client_id, audience, scope, created_at) \
                       VALUES ($1, $2, $3, $4, $5)";
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(grant.id.as_str())
        .bind(grant.client_id.as_str())
        .bind(&grant.audience)
        .bind(join(&grant.scope))
        .bind(grant.created_at.0)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::ClientGrant, "client or API"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn client_grant(
    store: &SqlStore,
    id: &ClientGrantId,
) -> Result<Option<ClientGrant>> {
    let row: Option<GrantRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(select_grant!("WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(pool)
            .await
            .db()?);
    Ok(row.map(ClientGrant::from))
}

pub(crate) async fn client_grant_for(
    store: &SqlStore,
    client: &ClientId,
    audience: &str,
) -> Result<Option<ClientGrant>> {
    let row: Option<GrantRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(select_grant!("WHERE client_id = $1 AND audience = $2"))
            .bind(client.as_str())
            .bind(audience)
            .fetch_optional(pool)
            .await
            .db()?);
    Ok(row.map(ClientGrant::from))
}

pub(crate) async fn list_client_grants(
    store: &SqlStore,
    client: Option<&ClientId>,
    audience: Option<&str>,
    page: Page,
) -> Result<Vec<ClientGrant>> {
    let filter = Filter::default()
        .eq("client_id", client.map(|c| c.0.clone()))
        .eq("audience", audience.map(str::to_owned));
    let n = filter.next();
    let sql = format!(
        "SELECT id, client_id, audience, scope, created_at FROM client_grants {} \
         ORDER BY created_at, id LIMIT ${n} OFFSET ${}",
        filter.clause(None),
        n + 1
    );
    let values = filter.values;
    let rows: Vec<GrantRow> = on_pool!(&store.db, pool => {
        let mut q = sqlx::query_as(AssertSqlSafe(sql.clone()));
        for v in &values {
            q = q.bind(v.clone());
        }
        q.bind(page.limit()).bind(page.offset()).fetch_all(pool).await.db()?
    });
    Ok(rows.into_iter().map(ClientGrant::from).collect())
}

pub(crate) async fn update_client_grant(
    store: &SqlStore,
    id: &ClientGrantId,
    scope: &[String],
) -> Result<()> {
    const SQL: &str = "UPDATE client_grants SET scope = $2 WHERE id = $1";
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(id.as_str())
        .bind(join(scope))
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    touched(done, "client grant")
}

pub(crate) async fn delete_client_grant(store: &SqlStore, id: &ClientGrantId) -> Result<()> {
    const SQL: &str = "DELETE FROM client_grants WHERE id = $1";
    let done = on_pool!(&store.db, pool =>
        sqlx::query(SQL).bind(id.as_str()).execute(pool).await.db()?.rows_affected());
    touched(done, "client grant")
}
