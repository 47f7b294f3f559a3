//! Enrolment tickets (Auth0's `POST /guardian/enrollments/ticket`): a link an administrator
//! sends a user (or has Sigil mail, with the `enrollment_email` template) to enrol an
//! authenticator app without logging in first. The link opens `<issuer>u/mfa-enrollment`,
//! which shows the enrolment (QR code and secret) and takes the first code; the code is
//! checked as at a login (`authenticators::check_otp`: the attempt bucket, a TOTP step once),
//! and only an accepted code uses the ticket up. A ticket lasts five days (Auth0's) and works
//! once.

use super::authenticators::{self, Attempt, Checked, ENROLMENT_WINDOW};
use crate::email_templates::Template;
use crate::events::{Events, Origin};
use crate::model::{
    Authenticator, AuthenticatorKind, MfaFactor, MfaSettings, TemplateName, TicketKind, User,
};
use crate::tickets::{self, TICKET_LIFETIME, TicketRefusal};
use crate::{Rng, Store, StoreError, UnixTime};

/// A new enrolment ticket for `user`, mailed to `mail_to` when given: its id and its link.
pub async fn issue(
    store: &impl Store,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    user: &User,
    mail_to: Option<&str>,
) -> Result<(String, String), StoreError> {
    let url = tickets::issue(
        store,
        rng,
        issuer,
        now,
        TicketKind::MfaEnrollment,
        &user.user_id,
        None,
        TICKET_LIFETIME,
    )
    .await?;
    if let Some(to) = mail_to
        && let Some(template) = Template::for_mail(store, TemplateName::EnrollmentEmail).await?
    {
        tickets::queue(
            store,
            now,
            &template,
            "enrollment_email",
            user,
            to,
            None,
            Some(&url),
        )
        .await?;
    }
    let id = url
        .rsplit_once("ticket=")
        .map_or("", |(_, id)| id)
        .to_owned();
    Ok((id, url))
}

/// Why an enrolment link shows no enrolment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The link no longer works.
    Ticket(TicketRefusal),
    /// The user has an authenticator app already.
    AlreadyEnrolled,
    /// The tenant does not enable the `otp` factor.
    NotEnabled,
}

impl Refusal {
    /// What the page says.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Ticket(refusal) => refusal.message(),
            Refusal::AlreadyEnrolled => {
                "You have an authenticator app already. To replace it, ask your administrator to reset your multi-factor authentication."
            }
            Refusal::NotEnabled => {
                "Multi-factor authentication with an authenticator app is not enabled. Ask your administrator."
            }
        }
    }
}

/// The user of `link_ticket` and their pending authenticator app (the one of the last
/// [`ENROLMENT_WINDOW`] seconds, or a new one), or why there is none.
pub async fn open(
    store: &impl Store,
    rng: &dyn Rng,
    settings: &MfaSettings,
    link_ticket: &str,
    now: UnixTime,
) -> Result<Result<(User, Authenticator), Refusal>, StoreError> {
    let user = match usable(store, settings, link_ticket, now).await? {
        Ok((user, Some(pending))) if pending.created_at.0 + ENROLMENT_WINDOW > now.0 => {
            return Ok(Ok((user, pending)));
        }
        Ok((user, _)) => user,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let pending = authenticators::enrol(store, rng, &user.user_id, now).await?;
    Ok(Ok((user, pending)))
}

/// The ticket's user and their pending authenticator app, if the ticket works, the factor
/// is enabled and the user has no confirmed authenticator app.
async fn usable(
    store: &impl Store,
    settings: &MfaSettings,
    link_ticket: &str,
    now: UnixTime,
) -> Result<Result<(User, Option<Authenticator>), Refusal>, StoreError> {
    let (_, user) = match tickets::peek(store, link_ticket, TicketKind::MfaEnrollment, now).await? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(Refusal::Ticket(refusal))),
    };
    if !settings.enabled(MfaFactor::Otp) {
        return Ok(Err(Refusal::NotEnabled));
    }
    let otp = store
        .authenticators(&user.user_id)
        .await?
        .into_iter()
        .find(|a| a.kind == AuthenticatorKind::Totp);
    match otp {
        Some(otp) if otp.confirmed() => Ok(Err(Refusal::AlreadyEnrolled)),
        otp => Ok(Ok((user, otp))),
    }
}

/// Takes the first `code` of the ticket's pending authenticator app: an accepted code
/// confirms it and uses the ticket up (with the new recovery code, shown once, when the
/// tenant enables them); any other verdict leaves the ticket usable.
#[allow(clippy::too_many_arguments)] // The page's inputs; grouping them would only rename them.
pub async fn enrol(
    store: &impl Store,
    events: &dyn Events,
    rng: &dyn Rng,
    settings: &MfaSettings,
    link_ticket: &str,
    code: &str,
    origin: &Origin,
    now: UnixTime,
) -> Result<Result<Checked, Refusal>, StoreError> {
    let user = match usable(store, settings, link_ticket, now).await? {
        Ok((user, Some(_))) => user,
        // Nothing pending (it was removed meanwhile): nothing to confirm.
        Ok((_, None)) => return Ok(Ok(Checked::NotEnrolled)),
        Err(refusal) => return Ok(Err(refusal)),
    };
    let attempt = Attempt {
        client_id: None,
        user: &user.user_id,
        origin,
        now,
    };
    let checked = authenticators::check_otp(store, events, rng, settings, attempt, code).await?;
    if matches!(checked, Checked::Passed { .. })
        && let Err(refusal) =
            tickets::consume(store, link_ticket, TicketKind::MfaEnrollment, now).await?
    {
        return Ok(Err(Refusal::Ticket(refusal)));
    }
    Ok(Ok(checked))
}
