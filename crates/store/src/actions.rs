//! Actions, their deployed versions and their bindings. The code and build results are stored
//! as JSON; the secrets as one JSON list sealed under the master key, bound to the row.

use serde::{Deserialize, Serialize};
use sigil_core::ids::{ActionId, ActionVersionId, BindingId};
use sigil_core::model::action;
use sigil_core::model::{
    Action, ActionCode, ActionExecution, ActionSecret, ActionVersion, Binding, BoundAction,
    BuildError, BuildStatus, Dependency, QueuedTrigger, TriggerRef,
};
use sigil_core::store::Result;
use sigil_core::{Conflict, StoreError, UnixTime};
use zeroize::Zeroizing;

use crate::SqlStore;
use crate::codec::{from_json, open, seal, to_json};
use crate::database::{BeginWrite as _, on_pool};
use crate::error::{OrBackend as _, corrupt, touched, write_error};

/// An Action's code without its secrets, as stored.
#[derive(Serialize, Deserialize)]
struct CodeJson {
    supported_triggers: Vec<TriggerRef>,
    code: String,
    dependencies: Vec<Dependency>,
    runtime: String,
    status: String,
    errors: Vec<BuildError>,
}

#[derive(Serialize, Deserialize)]
struct SecretJson {
    name: String,
    value: String,
    updated_at: i64,
}

fn code_json(code: &ActionCode) -> Result<String> {
    serde_json::to_string(&CodeJson {
        supported_triggers: code.supported_triggers.clone(),
        code: code.code.clone(),
        dependencies: code.dependencies.clone(),
        runtime: code.runtime.clone(),
        status: code.status.as_str().to_owned(),
        errors: code.errors.clone(),
    })
    .map_err(|e| StoreError::Backend(Box::new(e)))
}

fn sealed_secrets(store: &SqlStore, purpose: &str, secrets: &[ActionSecret]) -> Result<Vec<u8>> {
    let list: Vec<SecretJson> = secrets
        .iter()
        .map(|s| SecretJson {
            name: s.name.clone(),
            value: s.value.to_string(),
            updated_at: s.updated_at.0,
        })
        .collect();
    let plain =
        Zeroizing::new(serde_json::to_vec(&list).map_err(|e| StoreError::Backend(Box::new(e)))?);
    let mut list = list;
    for secret in &mut list {
        zeroize::Zeroize::zeroize(&mut secret.value);
    }
    seal(&store.key, purpose, &plain)
}

fn action_purpose(id: &str) -> String {
    format!("action:{id}")
}

fn version_purpose(id: &str) -> String {
    format!("action version:{id}")
}

fn decode(store: &SqlStore, json: &str, sealed: &[u8], purpose: &str) -> Result<ActionCode> {
    let code: CodeJson = serde_json::from_str(json).map_err(|e| corrupt("action", e))?;
    let plain = open(&store.key, "action", purpose, sealed)?;
    let secrets: Vec<SecretJson> =
        serde_json::from_slice(&plain).map_err(|e| corrupt("action", e))?;
    Ok(ActionCode {
        supported_triggers: code.supported_triggers,
        code: code.code,
        dependencies: code.dependencies,
        runtime: code.runtime,
        status: BuildStatus::parse(&code.status)
            .ok_or_else(|| corrupt("action", format!("unknown status {}", code.status)))?,
        errors: code.errors,
        secrets: secrets
            .into_iter()
            .map(|s| ActionSecret {
                name: s.name,
                value: Zeroizing::new(s.value),
                updated_at: UnixTime(s.updated_at),
            })
            .collect(),
    })
}

#[derive(sqlx::FromRow)]
struct ActionRow {
    id: String,
    name: String,
    draft: String,
    sealed_secrets: Vec<u8>,
    created_at: i64,
    updated_at: i64,
    deployed_at: Option<i64>,
}

impl ActionRow {
    fn into_model(self, store: &SqlStore) -> Result<Action> {
        let draft = decode(
            store,
            &self.draft,
            &self.sealed_secrets,
            &action_purpose(&self.id),
        )?;
        Ok(Action {
            id: ActionId(self.id),
            name: self.name,
            draft,
            created_at: UnixTime(self.created_at),
            updated_at: UnixTime(self.updated_at),
            deployed_at: self.deployed_at.map(UnixTime),
        })
    }
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    id: String,
    action_id: String,
    number: i64,
    code: String,
    sealed_secrets: Vec<u8>,
    deployed: bool,
    created_at: i64,
}

