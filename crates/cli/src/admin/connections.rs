//! `sigil connections list|create|delete`: where users come from, as the Management API's
//! `/connections` has them. `create` takes Auth0's body (its `options` in Auth0's names) and
//! goes through the same rules as `POST /api/v2/connections`: core's checks of the name,
//! strategy and options, one connection per social preset, then the provider's discovery
//! document read and a custom `oauth2` connection's profile script built (sigil-server's
//! `complete_connection`). Secrets are sealed at rest and never printed.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use sigil_core::federation::{Policy, UrlPolicy};
use sigil_core::ids::{ClientId, ConnectionId};
use sigil_core::management::{ConnectionCreate, check_one_per_tenant, connection_json, parse_body};
use sigil_core::{Conflict, Store as _, StoreError, SystemRng};
use sigil_jose::UnixTime;
use sigil_server::SetupError;

use super::{Format, print};
use crate::storage::{self, Location};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the connections, with the applications each is enabled for.
    List(Format),
    /// Make a connection: a database, another identity provider (oidc, okta, waad, oauth2,
    /// google-oauth2, github, apple, facebook, linkedin, windowslive), or passwordless login by
    /// a one-time code (email, sms).
    #[command(after_help = CREATE_AFTER_HELP)]
    Create(CreateArgs),
    /// Delete a connection and its users.
    Delete(DeleteArgs),
}

const CREATE_AFTER_HELP: &str = "\
--options is the connection's `options` object in Auth0's names, as JSON, or @FILE to read it \
from a file (keep secrets out of the shell's history). For example, GitHub:

  sigil connections create --name github --strategy github --client <client_id> \\
      --options '{\"client_id\":\"<GitHub OAuth app id>\",\"client_secret\":\"…\",\"email\":true}'

A passwordless connection sends codes by mail or SMS (the application needs the grant \
http://auth0.com/oauth/grant-type/passwordless/otp to trade them for tokens):

  sigil connections create --name email --strategy email --client <client_id> \\
      --options '{\"totp\":{\"length\":6,\"time_step\":300}}'
  sigil connections create --name sms --strategy sms --client <client_id> \\
      --options '{\"twilio_sid\":\"AC…\",\"twilio_token\":\"…\",\"from\":\"+15550001111\"}'

Without a provider an sms connection keeps its messages in the outbox (sigil outbox).

Register <issuer>login/callback at the provider as the callback URL. An oidc connection with \
discovery_url has its discovery document read now; http:// URLs are refused unless \
--federation-allow-http-loopback allows them to a loopback address.";

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Its name, as `connection` names it on the wire; never changes.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Its strategy (auth0 for a database).
    #[arg(long, value_name = "STRATEGY")]
    strategy: String,
    /// Its options in Auth0's names: a JSON object, or @FILE.
    #[arg(long, value_name = "JSON|@FILE")]
    options: Option<String>,
    /// An application to enable it for (repeat for several).
    #[arg(long = "client", value_name = "CLIENT_ID")]
    clients: Vec<String>,
    /// The name the login page's button shows.
    #[arg(long, value_name = "TEXT")]
    display_name: Option<String>,
    /// Show a login button for this enterprise connection.
    #[arg(long)]
    show_as_button: bool,
    /// Allow http:// upstream URLs to a loopback address (tests, local development).
    #[arg(long)]
    federation_allow_http_loopback: bool,
    #[command(flatten)]
    format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The connection's name.
    name: String,
}

pub(crate) fn run(
    command: Command,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::List(format) => list(&format, location, now),
        Command::Create(args) => create(args, location, now),
        Command::Delete(args) => delete(&args, location, now),
    }
}

fn list(format: &Format, location: &Location, now: UnixTime) -> anyhow::Result<ExitCode> {
    let shown = storage::with_initialised(location, now, async |opened| {
        let store = &opened.store;
        let mut shown = Vec::new();
        for connection in store
            .list_connections()
            .await
            .context("cannot read the connections")?
        {
            let clients = store
                .connection_clients(&connection.id)
                .await
                .context("cannot read a connection's applications")?;
            shown.push((connection, clients));
        }
        Ok(shown)
    })?;
    let json = Value::Array(
        shown
            .iter()
            .map(|(c, clients)| connection_json(c, clients))
            .collect(),
    );
    let lines: Vec<String> = if shown.is_empty() {
        vec!["No connections.".to_owned()]
    } else {
        shown
            .iter()
            .map(|(c, clients)| {
                format!(
                    "{} ({}), id {}, enabled for {} application(s)",
                    c.name,
                    c.strategy.as_str(),
                    c.id,
                    clients.len()
                )
            })
            .collect()
    };
    print(format, &json, &lines)?;
    Ok(ExitCode::SUCCESS)
}

