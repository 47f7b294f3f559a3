//! Mail Sigil sends (password reset links, verification links): queued in the outbox, a
//! durable queue every node's mail worker draws from (`crate::mail` holds the delivery rules).
//! With no mail provider configured, messages stay queued, where operators and tests read them.

use std::fmt;

use crate::UnixTime;

/// One message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body, or the HTML body's text alternative (it holds single-use links:
    /// stores seal it at rest).
    pub body: String,
    /// The HTML body, when the mail has one (sealed at rest as well).
    pub html: Option<String>,
    /// The sender, when the template names one (`Name <address>` or an address); otherwise
    /// the mail provider's default.
    pub from: Option<String>,
    /// What it is for: `reset_password`, `verify_email`.
    pub kind: String,
    /// When it was queued.
    pub created_at: UnixTime,
}

/// The `kind` of an SMS kept in the outbox (an SMS connection without a provider): its
/// `to` is the phone number, its `body` the text; the mail worker never sends it.
pub const SMS_KIND: &str = "sms";

/// Where a queued message is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Queued,
    /// Leased by one node's worker, which is sending it.
    Sending,
    /// The mail server accepted it.
    Sent,
    /// Given up: refused for good, or not delivered in time.
    Failed,
}

impl DeliveryStatus {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status a stored name means.
    pub fn parse(name: &str) -> Option<Self> {
        [
            DeliveryStatus::Queued,
            DeliveryStatus::Sending,
            DeliveryStatus::Sent,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message in the outbox with its delivery state, as `sigil outbox` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Its place in the queue (unique, increasing).
    pub id: i64,
    /// The message.
    pub email: OutgoingEmail,
    /// Where its delivery is.
    pub status: DeliveryStatus,
    /// Attempts begun so far.
    pub attempts: u32,
    /// When the next attempt is due (for a queued message).
    pub next_attempt_at: UnixTime,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the mail server accepted it.
    pub sent_at: Option<UnixTime>,
    /// The `Message-ID` it was sent with.
    pub message_id: Option<String>,
}

/// A message one worker has leased: no other worker takes it until the lease runs out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedEmail {
    /// Its place in the queue.
    pub id: i64,
    /// The lease's own random value: only its holder can record the outcome.
    pub lease: String,
    /// Attempts begun, this one included.
    pub attempts: u32,
    /// The message.
    pub email: OutgoingEmail,
}

/// What became of an attempt, to record on the leased message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Accepted by the mail server.
    Sent {
        /// The `Message-ID` it carried.
        message_id: String,
        /// When.
        at: UnixTime,
    },
    /// Not delivered this time; tried again at `at`.
    Retry {
        /// When the next attempt is due.
        at: UnixTime,
        /// Why this one failed.
        error: String,
    },
    /// Given up.
    Failed {
        /// Why.
        error: String,
    },
}
