//! Brute-force protection, as Auth0's (on by default): consecutive failed logins are counted
//! per identifier tried and client address (or per identifier, Auth0's "Account Lockout"), and
//! at the threshold (10) further attempts are refused with 429 `too_many_attempts`, the right
//! password included, until an administrator lifts the block (`/user-blocks`), the user
//! changes their password, the threshold is raised, or 30 days pass after the last failure.
//!
//! Each attempt is reserved in one SQL statement before the password is checked
//! ([`Store::reserve_login_attempt`]), so no burst, on one node or several, gets more tries
//! than the threshold, and a blocked attempt costs no hashing. The counter is keyed on the
//! identifier as typed, whether or not a user has it, so a block tells nothing about who
//! exists. A success clears the counter (the failures are consecutive); addresses on the
//! allowlist are never counted. Reaching the threshold is logged once (`limit_wc`), and an
//! existing user is mailed a link that lifts the block ([`notify`], the `blocked_account`
//! template, at most once an hour per identifier and address).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::ids::ConnectionId;
use crate::model::{
    BruteForceMode, BruteForceSettings, BruteForceShield, LogType, LoginCounter, NewLogEvent,
    TemplateName, TicketKind, User,
};
use crate::rate_limit::RateLimit;
use crate::{Rng, Store, StoreError, UnixTime};

/// Seconds a block lasts after the last failure (Auth0's 30 days).
pub const BLOCK_LIFETIME: i64 = 30 * 24 * 3600;

/// The answer to a blocked attempt, Auth0's words.
pub const BLOCKED: &str = "Your account has been blocked after multiple consecutive login \
    attempts. We've sent you a notification via your preferred contact method with \
    instructions on how to unblock it.";

/// The identifier as counters key it: as users are looked up by it
/// ([`normalized`](crate::model::user::normalized)), so every spelling of one address shares a
/// counter.
pub fn identifier_key(identifier: &str) -> String {
    crate::model::user::normalized(identifier)
}

/// The identifiers a user's failures are counted under: their email and username.
pub fn identifiers_of(user: &User) -> Vec<String> {
    let mut out: Vec<String> = [user.email.as_deref(), user.username.as_deref()]
        .into_iter()
        .flatten()
        .map(identifier_key)
        .collect();
    out.dedup();
    out
}

/// Lifts the user's blocks, as a password change (a reset link, an administrator's) or the
/// mailed unblock link does at Auth0: their failures are forgotten, from every address.
pub async fn forget_user(store: &impl Store, user: &User) -> Result<(), StoreError> {
    for identifier in identifiers_of(user) {
        store
            .clear_login_failures(Some(&user.connection_id), &identifier, None)
            .await?;
    }
    Ok(())
}

/// An allowlist entry: an address or a CIDR block (`192.0.2.0/24`, `2001:db8::/32`).
pub fn parse_allowed(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    entry
        .parse::<IpNet>()
        .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
        .ok()
}

/// Whether `ip` is on `allowlist` (an IPv4-mapped IPv6 address counts as its IPv4 one).
pub(crate) fn on_allowlist(allowlist: &[String], ip: &str) -> bool {
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    let ip = ip.to_canonical();
    allowlist
        .iter()
        .filter_map(|entry| parse_allowed(entry))
        .any(|net| net.contains(&ip))
}

/// Whether `ip` is on brute-force protection's allowlist.
fn allowed(settings: &BruteForceSettings, ip: &str) -> bool {
    on_allowlist(&settings.allowlist, ip)
}

/// A login attempt's place in its counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Not counted: protection is off, or the address is on the allowlist.
    Uncounted,
    /// Counted, the attempt goes on: the counter and its count with this attempt.
    Counted(LoginCounter, u32),
    /// The counter is at the threshold: refuse without checking the password.
    Blocked,
}

