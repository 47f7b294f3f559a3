//! The links Sigil mails: single-use tickets to set a new password
//! (`<issuer>u/reset-password?ticket=…`), to prove an email address
//! (`<issuer>u/email-verification?ticket=…`) and to enrol an authenticator app
//! (`<issuer>u/mfa-enrollment?ticket=…`, `crate::mfa::enrolment`) or to lift a brute-force
//! block (`<issuer>u/unblock?ticket=…`, [`unblock`]). Making one, mailing a link (written from the
//! tenant's email template or Sigil's own, `crate::email_templates`), and
//! what following a link does: a new password ([`reset_password`]) or `email_verified`
//! ([`verify_email`]). The store keeps only the ticket's digest and uses it once, atomically
//! ([`Store::consume_ticket`]).

use zeroize::Zeroizing;

use crate::email_templates::{Letter, Template};
use crate::ids::{ClientId, UserId};
use crate::model::{
    Connection, LogType, NewLogEvent, PasswordRefusal, TemplateName, Ticket, TicketKind, User,
};
use crate::password::Passwords;
use crate::secret::Token;
use crate::{Rng, Store, StoreError, UnixTime};

/// How long a mailed link works unless the caller says otherwise (Auth0's default for both
/// kinds: 5 days).
pub const TICKET_LIFETIME: i64 = 432_000;

/// Why a link no longer works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketRefusal {
    /// No such ticket (mistyped, of another kind, or its user is gone).
    Unknown,
    /// It was used already.
    Used,
    /// Its lifetime is over.
    Expired,
}

impl TicketRefusal {
    /// What the page says.
    pub fn message(self) -> &'static str {
        match self {
            TicketRefusal::Unknown => "This link is not valid.",
            TicketRefusal::Used => "This link was used already.",
            TicketRefusal::Expired => "This link has expired.",
        }
    }
}

/// The page a ticket of `kind` opens, under the issuer.
fn page(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::PasswordReset => "u/reset-password",
        TicketKind::EmailVerification => "u/email-verification",
        TicketKind::MfaEnrollment => "u/mfa-enrollment",
        TicketKind::Unblock => "u/unblock",
    }
}

/// Stores a new ticket of `kind` for `user`, good for `lifetime` seconds (at least one), and
/// returns the link that uses it.
#[allow(clippy::too_many_arguments)] // Each is a separate fact about the ticket.
pub async fn issue(
    store: &impl Store,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    kind: TicketKind,
    user: &UserId,
    result_url: Option<String>,
    lifetime: i64,
) -> Result<String, StoreError> {
    let ticket = Token::generate(rng);
    store
        .create_ticket(&Ticket {
            digest: ticket.digest(),
            kind,
            user_id: user.clone(),
            result_url,
            created_at: now,
            expires_at: UnixTime(now.0.saturating_add(lifetime.max(1))),
            used_at: None,
        })
        .await?;
    Ok(format!("{issuer}{}?ticket={}", page(kind), ticket.expose()))
}

/// Mails `user` a link proving their address (a ticket good for [`TICKET_LIFETIME`], or the
/// `verify_email` template's `urlLifetimeInSeconds`), as Auth0 does after a signup and when the
/// Management API asks (`verify_email`). Returns whether a mail was queued: a user without an
/// email address gets none.
pub async fn send_verification_email(
    store: &impl Store,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    user: &User,
    client: Option<&ClientId>,
) -> Result<bool, StoreError> {
    let Some(to) = user.email.clone() else {
        return Ok(false);
    };
    mail_link(
        store,
        rng,
        issuer,
        now,
        Link {
            template: TemplateName::VerifyEmail,
            ticket: TicketKind::EmailVerification,
            outbox_kind: "verify_email",
            result_url: None,
        },
        user,
        &to,
        client,
    )
    .await
}

/// What a mailed link is.
pub(crate) struct Link {
    /// The template the mail is written with.
    pub(crate) template: TemplateName,
    /// The ticket the link uses.
    pub(crate) ticket: TicketKind,
    /// The mail's kind in the outbox.
    pub(crate) outbox_kind: &'static str,
    /// Where the link leads once used, when the caller knows better than the template.
    pub(crate) result_url: Option<String>,
}

