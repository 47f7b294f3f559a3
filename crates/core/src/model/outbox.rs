//! Mail Sigil sends (password reset links, verification links). Until SMTP delivery lands,
//! messages are kept in the outbox, where operators and tests read them.

use crate::UnixTime;

/// One message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body (it holds single-use links: stores seal it at rest).
    pub body: String,
    /// What it is for: `reset_password`, `verify_email`.
    pub kind: String,
    /// When it was queued.
    pub created_at: UnixTime,
}
