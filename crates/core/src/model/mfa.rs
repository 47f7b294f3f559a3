//! Multi-factor authentication's records: the tenant's factors and policy (Auth0's
//! `/guardian/factors` and `/guardian/policies`), and each user's authenticators (Auth0's
//! `/users/{id}/authentication-methods`).

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::ids::UserId;
use crate::mfa::totp::TotpSecret;
use crate::secret::SecretDigest;

/// A factor Sigil offers, by Auth0's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MfaFactor {
    /// One-time passwords from an authenticator app (RFC 6238).
    Otp,
    /// A code sent by email (a dependent factor: another must be enabled too).
    Email,
    /// The one recovery code shown at enrolment (dependent).
    RecoveryCode,
}

impl MfaFactor {
    /// Every factor Sigil offers.
    pub const ALL: [MfaFactor; 3] = [MfaFactor::Otp, MfaFactor::Email, MfaFactor::RecoveryCode];

    /// Auth0's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MfaFactor::Otp => "otp",
            MfaFactor::Email => "email",
            MfaFactor::RecoveryCode => "recovery-code",
        }
    }

    /// The factor named `name`, if Sigil offers it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// When the tenant asks for a second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MfaPolicy {
    /// Every login of every application (Auth0's "Always").
    AllApplications,
}

impl MfaPolicy {
    /// Auth0's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MfaPolicy::AllApplications => "all-applications",
        }
    }
}

/// The tenant's multi-factor settings. A tenant starts with no factor and no policy (Auth0's
/// "Never"): logins ask for a second factor only when a request or an Action does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MfaSettings {
    /// The factors enabled, in [`MfaFactor`]'s order.
    pub factors: Vec<MfaFactor>,
    /// `[]` (never) or `[AllApplications]`.
    pub policies: Vec<MfaPolicy>,
}

impl MfaSettings {
    /// Whether `factor` is enabled.
    pub fn enabled(&self, factor: MfaFactor) -> bool {
        self.factors.contains(&factor)
    }

    /// Whether every login asks for a second factor.
    pub fn always(&self) -> bool {
        self.policies.contains(&MfaPolicy::AllApplications)
    }
}

/// What kind of authenticator a user enrolled (Auth0's authentication-method `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthenticatorKind {
    /// An authenticator app's one-time passwords.
    Totp,
    /// The recovery code.
    RecoveryCode,
    /// Codes sent to an email address.
    Email,
}

impl AuthenticatorKind {
    /// Auth0's `type` (and the prefix of the id).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthenticatorKind::Totp => "totp",
            AuthenticatorKind::RecoveryCode => "recovery-code",
            AuthenticatorKind::Email => "email",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Totp, Self::RecoveryCode, Self::Email]
            .into_iter()
            .find(|k| k.as_str() == name)
    }

    /// The MFA API's `authenticator_type` (`otp`, `recovery-code`, `oob`).
    pub fn authenticator_type(self) -> &'static str {
        match self {
            AuthenticatorKind::Totp => "otp",
            AuthenticatorKind::RecoveryCode => "recovery-code",
            AuthenticatorKind::Email => "oob",
        }
    }
}

/// What an authenticator holds to check a code, never shown once stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthenticatorSecret {
    /// A TOTP secret (sealed at rest under the master key, bound to the row).
    Totp(TotpSecret),
    /// The recovery code's SHA-256 digest.
    RecoveryCode(SecretDigest),
    /// An email factor holds no secret: its codes are sent when asked for.
    None,
}

/// One of a user's authenticators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticator {
    /// `totp|dev_…`, `recovery-code|dev_…`, `email|dev_…`, as Auth0's.
    pub id: String,
    /// Whose.
    pub user_id: UserId,
    /// What it is.
    pub kind: AuthenticatorKind,
    /// The email address of an email factor.
    pub name: Option<String>,
    /// What checks its codes.
    pub secret: AuthenticatorSecret,
    /// When its enrolment was confirmed (a first code accepted); none while it is pending,
    /// which nothing but the enrolment itself may use.
    pub confirmed_at: Option<UnixTime>,
    /// When enrolment began.
    pub created_at: UnixTime,
    /// When it last passed a challenge.
    pub last_auth_at: Option<UnixTime>,
}

impl Authenticator {
    /// Whether the enrolment was confirmed.
    pub fn confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }

    /// The TOTP secret, for a TOTP authenticator.
    pub fn totp(&self) -> Option<&TotpSecret> {
        match &self.secret {
            AuthenticatorSecret::Totp(secret) => Some(secret),
            _ => None,
        }
    }
}

/// A code mailed to an email factor, waiting to be entered: Auth0's `oob_code` names it, the
/// code in the mail is its `binding_code`. Five minutes, used once.
#[derive(Clone, PartialEq, Eq)]
pub struct OobCode {
    /// The SHA-256 digest of the `oob_code` handed out (random: a digest hides it).
    pub digest: [u8; 32],
    /// Whose.
    pub user_id: UserId,
    /// The email factor it was sent to (pending when the code confirms an enrolment).
    pub authenticator_id: String,
    /// The binding code's MAC under a key derived from the master key, bound to the
    /// `oob_code`: six digits have too few values for a plain digest to hide them.
    pub binding: [u8; 32],
    /// When it stops working.
    pub expires_at: UnixTime,
}

impl std::fmt::Debug for OobCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OobCode")
            .field("user_id", &self.user_id)
            .field("authenticator_id", &self.authenticator_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What the server keeps about a user's remembered browsers (`crate::mfa::remember`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BrowserMemory {
    /// When they were last forgotten: a browser remembered before no longer counts.
    pub forgotten_at: Option<UnixTime>,
    /// When one last skipped a second factor.
    pub used_at: Option<UnixTime>,
}
