//! `sigil`: the command line of the Sigil identity server. This file holds the clap
//! definitions and the dispatch to the module that owns each command; it decides exit codes
//! and prints every error as one line.
//!
//! Exit codes: 0 success; 1 `jwt verify` found the token invalid, or `users import` could
//! import (or, with `--upsert`, update) none of the file's users; 2 usage or input error, or
//! any other failure.

mod admin;
mod breached;
mod clock;
mod config;
mod fetch;
mod init;
mod input;
mod jwt;
mod keyfile;
mod keys;
mod logging;
mod management_scopes;
mod output;
mod serve;
mod storage;
mod time_fmt;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgGroup, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use sigil_jose::{Algorithm, AlgorithmError, UnixTime};

/// Sigil: a self-hosted, Auth0-compatible identity server in one binary.
#[derive(Debug, Parser)]
#[command(name = "sigil", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalOpts,
    #[command(subcommand)]
    command: Command,
}

/// Options every command accepts. The server commands read them; `jwt` and `keys` do not.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
struct GlobalOpts {
    /// Directory for Sigil's data (SQLite database, master key, admin credentials).
    #[arg(
        long,
        global = true,
        env = "SIGIL_DATA_DIR",
        value_name = "DIR",
        default_value = "./sigil-data"
    )]
    data_dir: PathBuf,
    /// Database URL: sqlite://… or postgres://… [default: sqlite://<data-dir>/sigil.db]
    #[arg(long, global = true, env = "SIGIL_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// Configuration file (TOML) with any of data_dir, database_url, issuer, listen. A flag or
    /// environment variable overrides it; it overrides the defaults. Read only when named:
    /// ./sigil.toml is not read on its own.
    #[arg(long, global = true, env = "SIGIL_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The issuer URL Sigil puts in tokens, ending in '/'. (`jwt verify --issuer` is its own option.)
    #[arg(
        long,
        global = true,
        env = "SIGIL_ISSUER",
        value_name = "URL",
        default_value = "http://127.0.0.1:8787/"
    )]
    issuer: String,
    /// Address the server listens on.
    #[arg(
        long,
        global = true,
        env = "SIGIL_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8787"
    )]
    listen: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: bootstraps an empty database first (as `init`), then serves until
    /// SIGINT or SIGTERM.
    Serve(Box<serve::ServeArgs>),
    /// Set up Sigil: schema, master key, signing key, database connection, Management API
    /// and an admin client. Running it again changes nothing.
    #[command(after_help = init::AFTER_HELP)]
    Init,
    /// Create or upgrade the database schema; running it again does nothing.
    #[command(after_help = MIGRATE_AFTER_HELP)]
    Migrate,
    /// Manage applications (clients).
    #[command(after_help = ADMIN_AFTER_HELP)]
    Clients {
        #[command(subcommand)]
        command: admin::clients::Command,
    },
    /// Manage APIs (resource servers).
    #[command(after_help = ADMIN_AFTER_HELP)]
    Apis {
        #[command(subcommand)]
        command: admin::apis::Command,
    },
    /// Manage client grants: which clients may get tokens for which APIs.
    #[command(after_help = ADMIN_AFTER_HELP)]
    Grants {
        #[command(subcommand)]
        command: admin::grants::Command,
    },
    /// Manage connections: databases and other identity providers.
    #[command(after_help = ADMIN_AFTER_HELP)]
    Connections {
        #[command(subcommand)]
        command: admin::connections::Command,
    },
    /// Manage users.
    #[command(after_help = ADMIN_AFTER_HELP)]
    Users {
        #[command(subcommand)]
        command: admin::users::Command,
    },
    /// Deploy and list Actions (tenant code run at login, signup and token exchange).
    #[command(after_help = ADMIN_AFTER_HELP)]
    Actions {
        #[command(subcommand)]
        command: admin::actions::Command,
    },
    /// Show or change the tenant's settings (the legacy endpoints' and attack protection's
    /// switches).
    #[command(after_help = ADMIN_AFTER_HELP)]
    Tenant {
        #[command(subcommand)]
        command: admin::tenant::Command,
    },
    /// Import the operator's list of breached passwords (SHA-1 hashes) for breached-password
    /// detection.
    BreachedPasswords {
        #[command(subcommand)]
        command: breached::Command,
    },
    /// Show the mail Sigil queued (password reset and verification links), newest first.
    #[command(after_help = ADMIN_AFTER_HELP)]
    Outbox(admin::outbox::OutboxArgs),
    /// Decode, verify and sign JSON Web Tokens.
    Jwt {
        #[command(subcommand)]
        command: JwtCommand,
    },
    /// Generate signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum JwtCommand {
    /// Show a token's header and claims, WITHOUT checking its signature.
    Decode(DecodeArgs),
    /// Check a token's signature and claims; exit 0 if valid, 1 if not, 2 on bad input.
    #[command(after_help = VERIFY_AFTER_HELP)]
    Verify(VerifyArgs),
    /// Sign claims with a key file and print the compact JWS.
    Sign(SignArgs),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Generate a signing key: private key as PKCS#8 PEM, public key as a JWK.
    #[command(after_help = GENERATE_AFTER_HELP)]
    Generate(GenerateArgs),
    /// List the tenant's signing keys of every family (RS256, ES256) with their state (next,
    /// current, previous, revoked).
    List(admin::Format),
    /// Rotate one key family (--alg RS256, the default, or ES256): its next key starts
    /// signing, its current one becomes previous (still published), and a new next key is
    /// published.
    Rotate(admin::keys::RotateArgs),
    /// Revoke a previous or next key: unpublished, its tokens no longer verify.
    Revoke(admin::keys::RevokeArgs),
}

