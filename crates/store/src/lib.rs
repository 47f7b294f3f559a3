//! `sigil-store`: where Sigil keeps what it knows, on SQLite (the embedded default) or
//! PostgreSQL (several nodes, one database).
//!
//! [`Database`] opens either backend, versions and applies each backend's migrations
//! (`migrations/sqlite`, `migrations/postgres`), refuses a schema newer than the build, and
//! guards the master key. [`SqlStore`] implements `sigil_core::Store` on it.
#![warn(missing_docs)]

mod database;
mod error;
mod master_key;
mod retry;
mod sql_store;

mod actions;
mod apis;
mod client_assertions;
mod clients;
mod codec;
mod codes;
mod connections;
mod device;
mod federation;
mod jobs;
mod keys;
mod login_failures;
mod logs;
mod mfa;
mod outbox;
mod passwordless;
mod purge;
mod rate_limits;
mod rbac;
mod refresh;
mod rules;
mod sessions;
mod tenant;
mod tickets;
mod users;

pub use database::{Backend, Database, Migrated, PoolState};
pub use error::DatabaseError;
pub use master_key::{MASTER_KEY_FILE, MasterKey, MasterKeySource};
pub use sql_store::SqlStore;