/// Issues the ticket of `link` for `user` (its lifetime and `resultUrl` as the template says)
/// and queues the mail with its link to `to`; `false` when no template writes it.
#[allow(clippy::too_many_arguments)] // Each is a separate fact about the mail.
pub(crate) async fn mail_link(
    store: &impl Store,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    link: Link,
    user: &User,
    to: &str,
    client: Option<&ClientId>,
) -> Result<bool, StoreError> {
    let Some(template) = Template::for_mail(store, link.template).await? else {
        return Ok(false);
    };
    let result_url = link
        .result_url
        .or_else(|| template.result_url(user.email.as_deref()));
    let url = issue(
        store,
        rng,
        issuer,
        now,
        link.ticket,
        &user.user_id,
        result_url,
        template.link_lifetime(TICKET_LIFETIME),
    )
    .await?;
    queue(
        store,
        now,
        &template,
        link.outbox_kind,
        user,
        to,
        client,
        Some(&url),
    )
    .await?;
    Ok(true)
}

/// Writes the mail from `template` with the tenant's, the client's and the user's facts, and
/// queues it.
#[allow(clippy::too_many_arguments)] // Each is a separate fact about the mail.
pub(crate) async fn queue(
    store: &impl Store,
    now: UnixTime,
    template: &Template,
    outbox_kind: &str,
    user: &User,
    to: &str,
    client: Option<&ClientId>,
    url: Option<&str>,
) -> Result<(), StoreError> {
    let tenant = store.tenant_settings().await?.unwrap_or_default();
    let client = match client {
        Some(id) => store.client(id).await?,
        None => None,
    };
    let connection = connection_of(store, user).await.ok().map(|c| c.name);
    let letter = Letter {
        user,
        tenant: &tenant,
        application: client.as_ref(),
        connection: connection.as_deref(),
        url,
        code: None,
        lifetime: None,
    };
    store
        .queue_email(&template.compose(&letter, to, outbox_kind, now))
        .await
}

/// The ticket in `link_ticket` and its account, if it is an unused, unexpired ticket of `kind`;
/// nothing is used up. The account may be linked into another user: it keeps its own
/// credentials and address, so its reset and verification links keep working.
pub(crate) async fn peek(
    store: &impl Store,
    link_ticket: &str,
    kind: TicketKind,
    now: UnixTime,
) -> Result<Result<(Ticket, User), TicketRefusal>, StoreError> {
    let Some(ticket) = store
        .ticket(&Token::new(link_ticket.to_owned()).digest())
        .await?
        .filter(|t| t.kind == kind)
    else {
        return Ok(Err(TicketRefusal::Unknown));
    };
    if ticket.used_at.is_some() {
        return Ok(Err(TicketRefusal::Used));
    }
    if ticket.expires_at <= now {
        return Ok(Err(TicketRefusal::Expired));
    }
    Ok(match store.account(&ticket.user_id).await? {
        Some(user) => Ok((ticket, user)),
        None => Err(TicketRefusal::Unknown),
    })
}

/// Uses the ticket in `link_ticket` (of `kind`) up, once among any number of racers.
pub(crate) async fn consume(
    store: &impl Store,
    link_ticket: &str,
    kind: TicketKind,
    now: UnixTime,
) -> Result<Result<Ticket, TicketRefusal>, StoreError> {
    let digest = Token::new(link_ticket.to_owned()).digest();
    match store.consume_ticket(&digest, kind, now).await {
        Ok(ticket) => Ok(Ok(ticket)),
        Err(StoreError::NotFound(_)) => Ok(Err(TicketRefusal::Unknown)),
        Err(StoreError::AlreadyUsed) => Ok(Err(TicketRefusal::Used)),
        Err(StoreError::Expired) => Ok(Err(TicketRefusal::Expired)),
        Err(e) => Err(e),
    }
}

/// The database connection of `user`.
async fn connection_of(store: &impl Store, user: &User) -> Result<Connection, StoreError> {
    store
        .connection(&user.connection_id)
        .await?
        .ok_or(StoreError::NotFound("connection"))
}

/// What the set-new-password page shows for a good ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetForm {
    /// Whose password it sets.
    pub email: String,
    /// The connection's password policy in words.
    pub policy: String,
}

/// The set-new-password page for the ticket in the link, without using it.
pub async fn reset_form(
    store: &impl Store,
    link_ticket: &str,
    now: UnixTime,
) -> Result<Result<ResetForm, TicketRefusal>, StoreError> {
    let (_, user) = match peek(store, link_ticket, TicketKind::PasswordReset, now).await? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let connection = connection_of(store, &user).await?;
    Ok(Ok(ResetForm {
        email: user.email.clone().unwrap_or_default(),
        policy: connection.options.describe_password_policy(),
    }))
}

