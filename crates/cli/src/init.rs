//! `sigil init`: the idempotent bootstrap. Each piece of a working installation is made only
//! when it is missing (tenant settings, the first RS256 signing key, the database connection
//! `Username-Password-Authentication`, the Management API, an admin machine-to-machine client
//! with a grant for every Management API scope), so running it again changes nothing.
//!
//! # Two inits at once
//!
//! Two nodes starting on one PostgreSQL database may both bootstrap. Every step is a write
//! that the database's unique constraints decide, never check-then-write: of two racing
//! creations one succeeds and the other gets a conflict, which here means "already there".
//! The connection name, the API identifier, the one-current- and one-next-key-per-family
//! indexes and the one-grant-per-client-and-API key decide theirs. The admin client has no
//! natural unique value, so its `client_id` is derived from the Management API's (random,
//! stored) id: every init computes the same id, the primary key lets exactly one create it, and
//! only the winner has a secret to write to `admin-credentials.json`.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Serialize;
use sigil_core::ids::{ClientGrantId, ClientId, ConnectionId, ResourceServerId};
use sigil_core::model::connection::DEFAULT_DATABASE_CONNECTION;
use sigil_core::model::{
    AppType, Client, ClientGrant, Connection, ConnectionOptions, ResourceServer,
    ResourceServerScope, Strategy, TenantSettings,
};
use sigil_core::secret::{ClientSecret, SecretDigest};
use sigil_core::{Conflict, Rng, Store, StoreError, SystemRng};
use sigil_jose::UnixTime;
use sigil_store::MasterKeySource;

use crate::admin::{keys, validate};
use crate::management_scopes::MANAGEMENT_API_SCOPES;
use crate::output;
use crate::storage::{self, Location};

/// The file the admin client's credentials are written to, once, in the data directory.
pub(crate) const ADMIN_CREDENTIALS_FILE: &str = "admin-credentials.json";
/// The admin client's name.
const ADMIN_CLIENT_NAME: &str = "Sigil Admin (CLI)";
/// The Management API's name.
const MANAGEMENT_API_NAME: &str = "Sigil Management API";

pub(crate) const AFTER_HELP: &str = "\
Creates what is missing, in order: the data directory (0700), the database and its schema, the \
master key (<data-dir>/master.key, mode 0600, unless SIGIL_MASTER_KEY is set), the tenant \
settings (issuer from --issuer, ending in '/'), a first RS256 signing key, the database \
connection Username-Password-Authentication, the Management API (<issuer>api/v2/) and an \
admin machine-to-machine client granted every Management API scope.

The admin client's credentials are printed and written once to \
<data-dir>/admin-credentials.json (mode 0600, never overwritten) as \
{\"client_id\",\"client_secret\",\"audience\",\"token_endpoint\"}. The secret is stored only \
as a digest and cannot be shown again.

Running init again changes nothing. A master key that does not match the database is an \
error, never a reason to start over.";

/// The admin client's credentials, as `admin-credentials.json` holds them.
#[derive(Serialize)]
struct AdminCredentials<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    audience: &'a str,
    token_endpoint: String,
}

/// What [`bootstrap`] found and made.
pub(crate) struct Bootstrapped {
    /// The tenant's issuer (the stored one when the tenant existed already).
    pub(crate) issuer: String,
    /// One line per thing created by this run; empty when everything was there.
    pub(crate) created: Vec<String>,
    /// The Management API's identifier.
    pub(crate) audience: String,
    /// The admin client.
    pub(crate) admin_client: ClientId,
    /// The admin client's secret when this run created the client: the only time it exists.
    pub(crate) admin_secret: Option<ClientSecret>,
}

