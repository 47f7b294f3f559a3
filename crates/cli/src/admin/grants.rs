//! `sigil grants create`: lets a client get access tokens for an API with the client
//! credentials grant, with at most the given scopes (Auth0's client grant).

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sigil_core::ids::{ClientGrantId, ClientId};
use sigil_core::model::ClientGrant;
use sigil_core::{Conflict, Store as _, StoreError, SystemRng};
use sigil_jose::UnixTime;

use super::{Format, dedup_in_order, validate};
use crate::storage::{self, Location};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Grant a client access to an API with some of its scopes (client credentials).
    #[command(after_help = CREATE_AFTER_HELP)]
    Create(CreateArgs),
}

const CREATE_AFTER_HELP: &str = "\
Each --scope must be one the API defines. A client has at most one grant per API.";

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The client's client_id.
    #[arg(long, value_name = "ID")]
    client: String,
    /// The API's identifier (audience).
    #[arg(long, value_name = "AUD")]
    api: String,
    /// A scope of the API to grant (repeat for several).
    #[arg(long = "scope", value_name = "S", value_parser = validate::scope_token)]
    scopes: Vec<String>,
    #[command(flatten)]
    format: Format,
}

/// `sigil grants …`.
pub(crate) fn run(
    command: Command,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Create(args) => create(args, location, now),
    }
}

fn create(args: CreateArgs, location: &Location, now: UnixTime) -> anyhow::Result<ExitCode> {
    let mut scopes = args.scopes;
    dedup_in_order(&mut scopes);
    let grant = ClientGrant {
        id: ClientGrantId::generate(&SystemRng),
        client_id: ClientId::from(args.client),
        audience: args.api,
        scope: scopes,
        created_at: now,
    };
    storage::with_initialised(location, now, async |opened| {
        let store = &opened.store;
        if store
            .client(&grant.client_id)
            .await
            .context("cannot read the client")?
            .is_none()
        {
            anyhow::bail!("there is no client with client_id {}", grant.client_id);
        }
        let Some(api) = store
            .resource_server_by_identifier(&grant.audience)
            .await
            .context("cannot read the API")?
        else {
            anyhow::bail!(
                "there is no API with identifier {}; create it with `sigil apis create`",
                grant.audience
            );
        };
        if let Some(unknown) = grant
            .scope
            .iter()
            .find(|s| !api.scopes.iter().any(|d| &d.value == *s))
        {
            let defined = api
                .scopes
                .iter()
                .map(|d| d.value.as_str())
                .collect::<Vec<_>>();
            let listed = match defined.len() {
                0 => "no scopes".to_owned(),
                1..=12 => defined.join(" "),
                n => format!("{} … ({n} scopes)", defined[..12].join(" ")),
            };
            anyhow::bail!(
                "the API {} does not define the scope {unknown}; it defines {listed}",
                api.identifier,
            );
        }
        match store.create_client_grant(&grant).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(Conflict::ClientGrant)) => anyhow::bail!(
                "client {} already has a grant for the API {}",
                grant.client_id,
                grant.audience
            ),
            Err(e) => Err(anyhow::Error::new(e).context("cannot create the grant")),
        }
    })?;

    let lines = [format!(
        "granted client {} access to {} with scopes: {} (grant {})",
        grant.client_id,
        grant.audience,
        if grant.scope.is_empty() {
            "none".to_owned()
        } else {
            grant.scope.join(" ")
        },
        grant.id
    )];
    let json = serde_json::json!({
        "id": grant.id,
        "client_id": grant.client_id,
        "audience": grant.audience,
        "scope": grant.scope,
    });
    super::print(&args.format, &json, &lines)?;
    Ok(ExitCode::SUCCESS)
}