const MIGRATE_AFTER_HELP: &str = "\
The database is --database-url (SIGIL_DATABASE_URL), by default the SQLite file \
<data-dir>/sigil.db (created if missing). A schema newer than this sigil is refused, never \
written over. When a master key is available (SIGIL_MASTER_KEY or <data-dir>/master.key), it \
is checked against the database: a wrong key is an error.";

const ADMIN_AFTER_HELP: &str = "\
Admin commands work on the database directly (--data-dir, --database-url), with or without a \
running server, once `sigil init` has set it up. They print a summary, or with --json the \
object as Auth0's Management API returns it.";

const VERIFY_AFTER_HELP: &str = "\
Exit status: 0 valid (the claims are printed on stdout as JSON), 1 invalid (one line on stderr \
saying why), 2 usage or input error.

Without --alg, the token may use any algorithm the keys can verify, and only those: an RSA key \
never accepts HS256. The token must have an exp claim.

--issuer here is this command's own option and shadows the global --issuer: SIGIL_ISSUER and \
the global default are ignored, and discovery happens only when --issuer is given after \
`jwt verify`.";

const GENERATE_AFTER_HELP: &str = "\
With --out, the private key goes to FILE (created with mode 0600; an existing file is never \
overwritten) and the public JWK to stdout. Without --out, the private key goes to stdout and the \
public JWK to stderr. For HS256/HS384/HS512 the output is a private JWK {\"kty\":\"oct\",\"k\",\"alg\",\"kid\"}: \
an HMAC secret has no public half.

A PEM file does not record the kid: when you choose one with --kid, pass the same --kid to \
`sigil jwt sign` (the default kid, the thumbprint, is the same on both sides).";

/// A token argument: the token itself, or `-` (or nothing) to read it from stdin.
#[derive(Debug, Args)]
struct DecodeArgs {
    /// The token, or '-' to read it from stdin (also when absent).
    #[arg(value_name = "TOKEN|-")]
    token: Option<String>,
    /// Show times relative to this Unix time instead of now.
    #[arg(long, value_name = "UNIX_TIME", allow_negative_numbers = true)]
    at: Option<i64>,
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("keys").required(true).args(["jwks", "issuer", "key", "secret"])
))]
struct VerifyArgs {
    /// The token, or '-' to read it from stdin (also when absent).
    #[arg(value_name = "TOKEN|-")]
    token: Option<String>,
    /// Verify with this JWK Set: a file, or an http(s) URL.
    #[arg(long, value_name = "FILE|URL")]
    jwks: Option<String>,
    /// Discover the keys of this OpenID issuer (<URL>/.well-known/openid-configuration, then
    /// its jwks_uri) and require iss to be the issuer it names, unless --iss is given. Shadows
    /// the global --issuer.
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// Verify with this key file: PEM (public or private key), JWK or JWK Set.
    #[arg(long, value_name = "PEM_FILE")]
    key: Option<PathBuf>,
    /// Verify with this HMAC secret (raw text), or @FILE to read it (one trailing newline is dropped).
    #[arg(long, value_name = "S|@FILE")]
    secret: Option<String>,
    /// Accept only this algorithm (repeat for several). Default: every algorithm the keys verify.
    #[arg(long = "alg", value_name = "ALG", value_parser = parse_alg)]
    algs: Vec<Algorithm>,
    /// Require this exact iss claim.
    #[arg(long, value_name = "ISS")]
    iss: Option<String>,
    /// Require the aud claim to contain this audience (repeat to accept any of several).
    #[arg(long, value_name = "AUD")]
    aud: Vec<String>,
    /// Tolerate this much clock skew on exp and nbf.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    leeway: u64,
    /// Validate as of this Unix time instead of now.
    #[arg(long, value_name = "UNIX_TIME", allow_negative_numbers = true)]
    at: Option<i64>,
}

