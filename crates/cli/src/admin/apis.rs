//! `sigil apis create`: registers an API (Auth0's resource server), the audience that access
//! tokens are made for, with Auth0's defaults ([`ResourceServer::new`]). A PS256 or ES256
//! API first makes sure the tenant's key family for it exists ([`keys::ensure`]).

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sigil_core::ids::ResourceServerId;
use sigil_core::model::{ResourceServer, ResourceServerScope, TokenDialect};
use sigil_core::{Conflict, Store as _, StoreError, SystemRng};
use sigil_jose::{Algorithm, UnixTime};

use super::keys::{self, Family};
use super::{Format, validate};
use crate::storage::{self, Location};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Register an API: the audience (aud) access tokens are made for, and its scopes.
    #[command(after_help = CREATE_AFTER_HELP)]
    Create(CreateArgs),
}

const CREATE_AFTER_HELP: &str = "\
The identifier is the tokens' audience; it cannot change later. A URL is customary \
(https://api.example.com/), any string without spaces works.

--rbac makes the API enforce role-based access control: a user's token carries only the \
scopes their roles and permissions give. --permissions-claim also lists them in a \
`permissions` claim (Auth0's token dialect access_token_authz); it needs --rbac, as in Auth0.

--alg is RS256 (the default, which every verifier understands, signed with the tenant's RSA \
keys), PS256 or ES256: the first PS256 or ES256 API makes a current and a next key of that \
family (RSA keys published as PS256, or P-256 keys), which the JWKS publishes from then on \
beside the RS256 keys (rotate them with `sigil keys rotate --alg PS256|ES256`). Auth0's \
HS256 signs with a secret of the API's own, which Sigil does not keep.";

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The API's identifier: the `aud` of its access tokens. Never changes.
    #[arg(long, value_name = "AUD", value_parser = identifier)]
    identifier: String,
    /// A name for people.
    #[arg(long, value_name = "N", value_parser = validate::name)]
    name: String,
    /// A scope the API defines, optionally with a description shown on the consent page
    /// (repeat for several): --scope read:messages or --scope 'read:messages=Read your messages'.
    #[arg(long = "scope", value_name = "SCOPE[=DESCRIPTION]", value_parser = scope_definition)]
    scopes: Vec<ResourceServerScope>,
    /// Enforce role-based access control (Auth0's enforce_policies).
    #[arg(long)]
    rbac: bool,
    /// Put the user's permissions in a `permissions` claim (needs --rbac).
    #[arg(long, requires = "rbac")]
    permissions_claim: bool,
    /// Let applications get refresh tokens for this API (`offline_access`; Auth0's
    /// allow_offline_access).
    #[arg(long)]
    offline_access: bool,
    /// The access tokens' signing algorithm: RS256, PS256 or ES256.
    #[arg(long, value_name = "ALG", default_value = "RS256", value_parser = signing_alg)]
    alg: Algorithm,
    #[command(flatten)]
    format: Format,
}

/// An API identifier: not empty, no whitespace.
fn identifier(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("an API identifier cannot be empty".to_owned());
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("an API identifier cannot contain spaces".to_owned());
    }
    Ok(text.to_owned())
}

/// `SCOPE` or `SCOPE=DESCRIPTION`.
fn scope_definition(text: &str) -> Result<ResourceServerScope, String> {
    let (value, description) = text.split_once('=').unwrap_or((text, ""));
    Ok(ResourceServerScope {
        value: validate::scope_token(value)?,
        description: description.trim().to_owned(),
    })
}

/// The algorithms an API's access tokens may use: those a family of the tenant's keys signs.
fn signing_alg(text: &str) -> Result<Algorithm, String> {
    match text.parse::<Algorithm>() {
        Ok(alg) if Family::signing(alg).is_some() => Ok(alg),
        Ok(Algorithm::HS256) => Err(
            "HS256 signs with a secret of the API's own, which Sigil does not keep; use RS256, PS256 or ES256"
                .to_owned(),
        ),
        _ => Err("use RS256, PS256 or ES256".to_owned()),
    }
}

/// `sigil apis …`.
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
    for (i, scope) in args.scopes.iter().enumerate() {
        if args.scopes[..i].iter().any(|s| s.value == scope.value) {
            anyhow::bail!("--scope {} is given twice", scope.value);
        }
    }
    let mut api = ResourceServer::new(
        ResourceServerId::generate(&SystemRng),
        args.identifier,
        args.name,
        now,
    );
    api.scopes = args.scopes;
    api.signing_alg = args.alg;
    api.enforce_policies = args.rbac;
    api.allow_offline_access = args.offline_access;
    if args.permissions_claim {
        api.token_dialect = TokenDialect::AccessTokenAuthz;
    }
    let family = Family::signing(api.signing_alg)
        .context("the API's signing algorithm has no key family")?;
    let made_keys = storage::with_initialised(location, now, async |opened| {
        let store = &opened.store;
        // Checked first only to make no keys for an API that cannot be created; the unique
        // identifier decides below.
        if store
            .resource_server_by_identifier(&api.identifier)
            .await
            .context("cannot read the APIs")?
            .is_some()
        {
            anyhow::bail!(
                "an API with identifier {} already exists; choose another --identifier",
                api.identifier
            );
        }
        // The keys before the API: an API that exists can always be signed for.
        let made_keys = keys::ensure(store, family, now).await?;
        match store.create_resource_server(&api).await {
            Ok(()) => Ok(made_keys),
            Err(StoreError::Conflict(Conflict::ResourceServer)) => anyhow::bail!(
                "an API with identifier {} already exists; choose another --identifier",
                api.identifier
            ),
            Err(e) => Err(anyhow::Error::new(e).context("cannot create the API")),
        }
    })?;

    let scopes = if api.scopes.is_empty() {
        "none".to_owned()
    } else {
        api.scopes
            .iter()
            .map(|s| s.value.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines = vec![
        format!(
            "created API \"{}\": identifier (audience) {}, id {}",
            api.name, api.identifier, api.id
        ),
        format!(
            "signing {}, RBAC {}, permissions claim {}, offline access {}; scopes: {scopes}",
            api.signing_alg,
            if api.enforce_policies { "on" } else { "off" },
            if api.token_dialect.includes_permissions() {
                "on"
            } else {
                "off"
            },
            if api.allow_offline_access {
                "on"
            } else {
                "off"
            },
        ),
    ];
    if !made_keys.is_empty() {
        lines.extend(made_keys);
        lines.push(format!(
            "the JWKS publishes the new {} keys; running servers sign with them within {} s",
            family.alg(),
            sigil_server::KEYS_TTL
        ));
    }
    super::print(&args.format, &api.management_json(), &lines)?;
    Ok(ExitCode::SUCCESS)
}
