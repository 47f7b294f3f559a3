//! The admin commands (`sigil clients|apis|grants|connections|users|actions|keys|tenant|outbox …`). They work on the database
//! directly, with or without a running server, through [`crate::storage::with_initialised`].
//! Each prints a short summary for people, or with `--json` the object in the shape Auth0's
//! Management API v2 returns it, so that scripts written for Auth0 can read it.
//!
//! Arguments are parsed into model types by clap value parsers ([`validate`]), so a bad URL,
//! grant type or scope is a usage error (exit 2) before the database is opened.

pub(crate) mod actions;
pub(crate) mod apis;
pub(crate) mod clients;
pub(crate) mod connections;
pub(crate) mod export;
pub(crate) mod grants;
pub(crate) mod import;
pub(crate) mod keys;
pub(crate) mod outbox;
pub(crate) mod tenant;
pub(crate) mod users;
pub(crate) mod validate;

use clap::Args;
use sigil_jose::UnixTime;

use crate::output;

/// `--json`, on every admin command.
#[derive(Debug, Args)]
pub(crate) struct Format {
    /// Print the result as JSON, in the shape Auth0's Management API returns it.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Prints `json` (pretty) with `--json`, else the summary `lines`.
pub(crate) fn print(
    format: &Format,
    json: &serde_json::Value,
    lines: &[String],
) -> anyhow::Result<()> {
    if format.json {
        output::stdout(&serde_json::to_string_pretty(json)?)?;
    } else {
        for line in lines {
            output::stdout(line)?;
        }
    }
    Ok(())
}

/// Removes repeated entries, keeping the first of each.
pub(crate) fn dedup_in_order<T: PartialEq + Clone>(items: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(items.len());
    items.retain(|item| {
        if seen.contains(item) {
            false
        } else {
            seen.push(item.clone());
            true
        }
    });
}

/// A time as Auth0 writes them: `2024-05-01T12:00:00.000Z`.
pub(crate) fn auth0_time(t: UnixTime) -> String {
    sigil_core::clock::auth0_time(t)
}