impl VersionRow {
    fn into_model(self, store: &SqlStore) -> Result<ActionVersion> {
        let code = decode(
            store,
            &self.code,
            &self.sealed_secrets,
            &version_purpose(&self.id),
        )?;
        Ok(ActionVersion {
            id: ActionVersionId(self.id),
            action_id: ActionId(self.action_id),
            number: u32::try_from(self.number).map_err(|e| corrupt("action version", e))?,
            code,
            deployed: self.deployed,
            created_at: UnixTime(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct BindingRow {
    id: String,
    trigger_id: String,
    action_id: String,
    display_name: String,
    created_at: i64,
}

impl From<BindingRow> for Binding {
    fn from(row: BindingRow) -> Self {
        Binding {
            id: BindingId(row.id),
            trigger_id: row.trigger_id,
            action_id: ActionId(row.action_id),
            display_name: row.display_name,
            created_at: UnixTime(row.created_at),
        }
    }
}

const ACTION_COLUMNS: &str = "id, name, draft, sealed_secrets, created_at, updated_at, deployed_at";
const VERSION_COLUMNS: &str = "id, action_id, number, code, sealed_secrets, deployed, created_at";

pub(crate) async fn create_action(store: &SqlStore, action: &Action) -> Result<()> {
    const SQL: &str = "INSERT INTO actions (id, name, draft, sealed_secrets, created_at, \
                       updated_at, deployed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let draft = code_json(&action.draft)?;
    let sealed = sealed_secrets(
        store,
        &action_purpose(action.id.as_str()),
        &action.draft.secrets,
    )?;
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(action.id.as_str())
        .bind(&action.name)
        .bind(&draft)
        .bind(&sealed)
        .bind(action.created_at.0)
        .bind(action.updated_at.0)
        .bind(action.deployed_at.map(|t| t.0))
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Action, "action"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn action(store: &SqlStore, id: &ActionId) -> Result<Option<Action>> {
    let sql = format!("SELECT {ACTION_COLUMNS} FROM actions WHERE id = $1");
    let row: Option<ActionRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id.as_str()).fetch_optional(pool).await.db()?);
    row.map(|r| r.into_model(store)).transpose()
}

pub(crate) async fn list_actions(store: &SqlStore) -> Result<Vec<Action>> {
    let sql = format!("SELECT {ACTION_COLUMNS} FROM actions ORDER BY name");
    let rows: Vec<ActionRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await.db()?);
    rows.into_iter().map(|r| r.into_model(store)).collect()
}

pub(crate) async fn update_action(store: &SqlStore, action: &Action) -> Result<()> {
    const SQL: &str = "UPDATE actions SET name = $2, draft = $3, sealed_secrets = $4, \
                       updated_at = $5 WHERE id = $1";
    let draft = code_json(&action.draft)?;
    let sealed = sealed_secrets(
        store,
        &action_purpose(action.id.as_str()),
        &action.draft.secrets,
    )?;
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(action.id.as_str())
        .bind(&action.name)
        .bind(&draft)
        .bind(&sealed)
        .bind(action.updated_at.0)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Action, "action"))?
        .rows_affected());
    touched(done, "action")
}

pub(crate) async fn delete_action(store: &SqlStore, id: &ActionId, detach: bool) -> Result<()> {
    const UNBIND: &str = "DELETE FROM action_bindings WHERE action_id = $1";
    const BOUND: &str = "SELECT COUNT(*) FROM action_bindings WHERE action_id = $1";
    const DELETE: &str = "DELETE FROM actions WHERE id = $1";
    let done = on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        if detach {
            sqlx::query(UNBIND).bind(id.as_str()).execute(&mut *tx).await.db()?;
        } else {
            let bound: i64 = sqlx::query_scalar(BOUND)
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await
                .db()?;
            if bound > 0 {
                return Err(StoreError::Conflict(Conflict::ActionBound));
            }
        }
        // A binding made meanwhile stops the delete (no cascade): still a conflict.
        let done = sqlx::query(DELETE)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| match write_error(e, |_| Conflict::ActionBound, "action") {
                StoreError::NotFound(_) => StoreError::Conflict(Conflict::ActionBound),
                other => other,
            })?
            .rows_affected();
        tx.commit().await.db()?;
        done
    });
    touched(done, "action")
}

