//! A user's second factors, enrolled and checked; the hosted MFA pages, the MFA API and the
//! Management API all come here.
//!
//! - Enrolment of an authenticator app: a pending TOTP authenticator with a fresh secret (the
//!   page shows it as a QR code and as text), confirmed by its first code. When the tenant
//!   enables recovery codes, the user's recovery code is made then and shown once.
//! - A TOTP code is accepted within one step of now, and once per step: the store takes the
//!   step in one conditional `UPDATE`, so a replay, or a race of two requests with one code,
//!   gets in once.
//! - A recovery code is used up by the `UPDATE` that replaces it with the next one.
//! - Every code tried takes one attempt from the user's bucket first (one conditional upsert,
//!   shared by every node): 10 at once, one more every 6 minutes, as Auth0's. An empty bucket
//!   refuses even the right code.
//!
//! Every outcome is a tenant log event with Auth0's code (`gd_enrollment_complete`,
//! `gd_auth_succeed`, `gd_auth_failed`, `gd_recovery_succeed`, `gd_recovery_failed`,
//! `gd_otp_rate_limit_exceed`), written here so that every caller logs alike.

use zeroize::Zeroizing;

use super::recovery;
use super::totp::TotpSecret;
use crate::events::{Events, Origin};
use crate::ids::{ClientId, UserId, alphanumeric};
use crate::model::{
    Authenticator, AuthenticatorKind, AuthenticatorSecret, LogType, MfaFactor, MfaSettings,
    NewLogEvent, User,
};
use crate::rate_limit::RateLimit;
use crate::{Rng, Store, StoreError, UnixTime};

/// The bucket of codes a user may try: 10 at once, one more every 6 minutes (Auth0's).
pub const ATTEMPTS: RateLimit = RateLimit {
    burst: 10,
    refill_ms: 6 * 60 * 1000,
};

/// Seconds a pending enrolment is offered again (the same secret when the page is shown
/// again) before a new one replaces it.
pub const ENROLMENT_WINDOW: i64 = 600;

/// What a user is asked for.
#[derive(Debug)]
pub enum Offer {
    /// To enrol an authenticator app: the pending authenticator, whose secret the page shows.
    Enrol(Authenticator),
    /// To answer a challenge of one of their factors.
    Challenge {
        /// Their authenticator app, when they enrolled one.
        otp: Option<Authenticator>,
        /// An address their codes may be mailed to (`super::email::factors`).
        email: Option<Authenticator>,
        /// Whether a recovery code may be used instead.
        recovery_code: bool,
    },
}

/// A new authenticator id of `kind`, as Auth0's (`totp|dev_…`).
pub fn new_id(kind: AuthenticatorKind, rng: &dyn Rng) -> String {
    format!("{}|dev_{}", kind.as_str(), alphanumeric(rng, 16))
}

/// What `user` is asked for at `now`: the challenge of their confirmed authenticator app or
/// of an email factor, else the enrolment of an authenticator app (the pending one of the
/// last [`ENROLMENT_WINDOW`] seconds, or a new one).
pub async fn offer(
    store: &impl Store,
    rng: &dyn Rng,
    settings: &MfaSettings,
    user: &User,
    now: UnixTime,
) -> Result<Offer, StoreError> {
    let mut all = store.authenticators(&user.user_id).await?;
    let recovery_code = settings.enabled(MfaFactor::RecoveryCode)
        && all
            .iter()
            .any(|a| a.kind == AuthenticatorKind::RecoveryCode && a.confirmed());
    let email = super::email::factors(settings, user, &all)
        .into_iter()
        .next();
    let otp = all
        .iter()
        .position(|a| a.kind == AuthenticatorKind::Totp)
        .map(|at| all.swap_remove(at));
    match otp {
        Some(otp) if otp.confirmed() => Ok(Offer::Challenge {
            otp: Some(otp),
            email,
            recovery_code,
        }),
        _ if email.is_some() => Ok(Offer::Challenge {
            otp: None,
            email,
            recovery_code,
        }),
        Some(pending) if pending.created_at.0 + ENROLMENT_WINDOW > now.0 => {
            Ok(Offer::Enrol(pending))
        }
        _ => Ok(Offer::Enrol(enrol(store, rng, &user.user_id, now).await?)),
    }
}

