//! `sigil clients create`: registers an application with Auth0's defaults for its type
//! ([`ClientSettings::for_type`]). Confidential types get a client secret, shown once; Sigil
//! keeps only its SHA-256 digest. With `--auth-method private_key_jwt` the application gets no
//! secret: it registers public keys and signs assertions instead (RFC 7523).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use sigil_core::ids::{self, ClientId};
use sigil_core::model::{
    AppType, Client, ClientCredential, ClientSettings, GrantType, TokenEndpointAuthMethod,
};
use sigil_core::oauth::credential_key;
use sigil_core::secret::ClientSecret;
use sigil_core::{Store as _, SystemRng};
use sigil_jose::{Algorithm, KeyKind, UnixTime};

use super::{Format, validate};
use crate::keyfile;
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
form (RFC 8252), such as com.example.app:/callback. Web origins are http(s)://host[:port].

--auth-method private_key_jwt makes a confidential application without a secret: it proves \
itself with JWTs signed by the private key of a --public-key (a PEM public key or a public JWK; \
repeat for several). Each key is bound to one algorithm: --alg, else the JWK's \"alg\", else \
RS256, ES256, ES384, ES512 or EdDSA by key type; its kid is the JWK's \"kid\", else its RFC 7638 \
thumbprint.";

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
    /// How it authenticates at the token endpoint: client_secret_post (the default for
    /// confidential types), client_secret_basic, private_key_jwt, or none (public types).
    #[arg(long = "auth-method", value_name = "METHOD", value_parser = validate::auth_method)]
    auth_method: Option<TokenEndpointAuthMethod>,
    /// A public key for private_key_jwt, PEM or JWK (repeat for several).
    #[arg(long = "public-key", value_name = "FILE")]
    public_keys: Vec<PathBuf>,
    /// The algorithm assertions signed with the --public-key keys use.
    #[arg(long, value_name = "ALG", value_parser = validate::assertion_alg)]
    alg: Option<Algorithm>,
    #[command(flatten)]
    format: Format,
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
    let method = args
        .auth_method
        .unwrap_or(ClientSettings::for_type(args.app_type).token_endpoint_auth_method);
    let credentials = args
        .public_keys
        .iter()
        .map(|path| credential(path, args.alg, &rng, now))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (i, c) in credentials.iter().enumerate() {
        if credentials[..i].iter().any(|earlier| earlier.kid == c.kid) {
            bail!(
                "two --public-key keys have the kid {:?}; give each key its own kid",
                c.kid.as_deref().unwrap_or_default()
            );
        }
    }
    let pkjwt = method == TokenEndpointAuthMethod::PrivateKeyJwt;
    let secret = (!args.app_type.is_public() && !pkjwt).then(|| ClientSecret::generate(&rng));
    let mut client = Client::new(
        ClientId::generate(&rng),
        args.name,
        args.app_type,
        secret.as_ref(),
        now,
    );
    client.settings.callbacks = args.callbacks;
    client.settings.allowed_logout_urls = args.logout_urls;
    client.settings.web_origins = args.web_origins;
    client.settings.token_endpoint_auth_method = method;
    client.settings.credentials = credentials;
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

    let json = client.management_json(secret.as_ref());
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
        None if pkjwt => {
            lines.push("authenticates with private_key_jwt: no secret".to_owned());
            for c in &client.settings.credentials {
                lines.push(format!(
                    "key {}: kid {}, alg {}",
                    c.id,
                    c.kid.as_deref().unwrap_or_default(),
                    c.alg
                ));
            }
            lines.push(format!(
                "token endpoint: {issuer}oauth/token (assertion aud: {issuer})"
            ));
        }
        None => lines.push("public client: no secret; use PKCE".to_owned()),
    }
    super::print(&args.format, &json, &lines)?;
    Ok(ExitCode::SUCCESS)
}

/// A `--public-key` as a registered credential: the algorithm from `--alg`, the JWK's `alg` or
/// the key type; the kid from the JWK or the key's thumbprint. Checked the way the token
/// endpoint will use it.
fn credential(
    path: &std::path::Path,
    flag: Option<Algorithm>,
    rng: &SystemRng,
    now: UnixTime,
) -> anyhow::Result<ClientCredential> {
    let material = keyfile::public(path)?;
    let shown = path.display();
    let alg = match (flag, material.alg) {
        (Some(flag), Some(bound)) if flag != bound => bail!(
            "--alg {flag} contradicts the \"alg\": \"{bound}\" of key file {shown}; drop --alg or use another key"
        ),
        (Some(alg), _) | (None, Some(alg)) => alg,
        (None, None) => match material.key.kind() {
            KeyKind::Rsa => Algorithm::RS256,
            KeyKind::EcP256 => Algorithm::ES256,
            KeyKind::EcP384 => Algorithm::ES384,
            KeyKind::EcP521 => Algorithm::ES512,
            KeyKind::Ed25519 => Algorithm::EdDSA,
            KeyKind::Oct => bail!("key file {shown} holds a shared secret, not a public key"),
        },
    };
    let credential = ClientCredential {
        id: format!("cred_{}", ids::alphanumeric(rng, 22)),
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        kid: Some(material.kid.unwrap_or_else(|| material.key.thumbprint())),
        alg,
        pem: material
            .key
            .to_pem()
            .with_context(|| format!("cannot use key file {shown}"))?,
        created_at: now,
    };
    credential_key(&credential)
        .with_context(|| format!("cannot use key file {shown} with {alg}"))?;
    Ok(credential)
}

/// What depends on the type: only native apps use private-use URL schemes, and public clients
/// cannot authenticate, so they cannot use the client-credentials grant (Auth0 refuses it too)
/// nor any token endpoint authentication but `none`.
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
    let public = args.app_type.is_public();
    match args.auth_method {
        Some(TokenEndpointAuthMethod::None) if !public => bail!(
            "a {} application is confidential and must authenticate; use --auth-method client_secret_post, client_secret_basic or private_key_jwt",
            args.app_type.as_str()
        ),
        Some(method) if public && method != TokenEndpointAuthMethod::None => bail!(
            "a {} application is a public client and cannot authenticate at the token endpoint; drop --auth-method or use --type regular_web",
            args.app_type.as_str()
        ),
        _ => {}
    }
    let pkjwt = args.auth_method == Some(TokenEndpointAuthMethod::PrivateKeyJwt);
    if pkjwt && args.public_keys.is_empty() {
        bail!("--auth-method private_key_jwt needs at least one --public-key FILE");
    }
    if !pkjwt && (!args.public_keys.is_empty() || args.alg.is_some()) {
        bail!("--public-key and --alg are for --auth-method private_key_jwt");
    }
    Ok(())
}
