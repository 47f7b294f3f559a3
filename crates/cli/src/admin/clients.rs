//! `sigil clients create`: registers an application with Auth0's defaults for its type
//! ([`ClientSettings::for_type`]). Confidential types get a client secret, shown once; Sigil
//! keeps only its SHA-256 digest.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sigil_core::ids::ClientId;
use sigil_core::model::{AppType, Client, ClientSettings, GrantType};
use sigil_core::secret::ClientSecret;
use sigil_core::{Store as _, SystemRng};
use sigil_jose::UnixTime;

use super::{Format, validate};
use crate::storage::{self, Location};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Register an application; confidential ones get a client secret, shown once.
    #[command(after_help = CREATE_AFTER_HELP)]
    Create(CreateArgs),
}

const CREATE_AFTER_HELP: &str = "\
Types: spa and native are public clients (no secret; authorization code with PKCE); \
regular_web and non_interactive (machine to machine) are confidential and get a client secret, \
printed once: Sigil keeps only its digest. Without --grant, the grant types are Auth0's \
defaults for the type.

URLs are absolute http or https URLs without a fragment, kept exactly as given (redirect URIs \
are compared exactly). Native applications may also use a private-use scheme in reverse-domain \
form (RFC 8252), such as com.example.app:/callback. Web origins are http(s)://host[:port].";

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The application's name, shown on login and consent pages.
    #[arg(long, value_name = "N", value_parser = validate::name)]
    name: String,
    /// The application type: spa, native, regular_web or non_interactive.
    #[arg(long = "type", value_name = "TYPE", value_parser = validate::app_type)]
    app_type: AppType,
    /// An allowed redirect URI (repeat for several).
    #[arg(long = "callback", value_name = "URL", value_parser = validate::app_url)]
    callbacks: Vec<String>,
    /// An allowed URL to return to after logout (repeat for several).
    #[arg(long = "logout-url", value_name = "URL", value_parser = validate::app_url)]
    logout_urls: Vec<String>,
    /// An allowed web origin for silent authentication and CORS (repeat for several).
    #[arg(long = "web-origin", value_name = "URL", value_parser = validate::web_origin)]
    web_origins: Vec<String>,
    /// A grant type the application may use (repeat for several); replaces the type's defaults.
    #[arg(long = "grant", value_name = "TYPE", value_parser = validate::grant_type)]
    grants: Vec<GrantType>,
    #[command(flatten)]
    format: Format,
}

/// A new client with Auth0's defaults for `app_type`: first party, the type's grants and
/// token endpoint authentication, RS256 ID tokens. `secret` is given for confidential types;
/// only its digest is kept.
// This is a model constructor: it belongs in sigil-core as `Client::new`.
pub(crate) fn new_client(
    client_id: ClientId,
    name: String,
    app_type: AppType,
    secret: Option<&ClientSecret>,
    now: UnixTime,
) -> Client {
    Client {
        client_id,
        name,
        app_type,
        is_first_party: true,
        secret_digest: secret.map(ClientSecret::digest),
        signing_secret: None,
        settings: ClientSettings::for_type(app_type),
        created_at: now,
        updated_at: now,
    }
}

/// `sigil clients …`.
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
    check_for_type(&args)?;
    let rng = SystemRng;
    let secret = (!args.app_type.is_public()).then(|| ClientSecret::generate(&rng));
    let mut client = new_client(
        ClientId::generate(&rng),
        args.name,
        args.app_type,
        secret.as_ref(),
        now,
    );
    client.settings.callbacks = args.callbacks;
    client.settings.allowed_logout_urls = args.logout_urls;
    client.settings.web_origins = args.web_origins;
    if !args.grants.is_empty() {
        let mut grants = args.grants;
        super::dedup_in_order(&mut grants);
        client.settings.grant_types = grants;
    }
    let issuer = storage::with_initialised(location, now, async |opened| {
        opened
            .store
            .create_client(&client)
            .await
            .context("cannot create the client")?;
        Ok(opened.tenant.issuer.clone())
    })?;

    let json = client_json(&client, secret.as_ref());
    let mut lines = vec![
        format!(
            "created client \"{}\" ({}): client_id {}",
            client.name,
            client.app_type.as_str(),
            client.client_id
        ),
        format!(
            "grant types: {}",
            client
                .settings
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ];
    match &secret {
        Some(secret) => {
            lines.push(format!(
                "client_secret: {} (shown only now: Sigil keeps only its digest)",
                secret.expose()
            ));
            lines.push(format!("token endpoint: {issuer}oauth/token"));
        }
        None => lines.push("public client: no secret; use PKCE".to_owned()),
    }
    super::print(&args.format, &json, &lines)?;
    Ok(ExitCode::SUCCESS)
}

/// What depends on the type: only native apps use private-use URL schemes, and public clients
/// cannot authenticate, so they cannot use the client-credentials grant (Auth0 refuses it too).
fn check_for_type(args: &CreateArgs) -> anyhow::Result<()> {
    if args.app_type != AppType::Native {
        for url in args.callbacks.iter().chain(&args.logout_urls) {
            let scheme = url.split(':').next().unwrap_or_default();
            if validate::is_private_use_scheme(scheme) {
                anyhow::bail!(
                    "{url}: only native applications may use a private-use scheme; use an http(s) URL or --type native"
                );
            }
        }
    }
    if args.app_type.is_public() && args.grants.contains(&GrantType::ClientCredentials) {
        anyhow::bail!(
            "a {} application is a public client and cannot use the client_credentials grant; use --type non_interactive for machine-to-machine access",
            args.app_type.as_str()
        );
    }
    Ok(())
}

/// The client as Auth0's Management API returns it; `client_secret` only when given (on
/// creation, the one time it exists).
pub(crate) fn client_json(client: &Client, secret: Option<&ClientSecret>) -> serde_json::Value {
    let mut object = match serde_json::to_value(&client.settings) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    // Keys registered for private_key_jwt are Auth0's `client_authentication_methods`, a
    // separate shape; absent values are omitted, as Auth0 does.
    object.remove("credentials");
    object.retain(|_, v| !v.is_null());
    let mut json = serde_json::json!({
        "client_id": client.client_id,
        "name": client.name,
        "app_type": client.app_type,
        "is_first_party": client.is_first_party,
    });
    if let (Some(secret), Some(map)) = (secret, json.as_object_mut()) {
        map.insert("client_secret".into(), secret.expose().into());
    }
    if let Some(map) = json.as_object_mut() {
        map.extend(object);
    }
    json
}
