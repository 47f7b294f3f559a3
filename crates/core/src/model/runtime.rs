//! Runtime state: login sessions, authorization codes, refresh tokens, device codes and
//! one-time tickets. Every bearer value is stored as its SHA-256 digest only.

use crate::UnixTime;
use crate::ids::{ClientId, ConnectionId, FamilyId, SessionId, UserId};
use crate::secret::SecretDigest;

/// A login session at Sigil (the SSO cookie), shared by every application the user visits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Public id, the ID token's `sid`.
    pub id: SessionId,
    /// Digest of the cookie's value.
    pub cookie_digest: SecretDigest,
    /// Who is logged in.
    pub user_id: UserId,
    /// When the session started.
    pub created_at: UnixTime,
    /// When the user last proved who they are (`auth_time`).
    pub authenticated_at: UnixTime,
    /// Last use.
    pub last_seen_at: UnixTime,
    /// Absolute end.
    pub expires_at: UnixTime,
    /// End if unused.
    pub idle_expires_at: UnixTime,
    /// Applications that got tokens through this session (for logout).
    pub clients: Vec<ClientId>,
    /// Address the session started from.
    pub ip: Option<String>,
    /// User agent it started from.
    pub user_agent: Option<String>,
    /// How the user first authenticated in it (Auth0's `authentication.methods[].name`):
    /// `pwd` or `federated`.
    pub method: String,
}

/// An authorization code (RFC 6749 §4.1.2): single use, short-lived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// Digest of the code.
    pub digest: SecretDigest,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The user who logged in.
    pub user_id: UserId,
    /// The session it came from.
    pub session_id: Option<SessionId>,
    /// The redirect URI it was sent to; the token request must repeat it exactly.
    pub redirect_uri: String,
    /// Scopes granted.
    pub scope: Vec<String>,
    /// The API asked for.
    pub audience: Option<String>,
    /// OIDC nonce, echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge (RFC 7636), S256 only.
    pub code_challenge: Option<String>,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it stops being redeemable.
    pub expires_at: UnixTime,
    /// When it was redeemed.
    pub used_at: Option<UnixTime>,
    /// What the post-login Actions decided for the tokens, when any ran.
    pub actions: Option<crate::actions::PostLogin>,
}

/// A refresh token. Rotation makes a chain within one family; reusing a rotated token
/// revokes the family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// Digest of the token.
    pub digest: SecretDigest,
    /// The family: every token rotated from the same grant.
    pub family_id: FamilyId,
    /// Digest of the token this one replaced.
    pub parent: Option<SecretDigest>,
    /// 0 for the first token of a family, +1 per rotation.
    pub generation: i64,
    /// The client.
    pub client_id: ClientId,
    /// The user.
    pub user_id: UserId,
    /// The session it came from.
    pub session_id: Option<SessionId>,
    /// The API.
    pub audience: Option<String>,
    /// Scopes granted.
    pub scope: Vec<String>,
    /// When it was made.
    pub created_at: UnixTime,
    /// Absolute end; `None` never expires.
    pub expires_at: Option<UnixTime>,
    /// End if unused; `None` never idles out.
    pub idle_expires_at: Option<UnixTime>,
    /// When it was rotated away.
    pub used_at: Option<UnixTime>,
    /// When it was revoked.
    pub revoked_at: Option<UnixTime>,
    /// When the user last authenticated (carried into refreshed ID tokens).
    pub auth_time: Option<UnixTime>,
}

/// Where a device authorization (RFC 8628) stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// The user has not decided yet.
    Pending,
    /// The user approved.
    Approved(UserId),
    /// The user refused.
    Denied,
}

/// A device authorization request (RFC 8628).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCode {
    /// Digest of the device code the device polls with.
    pub digest: SecretDigest,
    /// The short code the user types; unique.
    pub user_code: String,
    /// The client.
    pub client_id: ClientId,
    /// Scopes asked for.
    pub scope: Vec<String>,
    /// API asked for.
    pub audience: Option<String>,
    /// Where it stands.
    pub status: DeviceStatus,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it stops being usable.
    pub expires_at: UnixTime,
    /// Seconds the device must wait between polls.
    pub interval: i64,
    /// Last poll.
    pub last_polled_at: Option<UnixTime>,
    /// When tokens were issued for it.
    pub consumed_at: Option<UnixTime>,
}

/// What a ticket lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketKind {
    /// Set a new password.
    PasswordReset,
    /// Prove the email address.
    EmailVerification,
    /// Enrol an authenticator app without logging in (Auth0's Guardian enrolment ticket).
    MfaEnrollment,
    /// Lift the brute-force blocks of the user (the `blocked_account` mail's link).
    Unblock,
}

impl TicketKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::PasswordReset => "password_reset",
            TicketKind::EmailVerification => "email_verification",
            TicketKind::MfaEnrollment => "mfa_enrollment",
            TicketKind::Unblock => "unblock",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "password_reset" => Some(TicketKind::PasswordReset),
            "email_verification" => Some(TicketKind::EmailVerification),
            "mfa_enrollment" => Some(TicketKind::MfaEnrollment),
            "unblock" => Some(TicketKind::Unblock),
            _ => None,
        }
    }
}

/// A login gone to another identity provider, until its callback: found by the digest of the
/// `state` sent upstream, usable only by the browser holding the cookie whose value's digest
/// is `binding_digest`, once, until `expires_at`. The store keeps everything but the digests
/// and the connection sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederationTransaction {
    /// SHA-256 of the `state` sent upstream.
    pub state_digest: SecretDigest,
    /// SHA-256 of the browser-binding cookie's value.
    pub binding_digest: SecretDigest,
    /// The connection the login went through.
    pub connection_id: ConnectionId,
    /// The application's login transaction, as sealed for the hosted pages.
    pub login: String,
    /// The nonce sent upstream, which its ID token must carry.
    pub nonce: Option<String>,
    /// The PKCE verifier, sent with the code.
    pub code_verifier: Option<String>,
    /// When it stops working.
    pub expires_at: UnixTime,
}

/// A one-time ticket mailed to a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// Digest of the ticket in the link.
    pub digest: SecretDigest,
    /// What it is for.
    pub kind: TicketKind,
    /// Whose it is.
    pub user_id: UserId,
    /// Where to send the user afterwards.
    pub result_url: Option<String>,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it stops working.
    pub expires_at: UnixTime,
    /// When it was used.
    pub used_at: Option<UnixTime>,
}

/// The live one-time code (or magic link) of a passwordless connection's recipient: only the
/// latest one sent works.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordlessCode {
    /// The connection.
    pub connection_id: ConnectionId,
    /// The address or phone number it was sent to, normalized (an address in lower case).
    pub recipient: String,
    /// The code's keyed digest (HMAC under a key derived from the master key): a 6-digit code
    /// has too few values for a plain hash to hide it.
    pub digest: [u8; 32],
    /// The application that asked for it; only it may use the code.
    pub client_id: ClientId,
    /// Tries so far.
    pub attempts: u32,
    /// When it was sent.
    pub created_at: UnixTime,
    /// When it stops working.
    pub expires_at: UnixTime,
}

impl std::fmt::Debug for PasswordlessCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordlessCode")
            .field("connection_id", &self.connection_id)
            .field("recipient", &self.recipient)
            .field("client_id", &self.client_id)
            .field("attempts", &self.attempts)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
