//! The commands that open Sigil's database: `sigil migrate` today; `init` and the admin commands
//! join it. Each opens the database named by the global options and, when a master key is
//! available, checks it against what the database protects.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use sigil_jose::UnixTime;
use sigil_store::{Backend, Database, MasterKey, DatabaseError};

use crate::output;

/// Where the database is, from `--data-dir` and `--database-url`.
pub(crate) struct Location {
    data_dir: PathBuf,
    url: String,
    /// The URL was the default SQLite file in the data directory.
    default: bool,
}

impl Location {
    pub(crate) fn new(data_dir: &Path, url: Option<&str>) -> Self {
        match url {
            Some(url) => Location {
                data_dir: data_dir.to_owned(),
                url: url.to_owned(),
                default: false,
            },
            None => Location {
                data_dir: data_dir.to_owned(),
                url: format!("sqlite://{}", data_dir.join("sigil.db").display()),
                default: true,
            },
        }
    }

    /// A name for messages that never shows a password: the SQLite path, or the PostgreSQL host.
    fn describe(&self, backend: Backend) -> String {
        match backend {
            Backend::Sqlite => self.url.trim_start_matches("sqlite://").to_owned(),
            Backend::Postgres => {
                let rest = self.url.split_once("://").map_or("", |(_, rest)| rest);
                let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                format!(
                    "PostgreSQL at {}",
                    host.split('/').next().unwrap_or_default()
                )
            }
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Opens the database. For the default SQLite file, the data directory is created readable by
/// its owner only (0700), and so is the database file (0600) when it is new: they hold sealed
/// keys and secret digests. SQLite gives its -wal and -shm files the database file's mode.
async fn open(location: &Location) -> anyhow::Result<Database> {
    if location.default {
        create_private(&location.data_dir)?;
    }
    Database::connect(&location.url).await.map_err(|e| match e {
        DatabaseError::UnsupportedUrl(_) => {
            anyhow::anyhow!("{e}; check --database-url / SIGIL_DATABASE_URL")
        }
        other => anyhow::anyhow!(
            "{other}; check --database-url / SIGIL_DATABASE_URL and that the database is running"
        ),
    })
}

/// Creates the data directory (0700) and an empty database file (0600) if they are missing.
fn create_private(data_dir: &Path) -> anyhow::Result<()> {
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
    dir.create(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let db = data_dir.join("sigil.db");
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    match file.open(&db) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(anyhow::anyhow!("cannot create {}: {e}", db.display())),
    }
}

/// The master key if one is configured: `SIGIL_MASTER_KEY`, else `<data-dir>/master.key`.
fn configured_master_key(data_dir: &Path) -> anyhow::Result<Option<MasterKey>> {
    let env = std::env::var("SIGIL_MASTER_KEY")
        .ok()
        .filter(|v| !v.is_empty());
    if env.is_none() && !data_dir.join(sigil_store::MASTER_KEY_FILE).exists() {
        return Ok(None);
    }
    Ok(Some(MasterKey::load(env.as_deref(), data_dir, false)?.0))
}

/// `sigil migrate`.
pub(crate) fn migrate(location: &Location, now: UnixTime) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let db = open(location).await?;
        let name = location.describe(db.backend());
        let result = async {
            let migrated = db.migrate().await?;
            if let Some(key) = configured_master_key(&location.data_dir)? {
                db.check_master_key(&key, now.0).await?;
            }
            anyhow::Ok(migrated)
        }
        .await;
        db.close().await;
        let migrated = result?;
        if migrated.from == migrated.to {
            output::stdout(&format!(
                "{name}: schema already at version {}; nothing to do",
                migrated.to
            ))?;
        } else {
            output::stdout(&format!(
                "{name}: schema migrated from version {} to {}",
                migrated.from, migrated.to
            ))?;
        }
        Ok(ExitCode::SUCCESS)
    })
}