/// Reserves the attempt to log in as `identifier` in `connection` from `ip` (see the module).
pub async fn reserve(
    store: &impl Store,
    settings: &BruteForceSettings,
    connection: &ConnectionId,
    identifier: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<Gate, StoreError> {
    if !settings.enabled || ip.is_some_and(|ip| allowed(settings, ip)) {
        return Ok(Gate::Uncounted);
    }
    let counter = LoginCounter {
        connection_id: connection.clone(),
        identifier: identifier_key(identifier),
        ip: match settings.mode {
            BruteForceMode::PerIdentifierAndIp => ip.unwrap_or_default().to_owned(),
            BruteForceMode::PerIdentifier => String::new(),
        },
    };
    // Monitoring only: counted, never refused.
    let max = if settings.blocks() {
        settings.max_attempts.max(1)
    } else {
        u32::MAX
    };
    let forget_before = UnixTime(now.0 - BLOCK_LIFETIME);
    Ok(
        match store
            .reserve_login_attempt(&counter, max, now, forget_before)
            .await?
        {
            Some(count) => Gate::Counted(counter, count),
            None => Gate::Blocked,
        },
    )
}

/// The password could not be checked (the workers were busy): the reserved attempt is given
/// back, so an overloaded server never blocks anyone.
pub async fn release(store: &impl Store, gate: &Gate) -> Result<(), StoreError> {
    if let Gate::Counted(counter, _) = gate {
        store.release_login_attempt(counter).await?;
    }
    Ok(())
}

/// Mails per (identifier, address): at most one `blocked_account` mail an hour (Auth0's).
pub const NOTICES: RateLimit = RateLimit::per_hour(1, 1);

/// Where the `blocked_account` mail's link points and how it is made.
#[derive(Clone, Copy)]
pub struct Mailer<'a> {
    /// The issuer, ending in `/`.
    pub issuer: &'a str,
    /// Draws the link's ticket.
    pub rng: &'a dyn Rng,
}

/// The failure that reached the threshold was `user`'s (an existing account): with the
/// `user_notification` shield, they are mailed the `blocked_account` mail with a link that
/// lifts the block, at most once an hour per identifier and address. Nothing tells the
/// caller whether a mail went.
pub async fn notify(
    store: &impl Store,
    mailer: Mailer<'_>,
    settings: &BruteForceSettings,
    gate: &Gate,
    user: &User,
    now: UnixTime,
) -> Result<(), StoreError> {
    let Gate::Counted(counter, count) = gate else {
        return Ok(());
    };
    let notifies = settings
        .shields
        .contains(&BruteForceShield::UserNotification);
    let Some(to) = user.email.as_deref().filter(|_| notifies) else {
        return Ok(());
    };
    if *count != settings.max_attempts {
        return Ok(());
    }
    let key = format!("blocked_mail:{}:{}", counter.identifier, counter.ip);
    let taken = store
        .take_rate_limit(&key, NOTICES, now.0.saturating_mul(1000))
        .await?;
    if !taken.allowed {
        return Ok(());
    }
    let link = crate::tickets::Link {
        template: TemplateName::BlockedAccount,
        ticket: TicketKind::Unblock,
        outbox_kind: "blocked_account",
        result_url: None,
    };
    crate::tickets::mail_link(store, mailer.rng, mailer.issuer, now, link, user, to, None)
        .await
        .map(|_| ())
}

/// After the password was checked: a success clears the counter; a failure that reached the
/// threshold is logged (`limit_wc`), once, with what was tried and where from.
pub async fn settle(
    store: &impl Store,
    settings: &BruteForceSettings,
    gate: &Gate,
    succeeded: bool,
    now: UnixTime,
) -> Result<(), StoreError> {
    let Gate::Counted(counter, count) = gate else {
        return Ok(());
    };
    if succeeded {
        let ip = (!counter.ip.is_empty()).then_some(counter.ip.as_str());
        store
            .clear_login_failures(Some(&counter.connection_id), &counter.identifier, ip)
            .await?;
    } else if *count == settings.max_attempts {
        store
            .append_log(&NewLogEvent {
                ip: (!counter.ip.is_empty()).then(|| counter.ip.clone()),
                user_name: Some(counter.identifier.clone()),
                connection_id: Some(counter.connection_id.to_string()),
                description: Some(format!(
                    "{count} consecutive failed logins: further attempts are blocked"
                )),
                ..NewLogEvent::new(LogType::BLOCKED_FAILED_LOGINS, now)
            })
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowlist_takes_addresses_and_blocks_of_both_families() {
        let settings = BruteForceSettings {
            allowlist: vec![
                "192.0.2.0/24".into(),
                "2001:db8::1".into(),
                "nonsense".into(),
            ],
            ..BruteForceSettings::default()
        };
        let cases = [
            ("192.0.2.77", true),
            ("::ffff:192.0.2.8", true),
            ("2001:db8::1", true),
            ("2001:db8::2", false),
            ("198.51.100.1", false),
            ("not an address", false),
        ];
        for (ip, want) in cases {
            assert_eq!(allowed(&settings, ip), want, "{ip}");
        }
        assert_eq!(identifier_key("  Kate@Example.COM "), "kate@example.com");
    }
}
