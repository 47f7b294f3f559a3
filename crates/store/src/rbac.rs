//! Roles, permissions (of roles and of users directly) and users' consents.

use sigil_core::ids::{ClientId, ConsentId, RoleId, UserId};
use sigil_core::model::{Consent, Permission, Role};
use sigil_core::store::{Page, Result};
use sigil_core::{Conflict, UnixTime};
use sqlx::AssertSqlSafe;

use crate::SqlStore;
use crate::codec::{Filter, join, split};
use crate::database::{BeginWrite as _, on_pool};
use crate::error::{OrBackend as _, touched, write_error};

#[derive(sqlx::FromRow)]
struct RoleRow {
    id: String,
    name: String,
    description: String,
    created_at: i64,
}

impl From<RoleRow> for Role {
    fn from(row: RoleRow) -> Self {
        Role {
            id: RoleId(row.id),
            name: row.name,
            description: row.description,
            created_at: UnixTime(row.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct PermissionRow {
    audience: String,
    permission: String,
}

impl From<PermissionRow> for Permission {
    fn from(row: PermissionRow) -> Self {
        Permission {
            resource_server_identifier: row.audience,
            permission_name: row.permission,
        }
    }
}

pub(crate) async fn create_role(store: &SqlStore, role: &Role) -> Result<()> {
    const SQL: &str =
        "INSERT INTO roles (id, name, description, created_at) VALUES ($1, $2, $3, $4)";
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(role.id.as_str())
        .bind(&role.name)
        .bind(&role.description)
        .bind(role.created_at.0)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Role, "role"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn role(store: &SqlStore, id: &RoleId) -> Result<Option<Role>> {
    const SQL: &str = "SELECT id, name, description, created_at FROM roles WHERE id = $1";
    let row: Option<RoleRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(id.as_str()).fetch_optional(pool).await.db()?);
    Ok(row.map(Role::from))
}

pub(crate) async fn list_roles(store: &SqlStore, page: Page) -> Result<Vec<Role>> {
    const SQL: &str = "SELECT id, name, description, created_at FROM roles \
                       ORDER BY name LIMIT $1 OFFSET $2";
    let rows: Vec<RoleRow> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await
        .db()?);
    Ok(rows.into_iter().map(Role::from).collect())
}

pub(crate) async fn update_role(store: &SqlStore, role: &Role) -> Result<()> {
    const SQL: &str = "UPDATE roles SET name = $2, description = $3 WHERE id = $1";
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(role.id.as_str())
        .bind(&role.name)
        .bind(&role.description)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Role, "role"))?
        .rows_affected());
    touched(done, "role")
}

pub(crate) async fn delete_role(store: &SqlStore, id: &RoleId) -> Result<()> {
    const SQL: &str = "DELETE FROM roles WHERE id = $1";
    let done = on_pool!(&store.db, pool =>
        sqlx::query(SQL).bind(id.as_str()).execute(pool).await.db()?.rows_affected());
    touched(done, "role")
}

/// Runs `sql` once per permission, with `owner` as `$1`, audience `$2` and name `$3`, in one
/// transaction.
async fn each_permission(
    store: &SqlStore,
    sql: &'static str,
    owner: &str,
    permissions: &[Permission],
    missing: &'static str,
) -> Result<()> {
    on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        for p in permissions {
            sqlx::query(sql)
                .bind(owner)
                .bind(&p.resource_server_identifier)
                .bind(&p.permission_name)
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, |_| Conflict::Token, missing))?;
        }
        tx.commit().await.db()?;
    });
    Ok(())
}

pub(crate) async fn add_role_permissions(
    store: &SqlStore,
    role: &RoleId,
    permissions: &[Permission],
) -> Result<()> {
    const SQL: &str = "INSERT INTO role_permissions (role_id, audience, permission) \
                       VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    each_permission(store, SQL, role.as_str(), permissions, "role or API").await
}