#[derive(Debug, Args)]
struct SignArgs {
    /// The signing key: a PEM private key, or a private JWK (needed for HMAC "oct" keys).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The algorithm. Default: the JWK's alg, else RS256, ES256/384/512, EdDSA or HS256 by key type.
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    alg: Option<Algorithm>,
    /// The kid header. Default: the JWK's kid, else the key's RFC 7638 thumbprint.
    #[arg(long, value_name = "KID")]
    kid: Option<String>,
    /// Claims as a JSON object, or @FILE. The options below override its members; iat defaults to now.
    #[arg(long, value_name = "JSON|@FILE")]
    claims: Option<String>,
    /// The iss claim.
    #[arg(long, value_name = "ISS")]
    iss: Option<String>,
    /// The sub claim.
    #[arg(long, value_name = "SUB")]
    sub: Option<String>,
    /// The aud claim; given twice or more, an array.
    #[arg(long, value_name = "AUD")]
    aud: Vec<String>,
    /// Lifetime: sets exp = iat + DURATION (30s, 10m, 1h, 2d, 1h30m).
    #[arg(long, value_name = "DURATION", value_parser = time_fmt::parse_duration)]
    exp: Option<u64>,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// The algorithm the key is for (RS256 makes RSA-2048, ES256 a P-256 key, HS256 a 32-byte secret, …).
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    alg: Algorithm,
    /// The kid. Default: the key's RFC 7638 thumbprint.
    #[arg(long, value_name = "KID")]
    kid: Option<String>,
    /// Write the private key to this new file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// An algorithm name from the command line, with the list of valid names when it is not one.
fn parse_alg(text: &str) -> Result<Algorithm, String> {
    text.parse::<Algorithm>().map_err(|e| {
        let names = Algorithm::ALL.map(Algorithm::as_str).join(", ");
        match e {
            AlgorithmError::None(_) => format!("{e}; use one of {names}"),
            AlgorithmError::Unsupported(_) => {
                format!("unknown algorithm \"{text}\"; use one of {names}")
            }
        }
    })
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        output::stderr(&format!(
            "error: internal error ({what}); this is a bug in sigil, please report it"
        ));
    }));
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => return usage_error(&e),
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    shadow_global_issuer(&mut cli, &matches);
    match apply_config(&mut cli, &matches).and_then(|()| run(cli)) {
        Ok(code) => code,
        Err(e) => {
            output::stderr(&format!("error: {}", one_line(&describe(&e))));
            ExitCode::from(2)
        }
    }
}

/// `jwt verify --issuer` shares its name, and so its clap id, with the global `--issuer`, and
/// clap copies the global's value (its default, `SIGIL_ISSUER`, or a `--issuer` written before
/// `jwt`) into the subcommand. Discovery is wanted only when `--issuer` was typed as verify's
/// key source: on the command line, and not next to `--jwks`, `--key` or `--secret` (clap
/// refuses two key sources written after `verify`, so a second one came from before it).
fn shadow_global_issuer(cli: &mut Cli, matches: &ArgMatches) {
    let Command::Jwt {
        command: JwtCommand::Verify(args),
    } = &mut cli.command
    else {
        return;
    };
    let typed = matches
        .subcommand_matches("jwt")
        .and_then(|m| m.subcommand_matches("verify"))
        .and_then(|m| m.value_source("issuer"))
        == Some(ValueSource::CommandLine);
    let other_source = args.jwks.is_some() || args.key.is_some() || args.secret.is_some();
    if !typed || other_source {
        args.issuer = None;
    }
}

