//! A Management API job as Auth0 answers it: `{"status", "type", "created_at", "id",
//! "connection_id", "external_id", …}` with the kind's own members (an import's `summary`, an
//! export's `format`, `fields` and `location`).

use serde_json::{Map, Value};

use crate::clock::auth0_time;
use crate::model::Job;

/// `job` in Auth0's shape; `location` is where an export's file is served.
pub fn job_json(job: &Job, location: Option<String>) -> Value {
    let mut json = Map::new();
    json.insert("status".to_owned(), Value::String(job.status.clone()));
    json.insert(
        "type".to_owned(),
        Value::String(job.kind.as_str().to_owned()),
    );
    json.insert(
        "created_at".to_owned(),
        Value::String(auth0_time(job.created_at)),
    );
    json.insert("id".to_owned(), Value::String(job.id.0.clone()));
    if let Some(connection) = &job.connection_id {
        json.insert(
            "connection_id".to_owned(),
            Value::String(connection.0.clone()),
        );
    }
    if let Some(external) = &job.external_id {
        json.insert("external_id".to_owned(), Value::String(external.clone()));
    }
    for (key, value) in &job.details {
        json.insert(key.clone(), value.clone());
    }
    if let Some(location) = location {
        json.insert("location".to_owned(), Value::String(location));
    }
    Value::Object(json)
}