pub(crate) async fn remove_role_permissions(
    store: &SqlStore,
    role: &RoleId,
    permissions: &[Permission],
) -> Result<()> {
    const SQL: &str =
        "DELETE FROM role_permissions WHERE role_id = $1 AND audience = $2 AND permission = $3";
    each_permission(store, SQL, role.as_str(), permissions, "role or API").await
}

pub(crate) async fn role_permissions(store: &SqlStore, role: &RoleId) -> Result<Vec<Permission>> {
    const SQL: &str = "SELECT audience, permission FROM role_permissions WHERE role_id = $1 \
                       ORDER BY audience, permission";
    let rows: Vec<PermissionRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(role.as_str()).fetch_all(pool).await.db()?);
    Ok(rows.into_iter().map(Permission::from).collect())
}

/// Runs `sql` once per role with the user as `$1` and the role as `$2`, in one transaction.
async fn each_role(
    store: &SqlStore,
    sql: &'static str,
    user: &UserId,
    roles: &[RoleId],
) -> Result<()> {
    on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        for role in roles {
            sqlx::query(sql)
                .bind(user.as_str())
                .bind(role.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, |_| Conflict::Role, "user or role"))?;
        }
        tx.commit().await.db()?;
    });
    Ok(())
}

pub(crate) async fn assign_user_roles(
    store: &SqlStore,
    user: &UserId,
    roles: &[RoleId],
) -> Result<()> {
    const SQL: &str =
        "INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
    each_role(store, SQL, user, roles).await
}

pub(crate) async fn remove_user_roles(
    store: &SqlStore,
    user: &UserId,
    roles: &[RoleId],
) -> Result<()> {
    const SQL: &str = "DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2";
    each_role(store, SQL, user, roles).await
}

pub(crate) async fn user_roles(store: &SqlStore, user: &UserId) -> Result<Vec<Role>> {
    const SQL: &str = "SELECT r.id, r.name, r.description, r.created_at FROM roles r \
                       JOIN user_roles ur ON ur.role_id = r.id WHERE ur.user_id = $1 \
                       ORDER BY r.name";
    let rows: Vec<RoleRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(user.as_str()).fetch_all(pool).await.db()?);
    Ok(rows.into_iter().map(Role::from).collect())
}

pub(crate) async fn role_users(store: &SqlStore, role: &RoleId, page: Page) -> Result<Vec<UserId>> {
    const SQL: &str = "SELECT user_id FROM user_roles WHERE role_id = $1 \
                       ORDER BY user_id LIMIT $2 OFFSET $3";
    let ids: Vec<String> = on_pool!(&store.db, pool => sqlx::query_scalar(SQL)
        .bind(role.as_str())
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await
        .db()?);
    Ok(ids.into_iter().map(UserId).collect())
}

pub(crate) async fn add_user_permissions(
    store: &SqlStore,
    user: &UserId,
    permissions: &[Permission],
) -> Result<()> {
    const SQL: &str = "INSERT INTO user_permissions (user_id, audience, permission) \
                       VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    each_permission(store, SQL, user.as_str(), permissions, "user or API").await
}

pub(crate) async fn remove_user_permissions(
    store: &SqlStore,
    user: &UserId,
    permissions: &[Permission],
) -> Result<()> {
    const SQL: &str =
        "DELETE FROM user_permissions WHERE user_id = $1 AND audience = $2 AND permission = $3";
    each_permission(store, SQL, user.as_str(), permissions, "user or API").await
}

pub(crate) async fn user_permissions(store: &SqlStore, user: &UserId) -> Result<Vec<Permission>> {
    const SQL: &str = "SELECT audience, permission FROM user_permissions WHERE user_id = $1 \
                       ORDER BY audience, permission";
    let rows: Vec<PermissionRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(user.as_str()).fetch_all(pool).await.db()?);
    Ok(rows.into_iter().map(Permission::from).collect())
}

