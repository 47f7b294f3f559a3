//! A login paused after the user authenticated, waiting on a page: the consent page (the user
//! must approve what a third-party application asks), or the tenant's page a `post-login`
//! Action sent the user to (`api.redirect.sendUserTo`), or the MFA pages. Every pause is one
//! [`Continuation`], and `/continue?state=…` resumes each where it stopped. Nothing is kept on
//! the server: the continuation is the `state` itself, encrypted and authenticated (AES-256-GCM
//! under a key derived from the transaction key), because it travels through a page that may
//! not be Sigil's and carries what the Actions decided so far (claims the tenant's page has no
//! business reading). It is bound to the SSO session of the login, used once, and ends after
//! [`CONTINUE_WINDOW`] seconds.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};

use crate::actions::PostLogin;
use crate::authorize::{Authorization, TransactionKey};
use crate::ids::{SessionId, UserId};
use crate::{Rng, UnixTime};

/// Seconds the user has to answer the consent page or come back from the tenant's page.
pub const CONTINUE_WINDOW: i64 = 3600;

/// What the key is derived for, and the associated data of every seal.
const PURPOSE: &[u8] = b"sigil continuation v1";

/// What a paused login waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Pending {
    /// The user's answer on the consent page, posted with the CSRF value the page set in its
    /// cookie (empty until the page is shown).
    Consent {
        /// Must equal the consent page's CSRF cookie.
        csrf: String,
    },
    /// The user's return from the page this `post-login` Action sent them to: it resumes in
    /// its `onContinuePostLogin`.
    Action {
        /// The Action's name.
        name: String,
    },
    /// A second factor (`crate::mfa`): the MFA pages post the user's code with the CSRF
    /// value their page set in its cookie (empty until a page is shown).
    Mfa {
        /// Must equal the MFA page's CSRF cookie.
        csrf: String,
        /// Whether a remembered browser may skip it (false when `acr_values` or an Action
        /// asked for it every time).
        allow_remember: bool,
        /// Whether the user passed it: what is left is the page showing a new recovery
        /// code, whose confirmation answers the application.
        passed: bool,
        /// The new recovery code that page shows until the user confirms they recorded it
        /// (sealed with the rest: the continuation is encrypted).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recovery_code: Option<ShownOnce>,
        /// The code last mailed to the user's email factor in this login, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mailed: Option<Mailed>,
    },
}

/// A code mailed to an email factor during a paused login (`crate::mfa::email`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailed {
    /// The `oob_code` naming it (sealed with the rest, never shown).
    pub oob_code: ShownOnce,
    /// Where it went: the page says.
    pub address: String,
}

/// A secret shown to the user on the next page and nowhere else: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShownOnce(pub String);

impl std::fmt::Debug for ShownOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A login paused after the user authenticated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    /// Its own id: a continuation is used once (the store records it as its client's).
    pub id: String,
    /// The authorization request the login answers.
    pub authorization: Authorization,
    /// The SSO session of the login: `/continue` works in that session only.
    pub session_id: SessionId,
    /// Who is logging in.
    pub user_id: UserId,
    /// What it waits for.
    pub pending: Pending,
    /// What the Actions before the pause (and an Action that sent the user away) decided.
    pub decided: PostLogin,
    /// After this the continuation is refused.
    pub expires_at: UnixTime,
}

fn cipher(key: &TransactionKey) -> Option<LessSafeKey> {
    let derived = key.tag(PURPOSE, b"encryption key");
    UnboundKey::new(&AES_256_GCM, &derived)
        .ok()
        .map(LessSafeKey::new)
}

