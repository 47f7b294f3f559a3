//! The tenant's settings: one row, JSON.

use sigil_core::UnixTime;
use sigil_core::model::TenantSettings;
use sigil_core::store::Result;

use crate::SqlStore;
use crate::codec::{from_json, to_json};
use crate::database::on_pool;
use crate::error::OrBackend as _;

pub(crate) async fn tenant_settings(store: &SqlStore) -> Result<Option<TenantSettings>> {
    const SQL: &str = "SELECT settings FROM tenant WHERE id = 1";
    let raw: Option<String> = on_pool!(&store.db, pool =>
        sqlx::query_scalar(SQL).fetch_optional(pool).await.db()?);
    raw.map(|s| from_json("tenant settings", &s)).transpose()
}

pub(crate) async fn put_tenant_settings(
    store: &SqlStore,
    settings: &TenantSettings,
    now: UnixTime,
) -> Result<()> {
    const SQL: &str = "INSERT INTO tenant (id, settings, updated_at) VALUES (1, $1, $2) \
                       ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, \
                       updated_at = excluded.updated_at";
    let json = to_json("tenant settings", settings)?;
    on_pool!(&store.db, pool =>
        sqlx::query(SQL).bind(&json).bind(now.0).execute(pool).await.db()?.rows_affected());
    Ok(())
}

pub(crate) async fn init_tenant_settings(
    store: &SqlStore,
    settings: &TenantSettings,
    now: UnixTime,
) -> Result<TenantSettings> {
    const SQL: &str = "INSERT INTO tenant (id, settings, updated_at) VALUES (1, $1, $2) \
                       ON CONFLICT (id) DO NOTHING";
    let json = to_json("tenant settings", settings)?;
    on_pool!(&store.db, pool =>
        sqlx::query(SQL).bind(&json).bind(now.0).execute(pool).await.db()?.rows_affected());
    tenant_settings(store)
        .await?
        .ok_or(sigil_core::StoreError::NotFound("tenant settings"))
}
