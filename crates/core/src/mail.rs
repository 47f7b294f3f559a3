//! Mail delivery's rules, which every node's worker follows over the outbox (a durable queue
//! in the `Store`):
//!
//! - a worker leases a batch of due messages ([`Store::claim_emails`]: one statement, so two
//!   nodes never take the same message) for [`LEASE`] seconds; a lease that runs out (its node
//!   died mid-send) makes the message due again;
//! - the [`Mailer`] sends each; the outcome is recorded only under the lease that took it;
//! - a refusal for good (SMTP 5xx) fails the message at once, with the reason; anything else
//!   (the server unreachable, 4xx, TLS) is tried again after 1, 5, 30, 120, 360, then every 720
//!   times the plan's first delay (a minute by default), until [`GIVE_UP_AFTER`] has passed
//!   since it was queued;
//! - a message queued longer ago than that (waiting for a provider to be configured) is failed
//!   without being sent: its links would be stale.
//!
//! Delivery is at least once: a node that dies between the server's acceptance and recording
//! it sends the message again when its lease runs out. The `Message-ID` ([`message_id`]) is
//! the same for every attempt, so receivers can drop the repeat.

use std::future::Future;

use crate::UnixTime;
use crate::model::{ClaimedEmail, Delivered, OutgoingEmail};
use crate::store::{Store, StoreError};

/// Seconds a worker holds the messages it claimed; more than any one SMTP exchange may take.
pub const LEASE: i64 = 300;

/// Seconds after queueing that a message is given up on.
pub const GIVE_UP_AFTER: i64 = 24 * 3600;

/// Messages one worker claims at once.
pub const BATCH: u32 = 20;

/// The delays between attempts, in units of [`RetryPlan::first`]; the last repeats.
const STEPS: [i64; 6] = [1, 5, 30, 120, 360, 720];

/// When failed attempts are tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPlan {
    /// Seconds before the first retry; later ones wait 5, 30, 120, 360 and 720 times that.
    pub first: i64,
}

impl Default for RetryPlan {
    fn default() -> Self {
        RetryPlan { first: 60 }
    }
}

impl RetryPlan {
    /// The wait after the `attempts`-th failed attempt (1-based).
    pub fn delay(self, attempts: u32) -> i64 {
        let step = usize::try_from(attempts.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(STEPS.len() - 1);
        STEPS[step].saturating_mul(self.first.max(1))
    }
}

/// How one attempt went, as the [`Mailer`] tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server accepted the message.
    Sent,
    /// Not now: unreachable, timed out, TLS failed, or a 4xx answer. The reason is shown to
    /// operators.
    Transient(String),
    /// Never: a 5xx answer (no such mailbox, refused sender, …).
    Permanent(String),
}

/// Sends one message. The server's implementation speaks SMTP; tests may record.
pub trait Mailer: Sync {
    /// Sends `email` with the `Message-ID` `message_id`.
    fn send(&self, email: &OutgoingEmail, message_id: &str)
    -> impl Future<Output = Outcome> + Send;
}

/// The `Message-ID` of the outbox's message `id`, the same on every attempt and every node.
pub fn message_id(id: i64, created_at: UnixTime, host: &str) -> String {
    format!("<sigil.{id}.{}@{host}>", created_at.0)
}

/// What to record after an attempt of `claimed` that ended as `outcome` at `now`.
pub fn settle(
    claimed: &ClaimedEmail,
    outcome: Outcome,
    message_id: String,
    now: UnixTime,
    plan: RetryPlan,
) -> Delivered {
    match outcome {
        Outcome::Sent => Delivered::Sent {
            message_id,
            at: now,
        },
        Outcome::Permanent(error) => Delivered::Failed { error },
        Outcome::Transient(error) => {
            let at = UnixTime(now.0.saturating_add(plan.delay(claimed.attempts)));
            if at.0 > claimed.email.created_at.0.saturating_add(GIVE_UP_AFTER) {
                Delivered::Failed {
                    error: format!(
                        "not delivered within {} hours; last error: {error}",
                        GIVE_UP_AFTER / 3600
                    ),
                }
            } else {
                Delivered::Retry { at, error }
            }
        }
    }
}

/// Whether `claimed` waited so long that it is failed unsent.
pub fn stale(claimed: &ClaimedEmail, now: UnixTime) -> Option<Delivered> {
    (now.0 > claimed.email.created_at.0.saturating_add(GIVE_UP_AFTER)).then(|| Delivered::Failed {
        error: format!(
            "not sent within {} hours of being queued (no mail provider was configured)",
            GIVE_UP_AFTER / 3600
        ),
    })
}

