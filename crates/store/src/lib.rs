//! `sigil-store`: where Sigil keeps what it knows, on SQLite (the embedded default) or
//! PostgreSQL (several nodes, one database).
//!
//! Today it opens either backend, versions and applies each backend's migrations
//! (`migrations/sqlite`, `migrations/postgres`), refuses a schema newer than the build, and
//! guards the master key. The `Store` trait's implementations join it as the model lands.
#![warn(missing_docs)]

mod database;
mod error;
mod master_key;

pub use database::{Backend, Database, Migrated};
pub use error::StoreError;
pub use master_key::{MASTER_KEY_FILE, MasterKey, MasterKeySource};
