//! "Remember this device for 30 days": after a second factor, a browser may skip it at the
//! user's later logins, as Auth0's. Nothing is kept on the server but one time per user, when
//! their remembered browsers were last forgotten (`invalidate-remember-browser`, a reset of
//! their factors); the browser keeps a cookie naming the user and when it was remembered,
//! signed with the transaction key, so every node can check it.
//!
//! A remembered browser is forgotten too when the user's remembered browsers went unused for
//! [`INACTIVITY`] (seven days, as Auth0's): the server keeps when one last skipped a factor.
//!
//! A remembered browser never skips a second factor that the request asks for with
//! `acr_values`, or that an Action asks for with `allowRememberBrowser: false`.

use crate::UnixTime;
use crate::authorize::TransactionKey;
use crate::ids::UserId;
use crate::model::BrowserMemory;

/// The cookie's name.
pub const COOKIE: &str = "sigil_mfa_rb";

/// Seconds a browser stays remembered.
pub const LIFETIME: i64 = 30 * 24 * 3600;

/// Seconds without a remembered browser skipping a factor after which none does.
pub const INACTIVITY: i64 = 7 * 24 * 3600;

const PURPOSE: &[u8] = b"sigil remembered browser v1";

/// A browser where a user passed a second factor and asked to be remembered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RememberedBrowser {
    /// Who.
    pub user_id: UserId,
    /// When they passed it there.
    pub since: UnixTime,
}

impl RememberedBrowser {
    /// The cookie's value: `base64url(user_id).since.base64url(HMAC)`.
    pub fn seal(&self, key: &TransactionKey) -> String {
        let b64 = base64_simd::URL_SAFE_NO_PAD;
        let message = format!(
            "{}.{}",
            b64.encode_to_string(self.user_id.as_str()),
            self.since.0
        );
        let tag = key.tag(PURPOSE, message.as_bytes());
        format!("{message}.{}", b64.encode_to_string(tag))
    }

    /// The browser `text` remembers, if `key` signed it and it is not older than
    /// [`LIFETIME`] at `now`.
    pub fn open(text: &str, key: &TransactionKey, now: UnixTime) -> Option<Self> {
        let (message, tag) = text.rsplit_once('.')?;
        let b64 = base64_simd::URL_SAFE_NO_PAD;
        let tag = b64.decode_to_vec(tag.as_bytes()).ok()?;
        if !key.verify(PURPOSE, message.as_bytes(), &tag) {
            return None;
        }
        let (user, since) = message.split_once('.')?;
        let user = String::from_utf8(b64.decode_to_vec(user.as_bytes()).ok()?).ok()?;
        let since = UnixTime(since.parse().ok()?);
        (since.0 + LIFETIME > now.0 && since <= now).then_some(RememberedBrowser {
            user_id: UserId(user),
            since,
        })
    }

    /// Whether it lets `user` skip the second factor at `now`, given what the server keeps
    /// of their remembered browsers: not when they were forgotten after it was remembered,
    /// nor after [`INACTIVITY`] without one being remembered or used.
    pub fn remembers(&self, user: &UserId, memory: BrowserMemory, now: UnixTime) -> bool {
        let active = memory
            .used_at
            .map_or(self.since, |used| used.max(self.since));
        self.user_id == *user
            && memory.forgotten_at.is_none_or(|at| self.since > at)
            && active.0 + INACTIVITY > now.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> TransactionKey {
        TransactionKey::new(&zeroize::Zeroizing::new([byte; 32]))
    }

    #[test]
    fn a_remembered_browser_holds_for_its_user_for_30_days_until_forgotten() {
        let browser = RememberedBrowser {
            user_id: UserId("auth0|kate".to_owned()),
            since: UnixTime(1_000),
        };
        let sealed = browser.seal(&key(1));
        let open = |text: &str, key: &TransactionKey, now: i64| {
            RememberedBrowser::open(text, key, UnixTime(now))
        };
        assert_eq!(open(&sealed, &key(1), 1_000), Some(browser.clone()));
        assert_eq!(
            open(&sealed, &key(1), 1_000 + LIFETIME - 1),
            Some(browser.clone())
        );
        let forged = sealed
            .replacen("MTAwMA", "MTAwMQ", 1)
            .replacen(".1000.", ".1001.", 1);
        let cases = [
            (
                "at the end of its 30 days",
                sealed.clone(),
                key(1),
                1_000 + LIFETIME,
            ),
            ("signed with another key", sealed.clone(), key(2), 1_000),
            ("moved in time", forged, key(1), 1_000),
            ("from the future", sealed.clone(), key(1), 999),
            ("garbled", "a.b.c".to_owned(), key(1), 1_000),
            ("empty", String::new(), key(1), 1_000),
        ];
        for (what, text, key, now) in cases {
            assert_eq!(open(&text, &key, now), None, "{what}");
        }
        let kate = UserId("auth0|kate".to_owned());
        let memory = |forgotten: Option<i64>, used: Option<i64>| BrowserMemory {
            forgotten_at: forgotten.map(UnixTime),
            used_at: used.map(UnixTime),
        };
        let week = INACTIVITY;
        let cases = [
            ("never forgotten", &kate, memory(None, None), 1_000, true),
            (
                "forgotten before",
                &kate,
                memory(Some(999), None),
                1_000,
                true,
            ),
            (
                "forgotten after",
                &kate,
                memory(Some(1_000), None),
                1_000,
                false,
            ),
            (
                "another user",
                &UserId("auth0|other".to_owned()),
                memory(None, None),
                1_000,
                false,
            ),
            (
                "unused for a week",
                &kate,
                memory(None, None),
                1_000 + week,
                false,
            ),
            (
                "used within the week",
                &kate,
                memory(None, Some(900 + week)),
                1_000 + 2 * week - 101,
                true,
            ),
            (
                "unused for a week since",
                &kate,
                memory(None, Some(900 + week)),
                900 + 2 * week,
                false,
            ),
        ];
        for (what, user, memory, now, want) in cases {
            assert_eq!(
                browser.remembers(user, memory, UnixTime(now)),
                want,
                "{what}"
            );
        }
    }
}