/// `sigil init`.
pub(crate) fn run(location: &Location, issuer: &str, now: UnixTime) -> anyhow::Result<ExitCode> {
    // Checked before anything is created, even though an initialised tenant keeps its issuer.
    validate::issuer(issuer)?;
    storage::with_init(location, now, async |opened| {
        initialise(location, opened, issuer, now, Caller::Init).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Who bootstraps, which decides what is reported where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// `sigil init`, run by a person: everything on stdout, "nothing to do" included, and the
    /// admin client's secret shown once besides being saved.
    Init,
    /// `sigil serve`, whose output goes to logs that are shipped elsewhere: only what changed,
    /// as log lines, and the credentials file named, never the secret.
    Serve,
}

/// Bootstraps what is missing and reports it (see [`Caller`]).
pub(crate) async fn initialise(
    location: &Location,
    opened: &storage::ForInit,
    issuer: &str,
    now: UnixTime,
    caller: Caller,
) -> anyhow::Result<Bootstrapped> {
    let name = location.describe();
    let mut lines = Vec::new();
    if opened.migrated.from != opened.migrated.to {
        lines.push(storage::describe_migration(&name, opened.migrated));
    }
    if let MasterKeySource::Created(path) = &opened.key_source {
        lines.push(format!(
            "master key: created {} (mode 0600); back it up, nothing sealed in the database \
             can be read without it",
            path.display()
        ));
    }
    let done = bootstrap(&opened.store, issuer, now, &SystemRng).await?;
    lines.extend(done.created.iter().cloned());
    if caller == Caller::Init || !lines.is_empty() || done.issuer != issuer {
        report(location.data_dir(), &name, issuer, lines, &done, caller)?;
    }
    Ok(done)
}

/// Makes whatever is missing of a working installation, each step an idempotent "ensure" that
/// the database decides (see the module documentation). `sigil serve` runs this on an empty
/// database too.
pub(crate) async fn bootstrap(
    store: &impl Store,
    issuer: &str,
    now: UnixTime,
    rng: &dyn Rng,
) -> anyhow::Result<Bootstrapped> {
    let mut created = Vec::new();
    let issuer = ensure_tenant(store, issuer, now, &mut created).await?;
    // RSA keys only: P-256 keys are made with the first ES256 API, so that the default JWKS
    // serves verifiers that only understand RSA.
    created.extend(keys::ensure(store, keys::Family::Rs256, now).await?);
    ensure_connection(store, now, rng, &mut created).await?;
    let api = ensure_management_api(store, &issuer, now, rng, &mut created).await?;
    let (admin_client, admin_secret) =
        ensure_admin_client(store, &api, now, rng, &mut created).await?;
    Ok(Bootstrapped {
        issuer,
        created,
        audience: api.identifier,
        admin_client,
        admin_secret,
    })
}

/// The tenant settings; created with `issuer` if missing. Returns the tenant's issuer. Of two
/// racing first inits the store lets exactly one create them; the other reads the winner's.
async fn ensure_tenant(
    store: &impl Store,
    issuer: &str,
    now: UnixTime,
    created: &mut Vec<String>,
) -> anyhow::Result<String> {
    if let Some(tenant) = store
        .tenant_settings()
        .await
        .context("cannot read the tenant settings")?
    {
        return Ok(tenant.issuer);
    }
    validate::issuer(issuer)?;
    let settings = TenantSettings {
        issuer: issuer.to_owned(),
        ..TenantSettings::default()
    };
    let stored = store
        .init_tenant_settings(&settings, now)
        .await
        .context("cannot write the tenant settings")?;
    if stored == settings {
        created.push(format!("tenant: created, issuer {issuer}"));
    }
    Ok(stored.issuer)
}

/// The default database connection.
async fn ensure_connection(
    store: &impl Store,
    now: UnixTime,
    rng: &dyn Rng,
    created: &mut Vec<String>,
) -> anyhow::Result<()> {
    if store
        .connection_by_name(DEFAULT_DATABASE_CONNECTION)
        .await
        .context("cannot read the connections")?
        .is_some()
    {
        return Ok(());
    }
    let connection = Connection::new(
        ConnectionId::generate(rng),
        DEFAULT_DATABASE_CONNECTION,
        Strategy::Auth0,
        ConnectionOptions::default(),
        now,
    );
    match store.create_connection(&connection, &[]).await {
        Ok(()) => {
            created.push(format!(
                "connection: created {DEFAULT_DATABASE_CONNECTION} (database)"
            ));
            Ok(())
        }
        Err(StoreError::Conflict(Conflict::Connection)) => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot create the database connection")),
    }
}

/// The Management API (`<issuer>api/v2/`), as stored.
async fn ensure_management_api(
    store: &impl Store,
    issuer: &str,
    now: UnixTime,
    rng: &dyn Rng,
    created: &mut Vec<String>,
) -> anyhow::Result<ResourceServer> {
    let identifier = format!("{issuer}api/v2/");
    let read = async || {
        store
            .resource_server_by_identifier(&identifier)
            .await
            .context("cannot read the Management API")
    };
    if let Some(api) = read().await? {
        return Ok(api);
    }
    let mut api = ResourceServer::new(
        ResourceServerId::generate(rng),
        identifier.clone(),
        MANAGEMENT_API_NAME.to_owned(),
        now,
    );
    api.is_system = true;
    api.scopes = MANAGEMENT_API_SCOPES
        .iter()
        .map(|(value, description)| ResourceServerScope {
            value: (*value).to_owned(),
            description: (*description).to_owned(),
        })
        .collect();
    match store.create_resource_server(&api).await {
        Ok(()) => {
            created.push(format!(
                "Management API: created {identifier} ({} scopes)",
                api.scopes.len()
            ));
            Ok(api)
        }
        // Another init created it: use theirs, whose id decides the admin client's id.
        Err(StoreError::Conflict(Conflict::ResourceServer)) => read()
            .await?
            .context("the Management API was created and is gone again"),
        Err(e) => Err(anyhow::Error::new(e).context("cannot create the Management API")),
    }
}

/// The admin client and its grant for every Management API scope. Returns the client's id,
/// and its secret when this run created it.
async fn ensure_admin_client(
    store: &impl Store,
    api: &ResourceServer,
    now: UnixTime,
    rng: &dyn Rng,
    created: &mut Vec<String>,
) -> anyhow::Result<(ClientId, Option<ClientSecret>)> {
    let client_id = admin_client_id(api);
    let existing = store
        .client(&client_id)
        .await
        .context("cannot read the admin client")?;
    let mut secret = None;
    if existing.is_none() {
        let new_secret = ClientSecret::generate(rng);
        let mut client = Client::new(
            client_id.clone(),
            ADMIN_CLIENT_NAME.to_owned(),
            AppType::NonInteractive,
            Some(&new_secret),
            now,
        );
        client.settings.description =
            Some("Made by `sigil init`: machine-to-machine access to the Management API".into());
        match store.create_client(&client).await {
            Ok(()) => {
                created.push(format!("admin client: created {client_id}"));
                secret = Some(new_secret);
            }
            // Another init created it first; its secret is that init's to hand out.
            Err(StoreError::Conflict(Conflict::Client)) => {}
            Err(e) => return Err(anyhow::Error::new(e).context("cannot create the admin client")),
        }
    }
    let has_grant = store
        .client_grant_for(&client_id, &api.identifier)
        .await
        .context("cannot read the admin client's grant")?
        .is_some();
    if !has_grant {
        let grant = ClientGrant {
            id: ClientGrantId::generate(rng),
            client_id: client_id.clone(),
            audience: api.identifier.clone(),
            scope: api.scopes.iter().map(|s| s.value.clone()).collect(),
            created_at: now,
        };
        match store.create_client_grant(&grant).await {
            Ok(()) => created.push(format!(
                "admin client: granted all {} Management API scopes",
                grant.scope.len()
            )),
            Err(StoreError::Conflict(Conflict::ClientGrant)) => {}
            Err(e) => {
                return Err(anyhow::Error::new(e).context("cannot grant the admin client access"));
            }
        }
    }
    Ok((client_id, secret))
}

/// The admin client's id: 32 letters and digits derived from the Management API's id, so
/// that every init of one database computes the same one (see the module documentation). A
/// `client_id` is public, so its being derived rather than random gives nothing away; the
/// small bias of `byte % 62` does not matter for an identifier.
fn admin_client_id(api: &ResourceServer) -> ClientId {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let digest = SecretDigest::of(&format!("sigil admin client of {}", api.id));
    ClientId(
        digest
            .0
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b % 62)]))
            .collect(),
    )
}