pub(crate) async fn deploy_action(
    store: &SqlStore,
    id: &ActionId,
    version: &ActionVersionId,
    code: &ActionCode,
    now: UnixTime,
) -> Result<ActionVersion> {
    const NEXT: &str =
        "SELECT COALESCE(MAX(number), 0) + 1 FROM action_versions WHERE action_id = $1";
    const UNDEPLOY: &str = "UPDATE action_versions SET deployed = $2 WHERE action_id = $1";
    const INSERT: &str = "INSERT INTO action_versions (id, action_id, number, code, \
                          sealed_secrets, deployed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    const MARK: &str = "UPDATE actions SET deployed_at = $2 WHERE id = $1";
    let json = code_json(code)?;
    let sealed = sealed_secrets(store, &version_purpose(version.as_str()), &code.secrets)?;
    let number: i64 = on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        // Marking the Action first takes its row lock, so racing deploys of one Action number
        // their versions one after the other.
        let marked = sqlx::query(MARK)
            .bind(id.as_str())
            .bind(now.0)
            .execute(&mut *tx)
            .await
            .db()?
            .rows_affected();
        if marked == 0 {
            return Err(StoreError::NotFound("action"));
        }
        let number: i64 = sqlx::query_scalar(NEXT)
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await
            .db()?;
        sqlx::query(UNDEPLOY)
            .bind(id.as_str())
            .bind(false)
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query(INSERT)
            .bind(version.as_str())
            .bind(id.as_str())
            .bind(number)
            .bind(&json)
            .bind(&sealed)
            .bind(true)
            .bind(now.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, |_| Conflict::Token, "action"))?;
        tx.commit().await.db()?;
        number
    });
    Ok(ActionVersion {
        id: version.clone(),
        action_id: id.clone(),
        number: u32::try_from(number).map_err(|e| corrupt("action version", e))?,
        code: code.clone(),
        deployed: true,
        created_at: now,
    })
}

pub(crate) async fn action_versions(store: &SqlStore, id: &ActionId) -> Result<Vec<ActionVersion>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM action_versions WHERE action_id = $1 ORDER BY number DESC"
    );
    let rows: Vec<VersionRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id.as_str()).fetch_all(pool).await.db()?);
    rows.into_iter().map(|r| r.into_model(store)).collect()
}

pub(crate) async fn bindings(store: &SqlStore, trigger: &str) -> Result<Vec<Binding>> {
    const SQL: &str = "SELECT id, trigger_id, action_id, display_name, created_at \
                       FROM action_bindings WHERE trigger_id = $1 ORDER BY position";
    let rows: Vec<BindingRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(trigger).fetch_all(pool).await.db()?);
    Ok(rows.into_iter().map(Binding::from).collect())
}

pub(crate) async fn replace_bindings(
    store: &SqlStore,
    trigger: &str,
    bindings: &[Binding],
) -> Result<()> {
    const CLEAR: &str = "DELETE FROM action_bindings WHERE trigger_id = $1";
    // Only an Action with a deployed version can be bound.
    const INSERT: &str = "INSERT INTO action_bindings (trigger_id, position, id, action_id, \
                          display_name, created_at) SELECT $1, $2, $3, $4, $5, $6 \
                          WHERE EXISTS (SELECT 1 FROM action_versions \
                          WHERE action_id = $4 AND deployed = $7)";
    on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        sqlx::query(CLEAR).bind(trigger).execute(&mut *tx).await.db()?;
        for (position, binding) in bindings.iter().enumerate() {
            let position = i64::try_from(position).map_err(|e| StoreError::Backend(Box::new(e)))?;
            let done = sqlx::query(INSERT)
                .bind(trigger)
                .bind(position)
                .bind(binding.id.as_str())
                .bind(binding.action_id.as_str())
                .bind(&binding.display_name)
                .bind(binding.created_at.0)
                .bind(true)
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, |_| Conflict::Token, "deployed action"))?
                .rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound("deployed action"));
            }
        }
        tx.commit().await.db()?;
    });
    Ok(())
}

pub(crate) async fn bound_actions(store: &SqlStore, trigger: &str) -> Result<Vec<BoundAction>> {
    const SQL: &str = "SELECT b.id AS binding_id, b.trigger_id, b.display_name, \
                       b.created_at AS bound_at, a.name, v.id, v.action_id, v.number, v.code, \
                       v.sealed_secrets, v.deployed, v.created_at \
                       FROM action_bindings b JOIN actions a ON a.id = b.action_id \
                       JOIN action_versions v ON v.action_id = b.action_id AND v.deployed = $2 \
                       WHERE b.trigger_id = $1 ORDER BY b.position";
    #[derive(sqlx::FromRow)]
    struct Row {
        binding_id: String,
        trigger_id: String,
        display_name: String,
        bound_at: i64,
        name: String,
        #[sqlx(flatten)]
        version: VersionRow,
    }
    let rows: Vec<Row> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(trigger).bind(true).fetch_all(pool).await.db()?);
    rows.into_iter()
        .map(|row| {
            Ok(BoundAction {
                binding: Binding {
                    id: BindingId(row.binding_id),
                    trigger_id: row.trigger_id,
                    action_id: ActionId(row.version.action_id.clone()),
                    display_name: row.display_name,
                    created_at: UnixTime(row.bound_at),
                },
                name: row.name,
                version: row.version.into_model(store)?,
            })
        })
        .collect()
}

