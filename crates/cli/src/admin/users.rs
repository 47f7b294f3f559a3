//! `sigil users create`: a user of a database connection, its password hashed with argon2id.
//! (`sigil users import` lives in [`super::import`], `sigil users export` in [`super::export`].)

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sigil_core::ids::UserId;
use sigil_core::model::connection::DEFAULT_DATABASE_CONNECTION;
use sigil_core::model::{Connection, NewUser, Strategy, User};
use sigil_core::password::PasswordHash;
use sigil_core::{Conflict, Store, StoreError, SystemRng};
use sigil_jose::UnixTime;

use super::{Format, export, import, validate};
use crate::storage::{self, Location};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a user with a password in a database connection.
    Create(CreateArgs),
    /// Import users from a file in Auth0's bulk import format.
    #[command(after_help = import::AFTER_HELP)]
    Import(import::ImportArgs),
    /// Export users in Auth0's bulk import format, without password hashes.
    Export(export::ExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The user's email address, unique in the connection (ignoring case).
    #[arg(long, value_name = "E", value_parser = validate::email)]
    email: String,
    /// The user's password (stored as an argon2id hash).
    #[arg(long, value_name = "P")]
    password: String,
    /// The database connection.
    #[arg(long, value_name = "C", default_value = DEFAULT_DATABASE_CONNECTION)]
    connection: String,
    #[command(flatten)]
    format: Format,
}

/// `sigil users …`.
pub(crate) fn run(
    command: Command,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Create(args) => create(args, location, now),
        Command::Import(args) => import::run(args, location, now),
        Command::Export(args) => export::run(args, location, now),
    }
}

fn create(args: CreateArgs, location: &Location, now: UnixTime) -> anyhow::Result<ExitCode> {
    // The connection's password policy is not applied here yet; an empty password never is.
    if args.password.is_empty() {
        anyhow::bail!("the password cannot be empty");
    }
    let rng = SystemRng;
    let user = storage::with_initialised(location, now, async |opened| {
        let connection = database_connection(&opened.store, &args.connection).await?;
        if connection.options.requires_username {
            anyhow::bail!(
                "the connection {} requires a username, which `sigil users create` cannot set yet; use `sigil users import`",
                connection.name
            );
        }
        let password = PasswordHash::argon2id(&args.password, &rng)?;
        let new = NewUser {
            email: args.email.clone(),
            email_verified: false,
            username: None,
            password: Some(password),
        };
        let user = User::new_database(UserId::generate_database(&rng), &connection, new, now);
        match opened.store.create_user(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(conflict)) => {
                anyhow::bail!("{}", conflict_message(conflict, &connection.name))
            }
            Err(e) => Err(anyhow::Error::new(e).context("cannot create the user")),
        }
    })?;
    let lines = [format!(
        "created user {} in {}: user_id {}",
        args.email, args.connection, user.user_id
    )];
    super::print(&args.format, &user_json(&user), &lines)?;
    Ok(ExitCode::SUCCESS)
}

/// The database connection named `name`, or an error saying why it cannot take users.
pub(crate) async fn database_connection(
    store: &impl Store,
    name: &str,
) -> anyhow::Result<Connection> {
    let connection = store
        .connection_by_name(name)
        .await
        .context("cannot read the connections")?
        .ok_or_else(|| anyhow::anyhow!("there is no connection named {name}"))?;
    if connection.strategy != Strategy::Auth0 {
        anyhow::bail!(
            "the connection {name} is not a database connection (its strategy is {}); its users come from elsewhere",
            connection.strategy.as_str()
        );
    }
    Ok(connection)
}

/// A user collision in words.
pub(crate) fn conflict_message(conflict: Conflict, connection: &str) -> String {
    match conflict {
        Conflict::Email => {
            format!("a user with this email already exists in connection {connection}")
        }
        Conflict::Username => {
            format!("a user with this username already exists in connection {connection}")
        }
        other => other.to_string(),
    }
}

/// The user as Auth0's Management API returns it.
pub(crate) fn user_json(user: &User) -> serde_json::Value {
    let mut json = serde_json::json!({
        "user_id": user.user_id,
        "email": user.email,
        "email_verified": user.email_verified,
        "username": user.username,
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "nickname": user.nickname,
        "picture": user.picture,
        "identities": user.identities,
        "user_metadata": user.user_metadata,
        "app_metadata": user.app_metadata,
        "blocked": user.blocked,
        "created_at": super::auth0_time(user.created_at),
        "updated_at": super::auth0_time(user.updated_at),
        "logins_count": user.logins_count,
    });
    // Auth0 leaves out what a user does not have.
    if let Some(map) = json.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    json
}