/// Prints what init did, and writes and prints the admin credentials when they are new.
fn report(
    data_dir: &Path,
    name: &str,
    requested_issuer: &str,
    lines: Vec<String>,
    done: &Bootstrapped,
    caller: Caller,
) -> anyhow::Result<ExitCode> {
    let say = |line: &str| match caller {
        Caller::Init => output::stdout(line),
        Caller::Serve => {
            tracing::info!("{}", line.trim());
            Ok(())
        }
    };
    let path = data_dir.join(ADMIN_CREDENTIALS_FILE);
    if lines.is_empty() {
        say(&format!(
            "{name}: already initialised; nothing to do (issuer {}, admin client {})",
            done.issuer, done.admin_client
        ))?;
    } else {
        say(&format!("{name}: initialised"))?;
        for line in &lines {
            say(&format!("  {line}"))?;
        }
    }
    if done.issuer != requested_issuer {
        say(&format!(
            "note: the tenant's issuer is {} (set by the first init); --issuer {requested_issuer} was not applied",
            done.issuer
        ))?;
    }
    let Some(secret) = &done.admin_secret else {
        let whereabouts = if path.exists() {
            format!("it is in {}", path.display())
        } else {
            format!(
                "{} was written by the init that created the client",
                path.display()
            )
        };
        say(&format!(
            "The admin client's secret is stored only as a digest and cannot be shown again; {whereabouts}."
        ))?;
        return Ok(ExitCode::SUCCESS);
    };
    let credentials = AdminCredentials {
        client_id: done.admin_client.as_str(),
        client_secret: secret.expose(),
        audience: &done.audience,
        token_endpoint: format!("{}oauth/token", done.issuer),
    };
    let json =
        serde_json::to_string_pretty(&credentials).context("cannot format the credentials")?;
    let saved = write_credentials(&path, &json);
    if caller == Caller::Serve {
        // Never the secret itself: this output is a log.
        return match saved {
            Ok(()) => {
                say(&format!(
                    "the admin client's credentials are in {} (mode 0600)",
                    path.display()
                ))?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(e.context(
                "cannot save the admin client's credentials; run `sigil init` in a terminal \
                 on an empty data directory to see them",
            )),
        };
    }
    say("Admin client credentials (the secret is shown only now):")?;
    say(&json)?;
    match saved {
        Ok(()) => say(&format!("Saved to {} (mode 0600).", path.display()))?,
        // The credentials are on stdout above: a warning, not a failure.
        Err(e) => output::stderr(&format!(
            "warning: {e}; keep the credentials printed above, they cannot be shown again"
        )),
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the credentials to a new file readable by its owner only; never replaces one.
fn write_credentials(path: &Path, json: &str) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        ErrorKind::AlreadyExists => anyhow::anyhow!(
            "{} already exists (from another installation?) and was left unchanged",
            path.display()
        ),
        _ => anyhow::anyhow!("cannot create {}: {e}", path.display()),
    })?;
    writeln!(file, "{json}")
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
