//! `sigil users export`: the users of one database connection (or of all), written in Auth0's
//! bulk import format (what `sigil users import` and `POST /api/v2/jobs/users-imports` read),
//! without password hashes, to stdout or a file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use sigil_core::management::export::export_entry;
use sigil_core::model::UserQuery;
use sigil_core::{Page, Store as _};
use sigil_jose::UnixTime;

use super::users::database_connection;
use crate::output;
use crate::storage::{self, Location};

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Only the users of this database connection (all users when not given).
    #[arg(long, value_name = "C")]
    connection: Option<String>,
    /// Write the JSON to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// `sigil users export`.
pub(crate) fn run(
    args: ExportArgs,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    let entries = storage::with_initialised(location, now, async |opened| {
        let connection_id = match &args.connection {
            Some(name) => Some(database_connection(&opened.store, name).await?.id),
            None => None,
        };
        let query = UserQuery {
            connection_id,
            ..UserQuery::default()
        };
        let mut entries = Vec::new();
        for page in 0.. {
            let batch = opened
                .store
                .list_users(&query, Page::new(page, Page::MAX_PER_PAGE))
                .await
                .context("cannot read the users")?;
            let done = batch.len() < Page::MAX_PER_PAGE as usize;
            entries.extend(batch.iter().map(|u| export_entry(u, None)));
            if done {
                break;
            }
        }
        Ok(entries)
    })?;
    let json = serde_json::to_string_pretty(&entries).context("cannot write the users")?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, format!("{json}\n"))
                .with_context(|| format!("cannot write {}", path.display()))?;
            output::stdout(&format!(
                "exported {} users to {}",
                entries.len(),
                path.display()
            ))?;
        }
        None => output::stdout(&json)?,
    }
    Ok(ExitCode::SUCCESS)
}