/// Fills the global settings that neither a flag nor an environment variable set from the
/// configuration file, when `--config` or `SIGIL_CONFIG` names one (see [`config`]).
fn apply_config(cli: &mut Cli, matches: &ArgMatches) -> anyhow::Result<()> {
    let global = &mut cli.global;
    let Some(path) = &global.config else {
        return Ok(());
    };
    let file = config::load(path)?;
    if let Command::Serve(serve) = &mut cli.command {
        config::fill(
            &mut serve.smtp_url,
            file.smtp_url.map(Some),
            matches,
            "smtp_url",
        );
        config::fill(
            &mut serve.smtp_ca_file,
            file.smtp_ca_file.map(Some),
            matches,
            "smtp_ca_file",
        );
        config::fill(
            &mut serve.mail_from,
            file.mail_from.map(Some),
            matches,
            "mail_from",
        );
    }
    config::fill(&mut global.data_dir, file.data_dir, matches, "data_dir");
    config::fill(
        &mut global.database_url,
        file.database_url.map(Some),
        matches,
        "database_url",
    );
    config::fill(&mut global.issuer, file.issuer, matches, "issuer");
    config::fill(&mut global.listen, file.listen, matches, "listen");
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let now = |at: Option<i64>| at.map_or_else(clock::now, UnixTime);
    let location =
        || storage::Location::new(&cli.global.data_dir, cli.global.database_url.as_deref());
    match cli.command {
        Command::Serve(args) => serve::run(
            &location(),
            &cli.global.issuer,
            &cli.global.listen,
            &args,
            now(None),
        ),
        Command::Init => init::run(&location(), &cli.global.issuer, now(None)),
        Command::Migrate => storage::migrate(&location(), now(None)),
        Command::Clients { command } => admin::clients::run(command, &location(), now(None)),
        Command::Apis { command } => admin::apis::run(command, &location(), now(None)),
        Command::Grants { command } => admin::grants::run(command, &location(), now(None)),
        Command::Connections { command } => {
            admin::connections::run(command, &location(), now(None))
        }
        Command::Users { command } => admin::users::run(command, &location(), now(None)),
        Command::Actions { command } => admin::actions::run(command, &location(), now(None)),
        Command::Tenant { command } => admin::tenant::run(command, &location(), now(None)),
        Command::Outbox(args) => admin::outbox::run(args, &location(), now(None)),
        Command::BreachedPasswords { command } => breached::run(command, &location()),
        Command::Jwt { command } => match command {
            JwtCommand::Decode(args) => {
                let token = input::token(args.token.as_deref())?;
                jwt::decode::run(&token, now(args.at), args.at.is_some())
            }
            JwtCommand::Verify(args) => {
                let source = match (args.jwks, args.issuer, args.key, args.secret) {
                    (Some(jwks), ..) => jwt::verify::KeySource::Jwks(jwks),
                    (_, Some(issuer), ..) => jwt::verify::KeySource::Issuer(issuer),
                    (_, _, Some(key), _) => jwt::verify::KeySource::Key(key),
                    (.., Some(secret)) => jwt::verify::KeySource::Secret(secret),
                    (None, None, None, None) => anyhow::bail!(
                        "no keys to verify with: pass --jwks, --issuer, --key or --secret after `jwt verify`"
                    ),
                };
                let checks = jwt::verify::Checks {
                    algs: args.algs,
                    iss: args.iss,
                    aud: args.aud,
                    leeway: args.leeway,
                };
                let token = input::token(args.token.as_deref())?;
                jwt::verify::run(&token, &source, &checks, now(args.at))
            }
            JwtCommand::Sign(args) => {
                let request = jwt::sign::Request {
                    key: args.key,
                    alg: args.alg,
                    kid: args.kid,
                    claims: args.claims,
                    iss: args.iss,
                    sub: args.sub,
                    aud: args.aud,
                    exp: args.exp,
                };
                jwt::sign::run(&request, now(None))
            }
        },
        Command::Keys { command } => match command {
            KeysCommand::Generate(args) => keys::generate(args.alg, args.kid, args.out.as_deref()),
            KeysCommand::List(format) => admin::keys::list(&format, &location(), now(None)),
            KeysCommand::Rotate(args) => admin::keys::rotate(&args, &location(), now(None)),
            KeysCommand::Revoke(args) => admin::keys::revoke(&args, &location(), now(None)),
        },
    }
}

/// Prints a clap error. Help and version go out as clap writes them; a usage error becomes one
/// line ("error: …; run 'sigil jwt verify --help' for usage") with exit status 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
        _ => {}
    }
    let text = e.to_string();
    let mut lines = text.lines();
    // The first line states the problem; indented lines right after it list what it is about
    // (the missing arguments, for instance). Tips and usage follow a blank line.
    let mut message = lines
        .next()
        .unwrap_or("error: invalid arguments")
        .to_owned();
    for line in lines.by_ref() {
        if !line.starts_with(char::is_whitespace) || line.trim().is_empty() {
            break;
        }
        message.push(' ');
        message.push_str(line.trim());
    }
    let command = command_path();
    output::stderr(&format!(
        "{}; run '{command} --help' for usage",
        one_line(&message)
    ));
    ExitCode::from(2)
}

/// The subcommand the user was typing ("sigil jwt verify"), from the command line, to point
/// at the right `--help`.
fn command_path() -> String {
    let mut command = Cli::command();
    let mut path = vec![command.get_name().to_owned()];
    for arg in std::env::args_os().skip(1) {
        let Some(arg) = arg.to_str() else { continue };
        let Some(sub) = command.find_subcommand(arg).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_owned());
        command = sub;
    }
    path.join(" ")
}

/// The error and its causes as one message, as anyhow's `{:#}` joins them ("cannot use key
/// file k.pem: not a PEM …"), leaving out a cause that an outer message already quotes (many
/// library errors print their source in their own message too).
fn describe(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Joins whatever lines a message has into one.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
