//! Legacy Rules and their configuration values: a Rule's row as it is; a configuration value
//! sealed under the master key bound to its key, so a value cannot be moved to another key.

use sigil_core::ids::RuleId;
use sigil_core::model::{Rule, RulesConfig};
use sigil_core::store::Result;
use sigil_core::{Conflict, StoreError, UnixTime};
use zeroize::Zeroizing;

use crate::SqlStore;
use crate::codec::{open, seal};
use crate::database::on_pool;
use crate::error::{OrBackend as _, corrupt, write_error};

const COLUMNS: &str = "id, name, script, ord, enabled, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: String,
    name: String,
    script: String,
    ord: i64,
    enabled: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<RuleRow> for Rule {
    fn from(row: RuleRow) -> Self {
        Rule {
            id: RuleId(row.id),
            name: row.name,
            script: row.script,
            order: row.ord,
            enabled: row.enabled,
            created_at: UnixTime(row.created_at),
            updated_at: UnixTime(row.updated_at),
        }
    }
}

fn conflict(_: &str) -> Conflict {
    Conflict::Rule
}

pub(crate) async fn create_rule(store: &SqlStore, rule: &Rule) -> Result<()> {
    const SQL: &str = "INSERT INTO rules (id, name, script, ord, enabled, created_at, updated_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(rule.id.as_str())
        .bind(&rule.name)
        .bind(&rule.script)
        .bind(rule.order)
        .bind(rule.enabled)
        .bind(rule.created_at.0)
        .bind(rule.updated_at.0)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, conflict, "rule"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn rule(store: &SqlStore, id: &RuleId) -> Result<Option<Rule>> {
    let sql = format!("SELECT {COLUMNS} FROM rules WHERE id = $1");
    let row: Option<RuleRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id.as_str()).fetch_optional(pool).await.db()?);
    Ok(row.map(Rule::from))
}

pub(crate) async fn list_rules(store: &SqlStore) -> Result<Vec<Rule>> {
    let sql = format!("SELECT {COLUMNS} FROM rules ORDER BY ord, name");
    let rows: Vec<RuleRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await.db()?);
    Ok(rows.into_iter().map(Rule::from).collect())
}

pub(crate) async fn update_rule(store: &SqlStore, rule: &Rule) -> Result<()> {
    const SQL: &str = "UPDATE rules SET name = $2, script = $3, ord = $4, enabled = $5, \
                       updated_at = $6 WHERE id = $1";
    let changed = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(rule.id.as_str())
        .bind(&rule.name)
        .bind(&rule.script)
        .bind(rule.order)
        .bind(rule.enabled)
        .bind(rule.updated_at.0)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, conflict, "rule"))?
        .rows_affected());
    if changed == 0 {
        return Err(StoreError::NotFound("rule"));
    }
    Ok(())
}

pub(crate) async fn delete_rule(store: &SqlStore, id: &RuleId) -> Result<bool> {
    let deleted = on_pool!(&store.db, pool => sqlx::query("DELETE FROM rules WHERE id = $1")
        .bind(id.as_str())
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(deleted > 0)
}

fn config_purpose(key: &str) -> String {
    format!("rules-config:{key}")
}

#[derive(sqlx::FromRow)]
struct ConfigRow {
    key: String,
    value: Vec<u8>,
}

pub(crate) async fn rules_configs(store: &SqlStore) -> Result<Vec<RulesConfig>> {
    let rows: Vec<ConfigRow> = on_pool!(&store.db, pool =>
        sqlx::query_as("SELECT key, value FROM rules_configs ORDER BY key").fetch_all(pool).await.db()?);
    rows.into_iter()
        .map(|row| {
            let plain = open(
                &store.key,
                "rules-config",
                &config_purpose(&row.key),
                &row.value,
            )?;
            let value =
                String::from_utf8(plain.to_vec()).map_err(|e| corrupt("rules-config", e))?;
            Ok(RulesConfig {
                key: row.key,
                value: Zeroizing::new(value),
            })
        })
        .collect()
}

pub(crate) async fn put_rules_config(store: &SqlStore, config: &RulesConfig) -> Result<()> {
    const SQL: &str = "INSERT INTO rules_configs (key, value) VALUES ($1, $2) \
                       ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    let sealed = seal(
        &store.key,
        &config_purpose(&config.key),
        config.value.as_bytes(),
    )?;
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(&config.key)
        .bind(&sealed)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(())
}

pub(crate) async fn delete_rules_config(store: &SqlStore, key: &str) -> Result<bool> {
    let deleted = on_pool!(&store.db, pool => sqlx::query("DELETE FROM rules_configs WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(deleted > 0)
}
