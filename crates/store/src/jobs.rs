//! Management API jobs: recorded once finished, read back by id.

use sigil_core::ids::{ConnectionId, JobId};
use sigil_core::model::{Job, JobKind};
use sigil_core::store::Result;
use sigil_core::{Conflict, UnixTime};

use crate::SqlStore;
use crate::codec::{from_json, to_json};
use crate::database::on_pool;
use crate::error::{OrBackend as _, corrupt, write_error};

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    kind: String,
    status: String,
    connection_id: Option<String>,
    external_id: Option<String>,
    created_at: i64,
    details: String,
    errors: String,
    output: Option<String>,
}

impl TryFrom<JobRow> for Job {
    type Error = sigil_core::StoreError;

    fn try_from(row: JobRow) -> Result<Self> {
        Ok(Job {
            kind: JobKind::parse(&row.kind).ok_or_else(|| corrupt("job", &row.kind))?,
            id: JobId(row.id),
            status: row.status,
            connection_id: row.connection_id.map(ConnectionId),
            external_id: row.external_id,
            created_at: UnixTime(row.created_at),
            details: from_json("job details", &row.details)?,
            errors: from_json("job errors", &row.errors)?,
            output: row.output,
        })
    }
}

pub(crate) async fn create_job(store: &SqlStore, job: &Job) -> Result<()> {
    const SQL: &str = "INSERT INTO jobs (id, kind, status, connection_id, external_id, \
                       created_at, details, errors, output) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    let details = to_json("job details", &job.details)?;
    let errors = to_json("job errors", &job.errors)?;
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(job.id.as_str())
        .bind(job.kind.as_str())
        .bind(&job.status)
        .bind(job.connection_id.as_ref().map(ConnectionId::as_str))
        .bind(&job.external_id)
        .bind(job.created_at.0)
        .bind(&details)
        .bind(&errors)
        .bind(&job.output)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| Conflict::Token, "job"))?
        .rows_affected());
    Ok(())
}

pub(crate) async fn job(store: &SqlStore, id: &JobId) -> Result<Option<Job>> {
    const SQL: &str = "SELECT id, kind, status, connection_id, external_id, created_at, \
                       details, errors, output FROM jobs WHERE id = $1";
    let row: Option<JobRow> = on_pool!(&store.db, pool =>
        sqlx::query_as(SQL).bind(id.as_str()).fetch_optional(pool).await.db()?);
    row.map(Job::try_from).transpose()
}
