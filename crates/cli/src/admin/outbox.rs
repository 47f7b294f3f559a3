//! `sigil outbox [--to EMAIL] [--limit N] [--json]`: the mail Sigil queued (password reset and
//! email verification links), newest first, read from the database, so operators and tests can
//! follow the links without a mail server. Bodies hold live single-use links: print them only
//! where the operator asked for them.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use serde_json::json;
use sigil_core::{Page, Store as _};
use sigil_jose::UnixTime;

use super::{Format, print};
use crate::storage::{self, Location};
use crate::time_fmt;

#[derive(Debug, Args)]
pub(crate) struct OutboxArgs {
    /// Only mail to this address.
    #[arg(long, value_name = "EMAIL")]
    to: Option<String>,
    /// At most this many messages (1 to 100).
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    limit: u32,
    #[command(flatten)]
    format: Format,
}

/// `sigil outbox …`.
pub(crate) fn run(
    args: OutboxArgs,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    let mails = storage::with_initialised(location, now, async |opened| {
        opened
            .store
            .outbox(args.to.as_deref(), Page::new(0, args.limit))
            .await
            .context("cannot read the outbox")
    })?;
    let json = serde_json::Value::Array(
        mails
            .iter()
            .map(|m| {
                json!({
                    "to": m.to,
                    "subject": m.subject,
                    "kind": m.kind,
                    "created_at": time_fmt::utc(m.created_at.0),
                    "body": m.body,
                })
            })
            .collect(),
    );
    let mut lines = Vec::new();
    if mails.is_empty() {
        lines.push(match &args.to {
            Some(to) => format!("No mail to {to}."),
            None => "The outbox is empty.".to_owned(),
        });
    }
    for (i, m) in mails.iter().enumerate() {
        if i > 0 {
            lines.push("---".to_owned());
        }
        lines.push(format!("To:      {}", m.to));
        lines.push(format!("Subject: {}", m.subject));
        lines.push(format!("Kind:    {}", m.kind));
        lines.push(format!("Date:    {}", time_fmt::utc(m.created_at.0)));
        lines.push(String::new());
        lines.extend(m.body.trim_end().lines().map(str::to_owned));
    }
    print(&args.format, &json, &lines)?;
    Ok(ExitCode::SUCCESS)
}
