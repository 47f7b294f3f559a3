//! Multi-factor authentication (Auth0's Guardian factors): when a login needs a second factor,
//! and the factors themselves.
//!
//! - [`need`]: the rule. A login needs a second factor when the tenant's policy is
//!   `all-applications`, when the request's `acr_values` holds the PAPE multi-factor policy, or
//!   when a post-login Action asks (`api.multifactor.enable`); an Action's `'none'` turns it
//!   off for its login. The step itself runs in the login pipeline after the Actions
//!   (`oauth::front_channel`), pauses the login for the MFA pages, and marks the session
//!   (method `mfa`), so the ID token says `amr: ["mfa"]`.
//! - [`authenticators`]: a user's factors, enrolled and checked: the TOTP code (once per time
//!   step, in SQL), the recovery code (replaced when used), and the bucket of attempts.
//! - [`email`]: the email factor (codes mailed, checked once); [`enrolment`]: enrolment
//!   tickets (a mailed link to enrol an authenticator app without logging in).
//! - [`api`]: Auth0's MFA API for embedded login (list, associate, challenge, remove; the
//!   grants are `oauth::mfa_grant`'s).
//! - [`totp`]: RFC 6238 one-time passwords; [`recovery`]: the recovery code;
//!   [`remember`]: the "remember this device" cookie.

pub mod api;
pub mod authenticators;
pub mod email;
pub mod enrolment;
pub mod recovery;
pub mod remember;
pub mod totp;

use crate::actions::Multifactor;
use crate::events::{Events, Origin};
use crate::model::{MfaFactor, MfaSettings};
use crate::oauth::MfaTokenKey;
use crate::{Rng, UnixTime};

/// What the steps that mail or check a code work with, besides the store.
#[derive(Clone, Copy)]
pub struct Effects<'a> {
    /// Keeps the mailed codes' binding MACs.
    pub keys: &'a MfaTokenKey,
    /// Draws the codes.
    pub rng: &'a dyn Rng,
    /// The tenant log.
    pub events: &'a dyn Events,
    /// Where the request came from.
    pub origin: &'a Origin,
    /// Now.
    pub now: UnixTime,
}

impl<'a> Effects<'a> {
    /// The attempt of `user` at `client_id`'s login these effects serve.
    pub fn attempt(
        &self,
        client_id: &'a crate::ids::ClientId,
        user: &'a crate::ids::UserId,
    ) -> authenticators::Attempt<'a> {
        authenticators::Attempt {
            client_id: Some(client_id),
            user,
            origin: self.origin,
            now: self.now,
        }
    }
}

/// The session method a second factor records, and the ID token's `amr` after it.
pub const METHOD: &str = "mfa";

/// Whether a login needs a second factor: `Some(allow_remember)` when it does (a remembered
/// browser may skip it only when `allow_remember`), `None` when not. `asked` is whether the
/// request's `acr_values` asks for it (never skipped for a remembered browser), `action` what
/// the post-login Actions said. Without an enabled factor that can stand alone (`otp`), no
/// login can be asked for one: the tenant's policy then asks nothing.
pub fn need(settings: &MfaSettings, asked: bool, action: Option<Multifactor>) -> Option<bool> {
    if !settings.enabled(MfaFactor::Otp) {
        return None;
    }
    match action {
        Some(Multifactor::Off) => None,
        _ if asked => Some(false),
        Some(Multifactor::Required {
            allow_remember_browser,
        }) => Some(allow_remember_browser),
        None => settings.always().then_some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MfaPolicy;

    #[test]
    fn a_login_needs_a_second_factor_as_the_policy_the_request_and_the_actions_say() {
        let otp = vec![MfaFactor::Otp, MfaFactor::RecoveryCode];
        let settings = |factors: &[MfaFactor], always: bool| MfaSettings {
            factors: factors.to_vec(),
            policies: if always {
                vec![MfaPolicy::AllApplications]
            } else {
                Vec::new()
            },
        };
        let remember = |allow| {
            Some(Multifactor::Required {
                allow_remember_browser: allow,
            })
        };
        let cases = [
            ("policy never", settings(&otp, false), false, None, None),
            (
                "policy always",
                settings(&otp, true),
                false,
                None,
                Some(true),
            ),
            ("acr_values", settings(&otp, false), true, None, Some(false)),
            (
                "acr_values, policy always",
                settings(&otp, true),
                true,
                None,
                Some(false),
            ),
            (
                "an Action",
                settings(&otp, false),
                false,
                remember(true),
                Some(true),
            ),
            (
                "an Action, no remembering",
                settings(&otp, false),
                false,
                remember(false),
                Some(false),
            ),
            (
                "an Action and acr_values",
                settings(&otp, false),
                true,
                remember(true),
                Some(false),
            ),
            (
                "an Action's none",
                settings(&otp, true),
                true,
                Some(Multifactor::Off),
                None,
            ),
            (
                "no factor enabled",
                settings(&[], true),
                true,
                remember(true),
                None,
            ),
            (
                "only a dependent factor",
                settings(&[MfaFactor::RecoveryCode], true),
                true,
                None,
                None,
            ),
        ];
        for (what, settings, asked, action, want) in cases {
            assert_eq!(need(&settings, asked, action), want, "{what}");
        }
    }
}
