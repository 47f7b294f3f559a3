//! `sigil actions deploy|list`: Actions from files, for people without Auth0's deploy tools.
//! The rules are `sigil_core::management::actions`' (those of the Management API); the code is
//! built on an Actions engine of this process's own.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::Value;
use sigil_core::management::actions::{
    ActionBuilder, DeployError, DeployFile, action_json, deploy_file,
};
use sigil_core::model::BuildError;
use sigil_core::{Store as _, SystemRng};
use sigil_jose::UnixTime;

use super::{Format, print};
use crate::storage::{self, Location};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create or update an Action from a file, deploy it, and bind it to its trigger.
    #[command(after_help = DEPLOY_AFTER_HELP)]
    Deploy(DeployArgs),
    /// List the Actions: their status, deployed version and bindings.
    List(ListArgs),
}

const DEPLOY_AFTER_HELP: &str = "\
The file is a CommonJS module exporting the trigger's handler (onExecutePostLogin for
post-login, onExecuteCredentialsExchange for credentials-exchange, …). The Action named
--name (default: the file's name without its extension) is updated when it exists, created
otherwise; it is built, deployed as a new version, and appended to the trigger's bindings
unless it is bound there already. A running server uses it within 5 seconds.";

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// The Action's code.
    file: PathBuf,
    /// The trigger: post-login, credentials-exchange, pre-user-registration, …
    #[arg(long, value_name = "TRIGGER")]
    trigger: String,
    /// The Action's name (default: the file's name without its extension).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// A secret, event.secrets.KEY (repeat for several; others the Action has are kept).
    #[arg(long = "secret", value_name = "KEY=VALUE", value_parser = secret)]
    secrets: Vec<(String, String)>,
    #[command(flatten)]
    format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    format: Format,
}

fn secret(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err("give a secret as KEY=VALUE".to_owned()),
    }
}

/// This process's own Actions engine.
struct Builder(sigil_actions::Engine);

impl ActionBuilder for Builder {
    async fn build(&self, code: &str, triggers: &[String]) -> Result<Vec<BuildError>, String> {
        sigil_server::build_on(&self.0, code, triggers).await
    }

    fn modules(&self) -> &'static [&'static str] {
        &sigil_actions::MODULES
    }
}

/// `sigil actions …`.
pub(crate) fn run(
    command: Command,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Deploy(args) => deploy(args, location, now),
        Command::List(args) => list(args, location, now),
    }
}

fn deploy(args: DeployArgs, location: &Location, now: UnixTime) -> anyhow::Result<ExitCode> {
    let code = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let name = match args.name {
        Some(name) => name,
        None => args
            .file
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .context("name the Action with --name")?,
    };
    let trigger = args.trigger.clone();
    let format = args.format;
    storage::with_initialised(location, now, async |opened| {
        let engine = sigil_actions::Engine::start(sigil_actions::Limits {
            workers: 1,
            ..sigil_actions::Limits::default()
        })
        .context("cannot start the Actions engine")?;
        let file = DeployFile {
            name,
            trigger: trigger.clone(),
            code,
            secrets: args.secrets,
        };
        let (action, version, created) =
            match deploy_file(&opened.store, &Builder(engine), &SystemRng, now, file).await {
                Ok(deployed) => deployed,
                Err(DeployError::Refused(why)) => anyhow::bail!("{why}"),
                Err(e) => return Err(anyhow::Error::new(e).context("cannot deploy the action")),
            };
        let verb = if created { "created" } else { "updated" };
        print(
            &format,
            &action_json(&action, Some(&version)),
            &[format!(
                "{}: {verb}, version {} deployed, bound to {trigger}",
                action.name, version.number
            )],
        )?;
        Ok(ExitCode::SUCCESS)
    })
}

fn list(args: ListArgs, location: &Location, now: UnixTime) -> anyhow::Result<ExitCode> {
    storage::with_initialised(location, now, async |opened| {
        let store = &opened.store;
        let actions = store
            .list_actions()
            .await
            .context("cannot read the actions")?;
        let mut bound: Vec<(String, sigil_core::ids::ActionId)> = Vec::new();
        for trigger in sigil_core::model::action::TRIGGERS {
            for binding in store
                .bindings(trigger)
                .await
                .context("cannot read the bindings")?
            {
                bound.push((trigger.to_owned(), binding.action_id));
            }
        }
        let mut json = Vec::new();
        let mut lines = Vec::new();
        for action in &actions {
            let versions = store
                .action_versions(&action.id)
                .await
                .context("cannot read an action's versions")?;
            let deployed = versions.iter().find(|v| v.deployed);
            json.push(action_json(action, deployed));
            let triggers: Vec<&str> = bound
                .iter()
                .filter(|(_, id)| *id == action.id)
                .map(|(t, _)| t.as_str())
                .collect();
            lines.push(format!(
                "{}  {}  {}  {}  bound to: {}",
                action.id,
                action.name,
                action.draft.status.as_str(),
                deployed.map_or("not deployed".to_owned(), |v| format!(
                    "version {}",
                    v.number
                )),
                if triggers.is_empty() {
                    "-".to_owned()
                } else {
                    triggers.join(", ")
                },
            ));
        }
        if lines.is_empty() {
            lines.push("no actions".to_owned());
        }
        print(&args.format, &Value::Array(json), &lines)?;
        Ok(ExitCode::SUCCESS)
    })
}
