//! Signing keys and their life cycle: `next` (published, not yet signing) → `current` (signs)
//! → `previous` (published, verifies what it signed) → `revoked` (gone from the JWKS).
//!
//! Keys of one kind form a family with a life cycle of its own: at most one current and one
//! next key per family. A tenant has an RSA family (RS256 and PS256; made by `sigil init`, and
//! all that a verifier which only understands RSA needs) and, once an API signs with ES256, a
//! P-256 family. The family is the kind of key the record's `alg` needs
//! ([`SigningKeyRecord::family`]), so a record cannot be filed under the wrong one.

use sigil_jose::{Algorithm, KeyKind, KeySpec};
use zeroize::Zeroizing;

use crate::UnixTime;

/// Where a key is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Published ahead of use so verifiers cache it before it signs; at most one per family.
    Next,
    /// Signs new tokens; at most one per family at a time.
    Current,
    /// Retired from signing, still published.
    Previous,
    /// Withdrawn: not published, verifies nothing.
    Revoked,
}

impl KeyState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Previous => "previous",
            KeyState::Revoked => "revoked",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "next" => Some(KeyState::Next),
            "current" => Some(KeyState::Current),
            "previous" => Some(KeyState::Previous),
            "revoked" => Some(KeyState::Revoked),
            _ => None,
        }
    }
}

/// A signing key as stored. The private key is plaintext here; stores seal it with the master
/// key (AES-256-GCM) before it reaches the disk.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// The algorithm it signs with.
    pub alg: Algorithm,
    /// Life-cycle state, within the key's family.
    pub state: KeyState,
    /// PKCS#8 DER of the private key.
    pub private_pkcs8: Zeroizing<Vec<u8>>,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it started signing.
    pub current_since: Option<UnixTime>,
    /// When it stopped signing.
    pub previous_since: Option<UnixTime>,
    /// When it was revoked.
    pub revoked_at: Option<UnixTime>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .field("private_pkcs8", &"[redacted]")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl SigningKeyRecord {
    /// A new RSA-2048 key for RS256 (its family also signs PS256) in `state`, its kid the
    /// RFC 7638 thumbprint. Generating an RSA key takes a noticeable fraction of a second: call
    /// it off the request path.
    pub fn generate_rs256(state: KeyState, now: UnixTime) -> Result<Self, sigil_jose::KeyError> {
        Self::generate(KeySpec::Rsa2048, Algorithm::RS256, state, now)
    }

    /// A new P-256 key for ES256 in `state`, its kid the RFC 7638 thumbprint.
    pub fn generate_es256(state: KeyState, now: UnixTime) -> Result<Self, sigil_jose::KeyError> {
        Self::generate(KeySpec::P256, Algorithm::ES256, state, now)
    }

    /// The key as Auth0's Management API shows it (`GET /keys/signing`), without private
    /// material, ever, and with `alg` and `state` besides. Auth0's `cert`/`pkcs7` are absent:
    /// Sigil's keys have no certificates.
    pub fn management_json(&self) -> serde_json::Value {
        let time = |t: Option<UnixTime>| t.map(crate::clock::auth0_time);
        serde_json::json!({
            "kid": self.kid,
            "alg": self.alg.as_str(),
            "state": self.state.as_str(),
            "current": self.state == KeyState::Current,
            "next": self.state == KeyState::Next,
            "previous": self.state == KeyState::Previous,
            "revoked": self.state == KeyState::Revoked,
            "created_at": crate::clock::auth0_time(self.created_at),
            "current_since": time(self.current_since),
            "current_until": time(self.previous_since),
            "revoked_at": time(self.revoked_at),
        })
    }

    /// The family this key belongs to: the kind of key its `alg` needs. Rotation, and the
    /// one-current and one-next rules, apply within a family.
    pub fn family(&self) -> KeyKind {
        self.alg.key_kind()
    }

    fn generate(
        spec: KeySpec,
        alg: Algorithm,
        state: KeyState,
        now: UnixTime,
    ) -> Result<Self, sigil_jose::KeyError> {
        let key = sigil_jose::PrivateKey::generate(spec)?;
        Ok(SigningKeyRecord {
            kid: key.thumbprint(),
            alg,
            state,
            private_pkcs8: key.to_pkcs8_der()?,
            created_at: now,
            current_since: (state == KeyState::Current).then_some(now),
            previous_since: None,
            revoked_at: None,
        })
    }
}
