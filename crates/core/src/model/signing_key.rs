//! Signing keys and their life cycle: `next` (published, not yet signing) → `current` (signs)
//! → `previous` (published, verifies what it signed) → `revoked` (gone from the JWKS).
//!
//! Keys of one kind form a family with a life cycle of its own: at most one current and one
//! next key per family. A tenant has an RSA family (RS256; made by `sigil init`, and all that a
//! verifier which only understands RSA needs) and, once an API or application signs with PS256
//! or ES256, an RSA-PSS or a P-256 family. The family follows from the record's `alg`
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

    /// A new RSA-2048 key for PS256 in `state` (a family of its own, published as PS256, so
    /// that verifiers which honour a JWK's `alg` accept PS256 tokens).
    pub fn generate_ps256(state: KeyState, now: UnixTime) -> Result<Self, sigil_jose::KeyError> {
        Self::generate(KeySpec::Rsa2048, Algorithm::PS256, state, now)
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

    /// The family this key belongs to, by name (the store's `family` column). Rotation, and
    /// the one-current and one-next rules, apply within a family.
    pub fn family(&self) -> &'static str {
        family_name(self.alg)
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

/// The name of the family that keys for `alg` belong to: the kind of key it needs, except that
/// RSA keys for PS* form a family apart from RS* ones, since a JWK names one `alg`. Migration
/// 0006 filed the keys stored before it in the same words.
pub fn family_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512 => "rsa-pss",
        _ => match alg.key_kind() {
            KeyKind::Rsa => "rsa",
            KeyKind::EcP256 => "ec-p256",
            KeyKind::EcP384 => "ec-p384",
            KeyKind::EcP521 => "ec-p521",
            KeyKind::Ed25519 => "ed25519",
            KeyKind::Oct => "oct",
        },
    }
}