pub(crate) async fn record_executions(
    store: &SqlStore,
    executions: &[ActionExecution],
) -> Result<()> {
    const SQL: &str = "INSERT INTO action_executions (id, trigger_id, status, results, \
                       created_ms, updated_ms, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    if executions.is_empty() {
        return Ok(());
    }
    let rows = executions
        .iter()
        .map(|e| Ok((e, to_json("execution results", &e.results)?)))
        .collect::<Result<Vec<_>>>()?;
    on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        for (execution, results) in &rows {
            sqlx::query(SQL)
                .bind(&execution.id)
                .bind(&execution.trigger_id)
                .bind(&execution.status)
                .bind(results)
                .bind(execution.created_ms)
                .bind(execution.updated_ms)
                .bind(execution.created_ms.div_euclid(1000) + action::EXECUTION_DAYS * 86_400)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        tx.commit().await.db()?;
    });
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ExecutionRow {
    id: String,
    trigger_id: String,
    status: String,
    results: String,
    created_ms: i64,
    updated_ms: i64,
}

pub(crate) async fn action_execution(
    store: &SqlStore,
    id: &str,
) -> Result<Option<ActionExecution>> {
    const SQL: &str = "SELECT id, trigger_id, status, results, created_ms, updated_ms \
                       FROM action_executions WHERE id = $1";
    let row: Option<ExecutionRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(id).fetch_optional(pool).await.db()?);
    row.map(|row| {
        Ok(ActionExecution {
            results: from_json("execution results", &row.results)?,
            id: row.id,
            trigger_id: row.trigger_id,
            status: row.status,
            created_ms: row.created_ms,
            updated_ms: row.updated_ms,
        })
    })
    .transpose()
}

#[derive(sqlx::FromRow)]
struct QueuedRow {
    id: String,
    trigger_id: String,
    event: String,
    attempts: i64,
    next_at: i64,
    created_at: i64,
}

/// Queues an execution (also inside another write's transaction, `users::create_user`).
pub(crate) const QUEUE_TRIGGER: &str = "INSERT INTO trigger_queue (id, trigger_id, event, \
     attempts, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

pub(crate) async fn queue_trigger(store: &SqlStore, queued: &QueuedTrigger) -> Result<()> {
    let event = queued.event.to_string();
    on_pool!(&store.db, pool => sqlx::query(QUEUE_TRIGGER)
        .bind(&queued.id)
        .bind(&queued.trigger_id)
        .bind(&event)
        .bind(i64::from(queued.attempts))
        .bind(queued.next_at.0)
        .bind(queued.created_at.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(())
}

pub(crate) async fn claim_queued_triggers(
    store: &SqlStore,
    now: UnixTime,
    lease_until: UnixTime,
    limit: u32,
) -> Result<Vec<QueuedTrigger>> {
    // The outer `next_at <= $2` is checked again on a row another node updated meanwhile
    // (PostgreSQL re-reads it after the lock), so two nodes never take the same row at once.
    const SQL: &str = "UPDATE trigger_queue SET attempts = attempts + 1, next_at = $1 \
                       WHERE next_at <= $2 AND id IN (SELECT id FROM trigger_queue \
                       WHERE next_at <= $2 ORDER BY next_at, id LIMIT $3) \
                       RETURNING id, trigger_id, event, attempts, next_at, created_at";
    let rows: Vec<QueuedRow> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(lease_until.0)
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .db()?);
    let mut claimed = rows
        .into_iter()
        .map(|row| {
            Ok(QueuedTrigger {
                event: serde_json::from_str(&row.event)
                    .map_err(|e| corrupt("trigger_queue.event", e))?,
                id: row.id,
                trigger_id: row.trigger_id,
                attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
                next_at: UnixTime(row.next_at),
                created_at: UnixTime(row.created_at),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    claimed.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(claimed)
}

pub(crate) async fn settle_queued_trigger(
    store: &SqlStore,
    id: &str,
    retry_at: Option<UnixTime>,
) -> Result<()> {
    const DELETE: &str = "DELETE FROM trigger_queue WHERE id = $1";
    const RETRY: &str = "UPDATE trigger_queue SET next_at = $2 WHERE id = $1";
    on_pool!(&store.db, pool => match retry_at {
        None => sqlx::query(DELETE).bind(id).execute(pool).await.db()?.rows_affected(),
        Some(at) => sqlx::query(RETRY).bind(id).bind(at.0).execute(pool).await.db()?.rows_affected(),
    });
    Ok(())
}
