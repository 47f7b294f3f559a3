//! Suspicious-IP throttling, as Auth0's (on by default): each client address has a bucket per
//! stage, `pre-login` (failed logins, across accounts: 100 at once, then one more every 14.4
//! minutes) and `pre-user-registration` (signup attempts: 50 at once, then one a 1.2 seconds).
//! An address whose bucket is empty gets 429 `too_many_attempts` with Auth0's message until it
//! refills; the event is logged (`limit_mu`) and, with the `admin_notification` shield, the
//! tenant's `support_email` is mailed, each at most once an hour per address and stage.
//!
//! The buckets are the store's rate limits ([`Store::take_rate_limit`], GCRA in one
//! conditional upsert), so racing nodes never let an address through more often than one node
//! would. A login attempt is charged *before* its password is checked and given back when it
//! succeeds (or could not be checked), so a burst of parallel failures cannot overshoot;
//! malformed requests are refused before they get here and never count. Addresses on the
//! allowlist, and requests without a known address, are never throttled.

use crate::model::{LogType, NewLogEvent, OutgoingEmail, SuspiciousIpSettings, ThrottleShield};
use crate::rate_limit::RateLimit;
use crate::{Store, StoreError, UnixTime};

/// The answer to a throttled address, Auth0's words.
pub const THROTTLED: &str = "We have detected suspicious login behavior and further attempts \
    will be blocked. Please contact the administrator.";

/// Log events and administrator mails per address and stage: at most one an hour.
const NOTICES: RateLimit = RateLimit::per_hour(1, 1);

/// What is throttled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Failed logins (Auth0's `pre-login`).
    Login,
    /// Signup attempts (Auth0's `pre-user-registration`).
    Signup,
}

impl Stage {
    /// Auth0's name of the stage.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Login => "pre-login",
            Stage::Signup => "pre-user-registration",
        }
    }

    fn bucket(self, settings: &SuspiciousIpSettings) -> RateLimit {
        let stage = match self {
            Stage::Login => settings.pre_login,
            Stage::Signup => settings.pre_user_registration,
        };
        RateLimit {
            burst: stage.max_attempts.max(1),
            refill_ms: stage.rate.max(1),
        }
    }
}

/// An attempt's place in its address's bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Throttle {
    /// Not counted: throttling is off, the address is on the allowlist or unknown.
    Uncounted,
    /// Counted: the bucket's key and shape, for [`give_back`].
    Charged(String, RateLimit),
    /// The address is out of attempts: refuse with [`THROTTLED`].
    Throttled,
}

/// Charges one attempt of `stage` from `ip` (see the module). An empty bucket answers
/// [`Throttle::Throttled`] when the `block` shield is on; without it the address is only
/// reported. Either way the event is logged (and the administrators told) once an hour.
pub async fn charge(
    store: &impl Store,
    settings: &SuspiciousIpSettings,
    stage: Stage,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<Throttle, StoreError> {
    let Some(ip) = ip.filter(|ip| !ip.is_empty()) else {
        return Ok(Throttle::Uncounted);
    };
    if !settings.enabled || super::brute_force::on_allowlist(&settings.allowlist, ip) {
        return Ok(Throttle::Uncounted);
    }
    let key = format!("sip:{}:{ip}", stage.name());
    let bucket = stage.bucket(settings);
    let now_ms = now.0.saturating_mul(1000);
    if store.take_rate_limit(&key, bucket, now_ms).await?.allowed {
        return Ok(Throttle::Charged(key, bucket));
    }
    report(store, settings, stage, ip, now).await?;
    Ok(if settings.blocks() {
        Throttle::Throttled
    } else {
        Throttle::Uncounted
    })
}

/// Gives the attempt back: a login that succeeded, or one whose password could not be checked.
pub async fn give_back(store: &impl Store, throttle: &Throttle) -> Result<(), StoreError> {
    if let Throttle::Charged(key, bucket) = throttle {
        store.give_back_rate_limit(key, *bucket).await?;
    }
    Ok(())
}

/// Logs `limit_mu` and mails the administrators, at most once an hour per address and stage.
async fn report(
    store: &impl Store,
    settings: &SuspiciousIpSettings,
    stage: Stage,
    ip: &str,
    now: UnixTime,
) -> Result<(), StoreError> {
    let key = format!("sip-notice:{}:{ip}", stage.name());
    if !store
        .take_rate_limit(&key, NOTICES, now.0.saturating_mul(1000))
        .await?
        .allowed
    {
        return Ok(());
    }
    let what = match stage {
        Stage::Login => "failed logins",
        Stage::Signup => "signup attempts",
    };
    let description = format!(
        "Too many {what} from {ip}: further attempts are {}",
        if settings.blocks() {
            "blocked"
        } else {
            "only reported (no block shield)"
        }
    );
    store
        .append_log(&NewLogEvent {
            ip: Some(ip.to_owned()),
            description: Some(description.clone()),
            details: [("stage".to_owned(), stage.name().into())]
                .into_iter()
                .collect(),
            ..NewLogEvent::new(LogType::BLOCKED_IP, now)
        })
        .await?;
    if !settings
        .shields
        .contains(&ThrottleShield::AdminNotification)
    {
        return Ok(());
    }
    let tenant = store.tenant_settings().await?.unwrap_or_default();
    let Some(to) = tenant.support_email.filter(|to| !to.is_empty()) else {
        return Ok(());
    };
    let name = if tenant.friendly_name.is_empty() {
        "your Sigil tenant".to_owned()
    } else {
        tenant.friendly_name.clone()
    };
    store
        .queue_email(&OutgoingEmail {
            to,
            subject: format!("Suspicious activity from {ip} was throttled"),
            body: format!(
                "{description}.\n\nSigil's suspicious-IP throttling stopped the address {ip} at \
                 {name} (stage {}). It refills by itself; to let the address through now, add \
                 it to the allowlist of /api/v2/attack-protection/suspicious-ip-throttling.\n\n\
                 The tenant log has the event (type limit_mu).\n",
                stage.name()
            ),
            html: None,
            from: None,
            kind: "suspicious_ip".to_owned(),
            created_at: now,
        })
        .await
}