/// Why a new password was not set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResetRefusal {
    /// The link no longer works.
    Ticket(TicketRefusal),
    /// The two copies differ.
    Mismatch,
    /// The connection's policy refuses it: too weak (the text says what is missing) or too
    /// common.
    Weak(PasswordRefusal),
    /// The password workers are all taken; the ticket still works, try again shortly. Not
    /// logged: nothing about the password was decided.
    Busy(crate::password::Busy),
}

impl ResetRefusal {
    /// Why, in words, as the `fcp` log event says it.
    fn reason(&self) -> String {
        match self {
            ResetRefusal::Ticket(refusal) => refusal.message().to_owned(),
            ResetRefusal::Mismatch => "The passwords do not match".to_owned(),
            ResetRefusal::Weak(why) => why.to_string(),
            ResetRefusal::Busy(busy) => busy.to_string(),
        }
    }
}

/// Logs `fcp` for a refused reset, with the account when known, and answers the refusal.
async fn refused(
    store: &impl Store,
    now: UnixTime,
    user: Option<&User>,
    refusal: ResetRefusal,
) -> Result<Result<PasswordChanged, ResetRefusal>, StoreError> {
    let why = refusal.reason();
    log_failure(store, now, LogType::FAILED_CHANGE_PASSWORD, user, &why).await?;
    Ok(Err(refusal))
}

/// A new password set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordChanged {
    /// Whose.
    pub user_id: UserId,
    /// Where the ticket says to send the user next, if anywhere.
    pub result_url: Option<String>,
}

/// Sets the password of the ticket's user to `password` (typed twice: `confirm`).
///
/// A refused password leaves the ticket usable; the ticket is used up (atomically, once) only
/// after the password passed the connection's policy and was hashed, just before it is stored.
/// As Auth0 does on a password change, the user's sessions end and their refresh tokens are
/// revoked: for a linked account, those of the user it is linked into, whom its credentials
/// log in as. Logs `scp` or `fcp`.
pub async fn reset_password(
    store: &impl Store,
    passwords: &impl Passwords,
    now: UnixTime,
    link_ticket: &str,
    password: &Zeroizing<String>,
    confirm: &str,
) -> Result<Result<PasswordChanged, ResetRefusal>, StoreError> {
    let (ticket, user) = match peek(store, link_ticket, TicketKind::PasswordReset, now).await? {
        Ok(found) => found,
        Err(refusal) => return refused(store, now, None, ResetRefusal::Ticket(refusal)).await,
    };
    let connection = connection_of(store, &user).await?;
    let checked = if password.as_bytes() == confirm.as_bytes() {
        connection
            .options
            .check_password(password)
            .map_err(ResetRefusal::Weak)
    } else {
        Err(ResetRefusal::Mismatch)
    };
    if let Err(refusal) = checked {
        return refused(store, now, Some(&user), refusal).await;
    }
    let detection = store
        .tenant_settings()
        .await?
        .unwrap_or_default()
        .breached_passwords;
    let used = crate::attack_protection::breached::Used {
        user: Some(&user),
        identifier: user.email.as_deref().unwrap_or_default(),
        client_id: None,
        ip: None,
    };
    let checkpoint = crate::attack_protection::breached::Checkpoint::PasswordChange;
    if crate::attack_protection::breached::refuses(
        store, passwords, None, &detection, checkpoint, password, used, now,
    )
    .await?
    {
        let why = PasswordRefusal::Breached;
        return refused(store, now, Some(&user), ResetRefusal::Weak(why)).await;
    }
    let hash = match passwords.hash(password.to_string()).await {
        Ok(Some(hash)) => hash,
        Ok(None) => {
            let why = PasswordRefusal::TooWeak("the password cannot be used".to_owned());
            return refused(store, now, Some(&user), ResetRefusal::Weak(why)).await;
        }
        Err(busy) => return Ok(Err(ResetRefusal::Busy(busy))),
    };
    if let Err(refusal) = consume(store, link_ticket, TicketKind::PasswordReset, now).await? {
        return refused(store, now, Some(&user), ResetRefusal::Ticket(refusal)).await;
    }
    // Only the password changes: whatever was written to the user meanwhile stays.
    match store.set_password(&ticket.user_id, &hash, now).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => {
            return Ok(Err(ResetRefusal::Ticket(TicketRefusal::Unknown)));
        }
        Err(e) => return Err(e),
    }
    crate::attack_protection::brute_force::forget_user(store, &user).await?;
    let owner = user.linked_to.as_ref().unwrap_or(&user.user_id);
    crate::accounts::end_access(store, owner, now).await?;
    store
        .append_log(&NewLogEvent {
            user_id: Some(user.user_id.clone()),
            user_name: user.email.clone(),
            connection: Some(connection.name.clone()),
            description: Some("Password changed with a reset link".to_owned()),
            ..NewLogEvent::new(LogType::SUCCESS_CHANGE_PASSWORD, now)
        })
        .await?;
    Ok(Ok(PasswordChanged {
        user_id: user.user_id,
        result_url: ticket.result_url,
    }))
}