pub(crate) async fn effective_permissions(
    store: &SqlStore,
    user: &UserId,
    audience: &str,
) -> Result<Vec<String>> {
    const SQL: &str = "SELECT permission FROM user_permissions \
                       WHERE user_id = $1 AND audience = $2 \
                       UNION \
                       SELECT rp.permission FROM user_roles ur \
                       JOIN role_permissions rp ON rp.role_id = ur.role_id \
                       WHERE ur.user_id = $1 AND rp.audience = $2 \
                       ORDER BY 1";
    on_pool!(&store.db, pool => Ok(sqlx::query_scalar(SQL)
        .bind(user.as_str())
        .bind(audience)
        .fetch_all(pool)
        .await
        .db()?))
}

macro_rules! select_consent {
    ($tail:literal) => {
        concat!(
            "SELECT id, user_id, client_id, audience, scope, created_at, updated_at FROM consents ",
            $tail
        )
    };
}

#[derive(sqlx::FromRow)]
struct ConsentRow {
    id: String,
    user_id: String,
    client_id: String,
    audience: String,
    scope: String,
    created_at: i64,
    updated_at: i64,
}

impl From<ConsentRow> for Consent {
    fn from(row: ConsentRow) -> Self {
        Consent {
            id: ConsentId(row.id),
            user_id: UserId(row.user_id),
            client_id: ClientId(row.client_id),
            audience: row.audience,
            scope: split(&row.scope),
            created_at: UnixTime(row.created_at),
            updated_at: UnixTime(row.updated_at),
        }
    }
}

pub(crate) async fn put_consent(store: &SqlStore, consent: &Consent) -> Result<Consent> {
    const SQL: &str = "INSERT INTO consents (id, user_id, client_id, audience, scope, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (user_id, client_id, audience) DO UPDATE \
         SET scope = excluded.scope, updated_at = excluded.updated_at \
         RETURNING id, user_id, client_id, audience, scope, created_at, updated_at";
    let row: ConsentRow = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(consent.id.as_str())
        .bind(consent.user_id.as_str())
        .bind(consent.client_id.as_str())
        .bind(&consent.audience)
        .bind(join(&consent.scope))
        .bind(consent.created_at.0)
        .bind(consent.updated_at.0)
        .fetch_one(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Token, "user or client"))?);
    Ok(row.into())
}

pub(crate) async fn consent(
    store: &SqlStore,
    user: &UserId,
    client: &ClientId,
    audience: &str,
) -> Result<Option<Consent>> {
    let row: Option<ConsentRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(select_consent!("WHERE user_id = $1 AND client_id = $2 AND audience = $3"))
            .bind(user.as_str())
            .bind(client.as_str())
            .bind(audience)
            .fetch_optional(pool)
            .await
            .db()?);
    Ok(row.map(Consent::from))
}

pub(crate) async fn list_consents(
    store: &SqlStore,
    user: Option<&UserId>,
    client: Option<&ClientId>,
    page: Page,
) -> Result<Vec<Consent>> {
    let filter = Filter::default()
        .eq("user_id", user.map(|u| u.0.clone()))
        .eq("client_id", client.map(|c| c.0.clone()));
    let n = filter.next();
    let sql = format!(
        "SELECT id, user_id, client_id, audience, scope, created_at, updated_at FROM consents \
         {} ORDER BY created_at, id LIMIT ${n} OFFSET ${}",
        filter.clause(None),
        n + 1
    );
    let values = filter.values;
    let rows: Vec<ConsentRow> = on_pool!(&store.db, pool => {
        let mut q = sqlx::query_as(AssertSqlSafe(sql.clone()));
        for v in &values {
            q = q.bind(v.clone());
        }
        q.bind(page.limit()).bind(page.offset()).fetch_all(pool).await.db()?
    });
    Ok(rows.into_iter().map(Consent::from).collect())
}

pub(crate) async fn delete_consent(store: &SqlStore, id: &ConsentId) -> Result<()> {
    const SQL: &str = "DELETE FROM consents WHERE id = $1";
    let done = on_pool!(&store.db, pool =>
        sqlx::query(SQL).bind(id.as_str()).execute(pool).await.db()?.rows_affected());
    touched(done, "consent")
}
