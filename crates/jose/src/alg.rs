//! JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1) and the kind of key each one needs.
//!
//! `none` is deliberately not an [`Algorithm`]: parsing it in any spelling yields
//! [`AlgorithmError::None`], so an unsigned token cannot even be described.

use std::fmt;
use std::str::FromStr;

/// A JWS signature algorithm that Sigil can sign and verify with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// HMAC with SHA-256 (RFC 7518 §3.2).
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 (RFC 7518 §3.5).
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256 (RFC 7518 §3.4).
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// EdDSA with Ed25519 (RFC 8037 §3.1).
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm, in a stable order.
    pub const ALL: [Algorithm; 13] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
    ];

    /// The registered `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The kind of key this algorithm signs with.
    pub fn key_kind(self) -> KeyKind {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => KeyKind::Oct,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyKind::Rsa,
            Algorithm::ES256 => KeyKind::EcP256,
            Algorithm::ES384 => KeyKind::EcP384,
            Algorithm::ES512 => KeyKind::EcP521,
            Algorithm::EdDSA => KeyKind::Ed25519,
        }
    }

    /// Whether the algorithm is a MAC keyed with a shared secret.
    pub fn is_symmetric(self) -> bool {
        self.key_kind() == KeyKind::Oct
    }

    /// The shortest HMAC key RFC 7518 §3.2 allows: the hash output size. `None` for signatures.
    pub fn min_hmac_key_len(self) -> Option<usize> {
        match self {
            Algorithm::HS256 => Some(32),
            Algorithm::HS384 => Some(48),
            Algorithm::HS512 => Some(64),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an `alg` string is not an [`Algorithm`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlgorithmError {
    /// `none` in any spelling: unsecured JWS is never accepted.
    #[error("alg \"{0}\" means an unsigned token, which is never accepted")]
    None(String),
    /// A name that is not a supported JWS algorithm.
    #[error("alg \"{0}\" is not a supported JWS algorithm")]
    Unsupported(String),
}

impl FromStr for Algorithm {
    type Err = AlgorithmError;

    /// Exact, case-sensitive match on the registered names (RFC 7515 §4.1.1 says `alg` is
    /// case-sensitive), except that `none` is recognised in every case so it gets its own error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(alg) = Algorithm::ALL.into_iter().find(|a| a.as_str() == s) {
            return Ok(alg);
        }
        if s.trim().eq_ignore_ascii_case("none") {
            return Err(AlgorithmError::None(s.to_owned()));
        }
        Err(AlgorithmError::Unsupported(s.to_owned()))
    }
}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    /// The registered name, exactly as [`FromStr`] accepts it (`none` is refused).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The kind of key material an algorithm needs; a key of one kind never verifies another's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A symmetric secret (`kty: oct`).
    Oct,
    /// An RSA key of at least 2048 bits.
    Rsa,
    /// An ECDSA key on P-256.
    EcP256,
    /// An ECDSA key on P-384.
    EcP384,
    /// An ECDSA key on P-521.
    EcP521,
    /// An Ed25519 key (`kty: OKP`, `crv: Ed25519`).
    Ed25519,
}

impl KeyKind {
    /// The JWK `crv` of an elliptic-curve kind.
    pub fn curve(self) -> Option<&'static str> {
        match self {
            KeyKind::EcP256 => Some("P-256"),
            KeyKind::EcP384 => Some("P-384"),
            KeyKind::EcP521 => Some("P-521"),
            KeyKind::Ed25519 => Some("Ed25519"),
            KeyKind::Oct | KeyKind::Rsa => None,
        }
    }

    /// The algorithms that a key of this kind can be used with.
    pub fn algorithms(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| a.key_kind() == self)
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::Oct => "an HMAC secret",
            KeyKind::Rsa => "an RSA key",
            KeyKind::EcP256 => "a P-256 key",
            KeyKind::EcP384 => "a P-384 key",
            KeyKind::EcP521 => "a P-521 key",
            KeyKind::Ed25519 => "an Ed25519 key",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registered_names_exactly() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(alg));
        }
        assert!(matches!(
            "rs256".parse::<Algorithm>(),
            Err(AlgorithmError::Unsupported(_))
        ));
        assert!(matches!(
            "ES521".parse::<Algorithm>(),
            Err(AlgorithmError::Unsupported(_))
        ));
        for none in ["none", "None", "NONE", "nOnE", " none"] {
            assert!(
                matches!(none.parse::<Algorithm>(), Err(AlgorithmError::None(_))),
                "{none}"
            );
        }
    }
}