/// `--options`: a JSON object given inline or as @FILE.
fn read_options(given: Option<&str>) -> anyhow::Result<Value> {
    let Some(given) = given else {
        return Ok(Value::Object(Map::new()));
    };
    let text = match given.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the options file {path}"))?,
        None => given.to_owned(),
    };
    let value: Value = serde_json::from_str(&text)
        .context("--options must be a JSON object, such as '{\"client_id\":\"…\"}'")?;
    anyhow::ensure!(value.is_object(), "--options must be a JSON object");
    Ok(value)
}

fn create(args: CreateArgs, location: &Location, now: UnixTime) -> anyhow::Result<ExitCode> {
    let mut body = json!({
        "name": args.name,
        "strategy": args.strategy,
        "options": read_options(args.options.as_deref())?,
        "enabled_clients": args.clients,
        "show_as_button": args.show_as_button,
    });
    if let Some(display_name) = &args.display_name {
        body["display_name"] = json!(display_name);
    }
    let policy = Policy {
        urls: UrlPolicy {
            allow_http_loopback: args.federation_allow_http_loopback,
        },
        ..Policy::default()
    };
    let refused = |e: sigil_core::management::ManagementError| anyhow::anyhow!("{}", e.parts().2);
    let mut new = parse_body::<ConnectionCreate>(body.to_string().as_bytes())
        .and_then(|c| c.into_connection(ConnectionId::generate(&SystemRng), now, &policy))
        .map_err(refused)?;
    let made = storage::with_initialised(location, now, async |opened| {
        let store = &opened.store;
        let existing = store
            .list_connections()
            .await
            .context("cannot read the connections")?;
        check_one_per_tenant(new.connection.strategy, &existing).map_err(refused)?;
        sigil_server::complete_connection(
            &mut new.connection,
            new.discovery.as_ref(),
            policy.clone(),
        )
        .await
        .map_err(|e| match e {
            SetupError::Refused(refusal) => refused(refusal),
            busy @ SetupError::Busy(_) => anyhow::anyhow!("{busy}"),
        })?;
        match store
            .create_connection(&new.connection, &new.enabled_clients)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(Conflict::Connection)) => anyhow::bail!(
                "a connection named {} exists already; choose another --name",
                new.connection.name
            ),
            Err(StoreError::NotFound("client")) => anyhow::bail!(
                "--client must name existing applications ({})",
                new.enabled_clients
                    .iter()
                    .map(ClientId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(e) => return Err(anyhow::Error::new(e).context("cannot create the connection")),
        }
        let clients = store
            .connection_clients(&new.connection.id)
            .await
            .context("cannot read the connection's applications")?;
        Ok(connection_json(&new.connection, &clients))
    })?;
    let lines = vec![format!(
        "created connection {} ({}), id {}; callback URL at the provider: <issuer>login/callback",
        new.connection.name,
        new.connection.strategy.as_str(),
        new.connection.id
    )];
    print(&args.format, &made, &lines)?;
    Ok(ExitCode::SUCCESS)
}

fn delete(args: &DeleteArgs, location: &Location, now: UnixTime) -> anyhow::Result<ExitCode> {
    storage::with_initialised(location, now, async |opened| {
        let store = &opened.store;
        let connection = store
            .connection_by_name(&args.name)
            .await
            .context("cannot read the connections")?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "there is no connection named {}; see `sigil connections list`",
                    args.name
                )
            })?;
        store
            .delete_connection(&connection.id)
            .await
            .context("cannot delete the connection")
    })?;
    crate::output::stdout(&format!("deleted connection {} and its users", args.name))?;
    Ok(ExitCode::SUCCESS)
}