impl Continuation {
    /// `base64url(nonce ‖ AES-256-GCM(json))`.
    pub fn seal(&self, key: &TransactionKey, rng: &dyn Rng) -> String {
        let (Some(cipher), Ok(mut sealed)) = (cipher(key), serde_json::to_vec(self)) else {
            return String::new();
        };
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce);
        if cipher
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(PURPOSE),
                &mut sealed,
            )
            .is_err()
        {
            return String::new();
        }
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        base64_simd::URL_SAFE_NO_PAD.encode_to_string(out)
    }

    /// The continuation in `text`, if `key` sealed it and it has not expired at `now`.
    pub fn open(text: &str, key: &TransactionKey, now: UnixTime) -> Option<Self> {
        let bytes = base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(text.as_bytes())
            .ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let json = cipher(key)?
            .open_in_place(nonce, Aad::from(PURPOSE), &mut sealed)
            .ok()?;
        let continuation: Continuation = serde_json::from_slice(json).ok()?;
        (continuation.expires_at > now).then_some(continuation)
    }

    /// Whether `cookie` is the CSRF value of this consent or MFA page (constant time); never
    /// for an Action's pause or a page not yet shown.
    pub fn csrf_matches(&self, cookie: &str) -> bool {
        match &self.pending {
            Pending::Consent { csrf } | Pending::Mfa { csrf, .. } if !csrf.is_empty() => {
                aws_lc_rs::constant_time::verify_slices_are_equal(
                    csrf.as_bytes(),
                    cookie.as_bytes(),
                )
                .is_ok()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::{ResponseMode, ResponseType};
    use crate::clock::SystemRng;
    use crate::ids::ClientId;

    fn continuation(expires_at: i64) -> Continuation {
        Continuation {
            id: "c1".to_owned(),
            authorization: Authorization {
                client_id: ClientId("app".to_owned()),
                redirect_uri: "https://app.example.com/cb".to_owned(),
                response_type: ResponseType::parse("code").unwrap(),
                response_mode: ResponseMode::Query,
                scope: vec!["openid".to_owned()],
                state: Some("s".to_owned()),
                nonce: None,
                audience: None,
                code_challenge: None,
                force_login: false,
                silent: false,
                force_consent: false,
                max_age: None,
                login_hint: None,
                connection: None,
                acr_values: Vec::new(),
            },
            session_id: SessionId("sess".to_owned()),
            user_id: UserId("auth0|1".to_owned()),
            decided: PostLogin {
                id_token: vec![("https://e.com/secret".to_owned(), "hidden-claim".into())],
                ..PostLogin::default()
            },
            pending: Pending::Action {
                name: "terms".to_owned(),
            },
            expires_at: UnixTime(expires_at),
        }
    }

    #[test]
    fn a_continuation_opens_only_sealed_by_the_key_untouched_and_in_time() {
        let key = TransactionKey::new(&zeroize::Zeroizing::new([7u8; 32]));
        let other = TransactionKey::new(&zeroize::Zeroizing::new([8u8; 32]));
        let sealed = continuation(100).seal(&key, &SystemRng);
        assert!(!sealed.is_empty());
        // Encrypted: what the Actions decided is not readable on the way.
        let raw = base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(sealed.as_bytes())
            .unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("hidden-claim"));
        assert_eq!(
            Continuation::open(&sealed, &key, UnixTime(99)),
            Some(continuation(100))
        );
        assert_eq!(Continuation::open(&sealed, &key, UnixTime(100)), None);
        assert_eq!(Continuation::open(&sealed, &other, UnixTime(99)), None);
        let mut tampered = raw.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        let tampered = base64_simd::URL_SAFE_NO_PAD.encode_to_string(tampered);
        // A login form's transaction, sealed with the same key, is no continuation.
        let login = crate::authorize::LoginTransaction {
            id: "t".to_owned(),
            authorization: continuation(100).authorization,
            csrf: "c".to_owned(),
            expires_at: UnixTime(100),
        }
        .seal(&key);
        for text in [tampered.as_str(), &login, "", "not base64!", "AAAA"] {
            assert_eq!(Continuation::open(text, &key, UnixTime(99)), None, "{text}");
        }
        // Two seals of the same continuation differ (fresh nonces).
        assert_ne!(sealed, continuation(100).seal(&key, &SystemRng));
    }

    #[test]
    fn only_a_shown_consent_page_has_a_csrf_value_to_match() {
        let cases = [
            (Pending::Consent { csrf: "abc".into() }, "abc", true),
            (Pending::Consent { csrf: "abc".into() }, "abd", false),
            (Pending::Consent { csrf: "abc".into() }, "", false),
            (
                Pending::Consent {
                    csrf: String::new(),
                },
                "",
                false,
            ),
            (Pending::Action { name: "abc".into() }, "abc", false),
        ];
        for (pending, cookie, matches) in cases {
            let continuation = Continuation {
                pending: pending.clone(),
                ..continuation(100)
            };
            assert_eq!(
                continuation.csrf_matches(cookie),
                matches,
                "{pending:?} {cookie}"
            );
        }
    }
}
