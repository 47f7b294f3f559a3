//! CSRF protection for the hosted pages' forms that carry no login transaction (password
//! reset): the signed double-submit pattern. The form gets a hidden field
//! `<value>.<expires>.<HMAC(purpose, value, expires)>` under the transaction key; the browser
//! gets the same random value in an HttpOnly, SameSite=Strict cookie. A POST is accepted only
//! when the field's tag is good for this form's purpose, it has not expired, and its value
//! equals the cookie's (compared in constant time). Another site can neither read the cookie
//! nor forge a field that matches a cookie it planted.

use crate::authorize::TransactionKey;
use crate::{Rng, UnixTime, ids};

/// A form's CSRF pair: the hidden field and the cookie value.
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfPair {
    /// The hidden field's value.
    pub field: String,
    /// The cookie's value.
    pub cookie: String,
}

impl std::fmt::Debug for CsrfPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfPair([redacted])")
    }
}

/// The tag's purpose, apart from the login and consent transactions' under the same key.
const TAG_PURPOSE: &[u8] = b"sigil-csrf\0";

/// What the tag covers. Purposes and values never contain a NUL, so the parts cannot run
/// into each other.
fn message(purpose: &str, value: &str, expires: i64) -> String {
    format!("{purpose}\0{value}\0{expires}")
}

/// A fresh pair for a form of `purpose`, good until `expires_at`.
pub fn issue(key: &TransactionKey, rng: &dyn Rng, purpose: &str, expires_at: UnixTime) -> CsrfPair {
    let value = ids::alphanumeric(rng, 32);
    let mac = key.tag(
        TAG_PURPOSE,
        message(purpose, &value, expires_at.0).as_bytes(),
    );
    let b64 = base64_simd::URL_SAFE_NO_PAD;
    CsrfPair {
        field: format!("{value}.{}.{}", expires_at.0, b64.encode_to_string(&mac)),
        cookie: value,
    }
}

/// Whether `field` (from the form) and `cookie` (from the browser) are a pair this server
/// issued for `purpose` that is still good at `now`.
pub fn check(
    key: &TransactionKey,
    purpose: &str,
    field: &str,
    cookie: Option<&str>,
    now: UnixTime,
) -> bool {
    let Some(cookie) = cookie.filter(|c| !c.is_empty()) else {
        return false;
    };
    let mut parts = field.splitn(3, '.');
    let (Some(value), Some(expires), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    let Ok(mac) = base64_simd::URL_SAFE_NO_PAD.decode_to_vec(mac.as_bytes()) else {
        return false;
    };
    key.verify(
        TAG_PURPOSE,
        message(purpose, value, expires).as_bytes(),
        &mac,
    ) && expires > now.0
        && aws_lc_rs::constant_time::verify_slices_are_equal(value.as_bytes(), cookie.as_bytes())
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemRng;

    #[test]
    fn only_a_fresh_matching_pair_for_the_same_purpose_passes() {
        let key = TransactionKey::new(&zeroize::Zeroizing::new([7u8; 32]));
        let other = TransactionKey::new(&zeroize::Zeroizing::new([8u8; 32]));
        let pair = issue(&key, &SystemRng, "reset", UnixTime(100));
        let stranger = issue(&key, &SystemRng, "reset", UnixTime(100));
        let now = UnixTime(50);
        assert!(check(&key, "reset", &pair.field, Some(&pair.cookie), now));
        // (what, key, purpose, field, cookie, now)
        let refused = [
            ("no cookie", &key, "reset", pair.field.clone(), None, now),
            (
                "empty cookie",
                &key,
                "reset",
                pair.field.clone(),
                Some(""),
                now,
            ),
            (
                "another cookie",
                &key,
                "reset",
                pair.field.clone(),
                Some(stranger.cookie.as_str()),
                now,
            ),
            (
                "another purpose",
                &key,
                "verify",
                pair.field.clone(),
                Some(pair.cookie.as_str()),
                now,
            ),
            (
                "another key",
                &other,
                "reset",
                pair.field.clone(),
                Some(pair.cookie.as_str()),
                now,
            ),
            (
                "expired",
                &key,
                "reset",
                pair.field.clone(),
                Some(pair.cookie.as_str()),
                UnixTime(100),
            ),
            (
                "garbage",
                &key,
                "reset",
                "x.y.z".to_owned(),
                Some(pair.cookie.as_str()),
                now,
            ),
            (
                "extended",
                &key,
                "reset",
                pair.field.replacen(".100.", ".999.", 1),
                Some(pair.cookie.as_str()),
                now,
            ),
        ];
        for (what, key, purpose, field, cookie, now) in refused {
            assert!(!check(key, purpose, &field, cookie, now), "{what}");
        }
    }
}
