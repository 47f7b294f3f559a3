//! Management API jobs (`/api/v2/jobs`): bulk user imports and exports. Sigil runs them inline
//! and keeps the finished job in the store, so that any node answers `GET /jobs/{id}`.

use crate::UnixTime;
use crate::ids::{ConnectionId, JobId};
use crate::model::JsonObject;

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// `users_import`.
    UsersImport,
    /// `users_export`.
    UsersExport,
    /// `verification_email`: a verification mail sent again.
    VerificationEmail,
}

impl JobKind {
    /// Auth0's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::UsersImport => "users_import",
            JobKind::UsersExport => "users_export",
            JobKind::VerificationEmail => "verification_email",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "users_import" => Some(JobKind::UsersImport),
            "users_export" => Some(JobKind::UsersExport),
            "verification_email" => Some(JobKind::VerificationEmail),
            _ => None,
        }
    }
}

/// A job, as recorded when it finished.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// `job_…`.
    pub id: JobId,
    /// Import or export.
    pub kind: JobKind,
    /// Auth0's `status`: `completed` or `failed` (Sigil's jobs finish before they are answered).
    pub status: String,
    /// The connection imported into or exported from, if any.
    pub connection_id: Option<ConnectionId>,
    /// The caller's `external_id`.
    pub external_id: Option<String>,
    /// When it was made.
    pub created_at: UnixTime,
    /// The kind's own members of the job's answer (an import's `summary`, an export's `format`
    /// and `fields`).
    pub details: JsonObject,
    /// An import's refused entries in Auth0's shape (`[{"user", "errors"}]`).
    pub errors: Vec<serde_json::Value>,
    /// An export's file.
    pub output: Option<String>,
}