/// A new pending authenticator app for `user`, with a fresh secret; it replaces a pending
/// one (a confirmed one is [`crate::Conflict::Authenticator`]).
pub async fn enrol(
    store: &impl Store,
    rng: &dyn Rng,
    user: &UserId,
    now: UnixTime,
) -> Result<Authenticator, StoreError> {
    let pending = Authenticator {
        id: new_id(AuthenticatorKind::Totp, rng),
        user_id: user.clone(),
        kind: AuthenticatorKind::Totp,
        name: None,
        secret: AuthenticatorSecret::Totp(TotpSecret::generate(rng)),
        confirmed_at: None,
        created_at: now,
        last_auth_at: None,
    };
    store.put_authenticator(&pending).await?;
    Ok(pending)
}

/// Who is trying a code, for the events.
#[derive(Clone, Copy)]
pub struct Attempt<'a> {
    /// The application of the login (none for an enrolment ticket's page).
    pub client_id: Option<&'a ClientId>,
    /// Whose code.
    pub user: &'a UserId,
    /// Where from.
    pub origin: &'a Origin,
    /// When.
    pub now: UnixTime,
}

/// A code's verdict.
#[derive(Debug)]
pub enum Checked {
    /// The user passed: `enrolled` when this code confirmed an enrolment, with the new
    /// recovery code to show once when one was made.
    Passed {
        /// Whether an enrolment was confirmed.
        enrolled: bool,
        /// The user's new recovery code, shown once.
        recovery_code: Option<Zeroizing<String>>,
    },
    /// Not the code (or a TOTP step already used).
    Wrong,
    /// Not the shape of a code: nothing was tried.
    Malformed,
    /// The bucket is empty: nothing was tried.
    TooManyAttempts,
    /// The user has no factor of that kind to check.
    NotEnrolled,
    /// The mailed code named is unknown or past its five minutes: nothing was tried.
    Expired,
    /// The mailed code named was sent to another user: nothing was tried.
    NotThisLogin,
}

/// Takes an attempt from the user's bucket; `false` (logged) when it is empty.
pub(crate) async fn take_attempt(
    store: &impl Store,
    events: &dyn Events,
    attempt: Attempt<'_>,
) -> Result<bool, StoreError> {
    let key = format!("mfa:{}", attempt.user.as_str());
    let taken = store
        .take_rate_limit(&key, ATTEMPTS, attempt.now.0.saturating_mul(1000))
        .await?;
    if !taken.allowed {
        emit(
            events,
            attempt,
            LogType::MFA_TOO_MANY_ATTEMPTS,
            "Too many failed codes",
            None,
        );
    }
    Ok(taken.allowed)
}

pub(crate) fn emit(
    events: &dyn Events,
    attempt: Attempt<'_>,
    log_type: &str,
    description: &str,
    authenticator: Option<(&str, AuthenticatorKind)>,
) {
    let mut details = serde_json::Map::new();
    if let Some((id, kind)) = authenticator {
        details.insert(
            "authenticator".to_owned(),
            serde_json::json!({"id": id, "type": kind.as_str()}),
        );
    }
    events.emit(attempt.origin.stamp(NewLogEvent {
        client_id: attempt.client_id.cloned(),
        user_id: Some(attempt.user.clone()),
        description: Some(description.to_owned()),
        details,
        ..NewLogEvent::new(log_type, attempt.now)
    }));
}

/// Checks `code` from the user's authenticator app (confirming a pending enrolment with it;
/// the first enrolment also makes the recovery code when the tenant enables them).
pub async fn check_otp(
    store: &impl Store,
    events: &dyn Events,
    rng: &dyn Rng,
    settings: &MfaSettings,
    attempt: Attempt<'_>,
    code: &str,
) -> Result<Checked, StoreError> {
    let code = code.trim();
    if !super::totp::shaped_as_code(code) {
        return Ok(Checked::Malformed);
    }
    let (user, now) = (attempt.user, attempt.now);
    let all = store.authenticators(user).await?;
    let Some(otp) = all.iter().find(|a| a.kind == AuthenticatorKind::Totp) else {
        return Ok(Checked::NotEnrolled);
    };
    if !take_attempt(store, events, attempt).await? {
        return Ok(Checked::TooManyAttempts);
    }
    let step = otp
        .totp()
        .and_then(|secret| secret.matching_step(code, now));
    let taken = match step {
        Some(step) => store.take_totp_step(&otp.id, step, now).await?,
        None => false,
    };
    let this = Some((otp.id.as_str(), otp.kind));
    if !taken {
        emit(events, attempt, LogType::MFA_FAILED, "Wrong code", this);
        return Ok(Checked::Wrong);
    }
    if otp.confirmed() {
        emit(
            events,
            attempt,
            LogType::MFA_SUCCEEDED,
            "Code accepted",
            this,
        );
        return Ok(Checked::Passed {
            enrolled: false,
            recovery_code: None,
        });
    }
    confirm(store, events, rng, settings, attempt, &all, otp).await
}