/// What one [`deliver_due`] pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Messages the server accepted.
    pub sent: u32,
    /// Messages to be tried again.
    pub retried: u32,
    /// Messages given up on.
    pub failed: u32,
    /// Outcomes that could not be recorded because the lease had run out and another worker
    /// took the message.
    pub lost_leases: u32,
}

impl Pass {
    /// Messages this pass took.
    pub fn total(&self) -> u32 {
        self.sent + self.retried + self.failed + self.lost_leases
    }
}

/// One pass of a worker: claims up to [`BATCH`] due messages as of `now()` and delivers them
/// one after another through `mailer`, recording each outcome as soon as it is known.
pub async fn deliver_due<S: Store, M: Mailer>(
    store: &S,
    mailer: &M,
    now: impl Fn() -> UnixTime,
    lease: &str,
    host: &str,
    plan: RetryPlan,
) -> Result<Pass, StoreError> {
    let claimed = store.claim_emails(now(), lease, BATCH).await?;
    let mut pass = Pass::default();
    for message in &claimed {
        let id = message_id(message.id, message.email.created_at, host);
        let delivered = match stale(message, now()) {
            Some(failed) => failed,
            None => {
                let outcome = mailer.send(&message.email, &id).await;
                settle(message, outcome, id, now(), plan)
            }
        };
        // Why an attempt failed, once, naming the message by its id (never its body).
        let kind = message.email.kind.as_str();
        let counter = match &delivered {
            Delivered::Sent { .. } => &mut pass.sent,
            Delivered::Retry { at, error } => {
                tracing::warn!(outbox_id = message.id, kind, attempts = message.attempts, retry_at = at.0, %error, "mail not delivered; it will be tried again");
                &mut pass.retried
            }
            Delivered::Failed { error } => {
                tracing::error!(outbox_id = message.id, kind, attempts = message.attempts, %error, "mail given up on");
                &mut pass.failed
            }
        };
        if store
            .record_delivery(message.id, &message.lease, &delivered)
            .await?
        {
            *counter += 1;
        } else {
            pass.lost_leases += 1;
        }
    }
    Ok(pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(attempts: u32, created_at: i64) -> ClaimedEmail {
        ClaimedEmail {
            id: 7,
            lease: "l".into(),
            attempts,
            email: OutgoingEmail {
                to: "a@example.com".into(),
                subject: "s".into(),
                body: "b".into(),
                kind: "verify_email".into(),
                html: None,
                from: None,
                created_at: UnixTime(created_at),
            },
        }
    }

    #[test]
    fn retries_back_off_then_repeat_the_longest_wait() {
        let plan = RetryPlan::default();
        let waits: Vec<i64> = (1..=8).map(|n| plan.delay(n)).collect();
        assert_eq!(waits, [60, 300, 1800, 7200, 21_600, 43_200, 43_200, 43_200]);
        assert_eq!(RetryPlan { first: 2 }.delay(2), 10);
    }

    #[test]
    fn outcomes_settle_as_the_rules_say() {
        let plan = RetryPlan { first: 10 };
        let now = UnixTime(1000);
        let id = || "<m>".to_owned();
        let cases = [
            (
                claimed(1, 1000),
                Outcome::Sent,
                Delivered::Sent {
                    message_id: "<m>".into(),
                    at: now,
                },
            ),
            (
                claimed(1, 1000),
                Outcome::Permanent("550 no such user".into()),
                Delivered::Failed {
                    error: "550 no such user".into(),
                },
            ),
            (
                claimed(2, 1000),
                Outcome::Transient("connection refused".into()),
                Delivered::Retry {
                    at: UnixTime(1050),
                    error: "connection refused".into(),
                },
            ),
        ];
        for (message, outcome, expected) in cases {
            assert_eq!(settle(&message, outcome, id(), now, plan), expected);
        }
        // A retry that would fall after the give-up horizon fails instead.
        let late = settle(
            &claimed(6, 1000 - GIVE_UP_AFTER + 100),
            Outcome::Transient("421 busy".into()),
            id(),
            now,
            plan,
        );
        assert!(
            matches!(&late, Delivered::Failed { error } if error.contains("421 busy")),
            "{late:?}"
        );
    }

    #[test]
    fn messages_older_than_the_horizon_are_not_sent() {
        let now = UnixTime(GIVE_UP_AFTER + 10);
        assert_eq!(stale(&claimed(1, 10), now), None);
        assert!(matches!(
            stale(&claimed(1, 9), now),
            Some(Delivered::Failed { .. })
        ));
    }

    #[test]
    fn message_ids_are_stable() {
        assert_eq!(
            message_id(42, UnixTime(1_700_000_000), "login.example.com"),
            "<sigil.42.1700000000@login.example.com>"
        );
    }
}