/// An address proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailVerified {
    /// The address.
    pub email: String,
    /// Where the ticket says to send the user next, if anywhere.
    pub result_url: Option<String>,
}

/// Follows an email-verification link: uses the ticket up (once) and sets the user's
/// `email_verified`. Logs `sv` or `fv`.
pub async fn verify_email(
    store: &impl Store,
    now: UnixTime,
    link_ticket: &str,
) -> Result<Result<EmailVerified, TicketRefusal>, StoreError> {
    let ticket = match consume(store, link_ticket, TicketKind::EmailVerification, now).await? {
        Ok(ticket) => ticket,
        Err(refusal) => {
            let user = match store
                .ticket(&Token::new(link_ticket.to_owned()).digest())
                .await?
            {
                Some(t) => store.account(&t.user_id).await?,
                None => None,
            };
            log_failure(
                store,
                now,
                LogType::FAILED_VERIFICATION_EMAIL,
                user.as_ref(),
                refusal.message(),
            )
            .await?;
            return Ok(Err(refusal));
        }
    };
    match store.mark_email_verified(&ticket.user_id, now).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Ok(Err(TicketRefusal::Unknown)),
        Err(e) => return Err(e),
    }
    let Some(user) = store.account(&ticket.user_id).await? else {
        return Ok(Err(TicketRefusal::Unknown));
    };
    let connection = connection_of(store, &user).await.ok().map(|c| c.name);
    store
        .append_log(&NewLogEvent {
            user_id: Some(user.user_id.clone()),
            user_name: user.email.clone(),
            connection,
            ..NewLogEvent::new(LogType::SUCCESS_VERIFICATION_EMAIL, now)
        })
        .await?;
    // Auth0's welcome mail follows a verification, when the tenant wrote one.
    if let (Some(to), Some(welcome)) = (
        user.email.as_deref(),
        Template::for_mail(store, TemplateName::WelcomeEmail).await?,
    ) {
        queue(store, now, &welcome, "welcome_email", &user, to, None, None).await?;
    }
    Ok(Ok(EmailVerified {
        email: user.email.unwrap_or_default(),
        result_url: ticket.result_url,
    }))
}

/// Follows a `blocked_account` mail's link: uses the ticket up (once) and lifts the user's
/// brute-force blocks, from every address (`ublkdu`). Answers whose they were.
pub async fn unblock(
    store: &impl Store,
    now: UnixTime,
    link_ticket: &str,
) -> Result<Result<User, TicketRefusal>, StoreError> {
    let ticket = match consume(store, link_ticket, TicketKind::Unblock, now).await? {
        Ok(ticket) => ticket,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let Some(user) = store.account(&ticket.user_id).await? else {
        return Ok(Err(TicketRefusal::Unknown));
    };
    crate::attack_protection::brute_force::forget_user(store, &user).await?;
    store
        .append_log(&NewLogEvent {
            user_id: Some(user.user_id.clone()),
            user_name: user.email.clone(),
            description: Some("Brute-force blocks lifted by the mailed link".to_owned()),
            ..NewLogEvent::new(LogType::BLOCK_RELEASED, now)
        })
        .await?;
    Ok(Ok(user))
}

/// Logs a failed change or verification, with the user when known.
async fn log_failure(
    store: &impl Store,
    now: UnixTime,
    log_type: &str,
    user: Option<&User>,
    why: &str,
) -> Result<(), StoreError> {
    store
        .append_log(&NewLogEvent {
            user_id: user.map(|u| u.user_id.clone()),
            user_name: user.and_then(|u| u.email.clone()),
            description: Some(why.to_owned()),
            ..NewLogEvent::new(log_type, now)
        })
        .await?;
    Ok(())
}
