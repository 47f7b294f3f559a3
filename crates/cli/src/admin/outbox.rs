//! `sigil outbox [--to EMAIL] [--limit N] [--json]`: the mail Sigil queued (password reset and
//! email verification links), newest first, read from the database, with where each delivery
//! is (queued, sending, sent, failed), its attempts and last error; without a mail provider,
//! operators and tests follow the links from here. Bodies hold live single-use links: print
//! them only where the operator asked for them.

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
            .map(|entry| {
                let m = &entry.email;
                json!({
                    "id": entry.id,
                    "to": m.to,
                    "subject": m.subject,
                    "kind": m.kind,
                    "created_at": time_fmt::utc(m.created_at.0),
                    "status": entry.status.as_str(),
                    "attempts": entry.attempts,
                    "next_attempt_at": time_fmt::utc(entry.next_attempt_at.0),
                    "last_error": entry.last_error,
                    "sent_at": entry.sent_at.map(|t| time_fmt::utc(t.0)),
                    "message_id": entry.message_id,
                    "from": m.from,
                    "body": m.body,
                    "html": m.html,
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
    for (i, entry) in mails.iter().enumerate() {
        let m = &entry.email;
        if i > 0 {
            lines.push("---".to_owned());
        }
        lines.push(format!("To:      {}", m.to));
        lines.push(format!("Subject: {}", m.subject));
        lines.push(format!("Kind:    {}", m.kind));
        lines.push(format!("Date:    {}", time_fmt::utc(m.created_at.0)));
        let status = match (entry.status, entry.sent_at) {
            (sigil_core::model::DeliveryStatus::Sent, Some(at)) => {
                format!("sent {}", time_fmt::utc(at.0))
            }
            (sigil_core::model::DeliveryStatus::Queued, _) if entry.attempts > 0 => format!(
                "queued, next attempt {}",
                time_fmt::utc(entry.next_attempt_at.0)
            ),
            (status, _) => status.to_string(),
        };
        lines.push(format!(
            "Status:  {status} ({} attempt{})",
            entry.attempts,
            if entry.attempts == 1 { "" } else { "s" }
        ));
        if let Some(error) = &entry.last_error {
            lines.push(format!("Error:   {error}"));
        }
        lines.push(String::new());
        lines.extend(m.body.trim_end().lines().map(str::to_owned));
    }
    print(&args.format, &json, &lines)?;
    Ok(ExitCode::SUCCESS)
}