/// Confirms `pending`, one of the user's authenticators (`all`), its first code just
/// accepted; the first enrolment also makes the recovery code when the tenant enables them.
pub(crate) async fn confirm(
    store: &impl Store,
    events: &dyn Events,
    rng: &dyn Rng,
    settings: &MfaSettings,
    attempt: Attempt<'_>,
    all: &[Authenticator],
    pending: &Authenticator,
) -> Result<Checked, StoreError> {
    let (user, now) = (attempt.user, attempt.now);
    store.confirm_authenticator(user, &pending.id, now).await?;
    let has_code = all
        .iter()
        .any(|a| a.kind == AuthenticatorKind::RecoveryCode && a.confirmed());
    let recovery_code = if settings.enabled(MfaFactor::RecoveryCode) && !has_code {
        Some(new_recovery_code(store, rng, user, now).await?)
    } else {
        None
    };
    emit(
        events,
        attempt,
        LogType::MFA_ENROLLED,
        "Authenticator enrolled",
        Some((pending.id.as_str(), pending.kind)),
    );
    Ok(Checked::Passed {
        enrolled: true,
        recovery_code,
    })
}

/// Checks the user's recovery code `typed`, which is used up: the user passes with a new one
/// to show.
pub async fn use_recovery_code(
    store: &impl Store,
    events: &dyn Events,
    rng: &dyn Rng,
    settings: &MfaSettings,
    attempt: Attempt<'_>,
    typed: &str,
) -> Result<Checked, StoreError> {
    let Some(code) = recovery::normalise(typed) else {
        return Ok(Checked::Malformed);
    };
    if !settings.enabled(MfaFactor::RecoveryCode) {
        return Ok(Checked::NotEnrolled);
    }
    let (user, now) = (attempt.user, attempt.now);
    let all = store.authenticators(user).await?;
    let Some(stored) = all
        .iter()
        .find(|a| a.kind == AuthenticatorKind::RecoveryCode && a.confirmed())
    else {
        return Ok(Checked::NotEnrolled);
    };
    if !take_attempt(store, events, attempt).await? {
        return Ok(Checked::TooManyAttempts);
    }
    let this = Some((stored.id.as_str(), stored.kind));
    let old = match &stored.secret {
        AuthenticatorSecret::RecoveryCode(digest) if digest.matches(&code) => digest,
        _ => {
            emit(
                events,
                attempt,
                LogType::MFA_RECOVERY_FAILED,
                "Wrong recovery code",
                this,
            );
            return Ok(Checked::Wrong);
        }
    };
    let next = recovery::generate(rng);
    let used = store
        .replace_recovery_code(user, &stored.id, Some(old), &recovery::digest(&next), now)
        .await?;
    if !used {
        // Another request used it first.
        emit(
            events,
            attempt,
            LogType::MFA_RECOVERY_FAILED,
            "Recovery code already used",
            this,
        );
        return Ok(Checked::Wrong);
    }
    emit(
        events,
        attempt,
        LogType::MFA_RECOVERY_SUCCEEDED,
        "Recovery code used",
        this,
    );
    Ok(Checked::Passed {
        enrolled: false,
        recovery_code: Some(next),
    })
}

/// A new recovery code for `user`, replacing theirs (or their first): shown once.
pub async fn new_recovery_code(
    store: &impl Store,
    rng: &dyn Rng,
    user: &UserId,
    now: UnixTime,
) -> Result<Zeroizing<String>, StoreError> {
    let code = recovery::generate(rng);
    let id = new_id(AuthenticatorKind::RecoveryCode, rng);
    store
        .replace_recovery_code(user, &id, None, &recovery::digest(&code), now)
        .await?;
    Ok(code)
}
