//! Opening Sigil's database for the commands that use it: `sigil migrate`, `sigil init` and the
//! admin commands (`clients`, `apis`, `grants`, `users`).
//!
//! `migrate` and `init` create what is missing (the data directory 0700, the SQLite file 0600,
//! the schema; `init` also the master key). The admin commands create nothing: they open an
//! initialised installation through [`with_initialised`], which checks the schema, the master
//! key and the tenant, and say which command to run when one of them is missing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use sigil_core::Store as _;
use sigil_core::model::TenantSettings;
use sigil_jose::UnixTime;
use sigil_store::{
    Backend, Database, DatabaseError, MASTER_KEY_FILE, MasterKey, MasterKeySource, Migrated,
    SqlStore,
};

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

    /// The data directory (master key, admin credentials, and the default SQLite file).
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The engine the URL names, before connecting (PostgreSQL or else SQLite).
    fn backend(&self) -> Backend {
        if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// A name for messages that never shows a password: the SQLite path, or the PostgreSQL host.
    pub(crate) fn describe(&self) -> String {
        match self.backend() {
            Backend::Sqlite => self.sqlite_path().to_owned(),
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

    /// The file a `sqlite:` URL names, without its `?options`.
    fn sqlite_path(&self) -> &str {
        let rest = self.url.strip_prefix("sqlite:").unwrap_or(&self.url);
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        rest.split('?').next().unwrap_or_default()
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
    connect(location).await
}

async fn connect(location: &Location) -> anyhow::Result<Database> {
    Database::connect(&location.url).await.map_err(|e| match e {
        DatabaseError::UnsupportedUrl(_) => {
            anyhow::anyhow!("{e}; check --database-url / SIGIL_DATABASE_URL")
        }
        other => anyhow::anyhow!(
            "{other}; check --database-url / SIGIL_DATABASE_URL and that the database is running"
        ),
    })
}

/// Creates the data directory (0700) if it is missing.
fn create_private_dir(data_dir: &Path) -> anyhow::Result<()> {
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
    dir.create(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))
}

/// Creates the data directory (0700) and an empty database file (0600) if they are missing.
fn create_private(data_dir: &Path) -> anyhow::Result<()> {
    create_private_dir(data_dir)?;
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

/// `SIGIL_MASTER_KEY`, when it is set and not empty.
fn master_key_env() -> Option<String> {
    std::env::var("SIGIL_MASTER_KEY")
        .ok()
        .filter(|v| !v.is_empty())
}

/// The master key if one is configured: `SIGIL_MASTER_KEY`, else `<data-dir>/master.key`.
fn configured_master_key(data_dir: &Path) -> anyhow::Result<Option<MasterKey>> {
    let env = master_key_env();
    if env.is_none() && !data_dir.join(MASTER_KEY_FILE).exists() {
        return Ok(None);
    }
    Ok(Some(MasterKey::load(env.as_deref(), data_dir, false)?.0))
}

/// `sigil migrate`.
pub(crate) fn migrate(location: &Location, now: UnixTime) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let db = open(location).await?;
        let name = location.describe();
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
        output::stdout(&describe_migration(&name, migrated))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// "…: schema migrated from version 0 to 2", or "…: schema already at version 2; nothing to do".
pub(crate) fn describe_migration(name: &str, migrated: Migrated) -> String {
    if migrated.from == migrated.to {
        format!(
            "{name}: schema already at version {}; nothing to do",
            migrated.to
        )
    } else {
        format!(
            "{name}: schema migrated from version {} to {}",
            migrated.from, migrated.to
        )
    }
}

/// What `sigil init` opened: a migrated database behind a checked master key.
pub(crate) struct ForInit {
    /// The store.
    pub(crate) store: SqlStore,
    /// What the schema migration did.
    pub(crate) migrated: Migrated,
    /// Where the master key came from (`Created` when this run wrote the key file).
    pub(crate) key_source: MasterKeySource,
}

/// Runs `f` on the database `sigil init` sets up: the data directory (0700, also for
/// PostgreSQL: the master key and the admin credentials live there), the SQLite file (0600),
/// the schema, and the master key (created in `<data-dir>/master.key` unless `SIGIL_MASTER_KEY`
/// is set), checked against the database before anything is written.
pub(crate) fn with_init<T>(
    location: &Location,
    now: UnixTime,
    f: impl AsyncFnOnce(&ForInit) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    runtime()?.block_on(async {
        create_private_dir(&location.data_dir)?;
        let db = open(location).await?;
        let opened = async {
            let migrated = db.migrate().await?;
            let (key, key_source) = load_or_create_master_key(&location.data_dir)?;
            match SqlStore::open(db.clone(), key, now).await {
                Ok(store) => Ok(ForInit {
                    store,
                    migrated,
                    key_source,
                }),
                Err(DatabaseError::WrongMasterKey) => {
                    Err(wrong_key_for_init(&key_source, &location.data_dir))
                }
                Err(e) => Err(e.into()),
            }
        }
        .await;
        let result = match opened {
            Ok(opened) => f(&opened).await,
            Err(e) => Err(e),
        };
        db.close().await;
        result
    })
}

/// The master key for `init`: `SIGIL_MASTER_KEY`, the key file, or a new key file. Another
/// `sigil init` on the same data directory may create the file between this one's look and its
/// write (the write never replaces a file); then the other's key is read and used.
fn load_or_create_master_key(data_dir: &Path) -> anyhow::Result<(MasterKey, MasterKeySource)> {
    let env = master_key_env();
    match MasterKey::load(env.as_deref(), data_dir, true) {
        Ok(loaded) => Ok(loaded),
        Err(first) if env.is_none() && data_dir.join(MASTER_KEY_FILE).exists() => {
            MasterKey::load(None, data_dir, false).map_err(|_| first.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The database was set up with another key. If this run created the key file, the original
/// one is missing (lost, or never copied to this node): the new file is removed, so that the
/// next command cannot mistake it for the real key, and nothing is initialised again.
fn wrong_key_for_init(source: &MasterKeySource, data_dir: &Path) -> anyhow::Error {
    match source {
        MasterKeySource::Created(path) => {
            let _ = std::fs::remove_file(path);
            anyhow::anyhow!(
                "this database was set up with a master key that this data directory lacks: \
                 there was no {} (the key generated just now was removed; nothing was changed); \
                 copy the original key file there or set SIGIL_MASTER_KEY",
                data_dir.join(MASTER_KEY_FILE).display()
            )
        }
        _ => DatabaseError::WrongMasterKey.into(),
    }
}

/// An initialised installation, as the admin commands see it.
pub(crate) struct Opened {
    /// The store.
    pub(crate) store: SqlStore,
    /// The tenant's settings (its issuer in particular).
    pub(crate) tenant: TenantSettings,
}

/// Runs `f` on an initialised installation, or fails with one line naming the command to run:
/// `sigil init` when there is no database, schema, master key or tenant yet, `sigil migrate`
/// when the schema is older than this build. Nothing is created, not even an empty file.
pub(crate) fn with_initialised<T>(
    location: &Location,
    now: UnixTime,
    f: impl AsyncFnOnce(&Opened) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let name = location.describe();
    if location.backend() == Backend::Sqlite {
        let path = location.sqlite_path();
        if path != ":memory:" && !Path::new(path).exists() {
            anyhow::bail!("there is no Sigil database at {name}; run `sigil init` first");
        }
    }
    runtime()?.block_on(async {
        let db = connect(location).await?;
        let opened = async {
            match db.check_schema().await {
                Err(DatabaseError::SchemaTooOld { found: 0, .. }) => {
                    anyhow::bail!("the database at {name} is empty; run `sigil init` first")
                }
                other => other?,
            }
            let env = master_key_env();
            let (key, _) = MasterKey::load(env.as_deref(), &location.data_dir, false)?;
            let store = SqlStore::open(db.clone(), key, now).await?;
            let Some(tenant) = store
                .tenant_settings()
                .await
                .context("cannot read the tenant settings")?
            else {
                anyhow::bail!("Sigil is not initialised in {name}; run `sigil init` first");
            };
            Ok(Opened { store, tenant })
        }
        .await;
        let result = match opened {
            Ok(opened) => f(&opened).await,
            Err(e) => Err(e),
        };
        db.close().await;
        result
    })
}
