//! The email factor (Auth0's `email`, a dependent factor: the tenant must enable `otp` too).
//!
//! - Which addresses a user may be challenged at ([`factors`]): the one they enrolled through
//!   the MFA API (confirmed by its first code), and, as at Auth0, their verified address
//!   without any enrolment.
//! - A challenge mails a six-digit code ([`send_code`]) and hands out an `oob_code` naming it:
//!   the code is kept as a MAC bound to the `oob_code` under a master-derived key, for five
//!   minutes, at most [`SENDS`] mails an hour to a user.
//! - Entering the code ([`check_code`]) takes an attempt from the user's bucket
//!   (`authenticators::ATTEMPTS`, shared with the other factors) before the comparison, and
//!   the code is used up by one `DELETE` that only the right binding code can win; the first
//!   code of a pending enrolment confirms it.

use aws_lc_rs::{constant_time, digest};
use zeroize::Zeroizing;

use super::Effects;
use super::authenticators::{self, Checked};
use crate::email_templates::{Letter, Template};
use crate::ids::{ClientId, UserId, alphanumeric, digits, to_hex};
use crate::model::{
    Authenticator, AuthenticatorKind, AuthenticatorSecret, Client, LogType, MfaFactor, MfaSettings,
    OobCode, TemplateName, User,
};
use crate::rate_limit::RateLimit;
use crate::{Store, StoreError};

/// Seconds a mailed code works (Auth0's OOB codes: five minutes).
pub const CODE_LIFETIME: i64 = 300;

/// Digits of a mailed code.
pub const CODE_DIGITS: usize = 6;

/// Codes mailed to one user: 10 at once, 10 more an hour.
pub const SENDS: RateLimit = RateLimit::per_hour(10, 10);

/// The email factors `user` may be challenged at, when the tenant enables the factor: their
/// enrolled address, and their verified address (unless it is the same).
pub fn factors(settings: &MfaSettings, user: &User, all: &[Authenticator]) -> Vec<Authenticator> {
    if !settings.enabled(MfaFactor::Email) {
        return Vec::new();
    }
    let mut out: Vec<Authenticator> = all
        .iter()
        .filter(|a| a.kind == AuthenticatorKind::Email && a.confirmed())
        .cloned()
        .collect();
    if let Some(address) = user.email.as_deref().filter(|_| user.email_verified)
        && !out.iter().any(|a| {
            a.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(address))
        })
    {
        out.push(Authenticator {
            id: verified_address_id(user),
            user_id: user.user_id.clone(),
            kind: AuthenticatorKind::Email,
            name: Some(address.to_owned()),
            secret: AuthenticatorSecret::None,
            confirmed_at: Some(user.created_at),
            created_at: user.created_at,
            last_auth_at: None,
        });
    }
    out
}

/// The id the user's verified address goes by as a factor: always the same for the user,
/// in Auth0's shape (`email|dev_…`). It has no row, so it cannot be removed.
fn verified_address_id(user: &User) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"sigil verified address factor\0");
    context.update(user.user_id.as_str().as_bytes());
    let hash = context.finish();
    format!("email|dev_{}", &to_hex(hash.as_ref())[..16])
}

/// The digest an `oob_code` is kept and found by.
fn oob_digest(oob_code: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, oob_code.as_bytes()).as_ref());
    out
}

/// Mails a new code to `factor` (an address of `user`'s) for `application`: the `oob_code`
/// that names it, or `None` when the user was sent [`SENDS`] already (nothing is sent).
pub async fn send_code(
    store: &impl Store,
    effects: Effects<'_>,
    client_id: &ClientId,
    user: &User,
    factor: &Authenticator,
    application: Option<&Client>,
) -> Result<Option<Zeroizing<String>>, StoreError> {
    let Some(address) = factor.name.as_deref() else {
        return Ok(None);
    };
    let Effects {
        keys,
        rng,
        events,
        now,
        ..
    } = effects;
    let attempt = effects.attempt(client_id, &user.user_id);
    let key = format!("mfa_email:{}", user.user_id.as_str());
    let taken = store
        .take_rate_limit(&key, SENDS, now.0.saturating_mul(1000))
        .await?;
    if !taken.allowed {
        return Ok(None);
    }
    let oob_code = Zeroizing::new(alphanumeric(rng, 32));
    let digest = oob_digest(&oob_code);
    let code = digits(rng, CODE_DIGITS);
    store
        .put_oob_code(&OobCode {
            digest,
            user_id: user.user_id.clone(),
            authenticator_id: factor.id.clone(),
            binding: keys.binding_mac(&digest, &code),
            expires_at: crate::UnixTime(now.0 + CODE_LIFETIME),
        })
        .await?;
    let tenant = store.tenant_settings().await?.unwrap_or_default();
    let template = match Template::for_mail(store, TemplateName::MfaOobCode).await? {
        Some(template) => template,
        None => return Ok(None),
    };
    let letter = Letter {
        user,
        tenant: &tenant,
        application,
        connection: None,
        url: None,
        code: Some(&code),
        lifetime: Some(CODE_LIFETIME),
    };
    store
        .queue_email(&template.compose(&letter, address, "mfa_oob_code", now))
        .await?;
    authenticators::emit(
        events,
        attempt,
        LogType::MFA_EMAIL_SENT,
        "Email sent",
        Some((factor.id.as_str(), factor.kind)),
    );
    Ok(Some(oob_code))
}

/// Checks `binding_code`, entered for the code `oob_code` names: the user passes, and the
/// code is used up (a pending enrolment it was sent to is confirmed). An `oob_code` unknown
/// or past its five minutes is [`Checked::Expired`]; one sent to another user,
/// [`Checked::NotThisLogin`].
pub async fn check_code(
    store: &impl Store,
    effects: Effects<'_>,
    settings: &MfaSettings,
    client_id: &ClientId,
    user: &UserId,
    oob_code: &str,
    binding_code: &str,
) -> Result<Checked, StoreError> {
    let Effects {
        keys, rng, events, ..
    } = effects;
    let attempt = effects.attempt(client_id, user);
    if !settings.enabled(MfaFactor::Email) {
        // Turned off since the code was mailed.
        return Ok(Checked::NotEnrolled);
    }
    let digest = oob_digest(oob_code.trim());
    let Some(sent) = store.oob_code(&digest, attempt.now).await? else {
        return Ok(Checked::Expired);
    };
    if sent.user_id != *attempt.user {
        return Ok(Checked::NotThisLogin);
    }
    let code = binding_code.trim();
    if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Checked::Malformed);
    }
    if !authenticators::take_attempt(store, events, attempt).await? {
        return Ok(Checked::TooManyAttempts);
    }
    let this = Some((sent.authenticator_id.as_str(), AuthenticatorKind::Email));
    let mac = keys.binding_mac(&digest, code);
    let right = constant_time::verify_slices_are_equal(&mac, &sent.binding).is_ok();
    if !right || !store.consume_oob_code(&digest, &mac).await? {
        authenticators::emit(events, attempt, LogType::MFA_FAILED, "Wrong code", this);
        return Ok(Checked::Wrong);
    }
    let all = store.authenticators(attempt.user).await?;
    match all.iter().find(|a| a.id == sent.authenticator_id) {
        Some(pending) if !pending.confirmed() => {
            authenticators::confirm(store, events, rng, settings, attempt, &all, pending).await
        }
        _ => {
            authenticators::emit(
                events,
                attempt,
                LogType::MFA_SUCCEEDED,
                "Code accepted",
                this,
            );
            Ok(Checked::Passed {
                enrolled: false,
                recovery_code: None,
            })
        }
    }
}
